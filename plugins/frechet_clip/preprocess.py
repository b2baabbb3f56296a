"""CLIP network inputs as each reference tool makes them, from a decoded uint8 (H, W, 3) RGB image.

- ``clean-fid`` (clean-fid's ``model_name="clip_vit_b_32"``, whatever its ``mode``): Pillow bicubic resize of the
  8-bit image so the shorter side is R (torchvision's ``Resize(R)`` rounding), centre crop R × R (torchvision's
  ``CenterCrop`` rounding), x / 255 · 255 / 255 in float32 (its ToTensor, · 255, and / 255.0), CLIP mean/std.
- ``torch-fidelity`` (its ``clip-*`` feature extractors): the whole image resized to R × R by torch-fidelity's
  TensorFlow-1 bilinear (no crop, aspect ratio not kept), then (x − 255·mean) / (255·std) on 0–255 values.
- ``cmmd`` (google-research ``cmmd/``): the largest centred square (offsets rounded down), Pillow bicubic to
  R × R on the 8-bit image, x / 255 in float32, CLIP mean/std.

R is the tower's input resolution (224 or 336). Each mode repeats its reference's order of float32 operations, so
the network input is bit-identical to the reference's on the CPU.
"""

from __future__ import annotations

import numpy as np
import torch

from frechet_image.framing import centre_crop, centre_square, shorter_side_size
from frechet_image.resize import pil_resize_uint8, tf1_bilinear

#: Preprocessing modes, named after the tools whose CLIP input they reproduce.
MODES = ("clean-fid", "torch-fidelity", "cmmd")
#: Modes :func:`clip_input_batch` computes for a whole batch at once (the others resize with Pillow per image).
BATCHED_MODES = ("torch-fidelity",)
#: OpenAI CLIP's per-channel mean and standard deviation of [0, 1] pixel values.
MEAN = (0.48145466, 0.4578275, 0.40821073)
STD = (0.26862954, 0.26130258, 0.27577711)
_MEAN = torch.tensor(MEAN, dtype=torch.float32)[:, None, None]
_STD = torch.tensor(STD, dtype=torch.float32)[:, None, None]
_MEAN_255 = torch.tensor([255 * value for value in MEAN], dtype=torch.float32)[:, None, None]
_STD_255 = torch.tensor([255 * value for value in STD], dtype=torch.float32)[:, None, None]


def clip_input(image: np.ndarray, mode: str, resolution: int) -> torch.Tensor:
    """The float32 (3, R, R) network input of a uint8 (H, W, 3) RGB ``image`` in preprocessing ``mode``."""
    if mode == "clean-fid":
        resized = pil_resize_uint8(image, shorter_side_size(*image.shape[:2], resolution), "bicubic")
        unit = _channels_first(centre_crop(resized, resolution, resolution)).div(255).mul(255).div(255)
        return unit.sub(_MEAN).div(_STD)
    if mode == "torch-fidelity":
        resized = tf1_bilinear(_channels_first(image), (resolution, resolution))
        return resized.sub(_MEAN_255).div(_STD_255)
    if mode == "cmmd":
        square = pil_resize_uint8(centre_square(image), (resolution, resolution), "bicubic")
        return _channels_first(square).div(255).sub(_MEAN).div(_STD)
    raise ValueError(f"unknown CLIP preprocessing mode '{mode}'; choose one of {', '.join(MODES)}")


def clip_input_batch(images: torch.Tensor, mode: str, resolution: int) -> torch.Tensor:
    """:func:`clip_input` of a whole uint8 (N, 3, H, W) batch at once on its own device, for :data:`BATCHED_MODES`
    (element-wise steps: each image gets exactly the values it gets alone)."""
    if mode != "torch-fidelity":
        raise ValueError(f"CLIP preprocessing mode '{mode}' has no batched form; use clip_input on each image")
    resized = tf1_bilinear(images, (resolution, resolution))
    return resized.sub(_MEAN_255.to(images.device)).div(_STD_255.to(images.device))


def _channels_first(image: np.ndarray) -> torch.Tensor:
    """(H, W, 3) uint8 -> contiguous float32 (3, H, W) with the same 0–255 values."""
    return torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1))).float()
