"""videomae-v2-g against cd-fvd 0.1.1's own VideoMAE-v2 code (goldens from scripts/goldens/videomae_parity.py: the
same random weights, in a reduced network of the checkpoint's layout, on the same videos), link by link: the network
input (also after cd-fvd's video-file loader step, for both backbones), the features, and the distance."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

import frechet
from frechet_video.i3d_modes import MODES as I3D_MODES
from frechet_video.i3d_modes import network_input as i3d_input
from frechet_video.videomae_input import network_input
from frechet_video.videomae_weights import load_videomae
from i3d_random_weights import parity_clips
from videomae_random_weights import SEED, TINY, checkpoint, random_state

GOLDENS = Path(__file__).resolve().parents[2] / "goldens" / "video"


@pytest.fixture(scope="module")
def golden() -> dict:
    return json.loads((GOLDENS / "videomae_parity.json").read_text())


@pytest.fixture(scope="module")
def peer() -> dict[str, np.ndarray]:
    with np.load(GOLDENS / "videomae_parity.npz") as npz:
        return dict(npz)


@pytest.fixture(scope="module")
def videos(golden: dict) -> dict[str, np.ndarray]:
    spec = golden["videos"]
    return {label: parity_clips(spec["count"], spec["frames"], spec["height"], spec["width"], seed=seed)
            for label, seed in zip(("real", "fake"), spec["seeds"])}


@pytest.fixture(scope="module")
def weights(tmp_path_factory: pytest.TempPathFactory, golden: dict) -> Path:
    assert golden["videos"]["network"] == TINY and golden["videos"]["weights_seed"] == SEED
    path = tmp_path_factory.mktemp("videomae") / "tiny.pth"
    torch.save(checkpoint(random_state()), path)
    return path


def test_network_input_equals_cd_fvds_preprocess_videomae(golden: dict, peer: dict, videos: dict) -> None:
    grid = golden["videos"]["grid"]
    ours = network_input(videos["real"][:1]).numpy()[0, :, :, ::grid, ::grid]
    np.testing.assert_allclose(ours, peer["input_real0"], rtol=0, atol=1e-6)


@pytest.mark.parametrize(("backbone", "level"), [("videomae", 1 / 255), ("i3d", 2 / 255)])
def test_the_loader_crop_gives_cd_fvds_input_for_each_backbone(backbone: str, level: float, golden: dict, peer: dict,
                                                                videos: dict) -> None:
    """cd-fvd's video-file loader (shorter side to ``crop``, antialiased, centre crop) then its ``x 255`` and
    ``.byte()``: a truncation, so a float rounding elsewhere may move a value by one level, and rarely."""
    grid, crop, first = golden["videos"]["grid"], golden["crop"], videos["real"][:1]
    made = network_input(first, crop) if backbone == "videomae" else i3d_input(first, I3D_MODES["cd-fvd"], crop)
    difference = np.abs(made.numpy()[0, :, :, ::grid, ::grid] - peer[f"crop_input_{backbone}"])
    assert difference.max() <= level + 1e-6 and (difference > 1e-6).mean() < 1e-3


def test_features_equal_cd_fvds_model_with_the_same_weights(peer: dict, videos: dict, weights: Path) -> None:
    with torch.inference_mode():
        ours = load_videomae(weights)(network_input(videos["real"][:1])).numpy()[0]
    np.testing.assert_allclose(ours, peer["features_real"][0], rtol=0, atol=1e-5)


def test_fd_videomae_end_to_end_equals_cd_fvds(golden: dict, peer: dict, videos: dict, weights: Path) -> None:
    """frechet.compute on the videos against cd-fvd's FVD; and cd-fvd's own features through the mode's distance
    options (covariance divided by N) against the same number."""
    result = frechet.compute(videos["real"], videos["fake"], embedder="videomae-v2-g", metrics="fd", cache=False,
                             embedder_options={"weights": str(weights), "frames": golden["videos"]["frames"]})
    assert result["fd_videomae"] == pytest.approx(golden["peer_fvd"], rel=1e-4)
    assert result["fd_covariance"] == "population"
    from_peer = frechet.compute(peer["features_real"].astype(np.float64), peer["features_fake"].astype(np.float64),
                                metric_options={"fd_covariance": "population"})
    assert from_peer["fd"] == pytest.approx(golden["peer_fvd"], rel=1e-6)
