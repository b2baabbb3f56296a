"""The cmmd metric: CMMD's estimator (checked against google-research's own distance code), its default embedder,
and the reference's dropped remainder as an explicit, reported option."""

from __future__ import annotations

import numpy as np
import pytest

import frechet
from frechet.errors import ConfigError
from frechet.metrics.mmd import mmd


@pytest.fixture(scope="module")
def embeddings() -> dict[str, np.ndarray]:
    """CMMD's own embeddings of the parity images (32 kept of each side)."""
    from tests.plugins.clip.conftest import GOLDENS

    with np.load(GOLDENS / "cmmd_embeddings.npz") as npz:
        return {side: npz[side] for side in npz.files}


def test_mmd_equals_cmmd_distance_code_run_in_float64(embeddings, cmmd_golden):
    exact = cmmd_golden["mmd_float64"]
    assert abs(mmd(embeddings["real"], embeddings["fake"]) - exact["embeddings"]) <= 1e-9 * exact["embeddings"]
    scaled = mmd(5 * embeddings["real"].astype(np.float64), 5 * embeddings["fake"].astype(np.float64))
    assert abs(scaled - exact["embeddings_times_5"]) <= 1e-9 * exact["embeddings_times_5"]


def _features(count: int, shift: float, seed: int) -> np.ndarray:
    rows = np.random.default_rng(seed).standard_normal((count, 8)) + shift
    return (rows / np.linalg.norm(rows, axis=1, keepdims=True)).astype(np.float32)


def test_cmmd_on_features_keeps_every_item_and_equals_mmd():
    real, fake = _features(40, 0.0, 1), _features(37, 0.3, 2)
    result = frechet.compute(real, fake, metrics=["cmmd", "mmd"], progress=False)
    assert result["cmmd"] == result["mmd"] == pytest.approx(mmd(real, fake), rel=1e-12)
    assert (result["cmmd_dropped_real"], result["cmmd_dropped_fake"]) == (0, 0)


def test_cmmd_batch_drops_each_sides_remainder_as_cmmds_reference_does():
    real, fake = _features(40, 0.0, 1), _features(37, 0.3, 2)
    result = frechet.compute(real, fake, metrics=["cmmd"], metric_options={"cmmd_batch": "16"}, progress=False)
    assert result["cmmd"] == pytest.approx(mmd(real[:32], fake[:32]), rel=1e-12)
    assert (result["cmmd_dropped_real"], result["cmmd_dropped_fake"]) == (8, 5)


@pytest.mark.parametrize("value", ["-1", "many", True])
def test_a_bad_cmmd_batch_is_a_config_error_naming_the_option(value):
    with pytest.raises(ConfigError, match="cmmd_batch"):
        frechet.compute(_features(4, 0, 1), _features(4, 0, 2), metrics=["cmmd"], metric_options={"cmmd_batch": value},
                        progress=False)


def test_a_side_smaller_than_one_batch_is_refused_rather_than_emptied():
    with pytest.raises(ConfigError, match="fewer than one batch of 32"):
        frechet.compute(_features(40, 0, 1), _features(20, 0, 2), metrics=["cmmd"],
                        metric_options={"cmmd_batch": 32}, progress=False)
