"""FD_DINOv2 against dgm-eval (default and --clean_resize), EDM2 and torch-fidelity, each in its own preprocessing
mode, with the same random ViT-L/14-layout weights and images as the goldens (scripts/goldens/dinov2_parity.py)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import frechet
from frechet_dinov2 import DinoV2ViTL14
from frechet_dinov2.preprocess import PREPROCESS_MODES
from frechet_image import decode_image

from dinov2_random_weights import state_sha256

FD_RTOL = 1e-4
FEATURE_ATOL = 1e-4


def _fd(real: np.ndarray, fake: np.ndarray) -> float:
    return frechet.fd(real, fake)["fd"]


def test_weights_are_the_ones_the_goldens_were_made_with(golden, random_weights):
    spec = golden["fd_weights"]
    assert (spec["arch"], spec["depth"]) == ("vitl14", 1)
    assert state_sha256(random_weights(spec["arch"], spec["depth"])) == spec["tensors_sha256"]


@pytest.fixture(scope="module")
def features(parity_images, fd_weights_file):
    """frechet's class tokens of every parity image in every mode: {mode: {side: (n, 1024)}}, one forward each."""
    found = {}
    for mode in PREPROCESS_MODES:
        embedder = DinoV2ViTL14(preprocess=mode, weights=fd_weights_file)
        found[mode] = {}
        for side, folder in parity_images.items():
            batch = embedder.collate([embedder.transform(decode_image(path)) for path in sorted(folder.iterdir())])
            with torch.inference_mode():
                found[mode][side] = embedder.forward(batch)["cls"].numpy()
    return found


@pytest.mark.parametrize("mode", PREPROCESS_MODES)
def test_features_match_the_peer_in_its_mode(mode, features, golden, golden_features):
    items = golden["feature_items"]
    assert np.abs(features[mode]["real"][items] - golden_features[f"{mode}/cls"]).max() <= FEATURE_ATOL


@pytest.mark.parametrize("mode", PREPROCESS_MODES)
def test_fd_matches_the_peer_in_its_mode(mode, features, golden):
    reference = golden["modes"][mode]
    found = _fd(features[mode]["real"], features[mode]["fake"])
    assert abs(found - reference["fd"]) <= FD_RTOL * reference["fd"]
    # The peers' formulas (sqrtm or eigvals of the product) are off by ~3e-7 here; frechet's exact trace term lands
    # nearer the float64 value of their own features.
    exact = reference["fd_exact_from_reference_features"]
    assert abs(found - exact) <= max(reference["reference_formula_rel_error"], 1e-6) * exact


def test_each_modes_features_are_far_from_every_other_modes_peer(features, golden, golden_features):
    # The random weights make the modes distinguishable: a feature parity test in one mode fails in any other (the
    # closest pair, dgm-eval-clean and edm2 -- both float bicubic resizes with antialiasing -- is 0.016 apart).
    items = golden["feature_items"]
    for mode in PREPROCESS_MODES:
        for other in PREPROCESS_MODES:
            if other != mode:
                apart = np.abs(features[mode]["real"][items] - golden_features[f"{other}/cls"]).max()
                assert apart > 100 * FEATURE_ATOL, (mode, other)


def test_fd_of_each_other_mode_is_far_from_the_default_modes_peer(features, golden):
    reference = golden["modes"]["dgm-eval"]["fd"]
    for mode in PREPROCESS_MODES[1:]:
        found = _fd(features[mode]["real"], features[mode]["fake"])
        assert abs(found - reference) > 20 * FD_RTOL * reference, mode


def test_a_wrong_positional_offset_or_antialias_moves_fd_far_beyond_the_tolerance(golden):
    moved = golden["sensitivity"]["moved"]
    assert moved["interpolate_offset=0"] > 100 * FD_RTOL
    assert moved["interpolate_antialias=True"] > 100 * FD_RTOL


def test_fd_through_the_runner_matches_edm2(parity_images, fd_weights_file, golden):
    result = frechet.compute(parity_images["real"], parity_images["fake"], embedder="dinov2-vitl14",
                             embedder_options={"weights": str(fd_weights_file), "preprocess": "edm2"},
                             progress=False)
    reference = golden["modes"]["edm2"]["fd"]
    assert result["fd_dinov2"] == result["fd"]
    assert abs(result["fd_dinov2"] - reference) <= FD_RTOL * reference
