"""WD tagger network inputs as the reference inference code makes them, from a decoded uint8 (H, W, 3) RGB image.

``wdv3-timm`` (SmilingWolf's timm example, ``wdv3_timm.py``, the model card's "use with timm" code): the image is
pasted on a white square as wide as its longer side, at offsets ((side − w) // 2, (side − h) // 2); timm's
``create_transform`` of the model's ``pretrained_cfg`` (448×448, bicubic, crop fraction 1) resizes that square with
Pillow's bicubic filter on 8-bit values (no-op at 448) and centre-crops nothing; ``ToTensor`` divides by 255,
``Normalize`` subtracts 0.5 and divides by 0.5 (float32); the channels are then flipped to BGR. The wd-tagger Space
(``app.py``, the ONNX export) pads, resizes and orders the channels identically and feeds 0–255 values to the
ONNX graph, which holds the normalisation: its pixels are these pixels, so one mode serves both.
"""

from __future__ import annotations

import numpy as np
import torch

from frechet_image.resize import pil_resize_uint8

#: Preprocessing modes, named after the reference code whose network input they reproduce bit for bit.
MODES = ("wdv3-timm",)
DEFAULT_MODE = "wdv3-timm"
#: The colour of the padding that makes an image square (white, in both reference codes).
PAD_VALUE = 255


def pad_square(image: np.ndarray) -> np.ndarray:
    """``image`` centred on a white square as wide as its longer side (offsets rounded down)."""
    height, width = image.shape[:2]
    side = max(height, width)
    canvas = np.full((side, side, 3), PAD_VALUE, np.uint8)
    top, left = (side - height) // 2, (side - width) // 2
    canvas[top : top + height, left : left + width] = image
    return canvas


def tagger_input(image: np.ndarray, size: int, mode: str = DEFAULT_MODE) -> torch.Tensor:
    """The float32 (3, size, size) BGR network input of a uint8 (H, W, 3) RGB ``image`` in ``mode``."""
    if mode not in MODES:
        raise ValueError(f"unknown WD tagger preprocessing mode '{mode}'; choose one of {', '.join(MODES)}")
    square = pil_resize_uint8(pad_square(image), (size, size), "bicubic")
    unit = torch.from_numpy(np.ascontiguousarray(square.transpose(2, 0, 1))).float().div(255)
    return unit.sub(0.5).div(0.5).flip(0)
