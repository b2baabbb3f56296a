"""The FVD modes: each tool's protocol for I3D features, from the frames of a clip to the distance.

A mode fixes the weights file, how frames reach 224x224 and [-1, 1], which clips are taken
(:class:`frechet_video.clips.ClipSpec`), and how the distance treats the statistics (covariance divided by N - 1 or
by N; float64 or float32 arithmetic), so that the same weights and videos give each tool's own number.

- ``tf``: google-research ``frechet_video_distance.py``. TF-hub weights; TF1 ``resize_bilinear`` (no antialias, no
  half-pixel centres) to 224 on 0-255 values, then ``2x/255 - 1``; tfgan's distance (float64, N - 1).
- ``tats``: songweige/TATS ``tats/fvd/fvd.py``. TATS's pytorch-i3d weights; torch bilinear (``align_corners=False``,
  no antialias) to 224 on 0-255 float32 values, ``2x/255 - 1``; its distance in float32 torch (N - 1).
- ``cd-fvd``: songweige/content-debiased-fvd (PyPI ``cd-fvd``), I3D path. TATS's weights; its file loader's step
  (:func:`frechet_video.cdfvd_crop.shorter_side_crop`) where ``crop`` is set, then TATS's resize and scaling; a
  random clip per video; covariance divided by N, scipy's float64 sqrtm.
- ``stylegan-v``: universome/stylegan-v ``src/metrics/frechet_video_distance.py``. Its own TorchScript detector
  ``i3d_torchscript.pt`` (a port of the TF-hub network), read without running it
  (:mod:`frechet_video.i3d_torchscript`); uint8 frames scaled as the detector's ``rescale=True`` does
  (``x / 255 * 2 - 1``); frames must already be 224x224, as the resize the detector applies with ``resize=True``
  lives in its code, which frechet does not run (nor imitate); one clip per video at a seeded random offset (real
  videos; ``start=first`` for generated ones, which StyleGAN-V takes from t = 0), a video under ``frames * stride``
  frames skipped and counted; covariance divided by N, float64 distance. Its presets (:data:`PRESETS`) set the
  clip's frames and stride.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from frechet.errors import InputError
from frechet_image.resize import tf1_bilinear
from frechet_video.cdfvd_crop import shorter_side_crop
from frechet_video.clips import ClipSpec

SIZE = 224


@dataclass(frozen=True)
class Mode:
    """One tool's protocol: weights layout, resize, clips, and the FD options it computes the distance with."""

    name: str
    tool: str
    weights: str  # "tf-hub", "piergiaj" or "stylegan-v" (frechet_video.i3d_weights.LAYOUTS)
    resize: str  # "tf1", "torch", or "none" (frames must be 224x224; scaled as x / 255 * 2 - 1)
    clip: ClipSpec
    covariance: str = "unbiased"  # or "population" (divided by N)
    precision: str = "float64"  # or "float32"

    def fd_options(self) -> dict[str, str]:
        """The FD metric options this mode computes its distance with."""
        return {"fd_covariance": self.covariance, "fd_precision": self.precision}


MODES = {
    "tf": Mode("tf", "google-research frechet_video_distance.py", "tf-hub", "tf1", ClipSpec()),
    "tats": Mode("tats", "TATS tats/fvd/fvd.py", "piergiaj", "torch", ClipSpec(), precision="float32"),
    "cd-fvd": Mode("cd-fvd", "cd-fvd 0.1.1 (I3D)", "piergiaj", "torch", ClipSpec(start="random"),
                   covariance="population"),
    "stylegan-v": Mode("stylegan-v", "StyleGAN-V src/metrics/frechet_video_distance.py", "stylegan-v", "none",
                       ClipSpec(start="random", short="skip", whole_steps=True), covariance="population"),
}
DEFAULT_MODE = "tf"
#: StyleGAN-V's FVD metrics (``src/metrics/metric_main.py``): the frames and stride of their clips. Each takes 2048
#: videos a side.
PRESETS = {
    "fvd2048_16f": {"frames": 16, "stride": 1},
    "fvd2048_128f": {"frames": 128, "stride": 1},
    "fvd2048_128f_subsample8f": {"frames": 16, "stride": 8},
}


def to_255(frames: torch.Tensor) -> torch.Tensor:
    """Frames as 0-255 values: uint8 kept (the resize converts it exactly), float [0, 1] times 255 in float32."""
    return frames if frames.dtype == torch.uint8 else frames.float() * 255.0


def network_input(frames: np.ndarray, mode: Mode, crop: int = 0, name: str = "video") -> torch.Tensor:
    """(clips, T, H, W, 3) frames (uint8, or float32 in [0, 1]) of video ``name`` as the network's
    (clips, 3, T, 224, 224) float32 input in [-1, 1], the way ``mode``'s tool makes it."""
    clips, length = frames.shape[:2]
    flat = torch.from_numpy(np.ascontiguousarray(frames)).flatten(0, 1).permute(0, 3, 1, 2)  # (n, 3, H, W)
    flat = to_255(flat)
    if crop:
        flat = shorter_side_crop(flat, crop)
    if mode.resize == "none":
        if tuple(flat.shape[-2:]) != (SIZE, SIZE):
            raise InputError(
                f"{name}: --preprocess {mode.name} takes 224x224 frames, got {flat.shape[-2]}x{flat.shape[-1]} (the "
                "resize inside its TorchScript detector is code frechet does not run, and is not published, so frechet "
                "does not imitate it); resize "
                "the videos to 224x224 first, or use --preprocess tf")
        scaled = flat.float().div(255.0).mul(2.0).sub(1.0)
        return scaled.view(clips, length, 3, SIZE, SIZE).transpose(1, 2).contiguous()
    if mode.resize == "tf1":
        resized = tf1_bilinear(flat, (SIZE, SIZE))
    elif tuple(flat.shape[-2:]) == (SIZE, SIZE):
        resized = flat.float()
    else:
        resized = F.interpolate(flat.float(), size=(SIZE, SIZE), mode="bilinear", align_corners=False)
    scaled = resized.mul(2.0).div(255.0).sub(1.0)
    return scaled.view(clips, length, 3, SIZE, SIZE).transpose(1, 2).contiguous()


def raw_input(frames: np.ndarray) -> torch.Tensor:
    """(clips, T, H, W, 3) float frames fed untouched, as (clips, 3, T, H, W) float32."""
    return torch.from_numpy(np.ascontiguousarray(frames, dtype=np.float32)).permute(0, 4, 1, 2, 3).contiguous()
