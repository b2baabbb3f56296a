"""RBF-MMD against its definition (CMMD's estimator) written out in float64."""

import numpy as np
import pytest
from scipy.spatial.distance import cdist

from frechet.metrics.mmd import mmd


def _cmmd_formula(x, y, sigma=10.0):
    """CMMD: 1000 × (mean k(x, x') + mean k(y, y') − 2 mean k(x, y)), diagonals included, k = exp(−‖·‖²/2σ²)."""
    kernel = lambda a, b: np.exp(-cdist(a, b, "sqeuclidean") / (2 * sigma**2))
    return 1000 * (kernel(x, x).mean() + kernel(y, y).mean() - 2 * kernel(x, y).mean())


@pytest.fixture
def sides():
    rng = np.random.default_rng(5)
    return rng.standard_normal((150, 12)) * 4, (rng.standard_normal((110, 12)) * 3.5 + 1).astype(np.float32)


def test_mmd_is_cmmds_biased_estimator_with_sigma_10(sides):
    assert mmd(*sides) == pytest.approx(_cmmd_formula(*(s.astype(np.float64) for s in sides)), rel=1e-10)


def test_mmd_bandwidth_is_an_option(sides):
    assert mmd(*sides, sigma=3.0) == pytest.approx(_cmmd_formula(*sides, sigma=3.0), rel=1e-10)


def test_mmd_blocked_sums_equal_the_formula(sides, small_blocks):
    assert mmd(*sides) == pytest.approx(_cmmd_formula(*sides), rel=1e-10)


def test_mmd_of_identical_sets_is_zero_and_symmetric(sides):
    real, fake = sides
    assert mmd(real, real) == pytest.approx(0.0, abs=1e-9)
    assert mmd(real, fake) == pytest.approx(mmd(fake, real), rel=1e-12)
