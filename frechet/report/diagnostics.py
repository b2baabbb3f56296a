"""What a report plots beside the numbers: the FD∞ fit's points, the half-sample replicates behind fd-ci's interval,
and the feature dimensions whose means and variances differ most between the sides.

The FD∞ points and the half-samples are evaluated again here, with the metrics' own functions, options and seed, so
they are exactly those behind the reported ``fd_inf`` and ``fd_ci_low``/``fd_ci_high`` (at about the cost of
computing those metrics once more).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from frechet.distance import FrechetReference
from frechet.metrics.bootstrap import FDInterval, half_samples
from frechet.metrics.fd_infinity import subset_sizes
from frechet.stats import FeatureStats


@dataclass
class InfinityFit:
    """FD_N of random fake subsets of each size N, and the least-squares line FD_N = intercept + slope / N."""

    sizes: np.ndarray
    scores: np.ndarray
    intercept: float
    slope: float


@dataclass
class HalfSampleSpread:
    """fd-ci's half-sample replicates as values of the population FD, FD_bc minus their deviations rescaled to the
    estimate's sampling variance (the variance the interval is made from), and the interval itself."""

    values: np.ndarray
    interval: FDInterval


@dataclass
class DimensionGaps:
    """The feature dimensions contributing most to a diagonal FD, Σᵢ (μᵣᵢ − μ_fᵢ)² + (σᵣᵢ − σ_fᵢ)², largest first."""

    dims: np.ndarray
    mean_gap: np.ndarray
    std_real: np.ndarray
    std_fake: np.ndarray
    share: np.ndarray


def infinity_fit(real: FeatureStats, fake: np.ndarray, options: dict[str, Any], seed: int) -> InfinityFit:
    """The fd-inf metric's subsets (same grid, seed and draws) with their FD_N and the fitted line."""
    fake = np.asarray(fake)
    sizes = subset_sizes(fake.shape[0], options["infinity_points"], options["infinity_start"])
    reference = FrechetReference(real)
    rng = np.random.default_rng(seed)
    scores = np.array([
        reference.distance(FeatureStats.from_features(fake[np.sort(rng.choice(fake.shape[0], size, replace=False))]))
        for size in sizes
    ])
    slope, intercept = np.polyfit(1.0 / sizes, scores, 1)
    return InfinityFit(sizes, scores, float(intercept), float(slope))


def half_sample_spread(
    real: np.ndarray | FeatureStats, fake: np.ndarray | FeatureStats, estimate: float, options: dict[str, Any],
    seed: int,
) -> HalfSampleSpread:
    """fd-ci's half-samples (same chunks, draws and seed as the metric) around the plain FD ``estimate`` (the FD of
    the sides' statistics, as the metric takes it), and its interval."""
    samples = half_samples(real, fake, resamples=options["fd_ci_bootstrap"], chunks=options["fd_ci_chunks"],
                           seed=seed, estimate=estimate)
    interval = samples.interval(options["fd_ci_confidence"])
    return HalfSampleSpread(interval.corrected - samples.deviations(), interval)


def dimension_gaps(real: FeatureStats, fake: FeatureStats, top: int = 20) -> DimensionGaps:
    """The ``top`` dimensions with the largest 1-D Fréchet distance between the sides' marginals, with their share
    of the diagonal FD (the FD the two Gaussians would have with their correlations dropped)."""
    mean_gap = fake.mean - real.mean
    std_real, std_fake = np.sqrt(np.clip(np.diag(real.cov), 0, None)), np.sqrt(np.clip(np.diag(fake.cov), 0, None))
    per_dim = mean_gap**2 + (std_real - std_fake) ** 2
    total = per_dim.sum()
    dims = np.argsort(-per_dim, kind="stable")[:top]
    share = per_dim[dims] / total if total > 0 else np.zeros(len(dims))
    return DimensionGaps(dims, mean_gap[dims], std_real[dims], std_fake[dims], share)
