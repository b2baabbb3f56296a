"""Fréchet distance between the two sides' feature Gaussians (FID for Inception, FAD for audio embedders)."""

from __future__ import annotations

from typing import Any

from frechet.distance import frechet_distance
from frechet.metrics.base import Metric, MetricContext, Need, Side


class FrechetDistanceMetric(Metric):
    """FD on the chosen output; also reported under the embedder's own name for it (``fid``, ``fad``)."""

    name = "fd"

    def needs(self, context: MetricContext) -> list[Need]:
        return [Need(context.output, "stats")]

    def compute(self, real: Side, fake: Side, context: MetricContext) -> dict[str, Any]:
        value = frechet_distance(real.stats_of(context.output), fake.stats_of(context.output))
        values = {"fd": value}
        if context.fd_key:
            values[context.fd_key] = value
        return values
