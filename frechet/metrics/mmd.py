"""RBF-kernel maximum mean discrepancy as CMMD defines it (Jayasumana et al. 2024), for any embedder's features.

    mmd = 1000 · [ mean_ij k(xᵢ, xⱼ) + mean_ij k(yᵢ, yⱼ) − 2 mean_ij k(xᵢ, yⱼ) ],   k(x, y) = exp(−‖x − y‖² / 2σ²)

with σ = 10: the biased (V-statistic, diagonal included) estimator over all samples of both sides, scaled by 1000,
as CMMD's reference code computes it (there on CLIP embeddings; here on the chosen output). The sums run in float64
over 2048 × 2048 blocks (the two within-side sums over upper-triangle blocks only), so no N² memory is needed.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from frechet.metrics._options import real_number
from frechet.metrics._overflow import kernel_overflow
from frechet.metrics._pairwise import CentredRows, block_pairs, centre_of, feature_pair, squared_distances
from frechet.metrics.base import Metric, MetricContext, Need, Side

#: CMMD's bandwidth and display scale.
SIGMA = 10.0
SCALE = 1000.0


def mmd(
    real: np.ndarray | torch.Tensor,
    fake: np.ndarray | torch.Tensor,
    *,
    sigma: float = SIGMA,
    device: str | torch.device | None = None,
    names: tuple[str, str] = ("real", "fake"),
) -> float:
    """CMMD-style RBF MMD² × 1000 between (N, d) ``real`` and (M, d) ``fake`` features; features whose squared
    distances overflow float64 are an InputError naming the sides (``names``) and their scale."""
    real_t, fake_t = feature_pair(real, fake, device, "MMD")
    centre = centre_of(real_t)
    real_rows, fake_rows = CentredRows(real_t, centre), CentredRows(fake_t, centre)
    gamma = 1.0 / (2.0 * sigma * sigma)
    within_real = _mean_kernel(real_rows, None, gamma)
    within_fake = _mean_kernel(fake_rows, None, gamma)
    between = _mean_kernel(real_rows, fake_rows, gamma)
    value = SCALE * (within_real + within_fake - 2.0 * between)
    if not np.isfinite(value):
        raise kernel_overflow("MMD", "exp(−‖x − y‖² / 2σ²)", "about 1e154 per feature", real_t, fake_t, names)
    return value


def _mean_kernel(a: CentredRows, b: CentredRows | None, gamma: float) -> float:
    """Mean of exp(−γ‖aᵢ − bⱼ‖²) over all pairs; for ``b`` None over a × a, using its symmetry."""
    total = torch.zeros((), dtype=torch.float64, device=a.device)
    for span_a, span_b in block_pairs(len(a), None if b is None else len(b)):
        block_a = a.block(span_a)
        block_b = b.block(span_b) if b is not None else block_a if span_a == span_b else a.block(span_b)
        weight = 1.0 if b is not None or span_a == span_b else 2.0  # an off-diagonal block stands for its mirror
        total += weight * torch.exp(-gamma * squared_distances(block_a, block_b)).sum()
    return float(total) / (len(a) * len(b if b is not None else a))


class MMDMetric(Metric):
    """Key ``mmd``; option ``mmd_sigma`` (10, CMMD's bandwidth)."""

    name = "mmd"
    options = {"mmd_sigma": SIGMA}

    def needs(self, context: MetricContext) -> list[Need]:
        return [Need(context.output, "features")]

    def compute(self, real: Side, fake: Side, context: MetricContext) -> dict[str, Any]:
        value = mmd(
            real.features_of(context.output, self.name),
            fake.features_of(context.output, self.name),
            sigma=real_number(context.options, "mmd_sigma", above=0.0),
            device=context.device,
            names=(real.label, fake.label),
        )
        return {"mmd": value}
