"""Turn decoded RGB images into DINOv2 inputs (3 × 224 × 224, ImageNet-normalised) as each FD_DINOv2 tool does."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from frechet.errors import ConfigError
from frechet_image.preprocess import channels_first, check_image, normalize
from frechet_image.resize import pil_resize_float, pil_resize_uint8, tf1_bilinear, torch_resize

#: Side of the square input every tool feeds the network (a 16 × 16 grid of 14-pixel patches).
INPUT_SIZE = 224
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
#: Preprocessing modes, each named after the tool whose network input it reproduces bit for bit.
PREPROCESS_MODES = ("dgm-eval", "dgm-eval-clean", "edm2", "torch-fidelity")
#: Modes :func:`to_dinov2_input_batch` computes for a whole batch at once (the others resize with Pillow per image).
BATCHED_MODES = ("edm2", "torch-fidelity")
#: dgm-eval's: the code of Stein et al. (2023), who introduced FD_DINOv2; EDM2 calls it the reference its own
#: resize approximates (see docs/guide/backbones.md).
DEFAULT_PREPROCESS = "dgm-eval"


def to_dinov2_input(image: np.ndarray, mode: str) -> torch.Tensor:
    """Resize and normalise a uint8 (H, W, 3) RGB image into the float32 (3, 224, 224) DINOv2 input of ``mode``.

    - ``dgm-eval``: Pillow bicubic resize of the 8-bit RGB image (rounded to 8 bits, antialiased), x / 255, then
      ImageNet mean/std (dgm-eval's default; EDM2's ``resize_mode='pil'`` computes the same).
    - ``dgm-eval-clean``: Pillow bicubic per channel in float32, clipped to [0, 255], x / 255, ImageNet mean/std
      (dgm-eval ``--clean_resize``).
    - ``edm2``: torch bicubic with antialiasing on the 0–255 float32 values (no clipping), x / 255, ImageNet
      mean/std (EDM2's ``calculate_metrics.py``, default ``resize_mode='torch'``).
    - ``torch-fidelity``: TensorFlow 1.x bilinear on the 0–255 values, then mean/std scaled by 255
      (torch-fidelity 0.4's ``dinov2-vit-*-14`` extractors).

    Each repeats its tool's order of float32 operations, so the result is bit-identical on the CPU.
    """
    check_image(image)
    size = (INPUT_SIZE, INPUT_SIZE)
    if mode == "dgm-eval":
        unit = channels_first(pil_resize_uint8(image, size, "bicubic")).float().div(255)
    elif mode == "dgm-eval-clean":
        unit = pil_resize_float(image, size, "bicubic").clamp(0, 255).div(255)
    elif mode == "edm2":
        unit = torch_resize(channels_first(image).float(), size, "bicubic", antialias=True).div(255)
    elif mode == "torch-fidelity":
        resized = tf1_bilinear(channels_first(image).float(), size)
        return normalize(resized, [255 * m for m in IMAGENET_MEAN], [255 * s for s in IMAGENET_STD])
    else:
        raise ConfigError(f"unknown DINOv2 preprocess mode '{mode}'; choose one of {', '.join(PREPROCESS_MODES)}")
    return normalize(unit, IMAGENET_MEAN, IMAGENET_STD)


def to_dinov2_input_batch(images: torch.Tensor, mode: str) -> torch.Tensor:
    """:func:`to_dinov2_input` of a whole uint8 (N, 3, H, W) batch at once on its own device, for
    :data:`BATCHED_MODES` (torch's batched resize and element-wise steps: on the CPU each image gets exactly the
    values it gets alone)."""
    size = (INPUT_SIZE, INPUT_SIZE)
    if mode == "edm2":
        unit = F.interpolate(images.float(), size=size, mode="bicubic", align_corners=False, antialias=True).div(255)
    elif mode == "torch-fidelity":
        resized = tf1_bilinear(images, size)
        return normalize(resized, [255 * m for m in IMAGENET_MEAN], [255 * s for s in IMAGENET_STD])
    else:
        raise ConfigError(f"DINOv2 preprocess mode '{mode}' has no batched form; use to_dinov2_input on each image")
    return normalize(unit, IMAGENET_MEAN, IMAGENET_STD)
