"""The ``dinov2-*`` embedders through the registry, the Python API and the ``frechet`` command: names, options, ids,
where the weights come from, and several backbones in one pass."""

from __future__ import annotations

import json
import pickle

import numpy as np
import pytest
import torch

import frechet
from frechet.cli import main
from frechet.errors import ConfigError, WeightsError
from frechet.io import file_sha256
from frechet.plugins import get_registry
from frechet.weights import weights_dir
from frechet_dinov2 import DinoV2ViTG14, DinoV2ViTL14, DinoV2ViTS14
from frechet_dinov2.weights import WEIGHTS

from dinov2_random_weights import write_image_set


@pytest.mark.parametrize(
    ("name", "dims"), [("dinov2-vits14", 384), ("dinov2-vitb14", 768), ("dinov2-vitl14", 1024), ("dinov2-vitg14", 1536)]
)
def test_each_size_is_registered_for_images_with_its_class_token(name, dims):
    info, _ = get_registry().embedder_info(name)
    assert info.domain == "image" and dict(info.outputs) == {"cls": dims}
    embedder = get_registry().create_embedder(name)
    assert (embedder.name, embedder.default_output, embedder.fd_key) == (name, "cls", "fd_dinov2")


def test_dinov2_is_the_vitl14_of_fd_dinov2():
    assert get_registry().create_embedder("dinov2").name == "dinov2-vitl14"


def test_weights_urls_are_the_hub_codes():
    assert WEIGHTS["vitl14"].url == "https://dl.fbaipublicfiles.com/dinov2/dinov2_vitl14/dinov2_vitl14_pretrain.pth"
    assert WEIGHTS["vitg14"].file_name == "dinov2_vitg14_pretrain.pth"


def test_id_names_the_weights_and_the_preprocessing_mode(fd_weights_file):
    found = DinoV2ViTL14(preprocess="edm2", weights=fd_weights_file).id()
    assert found == f"dinov2-vitl14(preprocess=edm2,weights=sha256:{file_sha256(fd_weights_file)[:16]})"
    assert DinoV2ViTL14(weights=str(fd_weights_file)).id() != found


def test_an_unknown_mode_is_a_config_error_naming_the_size_built():
    with pytest.raises(ConfigError, match="embedder 'dinov2-vits14': .*dgm-eval, dgm-eval-clean, edm2, torch-fidelity"):
        DinoV2ViTS14(preprocess="bilinear")
    with pytest.raises(ConfigError, match="embedder 'dinov2-vitg14' has no option 'size'"):
        DinoV2ViTG14(size="g")


def test_without_a_weights_file_the_error_says_where_to_get_it_and_how_to_pass_it():
    with pytest.raises(WeightsError, match=r"no checksum for dinov2_vitl14_pretrain\.pth.*download https://dl\."
                       r"fbaipublicfiles\.com/dinov2/dinov2_vitl14/dinov2_vitl14_pretrain\.pth and pass it with "
                       r"--weights PATH"):
        DinoV2ViTL14().network()


def test_a_copy_in_torch_hubs_cache_is_named_in_the_error(fd_weights_file):
    cached = weights_dir() / "dinov2_vitl14_pretrain.pth"
    cached.parent.mkdir(parents=True, exist_ok=True)
    cached.write_bytes(fd_weights_file.read_bytes())
    with pytest.raises(WeightsError, match=f"a copy is at {cached}"):
        DinoV2ViTL14().network()


def test_a_checkpoint_of_another_size_is_refused_naming_both(tmp_path, random_weights):
    path = tmp_path / "dinov2_vits14_pretrain.pth"
    torch.save(random_weights("vits14", 2), path)
    with pytest.raises(WeightsError, match=r"not a DINOv2 ViT-L/14 state dict .*dinov2_vitl14_pretrain\.pth"):
        DinoV2ViTL14(weights=path).network()


def test_the_embedder_reaches_workers_without_its_network(fd_weights_file):
    embedder = DinoV2ViTL14(weights=fd_weights_file)
    embedder.network()
    copy = pickle.loads(pickle.dumps(embedder))
    assert copy._network is None and copy.id() == embedder.id()


def test_bf16_features_stay_close_to_fp32(fd_weights_file):
    embedder = DinoV2ViTL14(weights=fd_weights_file)
    batch = torch.stack([embedder.transform(np.full((50, 70, 3), value, np.uint8)) for value in (30, 200)])
    with torch.inference_mode():
        exact = embedder.forward(batch)["cls"]
        with torch.autocast("cpu", dtype=torch.bfloat16):
            rounded = embedder.forward(batch)["cls"].float()
    assert (rounded - exact).abs().max() < 0.1 * exact.abs().max()


@pytest.fixture(scope="module")
def small_sets(tmp_path_factory):
    root = tmp_path_factory.mktemp("dinov2-cli-images")
    for side, variant in (("real", 0), ("fake", 1)):
        write_image_set(root / side, 4, seed=9, variant=variant, sizes=((40, 40), (64, 48)))
    return root / "real", root / "fake"


def _json_line(capsys) -> dict:
    return json.loads(capsys.readouterr().out.strip().splitlines()[-1])


def test_compute_reports_fd_dinov2_and_the_embedder_id(small_sets, fd_weights_file, capsys):
    real, fake = small_sets
    code = main(["compute", str(real), str(fake), "--embedder", "dinov2", "--preprocess", "torch-fidelity",
                 "--weights", str(fd_weights_file), "--device", "cpu", "--json", "--quiet"])
    result = _json_line(capsys)
    assert code == 0 and result["fd_dinov2"] == result["fd"] > 0
    assert result["embedder"].startswith("dinov2-vitl14(preprocess=torch-fidelity,")


def test_two_sizes_in_one_pass_report_one_suffixed_fd_each(small_sets, fd_weights_file, tmp_path, random_weights):
    small = tmp_path / "vits14.pth"
    torch.save(random_weights("vits14", 2), small)
    real, fake = small_sets
    options = {"dinov2-vitl14.weights": str(fd_weights_file), "dinov2-vits14.weights": str(small)}
    together = frechet.compute(real, fake, embedder="dinov2-vitl14,dinov2-vits14", embedder_options=options,
                               progress=False)
    alone = frechet.compute(real, fake, embedder="dinov2-vits14", embedder_options={"weights": str(small)},
                            progress=False)
    assert "fd_dinov2" not in together
    assert together["fd_dinov2_dinov2_vits14"] == pytest.approx(alone["fd_dinov2"], rel=1e-9)
    assert together["fd_dinov2_dinov2_vitl14"] > 0


def test_options_for_hyphenated_embedder_names_on_the_command_line(small_sets, fd_weights_file, tmp_path,
                                                                   random_weights):
    small = tmp_path / "vits14.pth"
    torch.save(random_weights("vits14", 2), small)
    real, _ = small_sets
    code = main(["stats", str(real), "-o", str(tmp_path / "ref.npz"), "--embedder", "dinov2-vitl14,dinov2-vits14",
                 "--embedder-option", f"dinov2-vitl14.weights={fd_weights_file}",
                 "--embedder-option", f"dinov2-vits14.weights={small}", "--embedder-option",
                 "dinov2-vits14.preprocess=edm2", "--device", "cpu", "--quiet"])
    assert code == 0
    assert (tmp_path / "ref.dinov2-vitl14.npz").is_file() and (tmp_path / "ref.dinov2-vits14.npz").is_file()
