"""Blocked pairwise distances: copies are at distance exactly 0 whatever the matrix product's kernel rounds, and every
other pair within the expansion's error bound of the direct float64 formula."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from frechet.metrics._pairwise import CentredRows, centre_of, squared_distances
from frechet.metrics.prdc import manifold_scores
from frechet.report.galleries import galleries

_ADDMM = torch.addmm


@pytest.fixture
def other_kernel(monkeypatch):
    """A matrix product that rounds as another CPU's might: each entry a few ulps (of the terms it sums) above the exact one."""
    rng = np.random.default_rng(5)

    def addmm(input, mat1, mat2, *, alpha=1.0, beta=1.0):
        exact = _ADDMM(input, mat1, mat2, alpha=alpha, beta=beta)
        size = (mat1.abs() @ mat2.abs()).abs() * abs(alpha) + input.abs()
        noise = torch.as_tensor(rng.uniform(1, 4, exact.shape)) * torch.finfo(torch.float64).eps
        return exact + noise * size

    monkeypatch.setattr(torch, "addmm", addmm)


def _features(rng: np.random.Generator, n: int, d: int) -> np.ndarray:
    return rng.standard_normal((n, d)) * 3.0 + 50.0  # far from the origin, as network features often are


def test_identical_rows_are_at_distance_exactly_zero_on_any_kernel(other_kernel):
    rng = np.random.default_rng(0)
    real = torch.as_tensor(_features(rng, 40, 512))
    fake = real.clone()
    fake[1::2] += torch.as_tensor(rng.standard_normal((20, 512)) * 1e-3)  # near-copies stay near, not zero
    centre = centre_of(real)
    got = squared_distances(CentredRows(real, centre).block(slice(0, 40)), CentredRows(fake, centre).block(slice(0, 40)))
    direct = ((real[:, None, :] - fake[None, :, :]) ** 2).sum(dim=-1)
    assert (got.diagonal()[::2] == 0).all()
    assert (got.diagonal()[1::2] > 0).all()
    centred = real - centre, fake - centre
    scale = (centred[0] ** 2).sum(dim=1)[:, None] + (centred[1] ** 2).sum(dim=1)[None, :]
    assert ((got - direct).abs() <= 514 * torch.finfo(torch.float64).eps * scale).all()


def test_the_planted_kernel_would_otherwise_hide_a_copy(other_kernel):
    """Power check of the test above: the expansion alone, on this kernel, gives a copy a non-zero distance."""
    real = torch.as_tensor(_features(np.random.default_rng(1), 8, 512))
    rows, norms = CentredRows(real, centre_of(real)).block(slice(0, 8))
    expansion = torch.addmm(norms[:, None] + norms[None, :], rows, rows.T, alpha=-2.0)
    assert (expansion.diagonal() != 0).any()


def test_a_copied_item_is_shown_at_distance_zero_and_counted_as_memorised(other_kernel):
    rng = np.random.default_rng(2)
    real, fake = _features(rng, 30, 256), _features(rng, 20, 256) * 2.0 - 50.0  # farther apart than real pairs
    fake[7] = real[11]
    found = galleries(real, fake, np.arange(30), np.arange(20), size=3)
    assert (found.closest[0].item, found.closest[0].neighbour, found.closest[0].distance) == (7, 11, 0.0)
    assert found.memorised == 1


def test_copies_are_inside_a_zero_radius_ball_on_any_kernel(other_kernel):
    """Duplicated real rows give k-NN radius 0; an exact copy of them is within it (closed ball), so precision counts
    the copies, and only those."""
    rng = np.random.default_rng(3)
    base = _features(rng, 10, 128)
    real = np.repeat(base, 2, axis=0)  # every real item twice: each 1-NN radius is 0
    fake = np.concatenate([base[:4], _features(rng, 6, 128)])
    assert manifold_scores(real, fake, pr_nearest_k=1)["precision"] == pytest.approx(0.4)
