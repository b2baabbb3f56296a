"""torchscript:PATH — a user's model file as the backbone, with no code: FD, options, ids and errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from frechet.errors import ConfigError, WeightsError
from frechet.plugins import get_registry

from custom_helpers import (
    SIZE,
    Flat,
    SpatialMap,
    TinyCNN,
    TwoHeads,
    WithMap,
    oracle_fd,
    read_images,
    run_cli,
    save_torchscript,
    to_unit_batch,
)

pytestmark = pytest.mark.filterwarnings(r"ignore:`torch\.jit\.\w+` is deprecated:DeprecationWarning")

IMAGENET_MEAN, IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)


@pytest.fixture
def tiny(tmp_path):
    return save_torchscript(TinyCNN(), tmp_path / "tiny.pt")


def _direct_features(module, folder, mean=(0, 0, 0), std=(1, 1, 1)):
    batch = to_unit_batch(read_images(folder))
    batch = (batch - torch.tensor(mean).view(3, 1, 1)) / torch.tensor(std).view(3, 1, 1)
    with torch.no_grad():
        return module.eval()(batch).double().numpy()


def test_fd_from_the_cli_equals_fd_of_the_models_own_features(tiny, shapes, capsys):
    real, fake = shapes
    code, result, _ = run_cli(
        capsys, "compute", str(real), str(fake), "--embedder", f"torchscript:{tiny}",
        "--embedder-option", f"size={SIZE}", "--embedder-option", "mean=" + ",".join(map(str, IMAGENET_MEAN)),
        "--embedder-option", "std=" + ",".join(map(str, IMAGENET_STD)), "--batch-size", "10",
    )
    assert code == 0
    expected = oracle_fd(*(_direct_features(TinyCNN(), folder, IMAGENET_MEAN, IMAGENET_STD) for folder in shapes))
    assert result["fd"] == pytest.approx(expected, rel=1e-6)
    assert (result["n_real"], result["n_fake"], result["output"]) == (24, 24, "features")
    assert result["embedder"].startswith("torchscript(")


def test_images_of_another_size_are_resized_with_the_chosen_filter(tiny, tmp_path):
    rng = np.random.default_rng(3)
    images = rng.integers(0, 256, (6, 45, 40, 3), dtype=np.uint8)
    embedder = get_registry().create_embedder(f"torchscript:{tiny}", size=str(SIZE), resize="bicubic")
    got = embedder.forward(embedder.collate([embedder.transform(image) for image in images]))["features"]

    def pillow_bicubic(image):  # Pillow's float bicubic per channel, clipped: the documented resize
        channels = [np.asarray(Image.fromarray(image[:, :, c].astype(np.float32)).resize((SIZE, SIZE), Image.BICUBIC))
                    for c in range(3)]
        return torch.from_numpy(np.clip(np.stack(channels), 0, 255) / 255).float()

    with torch.no_grad():
        expected = TinyCNN()(torch.stack([pillow_bicubic(image) for image in images]))
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-6)


def test_a_dict_model_exposes_each_named_output_and_output_picks_the_default(tmp_path, shapes):
    path = save_torchscript(TwoHeads(), tmp_path / "heads.pt", trace=False)
    embedder = get_registry().create_embedder(f"torchscript:{path}", size=SIZE)
    assert embedder.outputs == {"embedding": 6, "projection": 3} and embedder.default_output == "embedding"
    chosen = get_registry().create_embedder(f"torchscript:{path}", size=SIZE, output="projection")
    assert chosen.default_output == "projection"
    with pytest.raises(ConfigError, match="output='logits' is not one of the model's outputs"):
        get_registry().create_embedder(f"torchscript:{path}", size=SIZE, output="logits")


def test_outputs_that_are_not_feature_rows_are_left_out_and_cannot_be_chosen(tmp_path):
    path = save_torchscript(WithMap(), tmp_path / "with-map.pt", trace=False)
    embedder = get_registry().create_embedder(f"torchscript:{path}", size=SIZE)
    assert embedder.outputs == {"embedding": 6}
    with pytest.raises(ConfigError, match=r"output 'map' is a torch.float32 tensor of shape \(2, 6, 8, 8\)"):
        get_registry().create_embedder(f"torchscript:{path}", size=SIZE, output="map")


def test_options_and_the_model_file_are_part_of_the_id(tiny, tmp_path):
    def embedder_id(path=tiny, **options):
        return get_registry().create_embedder(f"torchscript:{path}", **{"size": str(SIZE), **options}).id()

    base = embedder_id()
    changed = [embedder_id(size="28"), embedder_id(resize="area"), embedder_id(mean="0.5"), embedder_id(std="0.5")]
    assert len({base, *changed}) == 5
    assert embedder_id(size=f"{SIZE}x{SIZE}", mean="0,0,0", std="1", resize="bilinear") == base
    retrained = save_torchscript(TinyCNN(seed=1), tmp_path / "tiny-retrained.pt")
    assert embedder_id(retrained) != base
    copy = tmp_path / "elsewhere.pt"
    copy.write_bytes(tiny.read_bytes())
    assert embedder_id(copy) == base  # the id names the file's content, not its path


def test_stats_made_with_other_options_are_refused(tiny, shapes, tmp_path, capsys):
    real, fake = shapes
    model = f"torchscript:{tiny}"
    code, _, _ = run_cli(capsys, "stats", str(real), "-o", str(tmp_path / "real.npz"), "--embedder", model,
                         "--embedder-option", f"size={SIZE}")
    assert code == 0
    code, _, err = run_cli(capsys, "compute", str(tmp_path / "real.npz"), str(fake), "--embedder", model,
                           "--embedder-option", f"size={SIZE}", "--embedder-option", "resize=area")
    assert code == 2 and "recompute one with the other's settings, or pass --force" in err
    assert len(err.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "not a TorchScript archive"),
        (b"\x00garbage" * 50, "not a TorchScript archive"),
    ],
)
def test_a_broken_model_file_is_a_one_line_error_naming_it(tmp_path, shapes, capsys, content, message):
    broken = tmp_path / "broken.pt"
    broken.write_bytes(content)
    code, _, err = run_cli(capsys, "compute", *map(str, shapes), "--embedder", f"torchscript:{broken}",
                           "--embedder-option", f"size={SIZE}")
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert f"torchscript:{broken}" in err and message in err


def test_a_state_dict_is_recognised_and_explained(tmp_path):
    path = tmp_path / "weights.pt"
    torch.save(TinyCNN().state_dict(), path)
    with pytest.raises(WeightsError, match="state dict saved with torch.save needs its model's code"):
        get_registry().create_embedder(f"torchscript:{path}", size=SIZE)


def test_a_model_with_a_4d_output_is_refused_before_reading_any_input(tmp_path, shapes, capsys):
    path = save_torchscript(SpatialMap(), tmp_path / "map.pt")
    code, _, err = run_cli(capsys, "compute", *map(str, shapes), "--embedder", f"torchscript:{path}",
                           "--embedder-option", f"size={SIZE}")
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert f"torchscript:{path}: output 'features'" in err and "(2, 3, 8, 8)" in err and "pool or flatten" in err


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({}, "{tiny}: give the model's input size with embedder_options={'size': 'N'}"),
        ({"size": "big"}, "embedder 'torchscript:': embedder_options={'size': 'big'} is not valid (use N for N x N"),
        ({"size": "32", "resize": "lanczos"}, "{'resize': 'lanczos'} is not valid (choose one of bilinear, bicubic"),
        ({"size": "32", "mean": "0.5,0.5"}, "{'mean': '0.5,0.5'} is not valid (give one number or three"),
        ({"size": "32", "std": "0"}, "every channel must be positive"),
        ({"size": "32", "colour": "rgb"}, "has no option 'colour'; it takes size, resize, mean, std, output"),
        ({"size": "32", "weights": "x.pth"}, "has no option 'weights'; it takes size, resize, mean, std, output"),
        ({"size": "32", "preprocess": "tf"}, "has no option 'preprocess'; it takes size, resize, mean, std, output"),
    ],
)
def test_bad_options_are_errors_naming_the_option(tiny, options, message):
    with pytest.raises(ConfigError) as raised:
        get_registry().create_embedder(f"torchscript:{tiny}", **options)
    assert message.replace("{tiny}", str(tiny)) in str(raised.value)
    assert "\n" not in str(raised.value)


def test_option_errors_on_the_command_line_speak_its_flags(tiny, shapes, capsys):
    code, _, err = run_cli(capsys, "compute", *map(str, shapes), "--embedder", f"torchscript:{tiny}",
                           "--embedder-option", "size=big")
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "--embedder-option size=big is not valid (use N for N x N" in err


def test_a_model_that_fails_at_the_chosen_size_is_refused_naming_the_size(tmp_path):
    path = save_torchscript(Flat(), tmp_path / "flat.pt")
    with pytest.raises(ConfigError) as raised:
        get_registry().create_embedder(f"torchscript:{path}", size="24")
    message = str(raised.value)
    assert "the model failed on a (2, 3, 24, 24) float32 batch" in message and "check size=" in message
    assert "mat1 and mat2 shapes cannot be multiplied" in message and "\n" not in message


def test_a_missing_model_file_is_named(tmp_path, shapes, capsys):
    code, _, err = run_cli(capsys, "compute", *map(str, shapes), "--embedder", f"torchscript:{tmp_path}/nope.pt",
                           "--embedder-option", "size=32")
    assert code == 2 and "no such model file" in err and "nope.pt" in err
