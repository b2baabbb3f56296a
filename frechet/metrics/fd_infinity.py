"""Effectively unbiased FD∞ and IS∞ (Chong & Forsyth 2020): extrapolate a finite-sample score to N → ∞.

FD_N and IS_N are biased with a bias linear in 1/N. Both are evaluated on random subsets (without replacement) of
the generated samples at ``points`` sizes evenly spaced from ``start``·n to n (``start`` = 0.1 and 15 points give
the paper's grid 5000, …, 50000 for n = 50000), a line is fitted to (1/N, score) by least squares, and its intercept
is the N → ∞ value; R² of the fit says how well the 1/N model holds. Each subset is a fresh seeded draw, as in the
paper. FD_N compares the subset with the reference side's full statistics, whose factorization is computed once
(:class:`frechet.distance.FrechetReference`); IS_N is the Inception Score of the subset in one split.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from frechet.caller import spell_metric_option
from frechet.distance import FrechetReference
from frechet.errors import InputError
from frechet.metrics._options import real_number, whole_number
from frechet.metrics.base import Metric, MetricContext, Need, Side, too_few
from frechet.metrics.inception_score import inception_score, logits_output
from frechet.progress import track
from frechet.stats import FeatureStats

#: The paper's grid: 15 sizes from a tenth of the samples to all of them.
POINTS = 15
START = 0.1


def subset_sizes(n: int, points: int = POINTS, start: float = START) -> np.ndarray:
    """The distinct subset sizes ⌊linspace(start·n, n, points)⌋, as the paper's code rounds them."""
    if points < 2 or not 0.0 < start < 1.0:
        raise InputError(f"the 1/N extrapolation needs at least 2 points and 0 < start < 1, got {points} and {start}")
    if int(start * n) >= 2 and points > n:  # n samples have at most n subset sizes: no larger grid is built
        raise InputError(f"the 1/N extrapolation has at most {n} distinct subset sizes for {n} samples, not {points}: "
                         f"use fewer {spell_metric_option('infinity_points', 'P')}, or more samples")
    sizes = np.unique(np.linspace(start * n, n, points).astype(np.int64)) if int(start * n) >= 2 else None
    if sizes is None or len(sizes) < 2:
        needed = max(3, math.ceil(2 / start))
        raise InputError(
            f"the 1/N extrapolation needs at least {needed} samples (its smallest subset, {start:g} × N, must hold 2 "
            f"or more); found {n}: use more samples, or a larger {spell_metric_option('infinity_start', 'S')}"
        )
    return sizes


def extrapolate(sizes: np.ndarray, scores: np.ndarray) -> tuple[float, float]:
    """Least-squares line through (1/N, score): its intercept (the N → ∞ value) and R² (nan for constant scores)."""
    design = np.column_stack([np.ones(len(sizes)), 1.0 / np.asarray(sizes, dtype=np.float64)])
    scores = np.asarray(scores, dtype=np.float64)
    coefficients, *_ = np.linalg.lstsq(design, scores, rcond=None)
    residual = float(np.sum((scores - design @ coefficients) ** 2))
    spread = float(np.sum((scores - scores.mean()) ** 2))
    return float(coefficients[0]), (1.0 - residual / spread) if spread > 0 else math.nan


def fd_infinity(
    real: FeatureStats | np.ndarray,
    fake: np.ndarray,
    *,
    points: int = POINTS,
    start: float = START,
    seed: int = 2020,
    progress: bool | None = False,
) -> tuple[float, float]:
    """FD∞ of (M, d) ``fake`` features against ``real`` (its statistics, or its features) and R² of the fit."""
    fake = np.asarray(fake)
    reference = FrechetReference(real if isinstance(real, FeatureStats) else FeatureStats.from_features(real))
    if fake.ndim != 2 or fake.shape[1] != reference.dim:
        raise InputError(f"FD∞: fake features must be (samples, {reference.dim}), got shape {fake.shape}")
    sizes = subset_sizes(fake.shape[0], points, start)
    rng = np.random.default_rng(seed)
    scores = [
        reference.distance(FeatureStats.from_features(fake[np.sort(rng.choice(fake.shape[0], size, replace=False))]))
        for size in track(sizes, len(sizes), "fd-inf", unit="subset", show=progress)
    ]
    return extrapolate(sizes, np.array(scores))


def is_infinity(
    logits: np.ndarray, *, points: int = POINTS, start: float = START, seed: int = 2020
) -> tuple[float, float]:
    """IS∞ of (M, classes) logits (IS_N of one split per subset, extrapolated) and R² of the fit."""
    logits = np.asarray(logits)
    if logits.ndim != 2:
        raise InputError(f"IS∞: logits must be (samples, classes), got shape {logits.shape}")
    sizes = subset_sizes(logits.shape[0], points, start)
    rng = np.random.default_rng(seed)
    scores = [
        inception_score(logits[rng.choice(logits.shape[0], size, replace=False)], splits=1, shuffle=False)[0]
        for size in sizes
    ]
    return extrapolate(sizes, np.array(scores))


def _grid_options(context: MetricContext) -> dict[str, Any]:
    return {
        "points": whole_number(context.options, "infinity_points", minimum=2),
        "start": real_number(context.options, "infinity_start", above=0.0, below=1.0),
        "seed": context.seed,
    }


def _check_grid(metric: str, sizes: Mapping[str, int | None], context: MetricContext, exact: bool) -> None:
    """Refuse a fake side too small for the grid of subset sizes, naming the options that set the grid."""
    count = sizes.get("fake")
    if count is None:
        return
    grid = _grid_options(context)
    try:
        subset_sizes(count, grid["points"], grid["start"])
    except InputError:
        too_few(f"{metric}: the fake side's {count} items are too few for subsets of {grid['points']} distinct sizes "
                f"≥ 2 from infinity_start={grid['start']:g} of them; add items, or set --metric-option "
                "infinity_points=… (fewer) or infinity_start=… (larger)", exact=exact)


class FDInfinityMetric(Metric):
    """Keys ``fd_inf`` and ``fd_inf_r2``; options ``infinity_points`` (15) and ``infinity_start`` (0.1)."""

    name = "fd-inf"
    options = {"infinity_points": POINTS, "infinity_start": START}

    def needs(self, context: MetricContext) -> list[Need]:
        return [Need(context.output, "stats"), Need(context.output, "features", sides="fake")]

    def check_sizes(self, sizes: Mapping[str, int | None], context: MetricContext, *, exact: bool = True) -> None:
        _check_grid(self.name, sizes, context, exact)

    def compute(self, real: Side, fake: Side, context: MetricContext) -> dict[str, Any]:
        value, r2 = fd_infinity(
            real.stats_of(context.output), fake.features_of(context.output, self.name), **_grid_options(context),
            progress=context.progress,
        )
        return {"fd_inf": value, "fd_inf_r2": r2}


class ISInfinityMetric(Metric):
    """Keys ``is_inf`` and ``is_inf_r2`` (the fake side's logits); same options as ``fd-inf``."""

    name = "is-inf"
    options = {"infinity_points": POINTS, "infinity_start": START}

    def needs(self, context: MetricContext) -> list[Need]:
        return [Need(logits_output(context), "features", sides="fake")]

    def check_sizes(self, sizes: Mapping[str, int | None], context: MetricContext, *, exact: bool = True) -> None:
        _check_grid(self.name, sizes, context, exact)

    def compute(self, real: Side, fake: Side, context: MetricContext) -> dict[str, Any]:
        value, r2 = is_infinity(fake.features_of(logits_output(context), self.name), **_grid_options(context))
        return {"is_inf": value, "is_inf_r2": r2}
