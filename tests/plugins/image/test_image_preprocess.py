"""The preprocessing modes against the peers' own network inputs (goldens), and resize_float against oracles."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import PIL
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from frechet.errors import ConfigError
from frechet_image.preprocess import PREPROCESS_MODES, resize_float, to_model_input

GOLDENS = Path(__file__).resolve().parents[2] / "goldens" / "image"
GOLDEN = json.loads((GOLDENS / "preprocess.json").read_text())
PEERS = {"tf": "torch-fidelity", "pytorch-fid": "pytorch-fid", "clean": "clean-fid"}


def _sha256(tensor: torch.Tensor) -> str:
    return hashlib.sha256(tensor.numpy().tobytes()).hexdigest()


def _peer_decode(path: Path) -> np.ndarray:
    """How every peer decodes an image file."""
    return np.asarray(Image.open(path).convert("RGB"))


def _noise_image(height: int, width: int) -> np.ndarray:
    """The golden script's in-memory noise arrays (raw PCG64 bytes)."""
    raw = np.random.default_rng([3, height, width]).bytes(height * width * 3)
    return np.frombuffer(raw, dtype=np.uint8).reshape(height, width, 3).copy()


def _exactness_comparable(mode: str) -> None:
    pillow = GOLDEN["versions"]["pillow"]
    if mode == "clean" and PIL.__version__ != pillow:
        pytest.skip(f"clean-mode goldens were made with Pillow {pillow}; bit-exactness is only claimed for it")


def _pytorch_fid_input(image: np.ndarray) -> torch.Tensor:
    """pytorch-fid's network input, step by step as its code takes it: ToTensor (x / 255), its InceptionV3's
    bilinear resize to 299 (align_corners=False), then 2x - 1. torch's bilinear kernels round differently with the
    CPU's vector width and the thread count, so a bit-for-bit claim is checked against this, run here, not against
    hashes made on another machine (those are checked to 1e-5 below)."""
    unit = torch.from_numpy(image).permute(2, 0, 1).contiguous().float().div(255)
    return (2 * F.interpolate(unit[None], size=(299, 299), mode="bilinear", align_corners=False) - 1)[0]


def _bit_identical(ours: torch.Tensor, image: np.ndarray, mode: str, golden: str) -> bool:
    if mode == "pytorch-fid":
        return torch.equal(ours, _pytorch_fid_input(image))
    return _sha256(ours) == golden


@pytest.mark.parametrize("mode", PREPROCESS_MODES)
def test_model_input_is_bit_identical_to_the_peer_of_each_mode(mode):
    _exactness_comparable(mode)
    names = sorted(GOLDEN["files"])
    images = {name: _peer_decode(GOLDENS / "inputs" / name) for name in names}
    differing = [name for name in names
                 if not _bit_identical(to_model_input(images[name], mode), images[name], mode, GOLDEN["files"][name][mode])]
    assert not differing, f"{mode}: not bit-identical to {PEERS[mode]} for {differing}"


@pytest.mark.parametrize("mode", PREPROCESS_MODES)
def test_model_input_is_within_1e_5_of_the_peer_of_each_mode(mode):
    stored = np.load(GOLDENS / "preprocess.npz")
    mode_index = list(stored["modes"]).index(mode)
    worst_value, worst_mean = 0.0, 0.0
    for file_index, name in enumerate(stored["files"]):
        ours = to_model_input(_peer_decode(GOLDENS / "inputs" / str(name)), mode).numpy()
        assert ours.shape == (3, 299, 299) and ours.dtype == np.float32
        sampled = ours.ravel()[stored["positions"]]
        worst_value = max(worst_value, float(np.abs(sampled - stored["values"][file_index, mode_index]).max()))
        means = ours.astype(np.float64).mean(axis=(1, 2))
        worst_mean = max(worst_mean, float(np.abs(means - stored["channel_mean"][file_index, mode_index]).max()))
    assert worst_value <= 1e-5, f"{mode}: max abs error {worst_value:.3g} against {PEERS[mode]}"
    assert worst_mean <= 1e-6, f"{mode}: channel means off by {worst_mean:.3g} against {PEERS[mode]}"


@pytest.mark.parametrize("mode", PREPROCESS_MODES)
def test_awkward_sizes_match_the_peer_bit_for_bit(mode):
    _exactness_comparable(mode)
    for size, hashes in GOLDEN["arrays"].items():
        height, width = map(int, size.split("x"))
        image = _noise_image(height, width)
        assert _bit_identical(to_model_input(image, mode), image, mode, hashes[mode]), f"{mode} at {size}"


@pytest.mark.parametrize("shape", [(7, 11), (40, 9), (13, 13)])  # (13, 13): the same size
def test_tf_mode_follows_the_tf1_bilinear_formula(shape):
    # TF1 resize_bilinear (align_corners=False, no half-pixel centres): output i samples input at i * in / out.
    image = _noise_image(*shape)
    expected = _tf1_reference(image, 13)
    np.testing.assert_allclose(to_model_input(image, "tf", size=13).numpy(), expected, rtol=0, atol=2e-6)


def _tf1_reference(image: np.ndarray, size: int) -> np.ndarray:
    """TF1 bilinear in float64 followed by (x - 128) / 128."""
    height, width = image.shape[:2]
    ys, xs = np.arange(size) * height / size, np.arange(size) * width / size
    y0, x0 = np.floor(ys).astype(int), np.floor(xs).astype(int)
    y1, x1 = np.minimum(y0 + 1, height - 1), np.minimum(x0 + 1, width - 1)
    dy, dx = (ys - y0)[:, None, None], (xs - x0)[None, :, None]
    pixels = image.astype(np.float64)
    top = pixels[y0][:, x0] * (1 - dx) + pixels[y0][:, x1] * dx
    bottom = pixels[y1][:, x0] * (1 - dx) + pixels[y1][:, x1] * dx
    return ((top * (1 - dy) + bottom * dy - 128) / 128).transpose(2, 0, 1)


def test_pytorch_fid_mode_is_half_pixel_bilinear_of_unit_values_then_2x_minus_1():
    image = _noise_image(20, 30)
    unit = torch.from_numpy(image).permute(2, 0, 1).double()[None] / 255
    expected = 2 * F.interpolate(unit, size=(16, 16), mode="bilinear", align_corners=False)[0] - 1
    np.testing.assert_allclose(to_model_input(image, "pytorch-fid", size=16).numpy(), expected.numpy(), atol=1e-6)


def test_clean_mode_is_antialiased_bicubic_clipped_then_centred():
    # torch's antialiased bicubic is an independent implementation of Pillow's filter (a = -0.5, widened support).
    image = _noise_image(50, 70)
    values = torch.from_numpy(image).permute(2, 0, 1).double()[None]
    resized = F.interpolate(values, size=(21, 21), mode="bicubic", align_corners=False, antialias=True)[0]
    expected = (resized.clamp(0, 255) - 128) / 128
    np.testing.assert_allclose(to_model_input(image, "clean", size=21).numpy(), expected.numpy(), atol=1e-5)


@pytest.mark.parametrize("mode", PREPROCESS_MODES)
def test_an_image_of_the_model_size_is_only_normalized(mode):
    image = _noise_image(299, 299)
    scale = {"tf": (128.0, 128.0), "pytorch-fid": (127.5, 127.5), "clean": (128.0, 128.0)}[mode]
    expected = (image.transpose(2, 0, 1).astype(np.float64) - scale[0]) / scale[1]
    np.testing.assert_allclose(to_model_input(image, mode).numpy(), expected, rtol=0, atol=1e-6)


def test_unknown_mode_is_a_config_error_listing_the_modes():
    with pytest.raises(ConfigError, match="tf, pytorch-fid, clean"):
        to_model_input(_noise_image(4, 4), "bilinear")


@pytest.mark.parametrize(
    "image",
    [
        np.zeros((4, 4), np.uint8),
        np.zeros((4, 4, 4), np.uint8),
        np.zeros((4, 4, 3), np.float32),
        np.zeros((0, 4, 3), np.uint8),
    ],
)
def test_anything_but_a_uint8_rgb_image_is_refused(image):
    with pytest.raises(ValueError, match="uint8 \\(height, width, 3\\)|non-empty"):
        to_model_input(image, "tf")


# ---------------------------------------------------------------------------------------------------- resize_float
@pytest.mark.parametrize("method", ["bilinear", "bicubic", "area", "nearest"])
def test_resize_float_leaves_an_image_of_the_right_size_unresampled(method):
    image = _noise_image(12, 9)
    expected = image.transpose(2, 0, 1).astype(np.float32) / np.float32(255)
    np.testing.assert_array_equal(resize_float(image, (12, 9), method).numpy(), expected)


@pytest.mark.parametrize("method", ["bilinear", "bicubic"])
@pytest.mark.parametrize("size", [(40, 50), (31, 17), (200, 300)])
def test_resize_float_matches_torch_antialiased_resize(method, size):
    # torch's antialias=True was built to match Pillow: widened filters when shrinking, a = -0.5 bicubic.
    image = _noise_image(97, 131)
    unit = torch.from_numpy(image).permute(2, 0, 1).double()[None] / 255
    expected = F.interpolate(unit, size=size, mode=method, align_corners=False, antialias=True)[0].clamp(0, 1)
    ours = resize_float(image, size, method)
    assert ours.shape == (3, *size) and ours.dtype == torch.float32
    np.testing.assert_allclose(ours.numpy(), expected.numpy(), rtol=0, atol=2e-5)


def test_resize_float_area_is_the_block_mean_for_whole_factors():
    image = _noise_image(12, 18)
    blocks = image.astype(np.float64).reshape(4, 3, 6, 3, 3).mean(axis=(1, 3)) / 255
    np.testing.assert_allclose(resize_float(image, (4, 6), "area").numpy(), blocks.transpose(2, 0, 1), atol=1e-6)


def test_resize_float_nearest_picks_the_pixel_under_each_output_centre():
    image = _noise_image(10, 7)
    rows, cols = np.floor((np.arange(4) + 0.5) * 10 / 4).astype(int), np.floor((np.arange(9) + 0.5) * 7 / 9).astype(int)
    expected = image[rows][:, cols].transpose(2, 0, 1) / 255
    np.testing.assert_allclose(resize_float(image, (4, 9), "nearest").numpy(), expected, atol=1e-7)


def test_resize_float_bicubic_stays_within_0_and_1_on_hard_edges():
    checker = ((np.indices((16, 16)).sum(axis=0) % 2) * 255).astype(np.uint8)
    image = np.repeat(checker[:, :, None], 3, axis=2)
    resized = resize_float(image, 37, "bicubic")
    assert resized.shape == (3, 37, 37)
    assert float(resized.min()) == 0.0 and float(resized.max()) == 1.0


def test_resize_float_rejects_unknown_methods_and_sizes():
    with pytest.raises(ConfigError, match="bilinear, bicubic, area, nearest"):
        resize_float(_noise_image(4, 4), 2, "lanczos")
    with pytest.raises(ConfigError, match="positive"):
        resize_float(_noise_image(4, 4), (0, 3), "bilinear")
