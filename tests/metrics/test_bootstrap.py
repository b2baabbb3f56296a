"""FD interval: exact pooled moments of groups and complementary half-samples, Gaussian replicates of a statistics
side, the bias correction, an interval around the corrected estimate (not stretched to the plain FD) that covers the
population FD at its nominal rate whether the reference is rows or statistics, and sides without an item count."""

import numpy as np
import pytest

from frechet import FeatureStats, frechet_distance
from frechet.errors import InputError
from frechet.metrics.bootstrap import (
    CONDITIONAL, POPULATION, ChunkMoments, GaussianReplicates, HalfSamples, fd_bias, fd_interval, half_samples,
)


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


def _pair_indices(groups: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The groups ChunkMoments.pair sends to each half, replayed from its seed."""
    rng = np.random.default_rng(seed)
    order = rng.permutation(groups).reshape(-1, 2)
    first = np.where(rng.integers(0, 2, len(order)) == 1, order[:, 0], order[:, 1])
    return first, order.sum(axis=1) - first


def test_a_pair_is_two_complementary_halves_with_their_size_ratios():
    features = np.random.default_rng(3).standard_normal((41, 3))
    moments = ChunkMoments(features, 6, np.random.default_rng(0))
    groups = np.array_split(np.random.default_rng(0).permutation(41), 6)
    halves, ratios = moments.pair(np.random.default_rng(9))
    chosen = _pair_indices(6, 9)
    assert sorted(np.concatenate(chosen)) == list(range(6))
    for (mean, cov), ratio, indices in zip(halves, ratios, chosen):
        rows = features[np.concatenate([groups[index] for index in indices])]
        assert mean == pytest.approx(rows.mean(axis=0), rel=1e-12)
        assert cov == pytest.approx(np.cov(rows, rowvar=False), rel=1e-6, abs=1e-7)  # float32 group moments
        assert ratio == 41 / len(rows)


def test_an_odd_group_count_is_made_even_so_every_group_has_a_partner():
    moments = ChunkMoments(np.random.default_rng(3).standard_normal((41, 3)), 7, np.random.default_rng(0))
    assert len(moments) == 6 and moments.counts.sum() == 41


def test_with_no_more_rows_than_dimensions_half_samples_are_rows_and_their_fd_is_the_fd_of_those_rows():
    # N = 24 ≤ d = 40: no d × d group moments are kept; each replicate's FD is that of the chosen rows themselves,
    # here checked against np.cov of the same rows through the covariance (eigendecomposition) path.
    rng = np.random.default_rng(4)
    real, fake = rng.standard_normal((24, 40)), rng.standard_normal((24, 40)) * 1.3 + 0.2
    moments = ChunkMoments(real, 8, np.random.default_rng(0))
    assert moments.rows is not None and not hasattr(moments, "moments")
    halves, ratios = moments.pair(np.random.default_rng(9))
    assert ratios == (2.0, 2.0)
    groups = np.array_split(np.random.default_rng(0).permutation(24), 8)
    rows = real[np.concatenate([np.sort(groups[index]) for index in np.sort(_pair_indices(8, 9)[0])])]
    assert halves[0][0].rows == pytest.approx(rows, rel=0, abs=0)
    samples = half_samples(real, fake, resamples=6, chunks=8, seed=3)
    replay = np.random.default_rng(3)
    sides = [ChunkMoments(side, 8, replay) for side in (real, fake)]
    oracle = []
    for _ in range(3):
        pairs = [side.pair(replay)[0] for side in sides]
        for half in range(2):
            stats = [pairs[0][half][0], pairs[1][half][0]]
            oracle.append(frechet_distance(*(array for side in stats
                                             for array in (side.rows.mean(axis=0), np.cov(side.rows, rowvar=False)))))
    assert samples.values == pytest.approx(oracle, rel=1e-9)


def test_gaussian_replicates_follow_the_sampling_law_of_n_items_and_come_in_antithetic_pairs():
    # Oracle: a sample of n Gaussian items has mean ~ N(μ, Σ/n) and covariance entries with variance
    # (Σᵢⱼ² + ΣᵢᵢΣⱼⱼ)/(n − 1) (the Wishart law); Σ here has rank 2 in d = 3, which replicates must keep.
    basis = np.array([[1.0, 0.0], [0.5, 1.0], [0.0, 2.0]])
    sigma, mu, n = basis @ basis.T, np.array([1.0, -1.0, 0.5]), 40
    replicates = GaussianReplicates(FeatureStats.from_moments(mu, sigma, n), n)
    rng = np.random.default_rng(7)
    pairs = [replicates.pair(rng) for _ in range(3000)]
    means = np.array([half[0] for pair in pairs for half in pair])
    covs = np.array([half[1] for pair in pairs for half in pair])
    assert means.mean(axis=0) == pytest.approx(mu, abs=0.02)
    assert np.cov(means[::2], rowvar=False) == pytest.approx(sigma / n, abs=0.012)
    assert pairs[0][0][0] - mu == pytest.approx(mu - pairs[0][1][0], abs=1e-12)  # opposite mean shifts
    assert covs.mean(axis=0) == pytest.approx(sigma, abs=0.05)
    wishart = (sigma**2 + np.outer(np.diag(sigma), np.diag(sigma))) / (n - 1)
    assert covs[::2].var(axis=0) == pytest.approx(wishart, rel=0.1, abs=0.01)
    null = np.cross(basis[:, 0], basis[:, 1])
    assert max(abs(null @ cov @ null) for cov in covs[:50]) < 1e-9
    linear = (covs[::2] - sigma).reshape(len(pairs), -1), (covs[1::2] - sigma).reshape(len(pairs), -1)
    assert np.mean(np.sum(linear[0] * linear[1], axis=1)) < -0.5 * np.mean(np.sum(linear[0] ** 2, axis=1))


def _coverage(dim: int, n: int, reference: str, datasets: int, resamples: int = 100) -> tuple[dict, np.ndarray]:
    """Share of seeded data sets whose 90 % / 95 % intervals cover the closed-form population FD of two Gaussians,
    and the corrected estimates' errors; the reference is n rows, or the statistics of a sample of n items."""
    scale, delta = np.linspace(0.5, 2.0, dim), np.full(dim, 0.25)
    truth = float(delta @ delta + np.sum(1 + scale - 2 * np.sqrt(scale)))
    rng = np.random.default_rng(5)
    covered, errors = {0.9: 0, 0.95: 0}, []
    for repeat in range(datasets):
        fake = rng.standard_normal((n, dim)) * np.sqrt(scale) + delta
        real = rng.standard_normal((n, dim))
        if reference != "rows":
            real = FeatureStats.from_features(real)
        samples = half_samples(real, fake, resamples=resamples, seed=repeat)
        errors.append(samples.corrected - truth)
        for confidence in covered:
            interval = samples.interval(confidence)
            covered[confidence] += interval.low <= truth <= interval.high
    return {confidence: count / datasets for confidence, count in covered.items()}, np.array(errors)


def test_the_interval_covers_the_population_fd_at_its_nominal_rate_not_above_it():
    # N/d = 5: the plain FD's bias is several standard deviations, so an interval stretched up to it (or one whose
    # width counts the estimate's second-order noise three times) covers far more often than it says.
    coverage, errors = _coverage(6, 30, "rows", 120, 80)
    assert abs(errors.mean()) < 0.3 * errors.std()
    assert 0.8 <= coverage[0.9] <= 0.96
    assert 0.86 <= coverage[0.95] <= 0.99


def test_a_reference_given_as_statistics_of_n_items_counts_its_own_sampling_error():
    # The reference is the statistics of N items: held fixed, the corrected FD keeps the reference's bias and the
    # interval misses its sampling error; replicated as a Gaussian sample of N items it covers at its rate.
    coverage, errors = _coverage(6, 30, "stats", 120, 80)
    assert abs(errors.mean()) < 0.3 * errors.std()
    assert 0.8 <= coverage[0.9] <= 0.96
    assert 0.86 <= coverage[0.95] <= 0.99


def test_the_interval_is_around_the_corrected_estimate_and_need_not_hold_the_plain_fd():
    values = 2.0 + np.random.default_rng(0).normal(0.0, 0.05, 200)  # bias 1.0 ≫ spread 0.05
    interval = HalfSamples(1.0, values, 2.0).interval(0.9)
    assert interval.corrected == pytest.approx(0.0, abs=0.02)
    assert interval.high < 0.2 < interval.fd  # not stretched up to the plain FD
    assert interval.low == 0.0  # an interval reaching below 0, cut at 0
    assert interval.target == POPULATION


def test_a_centred_estimate_gives_the_symmetric_pivotal_interval():
    # Independent pairs: −cov(FD_A, FD_B) ≈ 0 is clamped to a third of the half-sample variance; perfectly opposite
    # pairs (a linear statistic) keep all of it.
    spread = np.random.default_rng(1).normal(0.0, 0.1, 4000)
    opposite = np.stack([spread[:2000], -spread[:2000]], axis=1).ravel()
    interval = HalfSamples(5.0, 5.0 + opposite, 2.0).interval(0.95)
    assert (interval.low, interval.high) == pytest.approx((5.0 - 0.196, 5.0 + 0.196), abs=0.01)
    interval = HalfSamples(5.0, 5.0 + spread - spread.mean(), 2.0).interval(0.95)
    assert (interval.low, interval.high) == pytest.approx((5.0 - 0.196 / 3**0.5, 5.0 + 0.196 / 3**0.5), abs=0.01)


def test_a_side_without_an_item_count_is_held_fixed_and_the_interval_says_so():
    rng = np.random.default_rng(4)
    real, fake = rng.standard_normal((800, 4)), rng.standard_normal((800, 4)) + 0.5
    stats = FeatureStats.from_features(real)
    counted = fd_interval(stats, fake, resamples=200)
    uncounted = fd_interval(FeatureStats.from_moments(stats.mean, stats.cov), fake, resamples=200)
    point = frechet_distance(stats, FeatureStats.from_features(fake))
    assert counted.fd == uncounted.fd == pytest.approx(point, rel=1e-12)
    assert (counted.target, uncounted.target) == (POPULATION, CONDITIONAL)
    assert uncounted.high - uncounted.low < counted.high - counted.low


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
