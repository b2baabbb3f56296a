"""Fréchet distance between the two sides' feature Gaussians (FID for Inception, FAD for audio embedders)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import numpy as np
import torch

from frechet.distance import FrechetReference
from frechet.errors import ConfigError, InputError
from frechet.metrics.base import Metric, MetricContext, Need, Side
from frechet.metrics.bootstrap import fd_bias
from frechet.progress import Progress
from frechet.stats import FeatureStats

log = logging.getLogger("frechet")
#: From this many dimensions the distance (and the bias estimate at N ≤ d) can take seconds: it is announced.
_ANNOUNCE_DIM = 1024


#: FD options: the covariance each side's statistics give (``unbiased``: divided by N - 1, as np.cov;
#: ``population``: divided by N, as StyleGAN-V and cd-fvd compute it) and the distance's arithmetic (``float64``:
#: frechet's exact distance; ``float32``: tfgan's SVD square roots in float32, as TATS computes FVD in torch).
COVARIANCES = ("unbiased", "population")
PRECISIONS = ("float64", "float32")
DEFAULT_FD_OPTIONS = {"fd_covariance": "unbiased", "fd_precision": "float64"}


class FrechetDistanceMetric(Metric):
    """FD on the chosen output; also reported under the embedder's own name for it (``fid``, ``fad``, ``fvd``).

    Options ``fd_covariance`` and ``fd_precision`` (:data:`COVARIANCES`, :data:`PRECISIONS`) default to ``auto``: what
    the embedder's mode uses (its ``fd_options``; exact float64 with unbiased covariances otherwise); values other than
    the defaults are reported beside the distance."""

    name = "fd"
    options = {"fd_covariance": "auto", "fd_precision": "auto"}

    def needs(self, context: MetricContext) -> list[Need]:
        return [Need(context.output, "stats")]

    def compute(self, real: Side, fake: Side, context: MetricContext) -> dict[str, Any]:
        chosen = fd_options(context.options)
        value = checked_fd(real, fake, context.output, context.seed, progress=context.progress, **chosen)
        values: dict[str, Any] = {"fd": value}
        if context.fd_key:
            values[context.fd_key] = value
        values.update({key: chosen[key] for key in chosen if chosen[key] != DEFAULT_FD_OPTIONS[key]})
        return values


def fd_options(options: Mapping[str, Any]) -> dict[str, str]:
    """The FD options in force (unset or ``auto`` ones at their defaults), checked: {"fd_covariance": …,
    "fd_precision": …}."""
    chosen = {key: default if options.get(key) in (None, "auto") else options[key]
              for key, default in DEFAULT_FD_OPTIONS.items()}
    for key, allowed in (("fd_covariance", COVARIANCES), ("fd_precision", PRECISIONS)):
        if chosen[key] not in allowed:
            raise ConfigError(f"metric option {key} must be one of auto, {', '.join(allowed)}, got {chosen[key]!r}")
    return chosen


def checked_fd(real: Side, fake: Side, output: str, seed: int, *, name: str = "", progress: bool | None = None,
               fd_covariance: str = "unbiased", fd_precision: str = "float64") -> float:
    """FD of the two sides' statistics of ``output``, as every metric reporting an FD computes it: at least 2 samples
    a side, and a warning (prefixed ``name: ``) when a side has no more samples than dimensions. From
    ``_ANNOUNCE_DIM`` dimensions the steps are announced (``progress`` as for :class:`frechet.progress.Progress`).
    ``fd_covariance`` and ``fd_precision`` as :data:`COVARIANCES` and :data:`PRECISIONS` describe them."""
    sides = [(side.label, side.stats_of(output)) for side in (real, fake)]
    for label, stats in sides:
        _check_sample_count(label, stats)
    if fd_covariance == "population":
        sides = [(label, _population(label, stats)) for label, stats in sides]
    if fd_precision == "float32":
        return _float32_fd(sides[0][1], sides[1][1])
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


def _population(label: str, stats: FeatureStats) -> FeatureStats:
    """The same statistics with the covariance divided by N instead of N - 1."""
    if stats.n is None:
        raise InputError(f"{label}: fd_covariance=population needs the sample count, which these statistics do not "
                         "record; pass the inputs themselves, or statistics saved by frechet")
    return FeatureStats.from_moments(stats.mean, stats.cov * ((stats.n - 1) / stats.n), stats.n, meta=stats.meta)


def _float32_fd(first: FeatureStats, second: FeatureStats) -> float:
    """FD in float32 torch, as tfgan's formula with SVD square roots (singular values under 1e-10 kept unrooted):
    trace(S1 + S2) - 2 trace(sqrt(sqrt(S1) S2 sqrt(S1))) + |m1 - m2|², every step rounded to float32."""
    def root(matrix: torch.Tensor) -> torch.Tensor:
        u, s, vh = torch.linalg.svd(matrix)
        s = torch.where(s < 1e-10, s, torch.sqrt(s))
        return (u * s) @ vh

    m1, m2 = (torch.from_numpy(stats.mean.astype(np.float32)) for stats in (first, second))
    s1, s2 = (torch.from_numpy(stats.cov.astype(np.float32)) for stats in (first, second))
    root1 = root(s1)
    trace_root = torch.trace(root(root1 @ (s2 @ root1)))
    value = torch.trace(s1 + s2) - 2.0 * trace_root + torch.sum((m1 - m2) ** 2)
    return float(value)


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
