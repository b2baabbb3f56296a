"""Confidence interval for the population Fréchet distance: half-samples of per-chunk statistics, bias-corrected.

FD computed from N samples is biased upward, E FD_N ≈ FD + a/N, and at N a few times d the bias is many standard
deviations (a percentile bootstrap interval then misses both the population FD and the estimate). Each side's rows
are shuffled (seeded) into ``chunks`` groups whose count, mean and centred second moment Σ(x − x̄)(x − x̄)ᵀ are kept.
A replicate takes half of each resampled side's groups (⌊chunks/2⌋, without replacement), merges them exactly (Chan
et al.) and evaluates FD_half, whose bias is about twice FD_N's. With r = N/m (about 2) the size ratio,

    bias     b̂ = (mean FD_half − FD_N) / (r − 1)
    FD_bc       = FD_N − b̂                                   (the two-point 1/N extrapolation of FD∞ at N and N/2)
    spread   FD_half − mean FD_half, scaled by 1/√(r − 1)      (half-sampling's finite-population correction)

and the interval is FD_bc minus the spread's ((1 + c)/2, (1 − c)/2) quantiles: an interval for the population FD.
When the bias exceeds the spread, that window would exclude FD_N: it is then moved to the c-wide window of the
spread's quantiles that ends at FD_N, so the interval always holds the estimate and keeps level c. The low end is
clamped at 0. A side given only as statistics (a saved ``.npz``) is held fixed: it counts as the population.

Cost: one pass over the features (as for the statistics), then per replicate O(chunks · d²) to merge and one FD
evaluation (a d × d eigenproblem, about 1.7 s at d = 2048 on two CPU cores); memory: chunks · d² float32 values
per resampled side (0.8 GiB at d = 2048 with 50 chunks). A side of N ≤ d rows keeps its rows instead: a replicate
is then an N × N problem (Gram form), milliseconds at N = 32, d = 2048. The moments are stored in float32 and summed in float64.
Measured coverage: docs/metrics.md and bench/results/fd_ci_coverage.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from frechet.distance import FrechetReference, frechet_distance
from frechet.errors import InputError
from frechet.metrics._options import real_number, whole_number
from frechet.metrics.base import Metric, MetricContext, Need, Side, too_few
from frechet.progress import track
from frechet.stats import FeatureStats

#: 200 half-samples put the 95 % endpoints within about a tenth of the half-width, as precise as 50 groups allow.
RESAMPLES = 200
CONFIDENCE = 0.95
CHUNKS = 50
#: A half-sample needs at least 2 rows for a covariance.
MIN_ROWS = 4
#: Size of the float64 working copy of group moments while merging.
_GROUP_BYTES = 64 * 2**20
_STATS_BLOCK_ROWS = 4096


class ChunkMoments:
    """Counts, means and centred second moments of ``chunks`` random groups of one side's feature rows.

    A side with no more rows than dimensions keeps its rows instead of d × d moments: a half-sample is then its rows,
    whose FD takes the Gram form (no d × d eigenproblem per replicate) and whose moments would be mostly zeros.
    """

    def __init__(self, features: np.ndarray, chunks: int, rng: np.random.Generator) -> None:
        features = np.asarray(features)
        if features.ndim != 2 or features.shape[0] < MIN_ROWS:
            raise InputError(f"FD interval: features must be (samples ≥ {MIN_ROWS}, dims), got shape {features.shape}")
        groups = np.array_split(rng.permutation(features.shape[0]), min(chunks, features.shape[0]))
        count, dim = features.shape
        self.counts = np.array([len(group) for group in groups], dtype=np.float64)
        self.rows = [np.asarray(features[np.sort(group)], dtype=np.float64) for group in groups] if count <= dim else None
        if self.rows is not None:
            return
        self.means = np.empty((len(groups), dim))
        self.moments = np.empty((len(groups), dim, dim), dtype=np.float32)
        for index, group in enumerate(groups):
            rows = np.asarray(features[np.sort(group)], dtype=np.float64)
            self.means[index] = rows.mean(axis=0)
            centred = rows - self.means[index]
            self.moments[index] = centred.T @ centred

    def resample(self, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Mean and unbiased covariance of the groups taken ``weights[i]`` times each (exact pooled moments)."""
        counts = weights * self.counts
        n = counts.sum()
        mean = counts @ self.means / n
        second = np.zeros(self.moments.shape[1:])
        taken = np.flatnonzero(weights)
        step = max(1, _GROUP_BYTES // (8 * self.moments[0].size))  # bounds the float64 copy below
        for start in range(0, len(taken), step):
            group = taken[start : start + step]
            second += np.tensordot(weights[group].astype(np.float64), self.moments[group].astype(np.float64), 1)
        deviations = self.means - mean
        pooled = second + (deviations.T * counts) @ deviations
        return mean, pooled / (n - 1)

    def half(self, rng: np.random.Generator) -> tuple[FeatureStats, float]:
        """Statistics of a random half of the groups, and the size ratio N / m of the whole to the half."""
        chosen = np.sort(rng.choice(len(self), len(self) // 2, replace=False))
        ratio = float(self.counts.sum() / self.counts[chosen].sum())
        if self.rows is not None:
            rows = np.concatenate([self.rows[index] for index in chosen])
            return FeatureStats.from_state({"n": np.asarray(len(rows)), "mean": rows.mean(axis=0), "rows": rows}), ratio
        weights = np.zeros(len(self))
        weights[chosen] = 1.0
        mean, cov = self.resample(weights)
        n = weights @ self.counts
        return FeatureStats.from_state({"n": np.asarray(int(n)), "mean": mean, "m2": cov * (n - 1)}), ratio

    def __len__(self) -> int:
        return len(self.counts)


@dataclass(frozen=True)
class FDInterval:
    """An interval for the population FD at level ``confidence``, the plain FD and its bias-corrected value."""

    low: float
    high: float
    fd: float
    corrected: float
    confidence: float


@dataclass(frozen=True)
class HalfSamples:
    """The plain FD, the FD of each half-sample replicate, and the size ratio r = N / m of whole to half."""

    fd: float
    values: np.ndarray
    ratio: float

    @property
    def bias(self) -> float:
        """Estimated upward bias of the plain FD, (mean FD_half − FD_N) / (r − 1)."""
        return float((self.values.mean() - self.fd) / (self.ratio - 1.0))

    def interval(self, confidence: float = CONFIDENCE) -> FDInterval:
        """The bias-corrected interval at level ``confidence`` (see the module docstring)."""
        if not 0.0 < confidence < 1.0:
            raise InputError(f"FD interval: needs 0 < confidence < 1, got {confidence}")
        bias = self.bias
        corrected = self.fd - bias
        spread = (self.values - self.values.mean()) / np.sqrt(self.ratio - 1.0)
        tail = (1.0 - confidence) / 2.0
        below = float(np.mean(spread < -bias))  # share of the spread that puts the population FD above FD_N
        if below < tail:  # FD_N above the usual window: the window that ends at FD_N
            low, high = corrected - np.quantile(spread, below + confidence), self.fd
        elif below > 1.0 - tail:  # FD_N below it (a downward bias): the window that starts at FD_N
            low, high = self.fd, corrected - np.quantile(spread, below - confidence)
        else:
            low, high = corrected - np.quantile(spread, 1.0 - tail), corrected - np.quantile(spread, tail)
        # interpolated quantiles may stop one order statistic short of FD_N
        low, high = max(0.0, min(float(low), self.fd)), max(float(high), self.fd)
        return FDInterval(low, high, self.fd, corrected, confidence)


def fd_interval(
    real: np.ndarray | FeatureStats,
    fake: np.ndarray | FeatureStats,
    *,
    resamples: int = RESAMPLES,
    confidence: float = CONFIDENCE,
    chunks: int = CHUNKS,
    seed: int = 2020,
    estimate: float | None = None,
    progress: bool | None = False,
) -> FDInterval:
    """Bias-corrected half-sampling interval for the FD of two feature sets; a FeatureStats side stays fixed.

    ``estimate`` is the plain FD the interval is built around and must hold (default: computed here from the
    features in float64); pass the value reported beside the interval when it was computed already.
    """
    if not 0.0 < confidence < 1.0:
        raise InputError(f"FD interval: needs 0 < confidence < 1, got {confidence}")
    samples = half_samples(real, fake, resamples=resamples, chunks=chunks, seed=seed, estimate=estimate,
                           progress=progress)
    return samples.interval(confidence)


def half_samples(
    real: np.ndarray | FeatureStats,
    fake: np.ndarray | FeatureStats,
    *,
    resamples: int = RESAMPLES,
    chunks: int = CHUNKS,
    seed: int = 2020,
    estimate: float | None = None,
    progress: bool | None = False,
) -> HalfSamples:
    """FD of ``resamples`` random halves of the groups of each side given as features (see :func:`fd_interval`)."""
    if resamples < 2 or chunks < 2:
        raise InputError(f"FD interval: needs resamples ≥ 2 and chunks ≥ 2, got {resamples} and {chunks}")
    if all(isinstance(side, FeatureStats) for side in (real, fake)):
        raise InputError("FD interval: both sides are statistics; it needs the features of at least one side")
    if estimate is None:
        whole = [side if isinstance(side, FeatureStats) else _stats(side) for side in (real, fake)]
        estimate = frechet_distance(*whole)
    rng = np.random.default_rng(seed)
    sides = [side if isinstance(side, FeatureStats) else ChunkMoments(side, chunks, rng) for side in (real, fake)]
    varying = [side for side in sides if isinstance(side, ChunkMoments)]
    fixed = [side for side in sides if isinstance(side, FeatureStats)]
    reference = FrechetReference(fixed[0]) if fixed else None
    values, ratios = np.empty(resamples), []
    for index in track(range(resamples), resamples, "fd-ci", unit="half-sample", show=progress):
        halves = [side.half(rng) for side in varying]
        ratios.extend(ratio for _, ratio in halves)
        if reference is not None:
            values[index] = reference.distance(halves[0][0])
        else:
            values[index] = frechet_distance(halves[0][0], halves[1][0])
    return HalfSamples(estimate, values, float(np.mean(ratios)))


def _stats(features: np.ndarray) -> FeatureStats:
    """Float64 statistics of a feature matrix, fed in blocks (no float64 copy of the whole matrix)."""
    stats = FeatureStats()
    for start in range(0, features.shape[0], _STATS_BLOCK_ROWS):
        stats.update(features[start : start + _STATS_BLOCK_ROWS])
    return stats


def fd_bias(
    real: FeatureStats, fake: FeatureStats, *, halves: int = 10, seed: int = 2020,
    prepared: FrechetReference | None = None, estimate: float | None = None,
) -> float | None:
    """Estimated upward bias of the plain FD from ``halves`` random halves of the rows that statistics of N ≤ d
    samples keep (a side without rows is held fixed); None when neither side has rows. ``prepared`` (the real side
    already factorized) and ``estimate`` (the plain FD) save repeating work the caller has done."""
    rows = [side.rows if side.rows is not None and side.rows.shape[0] >= MIN_ROWS else None for side in (real, fake)]
    if all(side is None for side in rows):
        return None
    fixed = next((stats for stats, own in zip((real, fake), rows) if own is None), None)
    reference = None
    if fixed is not None:  # a side without rows: factorized once
        reference = prepared if prepared is not None and fixed is real else FrechetReference(fixed)

    def distance(a: FeatureStats, b: FeatureStats) -> float:
        return frechet_distance(a, b) if reference is None else reference.distance(b if a is fixed else a)

    rng = np.random.default_rng(seed)
    values, ratios = np.empty(halves), []
    for index in range(halves):
        parts = []
        for stats, own in zip((real, fake), rows):
            if own is None:
                parts.append(stats)
            else:
                parts.append(FeatureStats.from_features(own[rng.choice(len(own), len(own) // 2, replace=False)]))
                ratios.append(len(own) / (len(own) // 2))
        values[index] = distance(*parts)
    whole = estimate if estimate is not None else distance(real, fake)
    return HalfSamples(whole, values, float(np.mean(ratios))).bias


class FDBootstrapMetric(Metric):
    """Keys ``fd_ci_low``, ``fd_ci_high`` (an interval for the population FD that always holds the plain FD) and
    ``fd_ci_corrected`` (the bias-corrected FD); options ``fd_ci_bootstrap`` (200 half-samples),
    ``fd_ci_confidence`` (0.95) and ``fd_ci_chunks`` (50)."""

    name = "fd-ci"
    options = {"fd_ci_bootstrap": RESAMPLES, "fd_ci_confidence": CONFIDENCE, "fd_ci_chunks": CHUNKS}

    def needs(self, context: MetricContext) -> list[Need]:
        return [Need(context.output, "features")]

    def check_sizes(self, sizes: Mapping[str, int | None], context: MetricContext, *, exact: bool = True) -> None:
        for label, count in sizes.items():
            if count is not None and count < MIN_ROWS:
                too_few(f"fd-ci: the {label} side has {count} items; its half-samples need at least {MIN_ROWS}",
                        exact=exact)

    def compute(self, real: Side, fake: Side, context: MetricContext) -> dict[str, Any]:
        estimate = frechet_distance(real.stats_of(context.output), fake.stats_of(context.output))  # as fd reports it
        result = fd_interval(
            *(_features_or_stats(side, context.output) for side in (real, fake)),
            resamples=whole_number(context.options, "fd_ci_bootstrap", minimum=2),
            confidence=real_number(context.options, "fd_ci_confidence", above=0.0, below=1.0),
            chunks=whole_number(context.options, "fd_ci_chunks", minimum=2),
            seed=context.seed,
            estimate=estimate,
            progress=context.progress,
        )
        return {"fd_ci_low": result.low, "fd_ci_high": result.high, "fd_ci_corrected": result.corrected}


def _features_or_stats(side: Side, output: str) -> np.ndarray | FeatureStats:
    """The side's features to resample, or, for a side given as a statistics file, its fixed statistics."""
    return side.features[output] if output in side.features else side.stats_of(output)
