"""Fréchet distance between the two sides' feature Gaussians (FID for Inception, FAD for audio embedders)."""

from __future__ import annotations

import logging
from typing import Any

from frechet.distance import FrechetReference
from frechet.errors import InputError
from frechet.metrics.base import Metric, MetricContext, Need, Side
from frechet.metrics.bootstrap import fd_bias
from frechet.progress import Progress
from frechet.stats import FeatureStats

log = logging.getLogger("frechet")
#: From this many dimensions the distance (and the bias estimate at N ≤ d) can take seconds: it is announced.
_ANNOUNCE_DIM = 1024


class FrechetDistanceMetric(Metric):
    """FD on the chosen output; also reported under the embedder's own name for it (``fid``, ``fad``)."""

    name = "fd"

    def needs(self, context: MetricContext) -> list[Need]:
        return [Need(context.output, "stats")]

    def compute(self, real: Side, fake: Side, context: MetricContext) -> dict[str, Any]:
        value = checked_fd(real, fake, context.output, context.seed, progress=context.progress)
        values = {"fd": value}
        if context.fd_key:
            values[context.fd_key] = value
        return values


def checked_fd(real: Side, fake: Side, output: str, seed: int, *, name: str = "", progress: bool | None = None
               ) -> float:
    """FD of the two sides' statistics of ``output``, as every metric reporting an FD computes it: at least 2 samples
    a side, and a warning (prefixed ``name: ``) when a side has no more samples than dimensions. From
    ``_ANNOUNCE_DIM`` dimensions the steps are announced (``progress`` as for :class:`frechet.progress.Progress`)."""
    sides = [(side.label, side.stats_of(output)) for side in (real, fake)]
    for label, stats in sides:
        _check_sample_count(label, stats)
    small = [(label, stats) for label, stats in sides if stats.n is not None and stats.n <= stats.dim]
    dim = sides[0][1].dim
    show = progress if dim >= _ANNOUNCE_DIM else False
    with Progress(2 + bool(small), f"fd on {dim} dimensions", unit="step", show=show) as bar:
        prepared = FrechetReference(sides[0][1])
        bar.update()
        value = prepared.distance(sides[1][1])
        bar.update()
        if small:
            _warn_biased(sides, small, value, seed, prepared, f"{name}: " if name else "")
            bar.update()
    return value


def _check_sample_count(label: str, stats: FeatureStats) -> None:
    """Refuse fewer than 2 samples (another tool's file may not say how many it had)."""
    if stats.n is not None and stats.n < 2:
        raise InputError(f"{label}: a covariance needs at least 2 samples, found {stats.n}; add more items")


def _warn_biased(
    sides: list[tuple[str, FeatureStats]], small: list[tuple[str, FeatureStats]], value: float, seed: int,
    prepared: FrechetReference, prefix: str,
) -> None:
    """Warn that the ``small`` sides have no more samples than dimensions (a singular covariance), with the bias that
    half-samples of the rows such statistics keep put on FD (an underestimate at N ≤ d, where FD's bias grows faster
    than 1/N)."""
    estimate = _bias_estimate(fd_bias(sides[0][1], sides[1][1], seed=seed, prepared=prepared, estimate=value), value)
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
