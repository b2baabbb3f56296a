"""The ``inception`` embedder through the registry, the Python API and the ``frechet`` command."""

from __future__ import annotations

import json
import pickle

import pytest
import torch

import frechet
from frechet.cli import main
from frechet.errors import ConfigError
from frechet.plugins import get_registry
from frechet.io import file_sha256
from frechet_image import DEFAULT_PREPROCESS, PREPROCESS_MODES
from frechet_inception import InceptionEmbedder
from inception_random_weights import write_image_set


def test_inception_is_registered_for_images_with_its_outputs():
    info, _ = get_registry().embedder_info("inception")
    assert info.domain == "image"
    assert dict(info.outputs) == {
        "block64": 64, "block192": 192, "block768": 768, "sfid": 2023, "pool": 2048, "logits_unbiased": 1008,
        "logits": 1008,
    }
    embedder = get_registry().create_embedder("inception")
    assert (embedder.default_output, embedder.fd_key) == ("pool", "fid")


def test_id_names_the_weights_and_the_preprocessing_mode(weights_file):
    assert InceptionEmbedder().id() == f"inception(preprocess={DEFAULT_PREPROCESS},weights=6726825d)"
    ids = {InceptionEmbedder(preprocess=mode).id() for mode in PREPROCESS_MODES}
    assert len(ids) == len(PREPROCESS_MODES)
    own = InceptionEmbedder(weights=str(weights_file)).id()
    assert f"weights=sha256:{file_sha256(weights_file)[:16]}" in own


def test_the_opt_in_fast_paths_are_named_in_the_id_and_the_default_id_is_unchanged():
    default = InceptionEmbedder().id()
    assert "tf32" not in default and "compile" not in default
    mode = DEFAULT_PREPROCESS
    assert InceptionEmbedder(tf32="true").id() == f"inception(preprocess={mode},tf32=True,weights=6726825d)"
    assert InceptionEmbedder(compile=True).id() == f"inception(compile=True,preprocess={mode},weights=6726825d)"
    with pytest.raises(ConfigError, match="tf32"):
        InceptionEmbedder(tf32="sometimes")


def test_tf32_changes_nothing_on_the_cpu(weights_file):
    batch = torch.rand(2, 3, 75, 75, generator=torch.Generator().manual_seed(3)) * 2 - 1
    plain, tf32 = InceptionEmbedder(weights=weights_file), InceptionEmbedder(weights=weights_file, tf32=True)
    with torch.inference_mode():
        assert torch.equal(plain.forward(batch)["pool"], tf32.forward(batch)["pool"])


def test_an_unknown_preprocessing_mode_is_a_config_error_listing_the_modes():
    with pytest.raises(ConfigError, match="choose one of tf, pytorch-fid, clean"):
        InceptionEmbedder(preprocess="bilinear")


@pytest.fixture(scope="module")
def loaded(weights_file):
    embedder = InceptionEmbedder(weights=weights_file)
    embedder.network()
    return embedder


def test_only_the_requested_outputs_are_computed_and_returned(loaded):
    loaded.request_outputs({"block192"})
    with torch.inference_mode():
        assert set(loaded.forward(torch.zeros(1, 3, 299, 299))) == {"block192"}


def test_the_embedder_reaches_workers_without_its_network(loaded):
    copy = pickle.loads(pickle.dumps(loaded))
    assert copy._network is None and copy.id() == loaded.id()


@pytest.fixture(scope="module")
def small_sets(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli-images")
    sizes = ((40, 40), (64, 48))
    for side, variant in (("real", 0), ("fake", 1)):
        write_image_set(root / side, 5, seed=11, variant=variant, sizes=sizes)
    return root / "real", root / "fake"


def _json_line(capsys) -> dict:
    return json.loads(capsys.readouterr().out.strip().splitlines()[-1])


def test_compute_reports_fid_and_is_as_json_and_saved_statistics_reproduce_it(small_sets, weights_file, tmp_path,
                                                                              capsys):
    real, fake = small_sets
    common = ["--embedder", "inception", "--preprocess", "clean", "--weights", str(weights_file), "--device", "cpu",
              "--json", "--quiet"]
    code = main(["compute", str(real), str(fake), "--metrics", "fid,is", "--metric-option", "is_splits=1",
                 "--batch-size", "2", "--workers", "2", "--save-stats", str(tmp_path / "stats"), *common])
    assert code == 0
    values = _json_line(capsys)
    assert values["fd"] == values["fid"] > 0
    assert values["is_mean"] > 1 and values["is_std"] == 0  # one split: no spread
    assert (values["n_real"], values["n_fake"], values["n_skipped"]) == (5, 5, 0)
    assert values["embedder"] == f"inception(preprocess=clean,weights=sha256:{file_sha256(weights_file)[:16]})"

    saved = frechet.load_stats(tmp_path / "stats" / "real.npz")
    assert (saved.n, saved.dim, saved.meta["embedder"]) == (5, 2048, values["embedder"])
    assert main(["compute", str(tmp_path / "stats" / "real.npz"), str(fake), *common]) == 0
    assert _json_line(capsys)["fid"] == pytest.approx(values["fid"], rel=1e-6)


def test_statistics_of_another_mode_are_refused(small_sets, weights_file, tmp_path, capsys):
    real, fake = small_sets
    out = tmp_path / "real-block64.npz"
    options = ["--embedder", "inception", "--weights", str(weights_file), "--layer", "block64", "--quiet"]
    assert main(["stats", str(real), "-o", str(out), "--preprocess", "tf", "--json", *options]) == 0
    assert _json_line(capsys)["dim"] == 64
    assert main(["compute", str(out), str(fake), "--preprocess", "clean", *options]) == 2
    error = capsys.readouterr().err
    assert "preprocess=tf" in error and "preprocess=clean" in error and "--force" in error


def test_cpu_slices_give_the_whole_batch_features(weights_file):
    """On the CPU the runner runs batches after the first as slices of 8 images on single-threaded workers: the
    features stay those of the whole batch (within the exactness bar, 1e-5 of the feature scale)."""
    from frechet.embedding import forward_outputs

    batch = torch.rand(19, 3, 75, 75, generator=torch.Generator().manual_seed(5)) * 2 - 1
    embedder = InceptionEmbedder(weights=weights_file)
    assert embedder.cpu_slice_size() == 8 and InceptionEmbedder(compile=True).cpu_slice_size() is None
    calls = []
    whole_forward = embedder.forward
    embedder.forward = lambda part: calls.append(len(part)) or whole_forward(part)
    threads = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        forward_outputs(embedder, batch[:2], ["pool"])
        sliced = forward_outputs(embedder, batch, ["pool", "logits"])
    finally:
        torch.set_num_threads(threads)
    with torch.inference_mode():
        whole = whole_forward(batch)
    assert sorted(calls[1:]) == [3, 8, 8]
    for output in ("pool", "logits"):
        scale = float(whole[output].abs().max())
        assert float((sliced[output] - whole[output]).abs().max()) <= 1e-5 * scale
