"""cd-fvd's video-file loader step, the same for its I3D and VideoMAE-v2 paths (``cdfvd/utils/data_utils.py``
``preprocess``, then ``compute_real_stats``/``compute_fake_stats``): frames to [0, 1], the shorter side to the
loader's ``resolution`` by antialiased bilinear, a centre crop, and back to 0-255 as uint8, truncated (``.byte()``),
before the backbone's own preprocessing."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from frechet.errors import InputError
from frechet.options import Option

#: The embedder option that applies the step before a cd-fvd mode's own preprocessing.
CROP_OPTION = Option("crop", int, default=0,
                     help="cd-fvd's file loader: shorter side to this size (antialiased) and centre crop first; 0: none")


def check_crop(crop: int) -> int:
    """``crop`` when it is 0 (none) or a size; InputError otherwise."""
    if crop < 0:
        raise InputError(f"embedder option crop must be 0 (none) or a size in pixels, got {crop}")
    return crop


def shorter_side_crop(frames: torch.Tensor, size: int) -> torch.Tensor:
    """(n, 3, H, W) frames of 0-255 values as (n, 3, size, size) uint8: ``/255``, shorter side to ``size`` (the
    longer rounded up) by antialiased bilinear, centre crop to ``size`` x ``size``, ``x 255`` truncated to uint8."""
    frames = frames.float() / 255.0
    height, width = frames.shape[-2:]
    scale = size / min(height, width)
    target = (size, math.ceil(width * scale)) if height < width else (math.ceil(height * scale), size)
    frames = F.interpolate(frames, size=target, mode="bilinear", align_corners=False, antialias=True)
    top, left = (frames.shape[-2] - size) // 2, (frames.shape[-1] - size) // 2
    return (frames[..., top:top + size, left:left + size] * 255).to(torch.uint8)
