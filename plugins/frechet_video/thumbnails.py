"""Animated GIF thumbnails of video items for the galleries of ``frechet report``: at most THUMBNAIL pixels a
side, at most MAX_FRAMES frames spread evenly over the video."""

from __future__ import annotations

import io
import logging
from typing import Any

import numpy as np
from PIL import Image

from frechet.errors import InputError
from frechet.report import Media
from frechet_video.video import Video

log = logging.getLogger("frechet")

#: Longest side of a thumbnail, in pixels.
THUMBNAIL = 96
#: Most frames shown, spread evenly from the first to the last.
MAX_FRAMES = 16
#: How long each shown frame stays, in milliseconds.
FRAME_MS = 125


def animated_thumbnail(item: Any, domain: str) -> Media | None:
    """An animated GIF of a video item; None for anything else, or when its frames cannot be read."""
    if domain != "video" or not isinstance(item, Video):
        return None
    indices = np.unique(np.linspace(0, item.num_frames - 1, min(MAX_FRAMES, item.num_frames)).round().astype(int))
    try:
        frames = item.read(indices.tolist())
    except InputError as error:
        log.warning("report: %s cannot be shown (%s)", item.name, error)
        return None
    if frames.dtype != np.uint8:
        frames = np.rint(frames.astype(np.float64) * 255).astype(np.uint8)
    images = []
    for frame in frames:
        image = Image.fromarray(frame)
        image.thumbnail((THUMBNAIL, THUMBNAIL), Image.Resampling.BICUBIC)
        images.append(image)
    buffer = io.BytesIO()
    images[0].save(buffer, format="GIF", save_all=True, append_images=images[1:], duration=FRAME_MS, loop=0)
    return Media("image/gif", buffer.getvalue(), images[0].width, images[0].height)
