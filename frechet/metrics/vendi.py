"""Vendi score (Friedman & Dieng 2023): the effective number of distinct samples in one set, exp of an entropy.

With the cosine kernel on L2-normalised rows x̂ᵢ, the similarity matrix K/n = X̂X̂ᵀ/n (n × n) has the same non-zero
eigenvalues λ as the d × d matrix X̂ᵀX̂/n, so the score comes from d × d float64 sums streamed over the rows:

    VS_q = exp(H_q(λ)),   H_1 = −Σ λ log λ,   H_q = log(Σ λ^q) / (1 − q),   H_∞ = −log max λ

(λ > 0 only; order q = ``vendi_q``, 1 by default). A zero row stays zero, as scikit-learn's ``normalize`` leaves
it. No n × n matrix exists: memory O(d²), time n · d² for the sums and one d × d eigenproblem. This reproduces the
``vendi-score`` package (``score_dual``, and ``score_K`` on the n × n matrix) to rounding.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import scipy.linalg
import torch

from frechet.errors import ConfigError, InputError
from frechet.metrics._pairwise import spans
from frechet.metrics.base import Metric, MetricContext, Need, Side, too_few


class VendiSums:
    """Streaming float64 sums X̂ᵀX̂ of L2-normalised rows and their count: feed batches, then :meth:`score`."""

    def __init__(self) -> None:
        self.n = 0
        self.gram: torch.Tensor | None = None

    def update(self, rows: np.ndarray | torch.Tensor) -> VendiSums:
        """Add a (B, d) batch of feature rows."""
        block = torch.as_tensor(np.asarray(rows) if not isinstance(rows, torch.Tensor) else rows)
        if block.ndim != 2:
            raise InputError(f"Vendi score: features must be (samples, dims), got shape {tuple(block.shape)}")
        block = block.to(torch.float64)
        if not bool(torch.isfinite(block).all()):
            raise InputError("Vendi score: features contain NaN or Inf")
        norms = block.norm(dim=1, keepdim=True)
        block = block / torch.where(norms == 0, torch.ones_like(norms), norms)
        gram = block.T @ block
        self.gram = gram if self.gram is None else self.gram + gram.to(self.gram.device)
        self.n += block.shape[0]
        return self

    def eigenvalues(self) -> np.ndarray:
        """Eigenvalues of X̂ᵀX̂ / n; its non-zero ones are those of the n × n similarity matrix / n."""
        if self.gram is None or self.n == 0:
            raise InputError("Vendi score: no samples")
        return scipy.linalg.eigvalsh(self.gram.cpu().numpy() / self.n)

    def score(self, q: float = 1.0) -> float:
        """The Vendi score of order ``q`` (> 0; ``math.inf`` for the max-eigenvalue order)."""
        return float(np.exp(entropy(self.eigenvalues(), q)))


def entropy(eigenvalues: np.ndarray, q: float = 1.0) -> float:
    """Rényi entropy of order ``q`` of the positive eigenvalues (Shannon for q = 1, −log max for q = ∞)."""
    positive = eigenvalues[eigenvalues > 0]
    if q == 1.0:
        return float(-(positive * np.log(positive)).sum())
    if math.isinf(q):
        return float(-np.log(eigenvalues.max()))
    return float(np.log((positive**q).sum()) / (1.0 - q))


def vendi_score(features: np.ndarray | torch.Tensor, *, q: float = 1.0) -> float:
    """Vendi score of one (N, d) feature set with the cosine kernel, summed in blocks of rows."""
    sums = VendiSums()
    rows = features if isinstance(features, torch.Tensor) else np.asarray(features)
    if rows.ndim != 2 or rows.shape[0] == 0:
        raise InputError(f"Vendi score: features must be a non-empty (samples, dims) matrix, got {tuple(rows.shape)}")
    for span in spans(rows.shape[0]):
        sums.update(rows[span])
    return sums.score(q)


def order(options: Mapping[str, Any]) -> float:
    """Option ``vendi_q`` as a number > 0, or ∞ ("inf")."""
    value = options["vendi_q"]
    try:
        q = float(value)
    except (TypeError, ValueError):
        q = math.nan
    if isinstance(value, bool) or not q > 0:
        raise ConfigError(f"metric option vendi_q must be a number > 0 or inf, got {value!r}")
    return q


class VendiMetric(Metric):
    """Keys ``vendi`` (the fake side) and ``vendi_real`` (when the real side's features are at hand); option
    ``vendi_q`` (1)."""

    name = "vendi"
    options = {"vendi_q": 1.0}

    def needs(self, context: MetricContext) -> list[Need]:
        return [Need(context.output, "features")]

    def check_sizes(self, sizes: Mapping[str, int | None], context: MetricContext, *, exact: bool = True) -> None:
        if sizes.get("fake") == 0:
            too_few("vendi: the fake side has no items", exact=exact)

    def compute(self, real: Side, fake: Side, context: MetricContext) -> dict[str, Any]:
        q = order(context.options)
        values = {"vendi": vendi_score(fake.features_of(context.output, self.name), q=q)}
        if context.output in real.features:  # a reference given as statistics has no rows to score
            values["vendi_real"] = vendi_score(real.features[context.output], q=q)
        return values
