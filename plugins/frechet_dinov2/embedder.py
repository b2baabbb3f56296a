"""The ``dinov2-vit{s,b,l,g}14`` embedders: a DINOv2 backbone's class token on images preprocessed as the chosen
FD_DINOv2 tool does."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch

from frechet.embedder import Embedder, Option
from frechet.precision import exact_float32
from frechet.weights import weights_identity
from frechet_dinov2.network import ARCHITECTURES, Architecture, DinoV2
from frechet_dinov2.preprocess import (
    BATCHED_MODES,
    DEFAULT_PREPROCESS,
    PREPROCESS_MODES,
    to_dinov2_input,
    to_dinov2_input_batch,
)
from frechet_dinov2.weights import WEIGHTS, load_network, resolve_dinov2_weights


class DinoV2Embedder(Embedder):
    """A DINOv2 backbone (one subclass per size): ``cls``, the class token after the final norm, as the hub model
    returns it and every FD_DINOv2 tool uses it.

    ``preprocess`` picks whose resize and normalisation the inputs get; ``weights`` is the hub checkpoint (or a file
    in its layout). The network loads on the first batch, so DataLoader workers never copy it.
    """

    domain = "image"
    fd_key = "fd_dinov2"
    default_output = "cls"
    #: The backbone's size; set by each subclass.
    architecture: ClassVar[Architecture]
    options = (
        Option("preprocess", choices=PREPROCESS_MODES, default=DEFAULT_PREPROCESS,
               help="whose resize and normalisation: dgm-eval, dgm-eval-clean (its --clean_resize), edm2, "
               "torch-fidelity"),
        Option("weights", Path, help="the hub checkpoint (dinov2_vit?14_pretrain.pth) or a file in its layout"),
    )

    def __init__(self, preprocess: str = DEFAULT_PREPROCESS, weights: Path | None = None) -> None:
        super().__init__()
        self.preprocess = preprocess
        self.weights_path = weights
        self.weights_id = weights_identity(WEIGHTS[self.architecture.name], weights)
        self._network: DinoV2 | None = None

    def transform(self, item: np.ndarray) -> torch.Tensor:
        return to_dinov2_input(item, self.preprocess)

    def transforms_batches(self) -> bool:
        return self.preprocess in BATCHED_MODES

    def transform_batch(self, items: torch.Tensor) -> torch.Tensor:
        return to_dinov2_input_batch(items, self.preprocess)

    def forward(self, batch: torch.Tensor) -> dict[str, torch.Tensor]:
        with exact_float32(batch.device):
            return {"cls": self.network()(batch)}

    def cpu_slice_size(self) -> int | None:
        # as fast as the whole batch with large allocations reused, faster without, in 0.6-0.82 of the peak
        # memory (bench/results/forward_slices.md); features within 1e-6 of the whole batch's
        return 8

    def network(self) -> DinoV2:
        """The loaded network (resolving and loading the weights on first use)."""
        if self._network is None:
            path = resolve_dinov2_weights(self.architecture, self.weights_path)
            self._network = load_network(self.architecture, path, self.device)
        return self._network

    def config(self) -> dict[str, Any]:
        return {"weights": self.weights_id, "preprocess": self.preprocess}

    def __getstate__(self) -> dict[str, Any]:
        # DataLoader workers started with "spawn" receive the embedder for ``transform`` only: never the network.
        return {**self.__dict__, "_network": None}


class DinoV2ViTS14(DinoV2Embedder):
    """DINOv2 ViT-S/14 (21 M parameters): the 384-d class token."""

    name = "dinov2-vits14"
    architecture = ARCHITECTURES["vits14"]
    outputs = {"cls": 384}
    weights = (WEIGHTS["vits14"],)


class DinoV2ViTB14(DinoV2Embedder):
    """DINOv2 ViT-B/14 (86 M parameters): the 768-d class token."""

    name = "dinov2-vitb14"
    architecture = ARCHITECTURES["vitb14"]
    outputs = {"cls": 768}
    weights = (WEIGHTS["vitb14"],)


class DinoV2ViTL14(DinoV2Embedder):
    """DINOv2 ViT-L/14 (304 M parameters): the 1024-d class token of FD_DINOv2 (Stein et al. 2023, EDM2)."""

    name = "dinov2-vitl14"
    aliases = ("dinov2",)
    architecture = ARCHITECTURES["vitl14"]
    outputs = {"cls": 1024}
    weights = (WEIGHTS["vitl14"],)


class DinoV2ViTG14(DinoV2Embedder):
    """DINOv2 ViT-g/14 (1.1 B parameters, SwiGLU feed-forward): the 1536-d class token."""

    name = "dinov2-vitg14"
    architecture = ARCHITECTURES["vitg14"]
    outputs = {"cls": 1536}
    weights = (WEIGHTS["vitg14"],)


EMBEDDERS = (DinoV2ViTS14, DinoV2ViTB14, DinoV2ViTL14, DinoV2ViTG14)
