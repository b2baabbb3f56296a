"""Precision/recall against torch-fidelity, all four k-NN scores against the prdc package, blocked = one block."""

import numpy as np
import pytest
from scipy.spatial.distance import cdist

from frechet.errors import InputError
from frechet.metrics.density_coverage import density_coverage
from frechet.metrics.prdc import prdc
from frechet.metrics.precision_recall import precision_recall


@pytest.mark.parametrize("k", [3, 5])
def test_precision_recall_match_torch_fidelity(knn_features, goldens, k):
    golden = goldens["torch_fidelity_prc"][f"k{k}"]
    precision, recall = precision_recall(*knn_features, nearest_k=k)
    # torch-fidelity returns float32 fractions; exact counts here.
    assert precision == pytest.approx(golden["precision"], rel=1e-6)
    assert recall == pytest.approx(golden["recall"], rel=1e-6)


@pytest.mark.parametrize("k", [5, 3])
def test_prdc_matches_the_prdc_package_with_one_k(knn_features, goldens, k):
    golden = goldens["prdc"][f"k{k}"]
    scores = prdc(*knn_features, pr_nearest_k=k, dc_nearest_k=k)
    for key in ("precision", "recall", "density", "coverage"):
        assert scores[key] == pytest.approx(golden[key], rel=1e-12), key


def test_prdc_defaults_are_k3_for_precision_recall_and_k5_for_density_coverage(knn_features, goldens):
    scores = prdc(*knn_features)
    assert (scores["precision"], scores["recall"]) == pytest.approx(
        (goldens["prdc"]["k3"]["precision"], goldens["prdc"]["k3"]["recall"]), rel=1e-12
    )
    assert (scores["density"], scores["coverage"]) == pytest.approx(
        (goldens["prdc"]["k5"]["density"], goldens["prdc"]["k5"]["coverage"]), rel=1e-12
    )
    assert density_coverage(*knn_features) == (scores["density"], scores["coverage"])


def test_blocked_passes_give_the_single_block_counts(knn_features, goldens, small_blocks):
    # 64-row blocks: 5 × 4 blocks per side, mirrored upper-triangle blocks and ragged last blocks all used.
    scores = prdc(*knn_features, pr_nearest_k=5, dc_nearest_k=5)
    assert scores == pytest.approx({key: goldens["prdc"]["k5"][key] for key in scores}, rel=1e-12)


def test_scores_follow_their_definitions_on_a_tiny_example():
    # Written-out definitions with brute-force distances: balls closed for P/R, open for D/C.
    rng = np.random.default_rng(11)
    real, fake = rng.standard_normal((40, 3)), rng.standard_normal((30, 3)) * 0.7 + 0.4
    d_rf = cdist(real, fake)
    radius_real = np.sort(cdist(real, real), axis=1)[:, 2]  # k = 2 (column 0 is the point itself)
    radius_fake = np.sort(cdist(fake, fake), axis=1)[:, 2]
    expected = {
        "precision": np.mean((d_rf <= radius_real[:, None]).any(axis=0)),
        "recall": np.mean((d_rf <= radius_fake[None, :]).any(axis=1)),
        "density": (d_rf < radius_real[:, None]).sum() / (2 * 30),
        "coverage": np.mean(d_rf.min(axis=1) < radius_real),
    }
    assert prdc(real, fake, pr_nearest_k=2, dc_nearest_k=2) == pytest.approx(expected, rel=1e-12)


def test_duplicate_samples_are_neighbours_at_distance_zero():
    # As both peers: only the sample itself is skipped, so a duplicate is a 0-distance neighbour (radius 0 at k=1).
    real = np.array([[0.0], [0.0], [5.0], [5.1]])
    fake = np.array([[0.0], [2.0]])
    assert precision_recall(real, fake, nearest_k=1)[0] == 0.5  # [0] lies in the radius-0 ball of a duplicate


def test_nearest_k_needs_more_samples_than_k():
    with pytest.raises(InputError, match="nearest_k=5 needs more than 5 real samples"):
        prdc(np.zeros((5, 2)), np.zeros((10, 2)), pr_nearest_k=3, dc_nearest_k=5)
    with pytest.raises(InputError, match="nearest_k=3 needs more than 3 fake samples"):
        prdc(np.zeros((10, 2)), np.zeros((3, 2)), pr_nearest_k=3, dc_nearest_k=5)
    # density/coverage need radii of the real side only: one fake sample is enough (inside all six real balls).
    assert density_coverage(np.arange(12.0).reshape(6, 2), np.ones((1, 2)), nearest_k=5) == (6 / 5, 1.0)
