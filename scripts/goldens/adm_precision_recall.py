"""How much the ADM evaluator's float16 distances move its precision and recall: the evaluator's own
``ManifoldEstimator`` (TensorFlow, CPU) on synthetic features at pool3's scale, for the ``adm`` metric's tests.

Run:  /tmp/frechet-refenv-tf/bin/python scripts/goldens/adm_precision_recall.py /tmp/guided-diffusion/evaluations/evaluator.py
Writes tests/goldens/inception/adm_precision_recall.json.

The features are made without matrix products (so every platform makes the same float32 values): each sample is
the centre of one of 1,000 clusters plus noise, clipped at 0 as pool3 features are, with norms about those of real
pool3 features (squared norms of several hundred). Precision and recall are then computed by the evaluator
(``manifold_radii`` and ``evaluate_pr``, k = 3), and recorded per set with the exact (float64) counts for reference.
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
ROOT = Path(__file__).resolve().parents[2]
GOLDENS = ROOT / "tests" / "goldens" / "inception"
#: (seed, reference count, sample count, spread of the sample's clusters relative to the reference's)
SETS = ((1, 1500, 1500, 0.97), (2, 1500, 1500, 1.0), (3, 1500, 1500, 1.03))
DIMS = 2048
CLUSTERS = 1000


def _uniform(seed: int, name: str, count: int) -> np.ndarray:
    """``count`` float64 values in [0, 1) from the raw output of a PCG64 stream (stable across NumPy versions)."""
    stream = np.random.PCG64(np.random.SeedSequence([seed, *name.encode()]))
    return (stream.random_raw(count) >> np.uint64(11)).astype(np.float64) * 2.0**-53


def features(seed: int, count: int, spread: float, side: str) -> np.ndarray:
    """(count, 2048) float32 features clustered around shared centres, clipped at 0."""
    centres = 0.4 + 0.3 * (_uniform(seed, "centres", CLUSTERS * DIMS).reshape(CLUSTERS, DIMS) - 0.5)
    member = (_uniform(seed, f"{side}-member", count) * CLUSTERS).astype(np.int64)
    noise = _uniform(seed, f"{side}-noise", count * DIMS).reshape(count, DIMS) - 0.5
    return np.maximum(centres[member] + spread * 0.3 * noise, 0.0).astype(np.float32)


def main() -> None:
    spec = importlib.util.spec_from_file_location("adm_evaluator", sys.argv[1])
    evaluator = importlib.util.module_from_spec(spec)
    if not hasattr(np, "bool"):  # the evaluator still spells numpy's bool as np.bool, removed in NumPy 1.24
        np.bool = bool
    spec.loader.exec_module(evaluator)
    import tensorflow.compat.v1 as tf

    tf.disable_eager_execution()
    estimator = evaluator.ManifoldEstimator(tf.Session())
    results = []
    for seed, n_ref, n_sample, spread in SETS:
        ref, sample = features(seed, n_ref, 1.0, "ref"), features(seed, n_sample, spread, "sample")
        radii_ref, radii_sample = estimator.manifold_radii(ref), estimator.manifold_radii(sample)
        precision, recall = estimator.evaluate_pr(ref, radii_ref, sample, radii_sample)
        results.append({
            "seed": seed, "reference": n_ref, "sample": n_sample, "spread": spread,
            "sha256": {"reference": _digest(ref), "sample": _digest(sample)},
            "squared_norm_mean": float((ref.astype(np.float64) ** 2).sum(1).mean()),
            "evaluator": {"precision": float(precision[0]), "recall": float(recall[0])},
        })
    golden = {
        "about": "scripts/goldens/adm_precision_recall.py: the ADM evaluator's float16 precision/recall (TF CPU)",
        "versions": {"tensorflow": _version("tensorflow-cpu"), "numpy": np.__version__},
        "sets": results,
    }
    GOLDENS.mkdir(parents=True, exist_ok=True)
    (GOLDENS / "adm_precision_recall.json").write_text(json.dumps(golden, indent=1) + "\n")
    print(json.dumps(golden, indent=1))


def _digest(array: np.ndarray) -> str:
    import hashlib

    return hashlib.sha256(np.ascontiguousarray(array).tobytes()).hexdigest()


def _version(distribution: str) -> str:
    from importlib.metadata import version

    return version(distribution)


if __name__ == "__main__":
    main()
