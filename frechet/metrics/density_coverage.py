"""Density and coverage (Naeem et al. 2020): k-NN balls around the real samples only, robust to real outliers.

    density  = 1/(kM) Σⱼ Σᵢ 1[‖fⱼ − rᵢ‖ < NN_k(rᵢ)]          (how many real balls hold each fake sample, / k)
    coverage = 1/N Σᵢ 1[∃ j: ‖fⱼ − rᵢ‖ < NN_k(rᵢ)]           (real balls holding at least one fake sample)

NN_k(r) is the distance from r to its k-th nearest other real sample; k = 5 as the prdc package's default, whose
values this reproduces. Density is about 1 when fake matches real and can exceed 1; coverage is at most 1.
Computed by :mod:`frechet.metrics.prdc` in blocks.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import torch

from frechet.metrics._options import whole_number
from frechet.metrics.base import Metric, MetricContext, Need, Side
from frechet.metrics.prdc import check_neighbour_counts, manifold_scores


def density_coverage(
    real: np.ndarray | torch.Tensor,
    fake: np.ndarray | torch.Tensor,
    nearest_k: int = 5,
    *,
    device: str | torch.device | None = None,
    progress: bool | None = False,
) -> tuple[float, float]:
    """Density and coverage of ``fake`` against ``real`` (N, d) and (M, d) features with k = ``nearest_k``."""
    scores = manifold_scores(real, fake, dc_nearest_k=nearest_k, device=device, progress=progress)
    return scores["density"], scores["coverage"]


class DensityCoverageMetric(Metric):
    """Keys ``density`` and ``coverage``; option ``dc_nearest_k`` (5)."""

    name = "dc"
    options = {"dc_nearest_k": 5}

    def needs(self, context: MetricContext) -> list[Need]:
        return [Need(context.output, "features")]

    def check_sizes(self, sizes: Mapping[str, int | None], context: MetricContext, *, exact: bool = True) -> None:
        check_neighbour_counts(self.name, sizes, None, whole_number(context.options, "dc_nearest_k"), exact)

    def compute(self, real: Side, fake: Side, context: MetricContext) -> dict[str, Any]:
        density, coverage = density_coverage(
            real.features_of(context.output, self.name),
            fake.features_of(context.output, self.name),
            whole_number(context.options, "dc_nearest_k"),
            device=context.device,
            progress=context.progress,
        )
        return {"density": density, "coverage": coverage}
