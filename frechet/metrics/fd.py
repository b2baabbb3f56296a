"""Fréchet distance between the two sides' feature Gaussians (FID for Inception, FAD for audio embedders)."""

from __future__ import annotations

import logging
from typing import Any

from frechet.distance import frechet_distance
from frechet.errors import InputError
from frechet.metrics.base import Metric, MetricContext, Need, Side
from frechet.metrics.bootstrap import fd_bias
from frechet.stats import FeatureStats

log = logging.getLogger("frechet")


class FrechetDistanceMetric(Metric):
    """FD on the chosen output; also reported under the embedder's own name for it (``fid``, ``fad``)."""

    name = "fd"

    def needs(self, context: MetricContext) -> list[Need]:
        return [Need(context.output, "stats")]

    def compute(self, real: Side, fake: Side, context: MetricContext) -> dict[str, Any]:
        value = checked_fd(real, fake, context.output, context.seed)
        values = {"fd": value}
        if context.fd_key:
            values[context.fd_key] = value
        return values


def checked_fd(real: Side, fake: Side, output: str, seed: int, *, name: str = "") -> float:
    """FD of the two sides' statistics of ``output``, as every metric reporting an FD computes it: at least 2 samples
    a side, and a warning (prefixed ``name: ``) when a side has no more samples than dimensions."""
    sides = [(side.label, side.stats_of(output)) for side in (real, fake)]
    for label, stats in sides:
        _check_sample_count(label, stats)
    value = frechet_distance(sides[0][1], sides[1][1])
    _warn_when_biased(sides, value, seed, f"{name}: " if name else "")
    return value


def _check_sample_count(label: str, stats: FeatureStats) -> None:
    """Refuse fewer than 2 samples (another tool's file may not say how many it had)."""
    if stats.n is not None and stats.n < 2:
        raise InputError(f"{label}: a covariance needs at least 2 samples, found {stats.n}; add more items")


def _warn_when_biased(sides: list[tuple[str, FeatureStats]], value: float, seed: int, prefix: str) -> None:
    """Warn when a side has no more samples than dimensions (a singular covariance), with the bias that half-samples
    of the rows such statistics keep put on FD (an underestimate at N ≤ d, where FD's bias grows faster than 1/N)."""
    small = [(label, stats) for label, stats in sides if stats.n is not None and stats.n <= stats.dim]
    if not small:
        return
    estimate = _bias_estimate(fd_bias(sides[0][1], sides[1][1], seed=seed), value)
    counts = " and ".join(f"{label}: {stats.n} samples" for label, stats in small)
    log.warning(
        "%s%s for %d feature dimensions: a singular covariance, so FD is exact for these samples but a strongly biased "
        "estimate of the distributions' FD%s; use many more samples than dimensions", prefix, counts, small[0][1].dim,
        estimate,
    )


def _bias_estimate(bias: float | None, value: float) -> str:
    """The half-sample bias estimate in words: an upward bias only when it is positive; a negative one only says the
    half-samples found none (at N ≤ d that does not rule one out)."""
    if bias is None:
        return ""
    if bias > 0:
        return f"; half-samples put its upward bias at {bias:.4g} or more (FD {value:.4g})"
    return (f"; half-samples found no upward bias (their estimate is {bias:.4g}, FD {value:.4g}), which at so few "
            "samples does not rule one out")
