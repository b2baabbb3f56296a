"""Thumbnails of image items for the galleries of ``frechet report``: small JPEGs, at most THUMBNAIL pixels a side."""

from __future__ import annotations

import io
from typing import Any

import numpy as np
from PIL import Image

from frechet.report import Media

#: Longest side of a thumbnail, in pixels.
THUMBNAIL = 128


def thumbnail(item: Any, domain: str) -> Media | None:
    """A JPEG thumbnail of a decoded image item (uint8 (H, W, 3)); None for anything else."""
    if domain != "image" or not isinstance(item, np.ndarray) or item.ndim != 3 or item.dtype != np.uint8:
        return None
    image = Image.fromarray(item)
    image.thumbnail((THUMBNAIL, THUMBNAIL), Image.Resampling.BICUBIC)
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=85)
    return Media("image/jpeg", buffer.getvalue(), image.width, image.height)
