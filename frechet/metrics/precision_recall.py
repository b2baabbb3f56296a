"""Improved precision and recall (Kynkäänniemi et al. 2019) from k-nearest-neighbour balls around each sample.

    precision = 1/M Σⱼ 1[∃ i: ‖fⱼ − rᵢ‖ ≤ NN_k(rᵢ)]        (fake samples inside the real manifold)
    recall    = 1/N Σᵢ 1[∃ j: ‖rᵢ − fⱼ‖ ≤ NN_k(fⱼ)]        (real samples inside the fake manifold)

NN_k(x) is the distance from x to its k-th nearest other sample of its own set; k = 3 as in the paper and
torch-fidelity, whose values this reproduces. Computed by :mod:`frechet.metrics.prdc` in blocks.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import torch

from frechet.metrics._options import whole_number
from frechet.metrics.base import Metric, MetricContext, Need, Side
from frechet.metrics.prdc import check_neighbour_counts, manifold_scores


def precision_recall(
    real: np.ndarray | torch.Tensor,
    fake: np.ndarray | torch.Tensor,
    nearest_k: int = 3,
    *,
    device: str | torch.device | None = None,
    progress: bool | None = False,
) -> tuple[float, float]:
    """Precision and recall of ``fake`` against ``real`` (N, d) and (M, d) features with k = ``nearest_k``."""
    scores = manifold_scores(real, fake, pr_nearest_k=nearest_k, device=device, progress=progress)
    return scores["precision"], scores["recall"]


class PrecisionRecallMetric(Metric):
    """Keys ``precision`` and ``recall``; option ``pr_nearest_k`` (3)."""

    name = "pr"
    options = {"pr_nearest_k": 3}

    def needs(self, context: MetricContext) -> list[Need]:
        return [Need(context.output, "features")]

    def check_sizes(self, sizes: Mapping[str, int | None], context: MetricContext, *, exact: bool = True) -> None:
        check_neighbour_counts(self.name, sizes, whole_number(context.options, "pr_nearest_k"), None, exact)

    def compute(self, real: Side, fake: Side, context: MetricContext) -> dict[str, Any]:
        precision, recall = precision_recall(
            real.features_of(context.output, self.name),
            fake.features_of(context.output, self.name),
            whole_number(context.options, "pr_nearest_k"),
            device=context.device,
            progress=context.progress,
        )
        return {"precision": precision, "recall": recall}
