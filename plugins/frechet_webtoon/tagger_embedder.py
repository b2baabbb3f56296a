"""The ``wd-*-tagger-v3`` embedders: an illustration-domain backbone (SmilingWolf's WD taggers, trained on
Danbooru's drawn art: ViT, ViT-Large, ConvNeXt, SwinV2, EVA02-Large) whose pooled features, the input of its tag
head, feed the Fréchet distance."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch

from frechet.embedder import Embedder, Option
from frechet.precision import exact_float32
from frechet.weights import resolve_weights, weights_identity
from frechet_webtoon.tagger_network import ARCHITECTURES, TaggerArchitecture
from frechet_webtoon.tagger_preprocess import DEFAULT_MODE, MODES, tagger_input
from frechet_webtoon.tagger_weights import WEIGHTS, load_tagger


class TaggerEmbedder(Embedder):
    """A WD tagger v3 backbone (one subclass per architecture): ``pooled``, the features its tag head reads.

    ``weights`` is a local file in the repository's layout instead of the canonical download; the network loads on
    the first batch, so DataLoader workers never copy it.
    """

    domain = "image"
    fd_key = "fd_wd"
    default_output = "pooled"
    architecture: ClassVar[TaggerArchitecture]
    options = (
        Option("preprocess", choices=MODES, default=DEFAULT_MODE,
               help="whose preprocessing: wdv3-timm (white square padding, Pillow bicubic to 448, BGR, [-1, 1])"),
        Option("weights", Path, help="a local model.safetensors of this tagger (or a copy with fewer blocks or tags) "
                                     "instead of the canonical download"),
    )

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """Each tagger declares its ``architecture``; its output size and canonical weights follow from it."""
        super().__init_subclass__(**kwargs)
        cls.outputs = {"pooled": cls.architecture.features}
        cls.weights = (WEIGHTS[cls.architecture.name],)

    def __init__(self, preprocess: str = DEFAULT_MODE, weights: Path | None = None) -> None:
        super().__init__()
        self.preprocess = preprocess
        self.weights_path = weights
        spec = WEIGHTS[self.architecture.name]
        self.weights_id = weights_identity(spec, weights) if weights is not None else None
        self._network: torch.nn.Module | None = None

    def transform(self, item: np.ndarray) -> torch.Tensor:
        return tagger_input(item, self.architecture.image_size, self.preprocess)

    def forward(self, batch: torch.Tensor) -> dict[str, torch.Tensor]:
        with exact_float32(batch.device):
            return {"pooled": self.network()(batch)}

    def network(self) -> torch.nn.Module:
        """The loaded backbone (resolving, pinning and reading the canonical weights on first use)."""
        if self._network is None:
            path = resolve_weights(WEIGHTS[self.architecture.name], self.weights_path)
            if self.weights_id is None:
                self.weights_id = weights_identity(WEIGHTS[self.architecture.name])
            self._network = load_tagger(self.architecture, path, self.device, exact=self.weights_path is None)
        return self._network

    def config(self) -> dict[str, Any]:
        if self.weights_id is None:  # the canonical file: its pin names it, so it is resolved (and pinned) first
            self.network()
        return {"weights": self.weights_id, "preprocess": self.preprocess}

    def __getstate__(self) -> dict[str, Any]:
        # DataLoader workers started with "spawn" receive the embedder for ``transform`` only: never the network.
        return {**self.__dict__, "_network": None}


class TaggerViT(TaggerEmbedder):
    """WD ViT tagger v3 (ViT-B/16 at 448, Danbooru): the 768-d mean patch token"""

    name = "wd-vit-tagger-v3"
    architecture = ARCHITECTURES["vit"]


class TaggerViTLarge(TaggerEmbedder):
    """WD ViT-Large tagger v3 (ViT-L/16 at 448, Danbooru): the 1024-d mean patch token"""

    name = "wd-vit-large-tagger-v3"
    architecture = ARCHITECTURES["vit-large"]


class TaggerConvNeXt(TaggerEmbedder):
    """WD ConvNeXt tagger v3 (ConvNeXt-B at 448, Danbooru): the 1024-d pooled features"""

    name = "wd-convnext-tagger-v3"
    architecture = ARCHITECTURES["convnext"]


class TaggerSwinV2(TaggerEmbedder):
    """WD SwinV2 tagger v3 (SwinV2-B, 14×14 windows at 448, Danbooru): the 1024-d mean of the last stage"""

    name = "wd-swinv2-tagger-v3"
    architecture = ARCHITECTURES["swinv2"]


class TaggerEva02Large(TaggerEmbedder):
    """WD EVA02-Large tagger v3 (EVA02-L/14 at 448, Danbooru): the 1024-d normalised mean patch token"""

    name = "wd-eva02-large-tagger-v3"
    architecture = ARCHITECTURES["eva02-large"]


EMBEDDERS = (TaggerViT, TaggerViTLarge, TaggerConvNeXt, TaggerSwinV2, TaggerEva02Large)
