"""The ADM evaluator's suite (--metrics adm) against the evaluator itself (scripts/goldens/adm_evaluator.py: its own
code under TensorFlow, the same random weights in a TensorFlow graph), from .npz batches made the same way; and a
reference batch's stored statistics used as given."""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path

import numpy as np
import pytest
import torch

import frechet
from frechet.distance import frechet_distance
from frechet.stats import FeatureStats
from frechet_inception import InceptionEmbedder
from frechet.metrics.precision_recall import precision_recall
from frechet_inception.adm import adm_inception_score, adm_precision_recall
from inception_random_weights import synthetic_image

GOLDENS = Path(__file__).resolve().parents[2] / "goldens" / "inception"
RTOL = 1e-4


@pytest.fixture(scope="module")
def adm_golden() -> dict:
    """tests/goldens/inception/adm_evaluator.json (made by scripts/goldens/adm_evaluator.py)."""
    return json.loads((GOLDENS / "adm_evaluator.json").read_text())


def _image_set(spec: dict, size: int) -> np.ndarray:
    images = np.stack([
        synthetic_image(spec["seed"], index, size, size, spec["variant"]) for index in range(spec["count"])
    ])
    assert hashlib.sha256(images.tobytes()).hexdigest() == spec["sha256"]
    return images


def _outputs(images: np.ndarray, weights_file) -> dict[str, np.ndarray]:
    embedder = InceptionEmbedder(preprocess="tf", weights=weights_file)
    with torch.inference_mode():
        batch = embedder.collate([embedder.transform(image) for image in images])
        found = embedder.network()(batch, ("pool", "sfid", "logits_unbiased"))
    return {name: value.numpy() for name, value in found.items()}


@pytest.fixture(scope="module")
def batches(adm_golden, weights_file, tmp_path_factory):
    """The golden's reference batch (40 images + statistics of 64 others, made here by frechet with the same weights)
    and sample batch (60 images), as .npz files; and the sample's per-image outputs."""
    folder = tmp_path_factory.mktemp("adm")
    sets = {name: _image_set(spec, adm_golden["image_size"]) for name, spec in adm_golden["sets"].items()}
    stored = _outputs(sets["reference_statistics"], weights_file)
    pool, spatial = FeatureStats.from_features(stored["pool"]), FeatureStats.from_features(stored["sfid"])
    np.savez(folder / "ref.npz", arr_0=sets["reference_images"], mu=pool.mean, sigma=pool.cov, mu_s=spatial.mean,
             sigma_s=spatial.cov)
    np.savez(folder / "sample.npz", arr_0=sets["sample"])
    return {"ref": folder / "ref.npz", "sample": folder / "sample.npz", "stored": stored,
            "sample_outputs": _outputs(sets["sample"], weights_file)}


@pytest.fixture(scope="module")
def adm_result(batches, weights_file):
    # force: the stored statistics say "canonical weights", these are the random parity weights
    return frechet.compute(
        batches["ref"], batches["sample"], metrics=["adm"], embedder_options={"weights": str(weights_file)},
        force=True, progress=False, cache=False,
    )


def _relative(value: float, reference: float) -> float:
    return abs(value - reference) / abs(reference)


def test_inception_score_matches_the_evaluators(adm_result, adm_golden):
    assert _relative(adm_result["inception_score"], adm_golden["printout"]["inception_score"]) <= RTOL


def test_inception_score_takes_splits_of_the_evaluators_size_in_order(batches, adm_golden):
    logits = batches["sample_outputs"]["logits_unbiased"]
    assert _relative(adm_inception_score(logits, 25), adm_golden["inception_score_split_25"]) <= RTOL


def test_fid_and_sfid_match_the_exact_distance_of_the_evaluators_activations(adm_result, adm_golden):
    assert _relative(adm_result["fid"], adm_golden["exact_fid_of_its_activations"]) <= RTOL
    assert _relative(adm_result["sfid"], adm_golden["exact_sfid_of_its_activations"]) <= RTOL


def test_fid_uses_the_reference_batchs_stored_statistics_not_its_images(adm_result, adm_golden):
    from_images = adm_golden["fid_from_reference_images_instead"]
    assert _relative(from_images, adm_golden["exact_fid_of_its_activations"]) > 100 * RTOL
    assert _relative(adm_result["fid"], from_images) > 100 * RTOL


def test_precision_and_recall_match_the_evaluators_float16_counts(adm_result, adm_golden):
    assert adm_result["precision"] == adm_golden["printout"]["precision"]
    assert adm_result["recall"] == adm_golden["printout"]["recall"]


def test_the_output_keys_are_the_evaluators_printout(adm_result, adm_golden):
    assert set(adm_golden["printout"]) <= set(adm_result.as_dict())


def test_a_reference_batch_made_with_other_weights_has_its_images_embedded_with_a_warning(
    batches, weights_file, caplog, adm_golden
):
    with caplog.at_level(logging.WARNING, logger="frechet"):
        result = frechet.compute(batches["ref"], batches["sample"], metrics=["fid"], cache=False, progress=False,
                                 embedder_options={"weights": str(weights_file)})
    assert "stores statistics (output pool) made with inception(preprocess=tf, weights=6726825d)" in caplog.text
    assert _relative(result["fid"], adm_golden["fid_from_reference_images_instead"]) <= RTOL


def test_stored_statistics_are_used_as_given(batches, weights_file):
    result = frechet.compute(batches["ref"], batches["sample"], metrics=["fid", "sfid"], force=True, cache=False,
                             embedder_options={"weights": str(weights_file)}, progress=False)
    sample = batches["sample_outputs"]
    for key, output, stats_key in (("fid", "pool", None), ("sfid", "sfid", "s")):
        expected = frechet_distance(FeatureStats.load(batches["ref"], key=stats_key),
                                    FeatureStats.from_features(sample[output]))
        assert _relative(result[key], expected) <= 1e-9


def test_without_float16_rounding_the_evaluators_precision_and_recall_are_frechets_pr(batches):
    stored, sample = batches["stored"]["pool"], batches["sample_outputs"]["pool"]
    assert adm_precision_recall(stored, sample, float16=False) == pytest.approx(precision_recall(stored, sample, 3))
