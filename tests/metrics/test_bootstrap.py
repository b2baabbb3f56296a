"""FD interval: exact pooled moments of groups and half-samples, the bias correction, an interval that always holds
the plain FD and covers the population FD at its nominal rate, fixed statistics sides."""

import numpy as np
import pytest

from frechet import FeatureStats, frechet_distance
from frechet.errors import InputError
from frechet.metrics.bootstrap import ChunkMoments, HalfSamples, fd_bias, fd_interval, half_samples


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


def test_a_half_sample_is_the_rows_of_half_the_groups_and_knows_its_size_ratio():
    features = np.random.default_rng(3).standard_normal((41, 3))
    moments = ChunkMoments(features, 6, np.random.default_rng(0))
    groups = np.array_split(np.random.default_rng(0).permutation(41), 6)
    chosen = np.random.default_rng(9).choice(6, 3, replace=False)
    half, ratio = moments.half(np.random.default_rng(9))
    rows = features[np.concatenate([groups[index] for index in chosen])]
    assert half.n == len(rows)
    assert half.mean == pytest.approx(rows.mean(axis=0), rel=1e-12)
    assert half.cov == pytest.approx(np.cov(rows, rowvar=False), rel=1e-6, abs=1e-7)  # float32 group moments
    assert ratio == 41 / len(rows)


def test_with_no_more_rows_than_dimensions_half_samples_are_rows_and_their_fd_is_the_fd_of_those_rows():
    # N = 24 ≤ d = 40: no d × d group moments are kept; each replicate's FD is that of the chosen rows themselves,
    # here checked against np.cov of the same rows through the covariance (eigendecomposition) path.
    rng = np.random.default_rng(4)
    real, fake = rng.standard_normal((24, 40)), rng.standard_normal((24, 40)) * 1.3 + 0.2
    moments = ChunkMoments(real, 8, np.random.default_rng(0))
    assert moments.rows is not None and not hasattr(moments, "moments")
    half, ratio = moments.half(np.random.default_rng(9))
    assert half.rows is not None and ratio == 2.0
    groups = np.array_split(np.random.default_rng(0).permutation(24), 8)
    chosen = np.sort(np.random.default_rng(9).choice(8, 4, replace=False))
    rows = real[np.concatenate([np.sort(groups[index]) for index in chosen])]
    assert half.rows == pytest.approx(rows, rel=0, abs=0)
    samples = half_samples(real, fake, resamples=5, chunks=8, seed=3)
    replay = np.random.default_rng(3)
    sides = [ChunkMoments(side, 8, replay) for side in (real, fake)]
    for value in samples.values:
        halves = [side.half(replay)[0] for side in sides]
        oracle = frechet_distance(*(array for stats in halves
                                    for array in (stats.rows.mean(axis=0), np.cov(stats.rows, rowvar=False))))
        assert value == pytest.approx(oracle, rel=1e-9)


def test_interval_always_holds_the_plain_fd_and_covers_the_population_fd_at_its_nominal_rate():
    # 300 data sets from Gaussians with a closed-form FD, N/d = 20: the plain FD is biased upward by more than its
    # standard deviation (so a percentile interval, which adds the bias again, would rarely cover the truth), yet
    # the 90 % and 95 % intervals cover it at their rates (binomial s.e. 1.7 and 1.3 points) and hold FD always.
    dim, n = 6, 120
    scale, delta = np.linspace(0.5, 2.0, dim), np.full(dim, 0.25)
    truth = float(delta @ delta + np.sum(1 + scale - 2 * np.sqrt(scale)))
    rng = np.random.default_rng(5)
    covered, plain, corrected = {0.9: 0, 0.95: 0}, [], []
    for repeat in range(300):
        real = rng.standard_normal((n, dim))
        fake = rng.standard_normal((n, dim)) * np.sqrt(scale) + delta
        samples = half_samples(real, fake, resamples=100, seed=repeat)
        plain.append(samples.fd)
        corrected.append(samples.fd - samples.bias)
        for confidence in covered:
            interval = samples.interval(confidence)
            assert interval.low <= samples.fd <= interval.high
            covered[confidence] += interval.low <= truth <= interval.high
    assert np.mean(plain) - truth > np.std(plain)
    assert abs(np.mean(corrected) - truth) < 0.2 * np.std(corrected)
    assert 0.85 <= covered[0.9] / 300 <= 0.95
    assert 0.91 <= covered[0.95] / 300 <= 0.99


def test_when_every_half_sample_exceeds_the_estimate_the_interval_ends_at_it():
    values = 2.0 + np.random.default_rng(0).normal(0.0, 0.05, 200)  # bias 1.0, spread 0.05: the BCa breakdown case
    interval = HalfSamples(1.0, values, 2.0).interval(0.9)
    assert interval.high == 1.0
    assert interval.corrected == pytest.approx(0.0, abs=0.02)
    assert interval.low == 0.0  # 0 − spread, clamped


def test_a_downward_bias_moves_the_window_to_start_at_the_estimate():
    values = 1.0 - 0.5 + np.random.default_rng(0).normal(0.0, 0.05, 200)
    interval = HalfSamples(1.0, values, 2.0).interval(0.95)
    assert interval.low == 1.0 and interval.high > interval.corrected > 1.0


def test_a_centred_estimate_gives_the_symmetric_pivotal_interval():
    spread = np.random.default_rng(1).normal(0.0, 0.1, 4000)
    interval = HalfSamples(5.0, 5.0 + spread - spread.mean(), 2.0).interval(0.95)
    assert (interval.low, interval.high) == pytest.approx((5.0 - 0.196, 5.0 + 0.196), abs=0.01)


def test_a_side_given_as_statistics_is_held_fixed():
    rng = np.random.default_rng(4)
    real, fake = rng.standard_normal((800, 4)), rng.standard_normal((800, 4)) + 0.5
    both = fd_interval(real, fake, resamples=200)
    one = fd_interval(FeatureStats.from_features(real), fake, resamples=200)
    point = frechet_distance(FeatureStats.from_features(real), FeatureStats.from_features(fake))
    assert one.fd == pytest.approx(point, rel=1e-12)
    assert one.low <= point <= one.high
    assert one.high - one.low < both.high - both.low


def test_bias_estimate_of_few_samples_uses_the_rows_statistics_keep():
    rng = np.random.default_rng(6)
    real, fake = rng.standard_normal((30, 40)), rng.standard_normal((30, 40))  # same distribution: FD = 0
    stats = [FeatureStats.from_features(side) for side in (real, fake)]
    bias = fd_bias(*stats)
    assert 0.3 * frechet_distance(*stats) < bias < frechet_distance(*stats)
    assert fd_bias(FeatureStats.from_moments(stats[0].mean, stats[0].cov), FeatureStats.from_moments(
        stats[1].mean, stats[1].cov)) is None


def test_interval_needs_features_on_one_side_and_valid_settings():
    stats = FeatureStats.from_features(np.random.default_rng(0).standard_normal((10, 2)))
    with pytest.raises(InputError, match="features of at least one side"):
        fd_interval(stats, stats)
    with pytest.raises(InputError, match="confidence"):
        fd_interval(np.zeros((10, 2)), np.zeros((10, 2)) + 1, confidence=1.5)
    with pytest.raises(InputError, match="samples ≥ 4"):
        fd_interval(np.zeros((3, 2)), np.zeros((10, 2)))
