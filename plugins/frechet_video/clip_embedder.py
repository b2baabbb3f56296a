"""What the video embedders share: a mode's clip sampling with the clip options over it, cd-fvd's loader crop,
``raw`` input, the FD options of the mode's distance, and weights resolved and loaded on first use (never sent to
DataLoader workers)."""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch

from frechet.embedder import Embedder
from frechet.errors import InputError
from frechet.precision import exact_float32
from frechet.weights import WeightsSpec, weights_identity
from frechet_video.cdfvd_crop import check_crop
from frechet_video.clips import ClipSpec, check_raw, read_clips
from frechet_video.i3d_modes import Mode, raw_input
from frechet_video.video import Video

#: The side of the square frames both networks take.
SIZE = 224


class ClipEmbedder(Embedder):
    """A network over clips of 224x224 frames, taken and preprocessed by a mode. A subclass names its weights
    (:meth:`weights_spec`, :meth:`resolve`, :meth:`load`), its preprocessing (:meth:`prepare`) and the clip sizes
    its network takes (:meth:`check_shape`); its one output is ``default_output``."""

    domain = "video"
    multiple_examples = True
    precisions = ("fp32",)

    def __init__(self, mode: Mode, weights: Path | None, raw: bool, crop: int, **clip_options: Any) -> None:
        super().__init__()
        self.mode = mode
        self.clip: ClipSpec = mode.clip.with_options(**clip_options)
        self.raw, self.crop = raw, check_crop(crop)
        self.weights_path = weights
        self.weights_id: str | None = None if weights is None else weights_identity(self.weights_spec(), weights)
        self._network: torch.nn.Module | None = None
        problem = self.check_shape(self.clip.frames, SIZE, SIZE)
        if problem:
            raise InputError(f"embedder option frames: {problem}")

    @abstractmethod
    def weights_spec(self) -> WeightsSpec:
        """The canonical weights file of this embedder's mode."""

    @abstractmethod
    def resolve(self, path: Path | None) -> Path:
        """The weights file: ``path``, or the canonical one (cached, or fetched)."""

    @abstractmethod
    def load(self, path: Path) -> torch.nn.Module:
        """The network with the weights at ``path``, on ``self.device``."""

    @abstractmethod
    def prepare(self, frames: np.ndarray, name: str) -> torch.Tensor:
        """(clips, T, H, W, 3) frames of video ``name`` as the network's (clips, 3, T, 224, 224) input, the mode's
        way; InputError naming the video where the mode cannot take its frames."""

    @abstractmethod
    def check_shape(self, frames: int, height: int, width: int) -> str | None:
        """Why the network cannot take clips of this size (None: it can)."""

    @property
    def fd_options(self) -> Mapping[str, Any]:
        """The FD options of this mode's distance (covariance normalisation, arithmetic)."""
        return self.mode.fd_options()

    def transform(self, item: Video) -> torch.Tensor:
        frames = read_clips(self.clip, item)
        if frames is None:
            return torch.zeros((0, 3, self.clip.frames, SIZE, SIZE))
        if not self.raw:
            return self.prepare(frames, item.name)
        check_raw(frames, item.name, self.check_shape(*frames.shape[1:4]))
        return raw_input(frames)

    def forward(self, batch: torch.Tensor) -> dict[str, torch.Tensor]:
        output, network = self.default_output, self.network()  # loaded first: it may set the output's width
        if not batch.shape[0]:
            return {output: batch.new_zeros((0, self.outputs[output]))}
        with exact_float32(batch.device):
            return {output: network(batch)}

    def network(self) -> torch.nn.Module:
        """The loaded network (resolving and loading the weights on first use)."""
        if self._network is None:
            path = self.resolve(self.weights_path)
            if self.weights_id is None:
                self.weights_id = weights_identity(self.weights_spec(), path)
            self._network = self.load(path)
        return self._network

    def config(self) -> dict[str, Any]:
        if self.weights_id is None:
            self.weights_id = weights_identity(self.weights_spec(), self.resolve(None))
        config: dict[str, Any] = {"weights": self.weights_id, "preprocess": self.mode.name, **self.clip.config()}
        if self.raw:
            config["raw"] = True
        if self.crop:
            config["crop"] = self.crop
        return config

    def __getstate__(self) -> dict[str, Any]:
        # DataLoader workers receive the embedder for ``transform`` only: never the network.
        return {**self.__dict__, "_network": None}
