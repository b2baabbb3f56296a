"""FD∞ and IS∞: the paper's grid, an exact least-squares fit, and removal of the 1/N bias where the truth is known."""

import numpy as np
import pytest

from frechet import FeatureStats, frechet_distance
from frechet.errors import InputError
from frechet.metrics.base import MetricContext, Side
from frechet.metrics.fd_infinity import ISInfinityMetric, extrapolate, fd_infinity, is_infinity, subset_sizes
from frechet.metrics.inception_score import inception_score


def test_default_grid_is_the_papers_for_50k_samples():
    # Chong & Forsyth: np.linspace(5000, 50000, 15).astype('int32').
    assert subset_sizes(50_000).tolist() == np.linspace(5000, 50000, 15).astype(np.int32).tolist()


def test_extrapolation_recovers_an_exact_line_and_reports_r2():
    sizes = np.array([100, 200, 400, 800])
    intercept, r2 = extrapolate(sizes, 3.0 + 250.0 / sizes)
    assert intercept == pytest.approx(3.0, rel=1e-12) and r2 == pytest.approx(1.0, abs=1e-12)
    noisy = 3.0 + 250.0 / sizes + np.array([0.1, -0.1, 0.1, -0.1])
    slope, fitted_intercept = np.polyfit(1.0 / sizes, noisy, 1)
    residual = noisy - (fitted_intercept + slope / sizes)
    expected_r2 = 1 - residual @ residual / np.sum((noisy - noisy.mean()) ** 2)
    assert extrapolate(sizes, noisy) == pytest.approx((fitted_intercept, expected_r2), rel=1e-10)


def test_fd_infinity_removes_the_finite_sample_bias_of_fd():
    # Fake ~ N(0, diag(s)) against the exact population N(0, I): FD = Σ (1 − √sᵢ)². FD_N is biased by about
    # d²/(4N); FD∞ (intercept of the 1/N fit) should be unbiased up to sampling noise.
    d, n, seeds = 24, 3000, 6
    s = np.linspace(0.8, 1.25, d)
    truth = float(np.sum((1 - np.sqrt(s)) ** 2))
    population = FeatureStats.from_moments(np.zeros(d), np.eye(d))
    plain, extrapolated, r2 = [], [], []
    for seed in range(seeds):
        fake = np.random.default_rng(seed).standard_normal((n, d)) * np.sqrt(s)
        plain.append(frechet_distance(population, FeatureStats.from_features(fake)))
        value, fit = fd_infinity(population, fake, seed=seed)
        extrapolated.append(value)
        r2.append(fit)
    plain_bias, inf_bias = np.mean(plain) - truth, np.mean(extrapolated) - truth
    inf_se = np.std(extrapolated, ddof=1) / np.sqrt(seeds)
    assert plain_bias > 0.7 * d**2 / (4 * n)  # the plain FD is visibly biased, about as theory says
    assert abs(inf_bias) < 3 * inf_se and abs(inf_bias) < 0.2 * plain_bias
    assert min(r2) > 0.9


def test_is_infinity_removes_most_of_the_finite_sample_bias_of_is():
    # Predictions drawn from 20000 sharp prototypes over 200 classes: the population IS is exact, and IS_N
    # (marginal estimated from N samples) underestimates it by a term in 1/N.
    rng = np.random.default_rng(0)
    prototypes = rng.dirichlet(np.full(200, 0.005), size=20_000) + 1e-6
    prototypes /= prototypes.sum(axis=1, keepdims=True)
    marginal = prototypes.mean(axis=0)
    truth = np.exp(np.mean(np.sum(prototypes * (np.log(prototypes) - np.log(marginal)), axis=1)))
    plain, extrapolated = [], []
    for seed in range(12):
        logits = np.log(prototypes[np.random.default_rng(seed).integers(0, 20_000, 4000)])
        plain.append(inception_score(logits, splits=1, shuffle=False)[0])
        extrapolated.append(is_infinity(logits, seed=seed)[0])
    plain_bias, inf_bias = np.mean(plain) - truth, np.mean(extrapolated) - truth
    plain_se, inf_se = (np.std(v, ddof=1) / np.sqrt(12) for v in (plain, extrapolated))
    assert plain_bias < -4 * plain_se
    assert abs(inf_bias) < 3 * inf_se and abs(inf_bias) < 0.3 * abs(plain_bias)


def test_too_few_samples_for_a_grid_is_a_clear_error():
    with pytest.raises(InputError, match=r"needs at least 20 samples .*found 5"):
        fd_infinity(np.random.default_rng(0).standard_normal((50, 2)), np.zeros((5, 2)))


def test_is_infinity_metric_reads_the_fake_sides_logits():
    logits = np.random.default_rng(2).standard_normal((400, 10)) * 3
    context = MetricContext("pool", outputs={"pool": 8, "logits": 10},
                            options={"infinity_points": "5", "infinity_start": "0.2"}, seed=7)
    values = ISInfinityMetric().compute(Side("real"), Side("fake", features={"logits": logits}), context)
    assert (values["is_inf"], values["is_inf_r2"]) == is_infinity(logits, points=5, start=0.2, seed=7)
