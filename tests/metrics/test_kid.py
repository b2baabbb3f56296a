"""KID against torch-fidelity's (goldens) and against the unbiased MMD² formula written out in float64."""

import logging
import math

import numpy as np
import pytest
import torch

from frechet.errors import ConfigError, InputError
from frechet.metrics.base import MetricContext, Side
from frechet.metrics.kid import KernelInceptionDistanceMetric, kid, unbiased_mmd2, usable_subset_size


@pytest.fixture(scope="module")
def default_kid(kid_features):
    return kid(*kid_features)


def _direct_unbiased_mmd2(x, y):
    """Bińkowski et al.'s estimator, term by term: kernel matrices, diagonals removed from the within-side sums."""
    x, y = x.astype(np.float64), y.astype(np.float64)
    m, d = x.shape
    k_xx, k_yy, k_xy = ((a @ b.T / d + 1) ** 3 for a, b in ((x, x), (y, y), (x, y)))
    off = ~np.eye(m, dtype=bool)
    return k_xx[off].sum() / (m * (m - 1)) + k_yy[off].sum() / (m * (m - 1)) - 2 * k_xy.sum() / m**2


def test_kid_of_all_samples_matches_torch_fidelity_in_float64(kid_features, goldens):
    golden = goldens["kid"]["all_samples_float64"]
    mean, std = kid(*kid_features, subsets=1, subset_size=golden["kid_subset_size"])
    assert mean == pytest.approx(golden["kid"], rel=1e-12)
    assert std == 0.0


def test_default_kid_equals_torch_fidelity_default_kid_in_float64(default_kid, goldens):
    # Same RandomState(2020) draws, generated side first: the same 100 subsets, so agreement to float64 rounding.
    golden = goldens["kid"]["default_float64"]
    assert (golden["kid_subsets"], golden["kid_subset_size"], golden["seed"]) == (100, 1000, 2020)
    assert default_kid[0] == pytest.approx(golden["kid"], rel=1e-12)
    assert default_kid[1] == pytest.approx(golden["kid_std"], rel=1e-10)


def test_default_kid_matches_torch_fidelity_on_float32_features(default_kid, goldens):
    # torch-fidelity computes in the features' float32; frechet in float64. Measured: mean 1.5e-7, std 2.2e-6 apart.
    golden = goldens["kid"]["default_float32"]
    assert default_kid[0] == pytest.approx(golden["kid"], rel=1e-6)
    assert default_kid[1] == pytest.approx(golden["kid_std"], rel=1e-5)


def test_unbiased_mmd2_is_the_written_out_estimator():
    rng = np.random.default_rng(3)
    x, y = rng.standard_normal((40, 7)), rng.standard_normal((40, 7)) * 1.3 + 0.2
    assert unbiased_mmd2(torch.from_numpy(x), torch.from_numpy(y)) == pytest.approx(
        _direct_unbiased_mmd2(x, y), rel=1e-12
    )


def test_kid_sums_blocks_exactly(kid_features, small_blocks):
    real, fake = kid_features
    blocked = kid(real, fake, subsets=1, subset_size=300, seed=5)
    assert blocked[0] == pytest.approx(
        _direct_unbiased_mmd2(fake[np.random.RandomState(5).choice(1000, 300, replace=False)],
                              real[_second_draw(5, 1000, 1100, 300)]), rel=1e-12
    )


def _second_draw(seed, n_first, n_second, size):
    rng = np.random.RandomState(seed)
    rng.choice(n_first, size, replace=False)
    return rng.choice(n_second, size, replace=False)


def test_one_subset_larger_than_a_side_takes_all_of_the_smaller_side(knn_features):
    real, fake = knn_features
    clamped = kid(real, fake, subsets=1, subset_size=1000)
    assert clamped[0] == pytest.approx(_direct_unbiased_mmd2(fake, real[_second_draw(2020, 250, 300, 250)]), rel=1e-12)


@pytest.mark.parametrize(
    ("n_real", "n_fake", "requested", "size"), [(300, 250, 1000, 249), (250, 250, 250, 249), (4, 6, 1000, 2)]
)
def test_kid_with_too_few_items_for_its_subsets_warns_and_draws_subsets_that_differ(
    knn_features, caplog, n_real, n_fake, requested, size
):
    real, fake = knn_features[0][:n_real], knn_features[1][:n_fake]
    assert usable_subset_size(n_real, n_fake, requested, 5) == size
    with caplog.at_level(logging.WARNING, logger="frechet"):
        mean, std = kid(real, fake, subsets=5, subset_size=requested)
    assert f"using subsets of {size}" in caplog.text
    assert std > 1e-6 * abs(mean)  # identical subsets would give a spread of rounding level
    assert (mean, std) == kid(real, fake, subsets=5, subset_size=size)


def test_kid_metric_warns_once_before_embedding_and_reports_the_size_it_used(knn_features, caplog):
    real, fake = knn_features
    metric, context = KernelInceptionDistanceMetric(), MetricContext("f", options={"kid_subsets": 10,
                                                                                   "kid_subset_size": 1000})
    with caplog.at_level(logging.WARNING, logger="frechet"):
        metric.check_sizes({"real": 300, "fake": 250}, context)
        values = metric.compute(Side("real", features={"f": real}), Side("fake", features={"f": fake}), context)
    assert caplog.text.count("using subsets of 249") == 1
    assert values["kid_subset_size"] == 249


def test_kid_refuses_before_embedding_when_no_subsets_could_differ():
    context = MetricContext("f", options={"kid_subsets": 100, "kid_subset_size": 1000})
    with pytest.raises(ConfigError, match="kid_subsets"):
        KernelInceptionDistanceMetric().check_sizes({"real": 2, "fake": 500}, context)


def test_kid_of_a_sample_against_itself_is_near_zero_and_can_be_negative(kid_features):
    real, _ = kid_features
    mean, _ = kid(real[:500], real[500:1000], subsets=10, subset_size=200)
    assert abs(mean) < 0.01


def test_kid_rejects_mismatched_dimensions_and_tiny_sides():
    with pytest.raises(InputError, match="dims"):
        kid(np.zeros((10, 3)), np.zeros((10, 4)))
    with pytest.raises(InputError, match="KID needs at least 9 samples on each side for 100 different subsets"):
        kid(np.zeros((1, 3)), np.zeros((10, 3)))
    with pytest.raises(InputError, match="fake features contain NaN or Inf"):
        kid(np.zeros((10, 3)), np.full((10, 3), np.inf))


@pytest.mark.parametrize("subsets", [2, 3, 6, 7, 20, 21, 100, 1000])
def test_the_fewest_samples_kid_names_is_the_real_condition_on_each_side(subsets):
    """Brute force: the smallest n whose subsets of some size 2 … n−1 number at least ``subsets``; n works on both
    sides and n − 1 is refused naming n, whichever side is short."""
    fewest = next(n for n in range(3, 100) if max(math.comb(n, m) for m in range(2, n)) >= subsets)
    assert usable_subset_size(fewest, fewest, 1000, subsets) >= 2
    for n_real, n_fake in [(fewest - 1, fewest - 1), (fewest - 1, 50), (50, fewest - 1)]:
        with pytest.raises(InputError, match=rf"at least {fewest} samples on each side for {subsets} different "
                                              rf"subsets .*got {n_real} real and {n_fake} fake"):
            usable_subset_size(n_real, n_fake, 1000, subsets)
