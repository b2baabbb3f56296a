"""Where to crop an image and what size to resize it to, with the rounding rules of the libraries the reference
tools use (torchvision's ``Resize(int)`` and ``CenterCrop``, and the floor-rounded square crop of Pillow boxes)."""

from __future__ import annotations

import numpy as np


def shorter_side_size(height: int, width: int, short: int) -> tuple[int, int]:
    """(height, width) after torchvision's ``Resize(short)``: the shorter side becomes ``short`` and the longer one
    ``int(short * long / shorter)`` (truncated, computed in double precision); a square stays square."""
    if height <= width:
        return short, int(short * width / height)
    return int(short * height / width), short


def centre_crop(image: np.ndarray, height: int, width: int) -> np.ndarray:
    """The centred ``height`` × ``width`` window of an (H, W, C) array, offsets rounded as torchvision's
    ``CenterCrop`` does (``int(round((H - h) / 2))``, so .5 rounds to even); the image must be at least that large."""
    if image.shape[0] < height or image.shape[1] < width:
        raise ValueError(f"cannot crop {height}x{width} from an image of {image.shape[0]}x{image.shape[1]}")
    top = int(round((image.shape[0] - height) / 2.0))
    left = int(round((image.shape[1] - width) / 2.0))
    return image[top:top + height, left:left + width]


def centre_square(image: np.ndarray) -> np.ndarray:
    """The largest centred square of an (H, W, C) array, offsets rounded down (a Pillow crop box
    ``((W - s) // 2, (H - s) // 2)``, as CMMD's reference code takes it)."""
    side = min(image.shape[0], image.shape[1])
    top, left = (image.shape[0] - side) // 2, (image.shape[1] - side) // 2
    return image[top:top + side, left:left + side]
