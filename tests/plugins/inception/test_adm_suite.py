"""The ADM evaluator's suite (--metrics adm) against the evaluator itself (scripts/goldens/adm_evaluator.py: its own
code under TensorFlow, the same random weights in a TensorFlow graph), from .npz batches made the same way; and a
reference batch's stored statistics used as given."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
from pathlib import Path

import numpy as np
import pytest
import torch

import frechet
from frechet.stats import FeatureStats
from frechet_inception import InceptionEmbedder
from frechet.metrics.precision_recall import precision_recall
from frechet_inception.adm import adm_inception_score, adm_precision_recall
from inception_random_weights import synthetic_image

GOLDENS = Path(__file__).resolve().parents[2] / "goldens" / "inception"
SCRIPTS = Path(__file__).resolve().parents[3] / "scripts" / "goldens"
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
            "sample_outputs": _outputs(sets["sample"], weights_file), "cache": folder / "cache"}


def _compute(batches, weights_file, metrics, **settings):
    """frechet.compute on the two batches with the parity weights; one feature cache for the module, so each image
    is embedded once."""
    return frechet.compute(batches["ref"], batches["sample"], metrics=metrics, progress=False,
                           embedder_options={"weights": str(weights_file)}, cache_dir=batches["cache"], **settings)


@pytest.fixture(scope="module")
def adm_result(batches, weights_file):
    # force: the stored statistics say "canonical weights", these are the random parity weights
    return _compute(batches, weights_file, ["adm"], force=True)


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


def test_a_reference_batchs_stored_statistics_are_used_as_given_not_its_images(adm_result, adm_golden):
    from_images = adm_golden["fid_from_reference_images_instead"]
    assert _relative(from_images, adm_golden["exact_fid_of_its_activations"]) > 100 * RTOL
    assert _relative(adm_result["fid"], from_images) > 100 * RTOL


def test_precision_and_recall_are_within_a_few_samples_of_the_evaluators(adm_result, adm_golden, batches):
    # float16 distances: TensorFlow's CPU kernels round the norms' sums differently from float32 sums, which moves
    # a few borderline samples (see test_float16_distances_follow_the_evaluator_where_exact_ones_do_not)
    sizes = {"precision": len(batches["sample_outputs"]["pool"]), "recall": 40}
    for key, size in sizes.items():
        assert abs(adm_result[key] - adm_golden["printout"][key]) <= 3 / size


def test_the_output_keys_are_the_evaluators_printout(adm_result, adm_golden):
    assert set(adm_golden["printout"]) <= set(adm_result.as_dict())


def test_a_reference_batch_made_with_other_weights_has_its_images_embedded_with_a_warning(
    batches, weights_file, caplog, adm_golden, adm_result
):
    with caplog.at_level(logging.WARNING, logger="frechet"):
        result = _compute(batches, weights_file, ["fid"])
    assert "stores statistics (output pool) made with inception(preprocess=tf, weights=6726825d)" in caplog.text
    assert _relative(result["fid"], adm_golden["fid_from_reference_images_instead"]) <= RTOL


def test_without_float16_rounding_the_evaluators_precision_and_recall_are_frechets_pr(batches):
    stored, sample = batches["stored"]["pool"], batches["sample_outputs"]["pool"]
    assert adm_precision_recall(stored, sample, float16=False) == pytest.approx(precision_recall(stored, sample, 3))


@pytest.fixture(scope="module")
def float16_golden() -> dict:
    """tests/goldens/inception/adm_precision_recall.json (made by scripts/goldens/adm_precision_recall.py)."""
    return json.loads((GOLDENS / "adm_precision_recall.json").read_text())


def _synthetic_features(golden_set: dict) -> tuple[np.ndarray, np.ndarray]:
    spec = importlib.util.spec_from_file_location("adm_pr_golden", SCRIPTS / "adm_precision_recall.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    ref = script.features(golden_set["seed"], golden_set["reference"], 1.0, "ref")
    sample = script.features(golden_set["seed"], golden_set["sample"], golden_set["spread"], "sample")
    assert hashlib.sha256(ref.tobytes()).hexdigest() == golden_set["sha256"]["reference"]
    assert hashlib.sha256(sample.tobytes()).hexdigest() == golden_set["sha256"]["sample"]
    return ref, sample


def test_float16_distances_follow_the_evaluator_where_exact_ones_do_not(float16_golden):
    for golden_set in float16_golden["sets"]:
        ref, sample = _synthetic_features(golden_set)
        evaluator = np.array([golden_set["evaluator"]["precision"], golden_set["evaluator"]["recall"]])
        rounded = np.array(adm_precision_recall(ref, sample))
        exact = np.array(adm_precision_recall(ref, sample, float16=False))
        assert np.abs(rounded - evaluator).max() <= 0.008  # 12 of 1500 samples
        assert np.abs(exact - evaluator).max() >= 0.01 and (exact <= evaluator).all()


def test_every_fd_the_adm_suite_and_sfid_report_warns_at_n_not_above_d(caplog):
    """The suite's fid and sfid, and the sfid metric, warn as fd does when a side has no more samples than
    dimensions, each naming which distance it concerns."""
    from frechet.metrics.base import MetricContext, Side
    from frechet_inception.metrics import ADMSuiteMetric, SpatialFIDMetric

    rng = np.random.default_rng(5)

    def side(label, n):
        pool, spatial = rng.standard_normal((n, 12)), rng.standard_normal((n, 30))
        return Side(label, {"pool": FeatureStats.from_features(pool), "sfid": FeatureStats.from_features(spatial)},
                    {"pool": pool.astype(np.float32), "logits_unbiased": rng.standard_normal((n, 4))}, n)

    real, fake = side("real", 20), side("fake", 20)  # pool: N > d, sfid: N ≤ d
    context = MetricContext("pool", "inception", options={"adm_is_split_size": 10, "adm_nearest_k": 3,
                                                          "adm_float16_distances": 0})
    with caplog.at_level(logging.WARNING, logger="frechet"):
        ADMSuiteMetric().compute(real, fake, context)
        SpatialFIDMetric().compute(real, fake, context)
    warned = [record.getMessage() for record in caplog.records]
    assert [message.split(":")[0] for message in warned] == ["adm sfid", "sfid"], warned
    assert all("real: 20 samples and fake: 20 samples for 30 feature dimensions" in message for message in warned)
