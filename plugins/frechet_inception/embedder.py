"""The ``inception`` embedder: FID's Inception-v3 on images preprocessed as the chosen peer does (FID and IS)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from frechet.embedder import Embedder, Option
from frechet.precision import allow_tf32, exact_float32
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
    local file to use instead of the canonical one. ``tf32`` and ``compile`` are opt-in fast paths that move the
    features slightly (both named in ``id()``; docs/guide/fid.md gives by how much). The network loads on the first
    batch, so workers never copy it.
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
        Option("tf32", bool, default=False,
               help="allow TF32 convolutions on CUDA (faster on Ampere and later; features drift, see docs)"),
        Option("compile", bool, default=False,
               help="run the network through torch.compile (slow first batch; features drift slightly, see docs)"),
    )

    def __init__(
        self,
        preprocess: str = DEFAULT_PREPROCESS,
        weights: Path | None = None,
        tf32: bool = False,
        compile: bool = False,  # noqa: A002 - the option's name
    ) -> None:
        super().__init__()
        self.preprocess = preprocess
        self.weights_path = weights
        self.weights_id = weights_identity(WEIGHTS[0], weights)
        self.tf32, self.compile = tf32, compile
        self._network: FIDInceptionV3 | None = None
        self._compiled: Callable[..., dict[str, torch.Tensor]] | None = None

    def transform(self, item: np.ndarray) -> torch.Tensor:
        return to_model_input(item, self.preprocess, INPUT_SIZE)

    def transforms_batches(self) -> bool:
        return self.preprocess in BATCHED_MODES

    def transform_batch(self, items: torch.Tensor) -> torch.Tensor:
        return to_model_input_batch(items, self.preprocess, INPUT_SIZE)

    def forward(self, batch: torch.Tensor) -> dict[str, torch.Tensor]:
        network = self._compiled_network() if self.compile else self.network()
        outputs = tuple(sorted(self.requested_outputs or OUTPUTS))
        batch = batch.contiguous(memory_format=torch.channels_last)
        with allow_tf32(batch.device) if self.tf32 else exact_float32(batch.device):
            return network(batch, outputs)

    def cpu_slice_size(self) -> int | None:
        # as fast as the whole batch with large allocations reused, 1.25× without, in 0.45-0.6 of the peak memory
        # (bench/results/forward_slices.md); a compiled network is not called from several threads
        return None if self.compile else 8

    def network(self) -> FIDInceptionV3:
        """The loaded network (resolving and loading the weights on first use)."""
        if self._network is None:
            self._network = load_network(resolve_inception_weights(self.weights_path), self.device)
        return self._network

    def _compiled_network(self) -> Callable[..., dict[str, torch.Tensor]]:
        if self._compiled is None:
            self._compiled = torch.compile(self.network(), dynamic=False, options={"freezing": True})
        return self._compiled

    def to(self, device: torch.device | str) -> InceptionEmbedder:
        self._compiled = None  # compiled for the old device
        return super().to(device)

    def config(self) -> dict[str, Any]:
        config = {"weights": self.weights_id, "preprocess": self.preprocess}
        # named only when on, so the default id (and every cached or saved statistic) stays as it was
        return {**config, **{name: True for name in ("tf32", "compile") if getattr(self, name)}}

    def __getstate__(self) -> dict[str, Any]:
        # DataLoader workers started with "spawn" receive the embedder for ``transform`` only: never the network.
        return {**self.__dict__, "_network": None, "_compiled": None}
