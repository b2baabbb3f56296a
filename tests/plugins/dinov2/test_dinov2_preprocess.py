"""The four DINOv2 preprocessing modes against the peers' own network inputs (goldens made by dgm-eval's, EDM2's and
torch-fidelity's transforms on the image-plugin's test files and on awkward in-memory arrays)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import PIL
import pytest
import torch
from PIL import Image

from frechet.errors import ConfigError
from frechet_dinov2.preprocess import DEFAULT_PREPROCESS, PREPROCESS_MODES, to_dinov2_input

GOLDENS = Path(__file__).resolve().parents[2] / "goldens"
GOLDEN = json.loads((GOLDENS / "dinov2" / "preprocess.json").read_text())
INPUTS = GOLDENS / "image" / "inputs"


def _sha256(tensor: torch.Tensor) -> str:
    return hashlib.sha256(tensor.numpy().tobytes()).hexdigest()


def _decode(path: Path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB"))


def _noise_image(height: int, width: int) -> np.ndarray:
    """The golden script's in-memory noise arrays (raw PCG64 bytes)."""
    raw = np.random.default_rng([3, height, width]).bytes(height * width * 3)
    return np.frombuffer(raw, dtype=np.uint8).reshape(height, width, 3).copy()


def _same_pillow(mode: str) -> None:
    pillow = GOLDEN["versions"]["Pillow"]
    if mode.startswith("dgm-eval") and PIL.__version__ != pillow:
        pytest.skip(f"Pillow-resized goldens were made with Pillow {pillow}; bit-exactness is claimed for it only")


@pytest.fixture(scope="module")
def inputs() -> dict[str, dict[str, torch.Tensor]]:
    """frechet's input of every golden file in every mode: {mode: {file name: tensor}}."""
    decoded = {name: _decode(INPUTS / name) for name in GOLDEN["files"]}
    return {mode: {name: to_dinov2_input(image, mode) for name, image in decoded.items()} for mode in PREPROCESS_MODES}


@pytest.mark.parametrize("mode", PREPROCESS_MODES)
def test_input_is_bit_identical_to_the_peer_of_each_mode(mode, inputs):
    _same_pillow(mode)
    differing = [name for name, expected in GOLDEN["files"].items()
                 if _sha256(inputs[mode][name]) != expected[mode]["sha256"]]
    assert not differing, f"{mode}: not bit-identical to the peer for {differing}"


@pytest.mark.parametrize("mode", PREPROCESS_MODES)
def test_input_channel_means_match_the_peer_of_each_mode(mode, inputs):
    # Independent of Pillow's exact rounding: how far off a mode is when the hashes cannot be compared.
    worst = 0.0
    for name, expected in GOLDEN["files"].items():
        found = inputs[mode][name]
        assert found.shape == (3, 224, 224) and found.dtype == torch.float32
        means = found.double().mean(dim=(1, 2)).numpy()
        worst = max(worst, float(np.abs(means - expected[mode]["channel_mean"]).max()))
    assert worst <= 1e-6, f"{mode}: channel means off by {worst:.3g}"


@pytest.mark.parametrize("mode", PREPROCESS_MODES)
def test_awkward_sizes_match_the_peer_bit_for_bit(mode):
    _same_pillow(mode)
    for size, hashes in GOLDEN["arrays"].items():
        height, width = map(int, size.split("x"))
        assert _sha256(to_dinov2_input(_noise_image(height, width), mode)) == hashes[mode], f"{mode} at {size}"


def test_the_modes_give_different_inputs(inputs):
    found = [inputs[mode]["rgb_333x517.jpg"] for mode in PREPROCESS_MODES]
    assert all(not torch.equal(a, b) for i, a in enumerate(found) for b in found[i + 1:])


def test_edm2_resizes_each_image_as_it_would_inside_a_batch():
    # EDM2 resizes whole batches; frechet one image at a time. The golden script checked EDM2's own resize.
    assert GOLDEN["edm2_resize_batch_independent"]


def test_default_is_dgm_eval():
    assert DEFAULT_PREPROCESS == "dgm-eval"


def test_an_unknown_mode_is_a_config_error_listing_the_modes():
    with pytest.raises(ConfigError, match="choose one of dgm-eval, dgm-eval-clean, edm2, torch-fidelity"):
        to_dinov2_input(_noise_image(8, 8), "bilinear")
