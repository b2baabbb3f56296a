"""The Fréchet distance: exact against float64/mpmath oracles and closed forms, fast path and singular path alike."""

import json

import mpmath
import numpy as np
import pytest
import scipy.linalg
from hypothesis import given, settings
from hypothesis import strategies as st

from frechet import FeatureStats, FrechetReference, distance, frechet_distance, trace_sqrt_product
from frechet.cli import main
from frechet.errors import InputError


def _sample(n, d, seed, scale=1.0, shift=0.0):
    rng = np.random.default_rng(seed)
    mixing = rng.standard_normal((d, d)) / np.sqrt(d)
    return rng.standard_normal((n, d)) @ mixing * scale + shift


def _sqrtm_formula(mu1, s1, mu2, s2):
    """The formula pytorch-fid/TTUR use, as the well-conditioned oracle."""
    covmean = scipy.linalg.sqrtm(s1 @ s2)
    return float(((mu1 - mu2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean).real)


def _mpmath_fd(x1, x2, digits=50):
    """FD of two samples with every step in `digits`-digit arithmetic, from the exact float64 samples."""
    with mpmath.workdps(digits):

        def moments(x):
            m = mpmath.matrix(x.tolist())
            n, d = m.rows, m.cols
            mean = [mpmath.fsum(m[i, j] for i in range(n)) / n for j in range(d)]
            centred = mpmath.matrix([[m[i, j] - mean[j] for j in range(d)] for i in range(n)])
            return mean, centred.T * centred / (n - 1)

        def sqrt_psd(a):
            values, vectors = mpmath.eigsy(a)
            root = mpmath.diag([mpmath.sqrt(max(v, 0)) for v in values])
            return vectors * root * vectors.T

        mean1, cov1 = moments(x1)
        mean2, cov2 = moments(x2)
        root1 = sqrt_psd(cov1)
        inner, _ = mpmath.eigsy(root1 * cov2 * root1)
        trace_term = mpmath.fsum(mpmath.sqrt(max(v, 0)) for v in inner)
        diff = mpmath.fsum((a - b) ** 2 for a, b in zip(mean1, mean2))
        trace1 = mpmath.fsum(cov1[i, i] for i in range(cov1.rows))
        trace2 = mpmath.fsum(cov2[i, i] for i in range(cov2.rows))
        return float(diff + trace1 + trace2 - 2 * trace_term)


@pytest.mark.parametrize("d", [16, 64, 256])
def test_fd_matches_the_sqrtm_formula_on_well_conditioned_inputs(d):
    s1 = FeatureStats.from_features(_sample(4 * d, d, seed=1))
    s2 = FeatureStats.from_features(_sample(4 * d, d, seed=2, scale=1.2, shift=0.1))
    expected = _sqrtm_formula(s1.mean, s1.cov, s2.mean, s2.cov)
    assert frechet_distance(s1, s2) == pytest.approx(expected, rel=1e-9)
    assert frechet_distance(s1.mean, s1.cov, s2.mean, s2.cov) == pytest.approx(expected, rel=1e-9)


def test_fd_matches_mpmath_when_both_sides_have_fewer_samples_than_dimensions():
    x1, x2 = _sample(4, 10, seed=3), _sample(7, 10, seed=4, shift=0.3)
    exact = _mpmath_fd(x1, x2)
    a, b = FeatureStats.from_features(x1), FeatureStats.from_features(x2)
    assert frechet_distance(a, b) == pytest.approx(exact, rel=1e-9)  # Gram form: the samples are at hand
    assert frechet_distance(a.mean, a.cov, b.mean, b.cov) == pytest.approx(exact, rel=1e-9)  # statistics only


def test_fd_matches_mpmath_when_one_side_is_singular():
    x1, x2 = _sample(60, 8, seed=5), _sample(5, 8, seed=6, scale=2.0)
    exact = _mpmath_fd(x1, x2)
    a, b = FeatureStats.from_features(x1), FeatureStats.from_features(x2)
    assert frechet_distance(a, b) == pytest.approx(exact, rel=1e-9)
    assert frechet_distance(b, a) == pytest.approx(exact, rel=1e-9)
    assert frechet_distance(a.mean, a.cov, b.mean, b.cov) == pytest.approx(exact, rel=1e-9)


def test_a_full_rank_side_against_few_samples_needs_no_eigendecomposition_of_its_covariance(monkeypatch):
    x1, x2 = _sample(60, 8, seed=5), _sample(5, 8, seed=6, scale=2.0)  # one full rank, one rank 4: no fast path
    exact = _mpmath_fd(x1, x2)
    eigh = scipy.linalg.eigh

    def small_only(matrix, *args, **kwargs):
        assert np.shape(matrix)[0] < 8, "an eigendecomposition of a d × d covariance"
        return eigh(matrix, *args, **kwargs)

    monkeypatch.setattr(scipy.linalg, "eigh", small_only)
    a, b = FeatureStats.from_moments(x1.mean(0), np.cov(x1, rowvar=False), n=60), FeatureStats.from_features(x2)
    assert frechet_distance(a, b) == pytest.approx(exact, rel=1e-9)  # its Cholesky factor and the samples
    assert frechet_distance(b, a) == pytest.approx(exact, rel=1e-9)


def test_gram_form_equals_the_nuclear_norm_of_the_centred_cross_product():
    x1, x2 = _sample(40, 300, seed=7), _sample(55, 300, seed=8, shift=0.05)
    c1, c2 = x1 - x1.mean(0), x2 - x2.mean(0)
    nuclear = scipy.linalg.svdvals(c1 @ c2.T).sum() / np.sqrt((len(x1) - 1) * (len(x2) - 1))
    s1, s2 = FeatureStats.from_features(x1), FeatureStats.from_features(x2)
    expected = ((s1.mean - s2.mean) ** 2).sum() + np.trace(s1.cov) + np.trace(s2.cov) - 2 * nuclear
    assert frechet_distance(s1, s2) == pytest.approx(expected, rel=1e-11)


def test_isotropic_gaussians_have_the_closed_form_distance():
    d, a, b = 50, 1.5, 0.5
    mu1, mu2 = np.zeros(d), np.full(d, 0.2)
    expected = d * 0.2**2 + d * (a - b) ** 2
    assert frechet_distance(mu1, a**2 * np.eye(d), mu2, b**2 * np.eye(d)) == pytest.approx(expected, rel=1e-13)


def test_commuting_covariances_have_the_closed_form_distance():
    rng = np.random.default_rng(9)
    q, _ = np.linalg.qr(rng.standard_normal((30, 30)))
    v1, v2 = rng.uniform(0.1, 3, 30), rng.uniform(0.0, 3, 30)
    v2[:5] = 0.0  # singular second covariance
    expected = float(((np.sqrt(v1) - np.sqrt(v2)) ** 2).sum())
    s1, s2 = q @ np.diag(v1) @ q.T, q @ np.diag(v2) @ q.T
    assert frechet_distance(np.zeros(30), s1, np.zeros(30), s2) == pytest.approx(expected, rel=1e-10)
    assert trace_sqrt_product(s1, s2) == pytest.approx(float(np.sqrt(v1 * v2).sum()), rel=1e-12)


def test_identical_inputs_give_zero():
    s = FeatureStats.from_features(_sample(500, 64, seed=10))
    assert frechet_distance(s, s) == pytest.approx(0.0, abs=1e-10 * np.trace(s.cov))
    singular = FeatureStats.from_features(_sample(20, 64, seed=11))
    assert frechet_distance(singular, singular) == pytest.approx(0.0, abs=1e-10 * np.trace(singular.cov))


@settings(max_examples=30, deadline=None)
@given(
    n1=st.integers(2, 40), n2=st.integers(2, 40), d=st.integers(1, 24), seed=st.integers(0, 10_000),
    scale=st.floats(1e-3, 1e3),
)
def test_fd_is_symmetric_non_negative_and_zero_on_itself(n1, n2, d, seed, scale):
    a = FeatureStats.from_features(_sample(n1, d, seed, scale=scale))
    b = FeatureStats.from_features(_sample(n2, d, seed + 1, scale=scale, shift=scale / 10))
    ab, ba = frechet_distance(a, b), frechet_distance(b, a)
    assert ab >= 0.0 and ba >= 0.0
    assert ab == pytest.approx(ba, rel=1e-9, abs=1e-12 * scale**2 * d)
    assert frechet_distance(a, a) <= 1e-9 * scale**2 * d


def test_a_prepared_reference_gives_the_same_distances_as_fresh_computations():
    reference = FeatureStats.from_features(_sample(300, 32, seed=12))
    prepared = FrechetReference(reference)
    for seed in range(13, 17):
        other = FeatureStats.from_features(_sample(200, 32, seed=seed, shift=0.01 * seed))
        assert prepared.distance(other) == frechet_distance(reference, other)


def test_nearly_singular_products_stay_real_where_sqrtm_goes_complex():
    x1 = _sample(33, 32, seed=18)
    x2 = _sample(33, 32, seed=19)
    s1, s2 = FeatureStats.from_features(x1), FeatureStats.from_features(x2)
    value = frechet_distance(s1.mean, s1.cov, s2.mean, s2.cov)
    assert isinstance(value, float) and value > 0
    assert value == pytest.approx(_mpmath_fd(x1, x2, digits=40), rel=1e-8)


def test_full_rank_inputs_with_rounding_level_product_eigenvalues_keep_the_fast_path_and_stay_exact(monkeypatch):
    d = 24  # spectra down to 1e-9: Σ₁Σ₂ has eigenvalues below the numerical-rank tolerance, yet both are full rank

    def covariance(seed):
        basis, _ = np.linalg.qr(np.random.default_rng(seed).standard_normal((d, d)))
        return (basis * np.geomspace(1.0, 1e-9, d)) @ basis.T

    s1, s2 = covariance(20), covariance(21)
    with mpmath.workdps(40):
        a, b = mpmath.matrix(s1.tolist()), mpmath.matrix(s2.tolist())
        values, vectors = mpmath.eigsy(a)
        root = vectors * mpmath.diag([mpmath.sqrt(max(v, 0)) for v in values]) * vectors.T
        product_values, _ = mpmath.eigsy(root * b * root)
        trace_term = mpmath.fsum(mpmath.sqrt(max(v, 0)) for v in product_values)
        expected = float(d + mpmath.fsum(a[i, i] + b[i, i] for i in range(d)) - 2 * trace_term)
    monkeypatch.setattr(FrechetReference, "_exact_trace_sqrt_product", lambda *_: pytest.fail("took the exact path"))
    assert frechet_distance(np.zeros(d), s1, np.ones(d), s2) == pytest.approx(expected, rel=1e-12)


def test_a_covariance_that_is_not_positive_semi_definite_is_an_error_naming_the_side():
    bad = np.array([[1.0, 2.0, 0.0], [2.0, 1.0, 0.0], [0.0, 0.0, 1.0]])  # eigenvalue -1, positive diagonal
    with pytest.raises(InputError, match="^mu2/sigma2: the covariance is not positive semi-definite"):
        frechet_distance(np.zeros(3), np.eye(3), np.zeros(3), bad)
    with pytest.raises(InputError, match="^mu1/sigma1: the covariance is not positive semi-definite"):
        frechet_distance(np.zeros(3), bad, np.zeros(3), np.eye(3))
    with pytest.raises(InputError, match="^mu2/sigma2: the covariance has negative variances"):
        frechet_distance(np.zeros(3), np.eye(3), np.zeros(3), np.diag([1.0, 1.0, -0.5]))


def test_mismatched_dimensions_and_arguments_are_errors():
    with pytest.raises(InputError, match="dimension mismatch"):
        frechet_distance(np.zeros(3), np.eye(3), np.zeros(4), np.eye(4))
    with pytest.raises(InputError, match="two FeatureStats or four arrays"):
        frechet_distance(np.zeros(3), np.eye(3))
    with pytest.raises(InputError, match="NaN or Inf"):
        frechet_distance(np.zeros(2), np.eye(2), np.array([np.nan, 0]), np.eye(2))


@pytest.mark.parametrize("n", [6, 300], ids=["gram-form", "moments"])
def test_features_near_float64s_limits_give_the_exact_scaled_distance(n):
    x, y = _sample(n, 8, seed=30), _sample(n, 8, seed=31, shift=0.3)
    plain = frechet_distance(FeatureStats.from_features(x), FeatureStats.from_features(y))
    for scale in (1e150, 1e-150):  # squares near 1e300 / 1e-300: products of them leave float64's range
        scaled = frechet_distance(FeatureStats.from_features(x * scale), FeatureStats.from_features(y * scale))
        assert scaled == pytest.approx(plain * scale**2, rel=1e-9)
    s1, s2 = np.cov(x, rowvar=False) * 1e300, np.cov(y, rowvar=False) * 1e300
    arrays = frechet_distance(x.mean(0) * 1e150, s1, y.mean(0) * 1e150, s2)
    assert arrays == pytest.approx(frechet_distance(x.mean(0), s1 / 1e300, y.mean(0), s2 / 1e300) * 1e300, rel=1e-9)


def test_a_distance_beyond_float64_is_one_line_naming_both_sides_never_a_linalg_error():
    x = _sample(6, 4, seed=32) * 1e200  # squares near 1e400: the statistics themselves cannot be formed
    with pytest.raises(InputError, match="too large for float64 statistics"):
        FeatureStats.from_features(x)
    small, huge = FeatureStats.from_features(_sample(3, 4, seed=33)), FeatureStats.from_features(
        _sample(3, 4, seed=34) * 1e170)
    small.label, huge.label = "real.npy", "fake.npy"
    with pytest.raises(InputError, match=r"^real\.npy and fake\.npy: the Fréchet distance (overflows|of these)"):
        frechet_distance(small, huge)


def test_a_non_symmetric_covariance_is_refused_by_the_api_as_by_the_file_loader():
    sigma = np.eye(3)
    sigma[0, 1] = 0.5
    with pytest.raises(InputError, match="^mu1/sigma1: the covariance is not symmetric"):
        frechet_distance(np.zeros(3), sigma, np.zeros(3), np.eye(3))


@pytest.mark.parametrize("where", [(0, 1), (63, 64), (64, 0), (199, 130), (5, 199)])
def test_an_asymmetry_in_any_tile_of_a_large_covariance_is_refused(where):
    d = 200  # tiles of 64: full tiles, the partial last one, on and off the diagonal
    sigma = np.cov(_sample(400, d, seed=50), rowvar=False)
    sigma = (sigma + sigma.T) / 2
    frechet_distance(np.zeros(d), sigma, np.zeros(d), np.eye(d))
    sigma[where] += 1e-3 * np.abs(sigma).max()
    with pytest.raises(InputError, match="^mu1/sigma1: the covariance is not symmetric"):
        frechet_distance(np.zeros(d), sigma, np.zeros(d), np.eye(d))


@pytest.mark.parametrize("with_count", [True, False], ids=["count-known", "count-unknown"])
def test_singular_statistics_alone_are_exact_without_any_d_by_d_eigendecomposition(monkeypatch, with_count):
    """Statistics files of fewer items than dimensions (no samples kept): a rank-revealing factor of r columns,
    against the exact float64 oracle (the nuclear norm of the centred samples' cross product)."""
    x1, x2 = _sample(40, 300, seed=40), _sample(55, 300, seed=41, shift=0.05)
    c1, c2 = x1 - x1.mean(0), x2 - x2.mean(0)
    nuclear = scipy.linalg.svdvals(c1 @ c2.T).sum() / np.sqrt(39 * 54)
    expected = ((x1.mean(0) - x2.mean(0)) ** 2).sum() + (c1**2).sum() / 39 + (c2**2).sum() / 54 - 2 * nuclear
    x3 = _sample(900, 300, seed=42)
    full = FeatureStats.from_moments(x3.mean(0), np.cov(x3, rowvar=False))
    nuclear = scipy.linalg.svdvals(scipy.linalg.cholesky(full.cov, lower=True).T @ c1.T).sum() / np.sqrt(39)
    against_full = ((x1.mean(0) - full.mean) ** 2).sum() + (c1**2).sum() / 39 + np.trace(full.cov) - 2 * nuclear
    eigh = scipy.linalg.eigh

    def small_only(matrix, *args, **kwargs):
        assert np.shape(matrix)[0] < 300, "an eigendecomposition of a d × d covariance"
        return eigh(matrix, *args, **kwargs)

    monkeypatch.setattr(scipy.linalg, "eigh", small_only)
    a, b = (FeatureStats.from_moments(x.mean(0), np.cov(x, rowvar=False), n=len(x) if with_count else None)
            for x in (x1, x2))
    assert frechet_distance(a, b) == pytest.approx(expected, rel=1e-10)
    assert frechet_distance(b, a) == pytest.approx(expected, rel=1e-10)
    prepared = FrechetReference(a)
    assert prepared.distance(b) == pytest.approx(expected, rel=1e-10)
    assert prepared.distance(full) == pytest.approx(against_full, rel=1e-10)  # a low-rank reference: r × r


def test_float32_storage_of_a_singular_covariance_is_accepted_as_rounding():
    x1, x2 = _sample(6, 12, seed=43), _sample(300, 12, seed=44)
    exact = _mpmath_fd(x1, x2, digits=30)
    s1 = np.cov(x1, rowvar=False).astype(np.float32).astype(np.float64)
    s1 = (s1 + s1.T) / 2
    s2 = np.cov(x2, rowvar=False)
    assert frechet_distance(x1.mean(0), s1, x2.mean(0), s2) == pytest.approx(exact, rel=1e-3)


def test_a_singular_statistics_file_against_samples_is_factorized_once_in_o_d2_r(tmp_path, monkeypatch, capsys):
    """Statistics of fewer items than dimensions (no samples kept): the fd metric's distance and its bias estimate
    share one pivoted Cholesky factor of the file's covariance, and no d × d eigendecomposition is made."""
    rng = np.random.default_rng(50)
    np.save(tmp_path / "real.npy", rng.standard_normal((30, 40)).astype(np.float32))
    np.save(tmp_path / "fake.npy", rng.standard_normal((12, 40)).astype(np.float32))
    assert main(["stats", str(tmp_path / "real.npy"), "--out", str(tmp_path / "real.npz"), "--no-cache"]) == 0
    pivoted, calls = distance._pivoted_factor, []
    monkeypatch.setattr(distance, "_pivoted_factor", lambda *args: calls.append(1) or pivoted(*args))
    monkeypatch.setattr(distance, "_eigen_factor", lambda *_: pytest.fail("a d × d eigendecomposition"))
    capsys.readouterr()
    assert main(["compute", str(tmp_path / "real.npz"), str(tmp_path / "fake.npy"), "--no-cache", "--json"]) == 0
    assert calls == [1]
    fd = json.loads(capsys.readouterr().out.strip().splitlines()[-1])["fd"]
    real = np.load(tmp_path / "real.npy").astype(np.float64)
    fake = np.load(tmp_path / "fake.npy").astype(np.float64)
    assert fd == pytest.approx(_mpmath_fd(real, fake, digits=30), rel=1e-8)


def test_the_remainder_check_reads_every_column_block_of_the_lower_triangle():
    """The largest lower-triangle entry is found in any block, whatever the upper triangle holds."""
    size = 2 * distance._BLOCK + 7
    for row, column in ((size - 1, size - 2), (distance._BLOCK + 3, distance._BLOCK + 1), (5, 0), (9, 9)):
        matrix = np.asfortranarray(np.random.default_rng(row).uniform(-1, 1, (size, size)))
        matrix[np.triu_indices(size, 1)] = 1e9
        matrix[row, column] = -5.0
        assert distance._lower_max_abs(matrix) == 5.0
    assert distance._lower_max_abs(np.empty((0, 0))) == 0.0


def test_factoring_in_place_never_touches_the_callers_arrays_or_statistics():
    x1, x2 = _sample(120, 48, seed=40), _sample(150, 48, seed=41, shift=0.2)
    s1, s2 = FeatureStats.from_features(x1), FeatureStats.from_features(x2)
    arrays = [s1.mean, s1.cov, s2.mean, s2.cov]
    kept = [a.copy() for a in arrays]
    fixed = FeatureStats.from_moments(s2.mean, s2.cov)  # held as given, no count
    kept_fixed = fixed.cov.copy()
    from_arrays = frechet_distance(*arrays)
    prepared = FrechetReference(s1)
    values = [prepared.distance(s2), prepared.distance(s2), prepared.distance(fixed), frechet_distance(s1, s2)]
    assert all(np.array_equal(a, b) for a, b in zip(arrays, kept))
    assert np.array_equal(s1.cov, kept[1]) and np.array_equal(s2.cov, kept[3])
    assert np.array_equal(fixed.cov, kept_fixed)
    assert values == [from_arrays] * 4
    assert from_arrays == pytest.approx(_sqrtm_formula(*kept), rel=1e-10)
