"""Bootstrap FD interval: exact pooled moments, nominal coverage over repeated draws, fixed statistics sides."""

import numpy as np
import pytest

from frechet import FeatureStats, frechet_distance
from frechet.errors import InputError
from frechet.metrics.bootstrap import ChunkMoments, fd_bootstrap


def test_unit_weights_give_back_the_full_sample_mean_and_covariance():
    features = np.random.default_rng(1).standard_normal((503, 6)) * 3 + 1
    moments = ChunkMoments(features, 20, np.random.default_rng(0))
    mean, cov = moments.resample(np.ones(20))
    assert mean == pytest.approx(features.mean(axis=0), rel=1e-12)
    assert cov == pytest.approx(np.cov(features, rowvar=False), rel=1e-6)  # group moments stored in float32


def test_weights_count_groups_as_repeated_rows():
    features = np.random.default_rng(2).standard_normal((40, 3))
    moments = ChunkMoments(features, 4, np.random.default_rng(0))
    groups = np.array_split(np.random.default_rng(0).permutation(40), 4)
    weights = np.array([2, 0, 1, 1])
    rows = features[np.concatenate([groups[0], groups[0], groups[2], groups[3]])]
    mean, cov = moments.resample(weights)
    assert mean == pytest.approx(rows.mean(axis=0), rel=1e-12)
    assert cov == pytest.approx(np.cov(rows, rowvar=False), rel=1e-6)


def test_percentile_interval_covers_the_true_fd_at_its_nominal_rate():
    # 200 independent data sets from Gaussians with a closed-form FD; a 90 % interval should cover it ~90 % of the
    # time (binomial s.e. 2.1 %), and be about as wide as the spread of FD itself (not trivially wide).
    delta, s = np.array([1.0, 0.0, 0.0]), np.array([0.5, 1.0, 2.0])
    truth = float(delta @ delta + np.sum(1 + s - 2 * np.sqrt(s)))
    rng = np.random.default_rng(1)
    covered, widths, estimates = 0, [], []
    for repeat in range(200):
        real = rng.standard_normal((1000, 3))
        fake = rng.standard_normal((1000, 3)) * np.sqrt(s) + delta
        low, high = fd_bootstrap(real, fake, resamples=100, confidence=0.9, seed=repeat)
        covered += low <= truth <= high
        widths.append(high - low)
        estimates.append(frechet_distance(FeatureStats.from_features(real), FeatureStats.from_features(fake)))
    assert 0.84 <= covered / 200 <= 0.96
    assert 0.75 < np.mean(widths) / (2 * 1.645 * np.std(estimates)) < 1.33


def test_a_side_given_as_statistics_is_held_fixed():
    rng = np.random.default_rng(4)
    real, fake = rng.standard_normal((800, 4)), rng.standard_normal((800, 4)) + 0.5
    both = fd_bootstrap(real, fake, resamples=200)
    one = fd_bootstrap(FeatureStats.from_features(real), fake, resamples=200)
    point = frechet_distance(FeatureStats.from_features(real), FeatureStats.from_features(fake))
    assert one[0] <= point <= one[1]
    assert one[1] - one[0] < both[1] - both[0]


def test_bootstrap_needs_features_on_one_side_and_valid_settings():
    stats = FeatureStats.from_features(np.random.default_rng(0).standard_normal((10, 2)))
    with pytest.raises(InputError, match="features of at least one side"):
        fd_bootstrap(stats, stats)
    with pytest.raises(InputError, match="confidence"):
        fd_bootstrap(np.zeros((10, 2)), np.zeros((10, 2)), confidence=1.5)
