"""Turn decoded RGB images into network inputs: the three FID preprocessing modes, a general float resize, and the
per-channel normalisation other backbones share."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F

from frechet.errors import ConfigError
from frechet_image.resize import PIL_FILTERS, pil_resize_float, tf1_bilinear

#: Preprocessing modes, each named after the implementations whose network input it reproduces:
#: "tf" (TTUR, torch-fidelity, StyleGAN's metrics), "pytorch-fid", and "clean" (clean-fid's default).
PREPROCESS_MODES = ("tf", "pytorch-fid", "clean")
#: The mode of the original TensorFlow FID, in which published FIDs are reported (see docs/parity.md).
DEFAULT_PREPROCESS = "tf"
#: Modes :func:`to_model_input_batch` computes for a whole batch at once (the others resize with Pillow per image).
BATCHED_MODES = ("tf", "pytorch-fid")
#: Methods of :func:`resize_float`.
RESIZE_METHODS = tuple(PIL_FILTERS)


def to_model_input(image: np.ndarray, mode: str, size: int = 299) -> torch.Tensor:
    """Resize and normalize a uint8 (H, W, 3) RGB image into the float32 (3, size, size) Inception input of ``mode``.

    - ``tf``: TensorFlow 1.x bilinear resize of the 0–255 values, then (x − 128) / 128 (TTUR, torch-fidelity).
    - ``pytorch-fid``: x / 255, torch bilinear resize (align_corners=False, no antialiasing), then 2x − 1.
    - ``clean``: Pillow bicubic resize of each channel in float32 (antialiased), clip to [0, 255], then
      (x − 128) / 128 (clean-fid).

    Each mode repeats its reference's order of operations in float32, so its output is bit-identical to that
    reference's network input on the CPU.
    """
    check_image(image)
    if mode not in PREPROCESS_MODES:
        raise ConfigError(f"unknown preprocess mode '{mode}'; choose one of {', '.join(PREPROCESS_MODES)}")
    height, width = _size_pair(size)
    if mode == "tf":
        return (tf1_bilinear(channels_first(image).float(), (height, width)) - 128) / 128
    if mode == "pytorch-fid":
        unit = channels_first(image).float().div(255)
        resized = F.interpolate(unit[None], size=(height, width), mode="bilinear", align_corners=False)[0]
        return 2 * resized - 1
    resized = _pil_resize_or_copy(image, (height, width), "bicubic").clamp(0, 255)
    return (resized - 128) / 128


def to_model_input_batch(images: torch.Tensor, mode: str, size: int = 299) -> torch.Tensor:
    """:func:`to_model_input` of a whole uint8 (N, 3, H, W) batch at once, on the batch's own device, for the modes
    in :data:`BATCHED_MODES` (element-wise steps and torch's batched bilinear: on the CPU each image gets exactly
    the values it gets alone). ``clean`` resizes with Pillow, one image at a time, so it has no batched form."""
    height, width = _size_pair(size)
    if mode == "tf":  # in place: the same roundings as the per-item path, without a copy of the batch per step
        return tf1_bilinear(images, (height, width)).sub_(128).div_(128)
    if mode == "pytorch-fid":
        resized = F.interpolate(images.float().div_(255), size=(height, width), mode="bilinear", align_corners=False)
        return resized.mul_(2).sub_(1)
    raise ConfigError(f"preprocess mode '{mode}' has no batched form; use to_model_input on each image")


def resize_float(image: np.ndarray, size: int | tuple[int, int], method: str) -> torch.Tensor:
    """Resize a uint8 (H, W, 3) RGB image to float32 (3, h, w) values in [0, 1] for a custom backbone.

    ``size`` is one side of a square or (height, width). ``method`` is "bilinear", "bicubic", "area" (box
    average) or "nearest"; all use Pillow's filters on float32 channels, which widen with the scale factor when
    shrinking (antialiased, like Pillow's and torchvision's ``antialias=True``), and bicubic results are clipped to
    [0, 1]. An image that already has the requested size is only converted, never resampled.
    """
    check_image(image)
    if method not in PIL_FILTERS:
        raise ConfigError(f"unknown resize method '{method}'; choose one of {', '.join(RESIZE_METHODS)}")
    resized = _pil_resize_or_copy(image, _size_pair(size), method)
    return resized.clamp(0, 255).div(255)


def normalize(image: torch.Tensor, mean: Sequence[float], std: Sequence[float]) -> torch.Tensor:
    """(x − mean) / std per channel of a (3, H, W) or (N, 3, H, W) float32 tensor, with mean and std rounded to
    float32 first and the two steps rounded separately: torchvision's ``Normalize``, and what EDM2 and
    torch-fidelity compute."""
    mean_ = torch.tensor(mean, dtype=image.dtype, device=image.device).view(-1, 1, 1)
    std_ = torch.tensor(std, dtype=image.dtype, device=image.device).view(-1, 1, 1)
    return (image - mean_) / std_


def channels_first(image: np.ndarray) -> torch.Tensor:
    """(H, W, 3) array -> a contiguous (3, H, W) tensor copy (contiguous, so torch kernels take their NCHW path)."""
    return torch.from_numpy(np.array(image.transpose(2, 0, 1), order="C"))


def check_image(image: np.ndarray) -> None:
    """Raise ValueError unless ``image`` is a non-empty uint8 (H, W, 3) RGB array."""
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        described = f"{image.dtype} array of shape {image.shape}" if isinstance(image, np.ndarray) else type(image)
        raise ValueError(f"expected a uint8 (height, width, 3) RGB array, got {described}")
    if image.shape[0] == 0 or image.shape[1] == 0:
        raise ValueError(f"expected a non-empty image, got shape {image.shape}")


def _pil_resize_or_copy(image: np.ndarray, size: tuple[int, int], method: str) -> torch.Tensor:
    """0–255 float32 (3, h, w): Pillow float resize, or the values themselves when the size already matches."""
    if image.shape[:2] == size:
        return channels_first(image).float()
    return pil_resize_float(image, size, method)


def _size_pair(size: int | tuple[int, int]) -> tuple[int, int]:
    pair = (size, size) if isinstance(size, int) else tuple(size)
    if len(pair) != 2 or not all(isinstance(side, int) and side > 0 for side in pair):
        raise ConfigError(f"size must be a positive int or a (height, width) pair of them, got {size!r}")
    return pair
