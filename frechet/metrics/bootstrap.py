"""Confidence interval for the population Fréchet distance: complementary half-samples, bias-corrected.

FD computed from N samples is biased upward, E FD_N ≈ FD + a/N, and at N a few times d the bias is many standard
deviations (a percentile bootstrap interval then misses both the population FD and the estimate). Each side given as
features has its rows shuffled (seeded) into an even number of groups whose count, mean and centred second moment
are kept; the groups are paired, and a replicate sends one group of each pair to half A and the other to half B
(balanced half-samples, merged exactly by Chan et al.'s formula). A side given only as statistics with a known item
count n is replicated parametrically as a Gaussian sample of n items: mean from N(μ̂, Σ̂/n), covariance from the
Wishart law W(Σ̂/(n − 1), n − 1) drawn by the Bartlett decomposition on Σ̂'s eigendecomposition (O(d³), never n
rows; a rank-deficient Σ̂ keeps its rank), the pair's second draw antithetic to the first (z → −z, the Bartlett
normals negated, its chi-square quantiles u → 1 − u). Each replicate gives FD_A and FD_B. With r = N/m ≈ 2,

    bias     b̂ = (mean FD_half − FD_N) / (r − 1)
    FD_bc       = FD_N − b̂                                   the estimate of the population FD
    variance v̂ = −cov(FD_A, FD_B) / (r − 1)                   the sampling variance of FD_N, second order included

Why the covariance of the pair: a half's FD is f(θ̂ + e) with e its deviation from the whole sample's moments and
e_B = −e_A, so FD_A − FD_B is twice the linear term and FD_A + FD_B twice the quadratic one. The spread of one half
counts the quadratic term's variance three times over (once itself, twice through the linear term evaluated at the
noisy θ̂), −cov(FD_A, FD_B) = linear − quadratic counts it once, as FD_N's own variance does. It lies between a
third of the half-sample variance V and all of it, and is clamped there; L̂ = v̂ − (V − v̂)/2 is its first-order
part. That part grows with the FD itself (for the means exactly: 4 δᵀΣδ / N), so the variance at a population FD
F is modelled as v̂ + κ (F − FD_bc), κ = L̂ / max(FD_bc, √v̂), and the interval is the set of F with
(FD_bc − F)² ≤ z² (v̂ + κ (F − FD_bc)) (Wilson's construction; z the normal quantile of level c):

    FD_bc + z²κ/2 ± z √(v̂ + z²κ²/4),   intersected with [0, ∞)

Without the κ term, data sets whose FD came out low also get a narrow interval and miss above. FD is never
negative, so the cut at 0 drops only values it cannot take and keeps the coverage. The plain FD_N is not forced
inside: it is biased upward and is reported beside the interval. A statistics side without an item count is held
fixed: the interval is then for the FD against that very reference (what FD∞ estimates too).

Cost: one pass over the features (as for the statistics), then per replicate O(groups · d²) to merge, for a
parametric side O(d³) to draw, and one FD evaluation (a d × d eigenproblem); memory: groups · d² float32 values per
resampled side (0.8 GiB at d = 2048 with 50 groups). A side of N ≤ d rows keeps its rows instead: a replicate is then
an N × N problem (Gram form). Measured coverage and time: docs/metrics.md and bench/results/fd_ci_coverage.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from statistics import NormalDist
from typing import Any

import numpy as np

from frechet.distance import FrechetReference, frechet_distance
from frechet.errors import InputError
from frechet.metrics._options import real_number, whole_number
from frechet.metrics.base import Metric, MetricContext, Need, Side, too_few
from frechet.progress import track
from frechet.stats import FeatureStats

#: 200 half-samples (100 pairs) estimate FD_N's variance to about ±15–30 % (the width to half that).
RESAMPLES = 200
CONFIDENCE = 0.95
CHUNKS = 50
#: A half-sample needs at least 2 rows for a covariance.
MIN_ROWS = 4
#: What the interval is for, as the ``fd_ci_target`` key says it.
POPULATION = "population FD"
CONDITIONAL = "FD against this reference (its item count is unknown, so it counts as the population)"
#: A replicate of one side as FrechetReference takes it: (statistics,) or (mean, covariance).
Moments = tuple[FeatureStats] | tuple[np.ndarray, np.ndarray]
#: Size of the float64 working copy of group moments while merging.
_GROUP_BYTES = 64 * 2**20
_STATS_BLOCK_ROWS = 4096
#: Eigenvalues of a reference covariance below this fraction of the largest are taken as its null space.
_RANK_RTOL = 1e-10


class ChunkMoments:
    """Counts, means and centred second moments of an even number of random groups of one side's feature rows.

    A side with no more rows than dimensions keeps its rows instead of d × d moments: a half-sample is then its rows,
    whose FD takes the Gram form (no d × d eigenproblem per replicate) and whose moments would be mostly zeros.
    """

    def __init__(self, features: np.ndarray, chunks: int, rng: np.random.Generator) -> None:
        features = np.asarray(features)
        if features.ndim != 2 or features.shape[0] < MIN_ROWS:
            raise InputError(f"FD interval: features must be (samples ≥ {MIN_ROWS}, dims), got shape {features.shape}")
        count, dim = features.shape
        groups = np.array_split(rng.permutation(count), 2 * (min(chunks, count) // 2))
        self.counts = np.array([len(group) for group in groups], dtype=np.float64)
        self.rows = [np.asarray(features[np.sort(group)], dtype=np.float64) for group in groups] if count <= dim else None
        if self.rows is not None:
            return
        self._wide: np.ndarray | None = None
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
        taken = np.flatnonzero(weights)
        if self.moments.nbytes <= _GROUP_BYTES // 2:  # small: one product with a float64 copy of all groups
            if self._wide is None:
                self._wide = self.moments.reshape(len(self), -1).astype(np.float64)
            second = (weights[taken] @ self._wide[taken]).reshape(self.moments.shape[1:])
        else:
            second = np.zeros(self.moments.shape[1:])
            step = max(1, _GROUP_BYTES // (8 * self.moments[0].size))  # bounds the float64 copy below
            for start in range(0, len(taken), step):
                group = taken[start : start + step]
                second += np.tensordot(weights[group].astype(np.float64), self.moments[group].astype(np.float64), 1)
        deviations = self.means - mean
        pooled = second + (deviations.T * counts) @ deviations
        return mean, pooled / (n - 1)

    def pair(self, rng: np.random.Generator) -> tuple[tuple[Moments, Moments], tuple[float, float]]:
        """Statistics of two complementary halves (one group of each pair in each; the groups are paired afresh
        each time) and their size ratios N / m."""
        order = rng.permutation(len(self)).reshape(-1, 2)
        first = np.where(rng.integers(0, 2, len(order)) == 1, order[:, 0], order[:, 1])
        first, second = np.sort(first), np.sort(order.sum(axis=1) - first)
        total = self.counts.sum()
        return (self._half(first), self._half(second)), (total / self.counts[first].sum(),
                                                         total / self.counts[second].sum())

    def _half(self, chosen: np.ndarray) -> Moments:
        if self.rows is not None:
            rows = np.concatenate([self.rows[index] for index in chosen])
            return (FeatureStats.from_state({"n": np.asarray(len(rows)), "mean": rows.mean(axis=0), "rows": rows}),)
        weights = np.zeros(len(self))
        weights[chosen] = 1.0
        return self.resample(weights)

    def __len__(self) -> int:
        return len(self.counts)


class GaussianReplicates:
    """Antithetic pairs of the statistics of a Gaussian sample of ``count`` items with the given mean and covariance,
    drawn without drawing the items: the mean from N(μ, Σ/n), the covariance from W(Σ/(n − 1), n − 1) by the Bartlett
    decomposition on Σ's eigendecomposition (rank r: an r × min(r, n − 1) triangle, so O(d² r) per draw)."""

    def __init__(self, stats: FeatureStats, count: int) -> None:
        if count < 2:
            raise InputError(f"FD interval: {stats.label or 'a statistics side'} records {count} items; "
                             "a covariance needs at least 2")
        values, vectors = np.linalg.eigh(stats.cov)
        keep = values > _RANK_RTOL * max(float(values[-1]), 0.0)
        self.mean, self.count = stats.mean, count
        self.factor = vectors[:, keep] * np.sqrt(values[keep])
        rank, dof = self.factor.shape[1], count - 1
        self._degrees = dof - np.arange(min(rank, dof))  # chi-square degrees of freedom down the triangle's diagonal
        self._below = np.tril_indices(rank, -1, min(rank, dof))

    def pair(self, rng: np.random.Generator) -> tuple[Moments, Moments]:
        """Two replicate statistics whose deviations from the given ones are opposite to first order."""
        rank, dof = self.factor.shape[1], self.count - 1
        shift = self.factor @ rng.standard_normal(rank) / np.sqrt(self.count)
        uniform = rng.uniform(size=len(self._degrees))
        normals = rng.standard_normal(len(self._below[0]))
        from scipy import stats as distributions  # imported on use: scipy.stats adds ~0.6 s to every frechet start-up

        replicates = []
        for sign, quantile in ((1.0, uniform), (-1.0, 1.0 - uniform)):
            triangle = np.zeros((rank, len(self._degrees)))
            triangle[self._below] = sign * normals
            triangle[np.arange(len(self._degrees)), np.arange(len(self._degrees))] = np.sqrt(
                distributions.chi2.ppf(quantile, self._degrees))
            root = self.factor @ triangle
            replicates.append((self.mean + sign * shift, root @ root.T / dof))
        return replicates[0], replicates[1]


@dataclass(frozen=True)
class FDInterval:
    """An interval at level ``confidence`` for ``target`` (the population FD, or the FD against this reference);
    ``corrected`` is the estimate of it, ``fd`` the plain FD, biased upward and not necessarily inside."""

    low: float
    high: float
    fd: float
    corrected: float
    confidence: float
    target: str = POPULATION


@dataclass(frozen=True)
class HalfSamples:
    """The plain FD, the FD of each half-sample (``values[2i]`` and ``values[2i + 1]`` a complementary pair), the
    size ratio r = N / m of whole to half, and what the interval is for."""

    fd: float
    values: np.ndarray
    ratio: float
    target: str = POPULATION

    @property
    def bias(self) -> float:
        """Estimated upward bias of the plain FD, (mean FD_half − FD_N) / (r − 1)."""
        return float((self.values.mean() - self.fd) / (self.ratio - 1.0))

    @property
    def corrected(self) -> float:
        """The bias-corrected FD, the estimate of the population FD."""
        return self.fd - self.bias

    def variances(self) -> tuple[float, float]:
        """FD_N's sampling variance v̂ = −cov(FD_A, FD_B) / (r − 1), clamped between a third of the half-sample
        variance V and all of it, and its first-order part L̂ = v̂ − (V − v̂) / 2 (see the module docstring)."""
        centred = self.values - self.values.mean()
        spread = float(centred @ centred) / len(centred) / (self.ratio - 1.0)
        pairs = centred.reshape(-1, 2)
        variance = float(np.clip(-np.mean(pairs[:, 0] * pairs[:, 1]) / (self.ratio - 1.0), spread / 3.0, spread))
        return variance, variance - (spread - variance) / 2.0

    def deviations(self) -> np.ndarray:
        """The half-sample deviations FD_half − mean FD_half rescaled to variance v̂."""
        centred = self.values - self.values.mean()
        spread = float(centred @ centred) / len(centred)
        return centred * np.sqrt(self.variances()[0] / spread) if spread > 0.0 else centred

    def interval(self, confidence: float = CONFIDENCE) -> FDInterval:
        """The bias-corrected interval at level ``confidence`` (see the module docstring)."""
        if not 0.0 < confidence < 1.0:
            raise InputError(f"FD interval: needs 0 < confidence < 1, got {confidence}")
        z = NormalDist().inv_cdf((1.0 + confidence) / 2.0)
        corrected = self.corrected
        variance, linear = self.variances()
        scale = max(corrected, float(np.sqrt(variance)))
        slope = linear / scale if scale > 0.0 else 0.0  # d Var(FD_N) / d FD
        centre = corrected + z * z * slope / 2.0
        half = z * float(np.sqrt(variance + (z * slope / 2.0) ** 2))
        return FDInterval(max(centre - half, 0.0), max(centre + half, 0.0), self.fd, corrected, confidence,
                          self.target)


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
    """Bias-corrected half-sampling interval for the population FD of two feature sets. A FeatureStats side with
    an item count is replicated as a Gaussian sample of that size; one without is held fixed (the interval is then
    for the FD against it). ``estimate`` is the plain FD (default: computed here in float64)."""
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
    """FD of ``resamples`` half-samples (``resamples // 2`` complementary pairs) of both sides (see
    :func:`fd_interval`)."""
    if resamples < 4 or chunks < 2:
        raise InputError(f"FD interval: needs resamples ≥ 4 and chunks ≥ 2, got {resamples} and {chunks}")
    sides = [_rows_if_kept(side) for side in (real, fake)]
    if all(isinstance(side, FeatureStats) for side in sides):
        raise InputError("FD interval: both sides are statistics; it needs the features of at least one side")
    if estimate is None:
        estimate = frechet_distance(*(side if isinstance(side, FeatureStats) else _stats(side) for side in sides))
    rng = np.random.default_rng(seed)
    replicated = [_replicates(side, chunks, rng) for side in sides]
    fixed = next((side for side, made in zip(sides, replicated) if made is None), None)
    reference = FrechetReference(fixed) if fixed is not None else None
    pairs = resamples // 2
    values, ratios = np.empty((pairs, 2)), []
    for index in track(range(pairs), pairs, "fd-ci", unit="half-sample pair", show=progress):
        drawn = []
        for made in replicated:
            if isinstance(made, ChunkMoments):
                halves, sizes = made.pair(rng)
                ratios.extend(sizes)
                drawn.append(halves)
            elif made is not None:
                drawn.append(made.pair(rng))
        for half in range(2):
            if reference is not None:
                values[index, half] = reference.distance(*drawn[0][half])
            else:
                values[index, half] = FrechetReference(*drawn[0][half]).distance(*drawn[1][half])
    return HalfSamples(estimate, values.ravel(), float(np.mean(ratios)), POPULATION if fixed is None else CONDITIONAL)


def _rows_if_kept(side: np.ndarray | FeatureStats) -> np.ndarray | FeatureStats:
    """Statistics that keep their rows (N ≤ d) are resampled as those rows."""
    if isinstance(side, FeatureStats) and side.rows is not None and side.rows.shape[0] >= MIN_ROWS:
        return side.rows
    return side


def _replicates(
    side: np.ndarray | FeatureStats, chunks: int, rng: np.random.Generator
) -> ChunkMoments | GaussianReplicates | None:
    """How a side is replicated: its groups, a Gaussian sample of its recorded size, or not at all (no count)."""
    if not isinstance(side, FeatureStats):
        return ChunkMoments(side, chunks, rng)
    return GaussianReplicates(side, side.n) if side.n is not None else None


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
    """Keys ``fd_ci_low``, ``fd_ci_high`` (the interval), ``fd_ci_corrected`` (the bias-corrected FD: the estimate
    the interval is for), ``fd_ci_plain`` (the plain FD, biased upward) and ``fd_ci_target`` (what the interval is
    for: the population FD, or the FD against a reference whose item count is unknown); options
    ``fd_ci_bootstrap`` (200 half-samples), ``fd_ci_confidence`` (0.95) and ``fd_ci_chunks`` (50)."""

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
            resamples=whole_number(context.options, "fd_ci_bootstrap", minimum=4),
            confidence=real_number(context.options, "fd_ci_confidence", above=0.0, below=1.0),
            chunks=whole_number(context.options, "fd_ci_chunks", minimum=2),
            seed=context.seed,
            estimate=estimate,
            progress=context.progress,
        )
        return {"fd_ci_low": result.low, "fd_ci_high": result.high, "fd_ci_corrected": result.corrected,
                "fd_ci_plain": result.fd, "fd_ci_target": result.target}


def _features_or_stats(side: Side, output: str) -> np.ndarray | FeatureStats:
    """The side's features to resample, or, for a side given as a statistics file, its statistics."""
    return side.features[output] if output in side.features else side.stats_of(output)
