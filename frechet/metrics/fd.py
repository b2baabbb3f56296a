"""Fréchet distance between the two sides' feature Gaussians (FID for Inception, FAD for audio embedders)."""

from __future__ import annotations

import logging
from typing import Any

from frechet.distance import frechet_distance
from frechet.errors import InputError
from frechet.metrics.base import Metric, MetricContext, Need, Side
from frechet.stats import FeatureStats

log = logging.getLogger("frechet")


class FrechetDistanceMetric(Metric):
    """FD on the chosen output; also reported under the embedder's own name for it (``fid``, ``fad``)."""

    name = "fd"

    def needs(self, context: MetricContext) -> list[Need]:
        return [Need(context.output, "stats")]

    def compute(self, real: Side, fake: Side, context: MetricContext) -> dict[str, Any]:
        sides = [(side.label, side.stats_of(context.output)) for side in (real, fake)]
        for label, stats in sides:
            _check_sample_count(label, stats)
        value = frechet_distance(sides[0][1], sides[1][1])
        values = {"fd": value}
        if context.fd_key:
            values[context.fd_key] = value
        return values


def _check_sample_count(label: str, stats: FeatureStats) -> None:
    """Refuse fewer than 2 samples; warn when there are no more samples than dimensions (a singular covariance)."""
    n, d = stats.n, stats.dim
    if n is None:  # another tool's file: the count is unknown
        return
    if n < 2:
        raise InputError(f"{label}: a covariance needs at least 2 samples, found {n}; add more items")
    if n <= d:
        log.warning(
            "%s: %d samples for %d feature dimensions: the covariance is singular, so FD is exact for these samples "
            "but a strongly biased estimate of the distributions' FD; use many more samples than dimensions",
            label, n, d,
        )
