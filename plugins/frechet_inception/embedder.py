"""The ``inception`` embedder: FID's Inception-v3 on images preprocessed as the chosen peer does (FID and IS)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from frechet.embedder import Embedder, Option
from frechet.precision import exact_float32
from frechet.weights import weights_identity
from frechet_image.preprocess import (
    BATCHED_MODES,
    DEFAULT_PREPROCESS,
    PREPROCESS_MODES,
    to_model_input,
    to_model_input_batch,
)
from frechet_inception.network import OUTPUTS, FIDInceptionV3
from frechet_inception.weights import WEIGHTS, load_network, resolve_inception_weights

INPUT_SIZE = 299


class InceptionEmbedder(Embedder):
    """FID Inception-v3: ``pool`` (2048, FID), ``block64``/``block192``/``block768``, ``sfid`` (2023, sFID),
    ``logits``, ``logits_unbiased``.

    ``preprocess`` picks whose resize and scaling the inputs get ("tf", "pytorch-fid", "clean"); ``weights`` is a
    local file to use instead of the canonical one. The network loads on the first batch, so workers never copy it.
    """

    name = "inception"
    domain = "image"
    description = "FID Inception-v3 (TensorFlow 2015-12-05 weights): pool3 for FID, logits for IS, sfid for sFID"
    fd_key = "fid"
    outputs = dict(OUTPUTS)
    default_output = "pool"
    weights = WEIGHTS
    options = (
        Option("preprocess", choices=tuple(PREPROCESS_MODES), default=DEFAULT_PREPROCESS,
               help="whose resize and scaling: tf (TTUR, torch-fidelity), pytorch-fid, clean (clean-fid)"),
        Option("weights", Path, help="a local weights file instead of the canonical download"),
    )

    def __init__(self, preprocess: str = DEFAULT_PREPROCESS, weights: Path | None = None) -> None:
        super().__init__()
        self.preprocess = preprocess
        self.weights_path = weights
        self.weights_id = weights_identity(WEIGHTS[0], weights)
        self._network: FIDInceptionV3 | None = None

    def transform(self, item: np.ndarray) -> torch.Tensor:
        return to_model_input(item, self.preprocess, INPUT_SIZE)

    def transforms_batches(self) -> bool:
        return self.preprocess in BATCHED_MODES

    def transform_batch(self, items: torch.Tensor) -> torch.Tensor:
        return to_model_input_batch(items, self.preprocess, INPUT_SIZE)

    def forward(self, batch: torch.Tensor) -> dict[str, torch.Tensor]:
        network = self.network()
        outputs = self.requested_outputs or OUTPUTS
        batch = batch.contiguous(memory_format=torch.channels_last)
        with exact_float32(batch.device):
            return network(batch, outputs)

    def network(self) -> FIDInceptionV3:
        """The loaded network (resolving and loading the weights on first use)."""
        if self._network is None:
            self._network = load_network(resolve_inception_weights(self.weights_path), self.device)
        return self._network

    def config(self) -> dict[str, Any]:
        return {"weights": self.weights_id, "preprocess": self.preprocess}

    def __getstate__(self) -> dict[str, Any]:
        # DataLoader workers started with "spawn" receive the embedder for ``transform`` only: never the network.
        return {**self.__dict__, "_network": None}
