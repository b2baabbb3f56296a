"""Kernel Inception Distance (Bińkowski et al. 2018): unbiased MMD² with the kernel k(x, y) = (xᵀy / d + 1)³.

    MMD²ᵤ = 1/(m(m−1)) Σ_{i≠j} [k(xᵢ, xⱼ) + k(yᵢ, yⱼ)] − 2/m² Σ_{i,j} k(xᵢ, yⱼ)

averaged over ``subsets`` random subsets of m = ``subset_size`` samples per side (clamped to the smaller side);
``kid_std`` is the population standard deviation over the subsets. Subsets are drawn as torch-fidelity draws them
— ``numpy.random.RandomState(seed)``, per subset ``choice(n, m, replace=False)`` from the generated side, then from
the reference side — so with the same seed (2020, frechet's default) the subsets are the same and the values agree
to float64 rounding (torch-fidelity computes in the features' float32; frechet always in float64).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from frechet.errors import InputError
from frechet.metrics._options import whole_number
from frechet.metrics._pairwise import feature_pair, spans
from frechet.metrics.base import Metric, MetricContext, Need, Side


def kid(
    real: np.ndarray | torch.Tensor,
    fake: np.ndarray | torch.Tensor,
    *,
    subsets: int = 100,
    subset_size: int = 1000,
    seed: int = 2020,
    device: str | torch.device | None = None,
) -> tuple[float, float]:
    """KID mean and standard deviation of ``fake`` against ``real`` over seeded random subsets."""
    real_t, fake_t = feature_pair(real, fake, device, "KID")
    if subsets < 1 or subset_size < 2:
        raise InputError(f"KID needs at least 1 subset of at least 2 samples, got {subsets} × {subset_size}")
    size = min(subset_size, real_t.shape[0], fake_t.shape[0])
    if size < 2:
        raise InputError(
            f"KID needs at least 2 samples per side, got {real_t.shape[0]} real and {fake_t.shape[0]} fake"
        )
    rng = np.random.RandomState(seed)
    values = np.empty(subsets)
    for index in range(subsets):
        fake_rows = torch.from_numpy(rng.choice(fake_t.shape[0], size, replace=False)).to(fake_t.device)
        real_rows = torch.from_numpy(rng.choice(real_t.shape[0], size, replace=False)).to(real_t.device)
        values[index] = unbiased_mmd2(fake_t[fake_rows], real_t[real_rows])
    return float(values.mean()), float(values.std())


def unbiased_mmd2(x: torch.Tensor, y: torch.Tensor) -> float:
    """Unbiased MMD² of two equal-size samples under the cubic polynomial kernel, in float64, blocked."""
    x, y = x.to(torch.float64), y.to(torch.float64)
    m = x.shape[0]
    within = _kernel_sum(x, x) - _cubic(x, x, diagonal=True).sum() + _kernel_sum(y, y) - _cubic(y, y, True).sum()
    return float(within / (m * (m - 1)) - 2.0 * _kernel_sum(x, y) / (m * m))


def _cubic(a: torch.Tensor, b: torch.Tensor, diagonal: bool = False) -> torch.Tensor:
    """k(aᵢ, bⱼ) = (aᵢᵀbⱼ / d + 1)³ as a matrix, or only its diagonal k(aᵢ, bᵢ)."""
    if diagonal:
        base = (a * b).sum(dim=1) / a.shape[1] + 1.0
    else:  # 1 + a bᵀ / d in one BLAS call, then the cube in place: no extra m × m temporaries
        base = torch.addmm(torch.ones((), dtype=a.dtype, device=a.device), a, b.T, alpha=1.0 / a.shape[1])
    return (base * base).mul_(base)


def _kernel_sum(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return sum(_cubic(a[span], b).sum() for span in spans(a.shape[0]))


class KernelInceptionDistanceMetric(Metric):
    """Keys ``kid`` and ``kid_std``; options ``kid_subsets`` (100) and ``kid_subset_size`` (1000)."""

    name = "kid"
    options = {"kid_subsets": 100, "kid_subset_size": 1000}

    def needs(self, context: MetricContext) -> list[Need]:
        return [Need(context.output, "features")]

    def compute(self, real: Side, fake: Side, context: MetricContext) -> dict[str, Any]:
        mean, std = kid(
            real.features_of(context.output, self.name),
            fake.features_of(context.output, self.name),
            subsets=whole_number(context.options, "kid_subsets"),
            subset_size=whole_number(context.options, "kid_subset_size", minimum=2),
            seed=context.seed,
            device=context.device,
        )
        return {"kid": mean, "kid_std": std}
