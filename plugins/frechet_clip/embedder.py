"""The ``clip-*`` embedders: OpenAI CLIP image towers on images preprocessed as clean-fid, torch-fidelity or CMMD
does, giving the projected embedding and its L2-normalised form."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch

from frechet.embedder import Embedder, Option
from frechet.errors import WeightsError
from frechet.precision import exact_float32
from frechet.weights import WeightsSpec, resolve_weights, weights_identity
from frechet_clip.checkpoint import VIT_B_32_WEIGHTS, VIT_L_14_336_WEIGHTS, VIT_L_14_WEIGHTS, read_tower_state
from frechet_clip.network import (
    VIT_B_32, VIT_L_14, VIT_L_14_336, TowerShape, VisionTransformer, build_tower, tower_shape,
)
from frechet_clip.preprocess import BATCHED_MODES, MODES, clip_input, clip_input_batch

#: The output CMMD compares; every other tool uses the projected embedding as it comes.
NORMALIZED_MODE = "cmmd"


def _options(default: str) -> tuple[Option, ...]:
    return (
        Option("preprocess", choices=MODES, default=default,
               help="whose preprocessing: clean-fid (CLIP-FID), torch-fidelity (clip-* extractors), cmmd (CMMD)"),
        Option("weights", Path, help="a local weights file (OpenAI .pt, a state dict, or .safetensors, "
                                     "OpenAI or transformers layout) instead of the canonical download"),
    )


class _ClipEmbedder(Embedder):
    """Shared by the three towers; each subclass names its canonical weights, shape and default mode."""

    domain = "image"
    fd_key = "fd_clip"
    tower: ClassVar[TowerShape]
    spec: ClassVar[WeightsSpec]

    def __init__(self, preprocess: str, weights: Path | None) -> None:
        super().__init__()
        self.preprocess = preprocess
        self.weights_path = weights
        self.weights_id = weights_identity(self.spec, weights)
        self._network: VisionTransformer | None = None
        self.shape = self.tower
        if weights is not None:  # a user's file: read now, so its shape sets the outputs and a bad file fails early
            self._network = self._build(weights)
            self.shape = self._network.shape
        dims = self.shape.output_dim
        self.outputs = {"projected": dims, "normalized": dims}
        self.default_output = "normalized" if preprocess == NORMALIZED_MODE else "projected"

    def transform(self, item: np.ndarray) -> torch.Tensor:
        return clip_input(item, self.preprocess, self.shape.resolution)

    def transforms_batches(self) -> bool:
        return self.preprocess in BATCHED_MODES

    def transform_batch(self, items: torch.Tensor) -> torch.Tensor:
        return clip_input_batch(items, self.preprocess, self.shape.resolution)

    def forward(self, batch: torch.Tensor) -> dict[str, torch.Tensor]:
        with exact_float32(batch.device):
            projected = self.network()(batch)
        outputs = {"projected": projected}
        if self.requested_outputs is None or "normalized" in self.requested_outputs:
            outputs["normalized"] = projected / projected.norm(dim=-1, keepdim=True)
        return outputs

    def cpu_slice_size(self) -> int | None:
        # as fast as the whole batch with large allocations reused, faster without, in 0.6-0.82 of the peak
        # memory (bench/results/forward_slices.md); features within 1e-6 of the whole batch's
        return 8

    def network(self) -> VisionTransformer:
        """The loaded tower (resolving and reading the canonical weights on first use)."""
        if self._network is None:
            self._network = self._build(resolve_weights(self.spec)).to(self.device)
        return self._network

    def config(self) -> dict[str, Any]:
        return {"weights": self.weights_id, "preprocess": self.preprocess}

    def __getstate__(self) -> dict[str, Any]:
        # DataLoader workers started with "spawn" receive the embedder for ``transform`` only: never the network.
        return {**self.__dict__, "_network": None}

    def _build(self, path: Path) -> VisionTransformer:
        state = read_tower_state(path)
        try:
            shape = tower_shape(state)
            model = build_tower(state)
        except (ValueError, RuntimeError) as error:
            raise WeightsError(f"{path}: {error}; pass {self.spec.file_name} or a file in its layout") from None
        if shape.resolution != self.tower.resolution:
            raise WeightsError(
                f"{path}: this tower takes {shape.resolution}x{shape.resolution} images, but '{self.name}' is the "
                f"{self.tower.resolution}x{self.tower.resolution} model; use the embedder for those weights"
            )
        return model


class ClipVitB32(_ClipEmbedder):
    """CLIP ViT-B/32 (OpenAI): CLIP-FID as clean-fid computes it; projected (512) and normalized outputs"""

    name = "clip-vitb32"
    tower, spec = VIT_B_32, VIT_B_32_WEIGHTS
    weights = (VIT_B_32_WEIGHTS,)
    outputs = {"projected": VIT_B_32.output_dim, "normalized": VIT_B_32.output_dim}
    default_output = "projected"
    options = _options("clean-fid")

    def __init__(self, preprocess: str = "clean-fid", weights: Path | None = None) -> None:
        super().__init__(preprocess, weights)


class ClipVitL14(_ClipEmbedder):
    """CLIP ViT-L/14 (OpenAI) as torch-fidelity's clip-vit-l-14; projected (768) and normalized outputs"""

    name = "clip-vitl14"
    tower, spec = VIT_L_14, VIT_L_14_WEIGHTS
    weights = (VIT_L_14_WEIGHTS,)
    outputs = {"projected": VIT_L_14.output_dim, "normalized": VIT_L_14.output_dim}
    default_output = "projected"
    options = _options("torch-fidelity")

    def __init__(self, preprocess: str = "torch-fidelity", weights: Path | None = None) -> None:
        super().__init__(preprocess, weights)


class ClipVitL14At336(_ClipEmbedder):
    """CLIP ViT-L/14@336px (OpenAI): CMMD's embedding by default; projected (768) and normalized outputs"""

    name = "clip-vitl14-336"
    tower, spec = VIT_L_14_336, VIT_L_14_336_WEIGHTS
    weights = (VIT_L_14_336_WEIGHTS,)
    outputs = {"projected": VIT_L_14_336.output_dim, "normalized": VIT_L_14_336.output_dim}
    default_output = "normalized"
    options = _options("cmmd")

    def __init__(self, preprocess: str = "cmmd", weights: Path | None = None) -> None:
        super().__init__(preprocess, weights)
