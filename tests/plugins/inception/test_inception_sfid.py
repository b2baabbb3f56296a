"""sFID against its independent oracle (scripts/goldens/inception_sfid.py): torchvision's Inception3 with the same
random weights and TensorFlow's average pools, on torch-fidelity's TF resize of the parity images."""

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
FEATURE_RTOL = 1e-5
SFID_RTOL = 1e-4


@pytest.fixture(scope="module")
def sfid_golden() -> dict:
    return json.loads((GOLDENS / "sfid.json").read_text())


def test_the_oracle_ran_the_parity_weights(sfid_golden, golden):
    assert sfid_golden["weights_sha256"] == golden["weights"]["tensors_sha256"]
    assert sfid_golden["images"] == {"seed": golden["images"]["seed"], "count": golden["images"]["count"]}


def test_spatial_features_match_torchvisions_inception_with_tensorflow_pools(sfid_golden, parity_images, weights_file):
    paths = sorted(parity_images["real"].iterdir())
    embedder = InceptionEmbedder(preprocess="tf", weights=weights_file)
    batch = embedder.collate([embedder.transform(decode_image(paths[i])) for i in sfid_golden["feature_items"]])
    with torch.inference_mode():
        embedder.request_outputs({"sfid"})
        found = embedder.forward(batch)["sfid"].numpy()
    with np.load(GOLDENS / "sfid_features.npz") as npz:
        expected = npz["real"]
    assert found.shape == expected.shape == (4, 2023)
    assert np.abs(found - expected).max() <= FEATURE_RTOL * np.abs(expected).max()


def test_sfid_matches_the_oracle(sfid_golden, parity_images, weights_file):
    result = frechet.compute(
        parity_images["real"], parity_images["fake"], metrics=["sfid"], progress=False,
        embedder_options={"weights": str(weights_file), "preprocess": "tf"},
    )
    assert abs(result["sfid"] - sfid_golden["sfid"]) <= SFID_RTOL * sfid_golden["sfid"]


def test_the_tolerance_separates_the_tensorflow_graph_from_near_misses(sfid_golden):
    for wrong in sfid_golden["wrong_graphs"].values():
        assert abs(wrong["relative_change"]) > 100 * SFID_RTOL
