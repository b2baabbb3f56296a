"""The inception embedder against pytorch-fid, torch-fidelity and clean-fid, each in its own preprocessing mode, with
the same random weights and images as the goldens (scripts/goldens/inception_parity.py)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

import frechet
from frechet_image import decode_image
from frechet_inception import InceptionEmbedder

GOLDENS = Path(__file__).resolve().parents[2] / "goldens" / "inception"
FID_RTOL = 1e-4
IS_RTOL = 1e-4
FEATURE_ATOL = 1e-4
#: Logits are ~10x larger than pool3 values (up to ~40 here); their bound scales with them.
LOGIT_RTOL = 1e-5


@pytest.fixture(scope="module")
def scores(parity_images, weights_file):
    """frechet's scores per mode, computed once: FID in every mode, IS too in "tf" (torch-fidelity's mode)."""
    results = {}
    for mode in ("pytorch-fid", "tf", "clean"):
        metrics = ["fid", "is"] if mode == "tf" else ["fid"]
        results[mode] = frechet.compute(
            parity_images["real"],
            parity_images["fake"],
            embedder="inception",
            metrics=metrics,
            embedder_options={"weights": str(weights_file), "preprocess": mode},
            progress=False,
        )
    return results


def _relative(value: float, reference: float) -> float:
    return abs(value - reference) / abs(reference)


def test_fid_matches_pytorch_fid_in_pytorch_fid_mode(scores, golden):
    assert _relative(scores["pytorch-fid"]["fid"], golden["modes"]["pytorch-fid"]["fid"]) <= FID_RTOL


def test_fid_matches_torch_fidelity_in_tf_mode(scores, golden):
    assert _relative(scores["tf"]["fid"], golden["modes"]["tf"]["fid"]) <= FID_RTOL


def test_inception_score_matches_torch_fidelity_isc_in_tf_mode(scores, golden):
    reference = golden["modes"]["tf"]
    assert _relative(scores["tf"]["is_mean"], reference["is_mean"]) <= IS_RTOL
    assert abs(scores["tf"]["is_std"] - reference["is_std"]) <= IS_RTOL * reference["is_mean"]


def test_fid_matches_clean_fid_in_clean_mode(scores, golden):
    assert _relative(scores["clean"]["fid"], golden["modes"]["clean"]["fid"]) <= FID_RTOL


def test_fid_is_closer_to_the_exact_value_of_the_references_features_than_their_own_formula(scores, golden):
    # The references' FID formulas (sqrtm / eigvals of the product) carry ~1e-5 relative error here; frechet's
    # exact trace term lands nearer the float64 value computed from their own features.
    for mode, reference in golden["modes"].items():
        exact = reference["fid_exact_from_reference_features"]
        assert _relative(scores[mode]["fid"], exact) < reference["reference_formula_rel_error"]


def test_modes_give_different_fids(scores):
    values = [scores[mode]["fid"] for mode in ("pytorch-fid", "tf", "clean")]
    assert min(abs(a - b) for i, a in enumerate(values) for b in values[i + 1:]) > 1e-3


@pytest.fixture(scope="module")
def features(parity_images, weights_file, golden):
    """frechet's per-image outputs for the golden's feature items, per mode: {"MODE/OUTPUT": (k, dims)}."""
    paths = sorted(parity_images["real"].iterdir())
    items = [paths[index] for index in golden["feature_items"]]
    found = {}
    for mode in ("pytorch-fid", "tf", "clean"):
        embedder = InceptionEmbedder(preprocess=mode, weights=weights_file)
        batch = embedder.collate([embedder.transform(decode_image(path)) for path in items])
        with torch.inference_mode():
            outputs = embedder.forward(batch)
        found.update({f"{mode}/{name}": value.numpy() for name, value in outputs.items()})
    return found


@pytest.mark.parametrize(
    "key",
    [
        "pytorch-fid/pool", "pytorch-fid/block64", "pytorch-fid/block192", "pytorch-fid/block768",
        "tf/pool", "tf/block64", "tf/block192", "tf/block768", "clean/pool",
    ],
)
def test_features_match_the_reference_in_its_mode(key, features, golden_features):
    assert np.abs(features[key] - golden_features[key]).max() <= FEATURE_ATOL


@pytest.mark.parametrize("key", ["tf/logits", "tf/logits_unbiased"])
def test_logits_match_torch_fidelity(key, features, golden_features):
    reference = golden_features[key]
    assert np.abs(features[key] - reference).max() <= LOGIT_RTOL * np.abs(reference).max()


def test_fid_matches_torchmetrics_without_antialiasing_in_tf_mode(scores):
    # scripts/goldens/torchmetrics_fid.py: FrechetInceptionDistance(antialias=False), same weights and images
    reference = json.loads((GOLDENS / "torchmetrics.json").read_text())["fid"]["antialias_false"]
    assert _relative(scores["tf"]["fid"], reference) <= FID_RTOL
