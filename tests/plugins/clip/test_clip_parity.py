"""The clip-* embedders against clean-fid, torch-fidelity and google-research's CMMD, each in its own preprocessing
mode, with the same random weights and images as the goldens (scripts/goldens/clip_parity.py, cmmd_parity.py)."""

from __future__ import annotations

import logging
import re

import numpy as np
import pytest
import torch

import frechet
from frechet_clip.embedder import ClipVitB32, ClipVitL14, ClipVitL14At336
from frechet_clip.preprocess import MODES
from clip_random_weights import IMAGE_SIZES
from frechet_image import decode_image

FD_RTOL = 1e-4
FEATURE_ATOL = 1e-5
CLASSES = {"clip-vitb32": ClipVitB32, "clip-vitl14": ClipVitL14, "clip-vitl14-336": ClipVitL14At336}
#: The first real images: one of every size in the parity sets, in both formats.
ITEMS = len(IMAGE_SIZES)


@pytest.fixture(scope="module")
def ours(clip_images, clip_weights) -> dict[str, np.ndarray]:
    """frechet's projected features of the first ITEMS real images, per "MODE/MODEL", every mode on every model."""
    images = [decode_image(path) for path in sorted(clip_images["real"].iterdir())[:ITEMS]]
    found = {}
    for name, cls in CLASSES.items():
        for mode in MODES:
            embedder = cls(preprocess=mode, weights=clip_weights[name])
            with torch.inference_mode():
                batch = torch.stack([embedder.transform(image) for image in images])
                found[f"{mode}/{name}"] = embedder.forward(batch)["projected"].numpy()
    return found


def _compute(name, clip_images, clip_weights, **settings):
    return frechet.compute(clip_images["real"], clip_images["fake"], embedder=name, progress=False,
                           embedder_options={"weights": str(clip_weights[name]), **settings.pop("options", {})},
                           **settings)


def test_fd_matches_clean_fid_clip_fid_in_clean_fid_mode(clip_images, clip_weights, golden):
    reference = golden["references"]["clean-fid/clip-vitb32"]["fd"]
    result = _compute("clip-vitb32", clip_images, clip_weights, metrics=["fd"])
    assert abs(result["fd"] - reference) <= FD_RTOL * reference
    assert result["fd_clip"] == result["fd"]


def test_fd_matches_torch_fidelity_clip_extractor_in_torch_fidelity_mode(clip_images, clip_weights, golden):
    reference = golden["references"]["torch-fidelity/clip-vitl14-336"]["fd"]
    result = _compute("clip-vitl14-336", clip_images, clip_weights, metrics=["fd"],
                      options={"preprocess": "torch-fidelity"})
    assert abs(result["fd"] - reference) <= FD_RTOL * reference


@pytest.mark.parametrize("tool, name, mode", [
    ("clean-fid", "clip-vitb32", "clean-fid"),
    ("torch-fidelity", "clip-vitb32", "torch-fidelity"),
    ("torch-fidelity", "clip-vitl14", "torch-fidelity"),
    ("torch-fidelity", "clip-vitl14-336", "torch-fidelity"),
])
def test_features_match_the_reference_in_its_mode_and_no_other(tool, name, mode, ours, golden_features):
    reference = golden_features[f"{tool}/{name}/real"][:ITEMS]
    assert np.abs(ours[f"{mode}/{name}"] - reference).max() <= FEATURE_ATOL
    for other in set(MODES) - {mode}:
        assert np.abs(ours[f"{other}/{name}"] - reference).max() > 1000 * FEATURE_ATOL


def test_embeddings_match_cmmd_reference_in_cmmd_mode_and_no_other(ours, golden_features):
    reference = golden_features["cmmd/clip-vitl14-336/real"][:ITEMS]
    for mode in MODES:
        rows = ours[f"{mode}/clip-vitl14-336"]
        error = np.abs(rows / np.linalg.norm(rows, axis=1, keepdims=True) - reference).max()
        assert error <= FEATURE_ATOL if mode == "cmmd" else error > 1000 * FEATURE_ATOL, (mode, error)


def test_cmmd_matches_google_research_cmmd_and_reports_what_it_dropped(clip_images, clip_weights, cmmd_golden, caplog):
    with caplog.at_level(logging.WARNING, logger="frechet"):
        result = frechet.compute(clip_images["real"], clip_images["fake"], metrics=["cmmd"], progress=False,
                                 embedder_options={"weights": str(clip_weights["clip-vitl14-336"])})
    # The reference sums its kernel in float32; frechet, in float64, lands on the reference's own formula run in
    # float64, and within the reference's float32 rounding of its published value.
    exact, published = cmmd_golden["mmd_float64"]["embeddings"], cmmd_golden["cmmd"]
    assert result["embedder"].startswith("clip-vitl14-336(") and result["output"] == "normalized"
    assert abs(result["cmmd"] - exact) <= 1e-5 * exact
    assert abs(result["cmmd"] - published) <= 2 * abs(published - exact)
    dropped = {side: count - cmmd_golden["kept"][side] for side, count in cmmd_golden["images"]["counts"].items()}
    assert (result["cmmd_dropped_real"], result["cmmd_dropped_fake"]) == (dropped["real"], dropped["fake"])
    assert re.search(rf"dropped the last {dropped['real']} of 40 items of \S*real and {dropped['fake']} of 37 items "
                     r"of \S*fake", caplog.text)
