"""Goldens for the ``adm`` metric: the ADM evaluator itself (guided-diffusion ``evaluations/evaluator.py``, run with
TensorFlow) on small reference and sample batches, with the parity random weights in a TensorFlow graph.

Run:  python3 -m venv /tmp/frechet-refenv-tf && /tmp/frechet-refenv-tf/bin/pip install tensorflow-cpu scipy requests \
          tqdm torch pillow
      git clone <openai/guided-diffusion> /tmp/guided-diffusion   (the evaluator is not on PyPI)
      /tmp/frechet-refenv-tf/bin/python scripts/goldens/adm_evaluator.py /tmp/guided-diffusion/evaluations/evaluator.py
Writes tests/goldens/inception/adm_evaluator.json.

The evaluator loads ``classify_image_graph_def.pb`` (the 2015-12-05 Inception graph) from its working folder and
reads four tensors of it: its input ``ExpandDims:0``, ``pool_3:0``, ``mixed_6/conv:0`` and the classifier weights
``softmax/logits/MatMul``'s second input. The real graph cannot be had here (no network, no real weights), so this
script writes a GraphDef computing the same function with the parity random weights: TensorFlow 1's
``ResizeBilinear`` to 299 (align_corners=False, no half-pixel centres), (x − 128) / 128, then the 94 convolution,
batch-norm (eps 1e-3) and ReLU units in NHWC with TensorFlow's own SAME/VALID padding, average pools that exclude
padding, max pools, the 8x8 average pool ``pool_3`` and the 2048 x 1008 ``MatMul``, each unit taking its weights
from the same state dict as frechet's tests (random weights and images: the tests' ``inception_random_weights.py``,
key layout and block structure: ``network.py``, both loaded by path). Everything downstream — reading the .npz
batches, batches of 64 through the graph, the spatial slice, Inception Score, FID and sFID with scipy's sqrtm,
precision/recall with float16 distances — is the evaluator's own code, run through its ``main()``.

The reference batch holds 40 images (``arr_0``) and, as published reference batches do, statistics over a larger
set: mu/sigma and mu_s/sigma_s of 64 other images, computed by the evaluator's own ``compute_activations`` and
``compute_statistics``. The sample batch holds 60 images of another distribution. Recorded: the evaluator's printout,
the Inception Score with 25-sample splits (its ``split_size`` argument), and the exact float64 FID/sFID of its own
activations (trace term as the nuclear norm of the centred cross-product, exact when N < d), which separates the
error of its sqrtm formula from feature differences.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import io
import json
import os
import sys
import tempfile
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
ROOT = Path(__file__).resolve().parents[2]
GOLDENS = ROOT / "tests" / "goldens" / "inception"
#: (count, seed, variant) of each image set, 32x32 RGB (the tests regenerate them from these).
SETS = {"reference_images": (40, 11, 0), "reference_statistics": (64, 12, 0), "sample": (60, 13, 1)}
SIZE = 32
IS_SMALL_SPLIT = 25


def _load(path: Path, name: str):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def image_set(fixtures, count: int, seed: int, variant: int) -> np.ndarray:
    return np.stack([fixtures.synthetic_image(seed, index, SIZE, SIZE, variant) for index in range(count)])


def write_graph(path: Path, state: dict, network) -> None:
    """The Inception graph in TensorFlow 1 ops with ``state``'s weights, saved as a GraphDef."""
    import tensorflow.compat.v1 as tf

    model = network.FIDInceptionV3()  # only read for each unit's kernel, stride and padding
    graph = tf.Graph()
    with graph.as_default():
        images = tf.placeholder(tf.float32, [None, None, None, 3], name="ExpandDims")
        x = tf.image.resize_bilinear(images, [299, 299], align_corners=False, half_pixel_centers=False)
        x = tf.multiply(tf.subtract(x, 128.0), 1.0 / 128.0)

        def unit(x, prefix, name=None):
            conv = dict(model.named_modules())[prefix].conv
            weight = state[f"{prefix}.conv.weight"].numpy().transpose(2, 3, 1, 0)
            padding = "VALID" if conv.padding == (0, 0) and conv.kernel_size != (1, 1) else "SAME"
            stride = conv.stride[0]
            y = tf.nn.conv2d(x, tf.constant(weight), [1, stride, stride, 1], padding)
            bn = {key: tf.constant(state[f"{prefix}.bn.{key}"].numpy()) for key in
                  ("weight", "bias", "running_mean", "running_var")}
            y = tf.nn.batch_normalization(y, bn["running_mean"], bn["running_var"], bn["bias"], bn["weight"], 1e-3)
            return tf.nn.relu(y, name=name)

        def avg(x):
            return tf.nn.avg_pool2d(x, 3, 1, "SAME")  # TensorFlow divides by the unpadded inputs

        def max3(x, stride, padding="VALID"):
            return tf.nn.max_pool2d(x, 3, stride, padding)

        x = unit(unit(unit(x, "Conv2d_1a_3x3"), "Conv2d_2a_3x3"), "Conv2d_2b_3x3")
        x = max3(x, 2)
        x = max3(unit(unit(x, "Conv2d_3b_1x1"), "Conv2d_4a_3x3"), 2)
        for block in ("Mixed_5b", "Mixed_5c", "Mixed_5d"):
            x = tf.concat([
                unit(x, f"{block}.branch1x1"),
                unit(unit(x, f"{block}.branch5x5_1"), f"{block}.branch5x5_2"),
                unit(unit(unit(x, f"{block}.branch3x3dbl_1"), f"{block}.branch3x3dbl_2"), f"{block}.branch3x3dbl_3"),
                unit(avg(x), f"{block}.branch_pool"),
            ], 3)
        x = tf.concat([
            unit(x, "Mixed_6a.branch3x3"),
            unit(unit(unit(x, "Mixed_6a.branch3x3dbl_1"), "Mixed_6a.branch3x3dbl_2"), "Mixed_6a.branch3x3dbl_3"),
            max3(x, 2),
        ], 3)
        for block in ("Mixed_6b", "Mixed_6c", "Mixed_6d", "Mixed_6e"):
            seven = unit(unit(unit(x, f"{block}.branch7x7_1"), f"{block}.branch7x7_2"), f"{block}.branch7x7_3")
            double = unit(x, f"{block}.branch7x7dbl_1")
            for step in range(2, 6):
                double = unit(double, f"{block}.branch7x7dbl_{step}")
            first = unit(x, f"{block}.branch1x1", name="mixed_6/conv" if block == "Mixed_6d" else None)
            x = tf.concat([first, seven, double, unit(avg(x), f"{block}.branch_pool")], 3)
        seven = unit(x, "Mixed_7a.branch7x7x3_1")
        for step in range(2, 5):
            seven = unit(seven, f"Mixed_7a.branch7x7x3_{step}")
        x = tf.concat([unit(unit(x, "Mixed_7a.branch3x3_1"), "Mixed_7a.branch3x3_2"), seven, max3(x, 2)], 3)
        for block, pool in (("Mixed_7b", avg), ("Mixed_7c", lambda t: max3(t, 1, "SAME"))):
            three = unit(x, f"{block}.branch3x3_1")
            double = unit(unit(x, f"{block}.branch3x3dbl_1"), f"{block}.branch3x3dbl_2")
            x = tf.concat([
                unit(x, f"{block}.branch1x1"),
                unit(three, f"{block}.branch3x3_2a"), unit(three, f"{block}.branch3x3_2b"),
                unit(double, f"{block}.branch3x3dbl_3a"), unit(double, f"{block}.branch3x3dbl_3b"),
                unit(pool(x), f"{block}.branch_pool"),
            ], 3)
        pool3 = tf.nn.avg_pool2d(x, 8, 1, "VALID", name="pool_3")
        weight = tf.constant(state["fc.weight"].numpy().T.copy())
        logits = tf.matmul(tf.reshape(pool3, [-1, 2048]), weight, name="softmax/logits/MatMul")
        tf.nn.softmax(tf.nn.bias_add(logits, tf.constant(state["fc.bias"].numpy())), name="softmax")
    path.write_bytes(graph.as_graph_def().SerializeToString())


def exact_fd(a: np.ndarray, b: np.ndarray) -> float:
    """FD of two feature sets in float64; trace sqrt(S1 S2) = nuclear norm of A1 A2^T / sqrt((n1-1)(n2-1))."""
    a, b = a.astype(np.float64), b.astype(np.float64)
    ca, cb = a - a.mean(0), b - b.mean(0)
    trace_sqrt = np.linalg.svd(ca @ cb.T, compute_uv=False).sum() / np.sqrt((len(a) - 1) * (len(b) - 1))
    diff = a.mean(0) - b.mean(0)
    return float(diff @ diff + (ca * ca).sum() / (len(a) - 1) + (cb * cb).sum() / (len(b) - 1) - 2 * trace_sqrt)


def main() -> None:
    evaluator_path = Path(sys.argv[1])
    network = _load(ROOT / "plugins" / "frechet_inception" / "network.py", "frechet_inception_network")
    fixtures = _load(ROOT / "tests" / "plugins" / "inception" / "inception_random_weights.py", "random_weights")
    state = fixtures.random_state_dict(network.state_dict_layout(), fixtures.PARITY_SEED)
    if not hasattr(np, "bool"):  # the evaluator still spells numpy's bool as np.bool, removed in NumPy 1.24
        np.bool = bool
    evaluator = _load(evaluator_path, "adm_evaluator")
    import scipy
    import tensorflow.compat.v1 as tf

    tf.disable_eager_execution()
    work = Path(tempfile.mkdtemp(prefix="frechet-adm-"))
    write_graph(work / evaluator.INCEPTION_V3_PATH, state, network)
    os.chdir(work)  # the evaluator reads its graph from the working folder
    images = {name: image_set(fixtures, *spec) for name, spec in SETS.items()}

    session = tf.Session()
    ev = evaluator.Evaluator(session)
    stats_pool, stats_spatial = ev.compute_activations(_batches(images["reference_statistics"], ev.batch_size))
    pool_stats, spatial_stats = ev.compute_statistics(stats_pool), ev.compute_statistics(stats_spatial)
    np.savez(work / "ref.npz", arr_0=images["reference_images"], mu=pool_stats.mu, sigma=pool_stats.sigma,
             mu_s=spatial_stats.mu, sigma_s=spatial_stats.sigma)
    np.savez(work / "sample.npz", arr_0=images["sample"])

    printed = io.StringIO()
    sys.argv = ["evaluator.py", str(work / "ref.npz"), str(work / "sample.npz")]
    with contextlib.redirect_stdout(printed):
        evaluator.main()
    printout = _parse(printed.getvalue())

    ref_acts = ev.read_activations(str(work / "ref.npz"))
    sample_acts = ev.read_activations(str(work / "sample.npz"))
    golden = {
        "about": "scripts/goldens/adm_evaluator.py: the ADM evaluator's printout with the parity random weights",
        "versions": {"tensorflow": tf.__version__ if hasattr(tf, "__version__") else _version("tensorflow-cpu"),
                     "scipy": scipy.__version__, "numpy": np.__version__,
                     "evaluator_sha256": hashlib.sha256(evaluator_path.read_bytes()).hexdigest()},
        "weights_sha256": fixtures.state_sha256(state),
        "image_size": SIZE,
        "sets": {name: {"count": count, "seed": seed, "variant": variant,
                        "sha256": hashlib.sha256(images[name].tobytes()).hexdigest()}
                 for name, (count, seed, variant) in SETS.items()},
        "printout": printout,
        "inception_score_split_25": ev.compute_inception_score(sample_acts[0], split_size=IS_SMALL_SPLIT),
        "exact_fid_of_its_activations": exact_fd(stats_pool, sample_acts[0]),
        "exact_sfid_of_its_activations": exact_fd(stats_spatial, sample_acts[1]),
        "fid_from_reference_images_instead": exact_fd(ref_acts[0], sample_acts[0]),
        "pool_scale": float(np.abs(sample_acts[0]).max()),
    }
    GOLDENS.mkdir(parents=True, exist_ok=True)
    (GOLDENS / "adm_evaluator.json").write_text(json.dumps(golden, indent=1) + "\n")
    print(json.dumps(golden, indent=1))


def _batches(images: np.ndarray, size: int):
    return [images[start:start + size] for start in range(0, len(images), size)]


def _parse(text: str) -> dict[str, float]:
    keys = {"Inception Score": "inception_score", "FID": "fid", "sFID": "sfid", "Precision": "precision",
            "Recall": "recall"}
    values = {}
    for line in text.splitlines():
        label, _, value = line.partition(":")
        if label in keys:
            values[keys[label]] = float(value)
    assert len(values) == len(keys), text
    return values


def _version(distribution: str) -> str:
    from importlib.metadata import version

    return version(distribution)


if __name__ == "__main__":
    main()
