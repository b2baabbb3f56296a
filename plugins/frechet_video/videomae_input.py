"""cd-fvd's VideoMAE-v2 preprocessing (``cdfvd/third_party/VideoMAEv2/utils.py`` ``preprocess_videomae``): uint8
frames to [0, 1] (``/255``), then torch bilinear (``align_corners=False``, no antialias) to 224x224, run even when
the frames are already that size; no mean or standard deviation normalisation. Before it, where ``crop`` is set,
cd-fvd's video-file loader step (:func:`frechet_video.cdfvd_crop.shorter_side_crop`)."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from frechet_video.cdfvd_crop import shorter_side_crop
from frechet_video.videomae import SIZE


def network_input(frames: np.ndarray, crop: int = 0) -> torch.Tensor:
    """(clips, T, H, W, 3) frames (uint8, or float32 in [0, 1]) as the network's (clips, 3, T, 224, 224) float32
    input in [0, 1], the way cd-fvd makes it (each clip resized as one (3, T, H, W) tensor, as cd-fvd does)."""
    inputs = []
    for clip in torch.from_numpy(np.ascontiguousarray(frames)):
        if crop:
            flat = clip.permute(0, 3, 1, 2)  # (T, 3, H, W)
            clip = shorter_side_crop(flat if flat.dtype == torch.uint8 else flat * 255.0, crop).permute(0, 2, 3, 1)
        clip = clip.permute(3, 0, 1, 2)  # (3, T, H, W)
        clip = clip.to(torch.float32) / 255 if clip.dtype == torch.uint8 else clip.to(torch.float32)
        inputs.append(F.interpolate(clip, size=(SIZE, SIZE), mode="bilinear", align_corners=False))
    return torch.stack(inputs)

