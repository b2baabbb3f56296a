"""Benchmark: ``--precision bf16`` against the fp32 default for the inception embedder — how far FID and the
features move, and how much faster it runs — on the same generated images with the same random weights.

    python bench/precision.py [--images 300] [--rounds 2] [--out bench/results/precision]

Three image sets of ``--images`` generated images each (the tests' ``inception_random_weights``; the parity set's mix of
sizes from 32×32 to 517×333, PNG and JPEG): ``real`` and ``fake`` of different distributions (a large FID) and
``real2``, a second sample of real's distribution (a small FID, where a fixed error weighs most). Every set's
statistics come from ``frechet.compute_stats`` in each precision (the runner's autocast, tf preprocessing), timed end
to end in this process; the precisions take turns each round and the best round counts. The forward pass alone is
timed on a batch of 50 ready inputs the same way, and the per-image pool3 features of ``real`` are compared
directly. Writes ``OUT.md`` and ``OUT.json``.
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

import frechet
from frechet.precision import autocast
from frechet_image import decode_image
from frechet_inception import InceptionEmbedder
from harness import inception_weights, publish
from inception_random_weights import write_image_set

PRECISIONS = ("fp32", "bf16")
SETS = {"real": (300, 0), "fake": (301, 1), "real2": (302, 0)}  # name -> (seed, variant)
BATCH = 50
PAIRS = {"real vs fake": ("real", "fake"), "real vs real2": ("real", "real2")}


def run(images: int, rounds: int) -> dict:
    """Measure everything; returns the results as a JSON-ready dict."""
    work = Path(tempfile.mkdtemp(prefix="frechet-bench-precision-"))
    weights, env = inception_weights(work)
    os.environ.update({key: env[key] for key in ("TORCH_HOME", "FRECHET_OFFLINE")})
    folders = {}
    for name, (seed, variant) in SETS.items():
        folders[name] = work / name
        write_image_set(folders[name], images, seed=seed, variant=variant)
    seconds = {precision: float("inf") for precision in PRECISIONS}
    stats: dict[str, dict[str, frechet.FeatureStats]] = {}
    for round_index in range(rounds):
        order = PRECISIONS if round_index % 2 == 0 else PRECISIONS[::-1]
        for precision in order:
            start = time.perf_counter()
            found = {
                name: frechet.compute_stats(folder, embedder_options={"weights": str(weights)},
                                            batch_size=BATCH, precision=precision, cache=False, progress=False)
                for name, folder in folders.items()
            }
            elapsed = time.perf_counter() - start
            seconds[precision] = min(seconds[precision], elapsed)
            if precision in stats:
                assert all(np.array_equal(found[n].cov, stats[precision][n].cov) for n in found), "not deterministic"
            stats[precision] = found
            print(f"round {round_index + 1} {precision}: {len(folders) * images / elapsed:.1f} images/s end to end",
                  flush=True)
    fids = {
        pair: {
            precision: frechet.frechet_distance(stats[precision][a], stats[precision][b]) for precision in PRECISIONS
        }
        for pair, (a, b) in PAIRS.items()
    }
    forward = _forward_rates(weights, folders["real"], rounds)
    features = _feature_deviation(weights, folders["real"])
    return {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "images_per_set": images,
        "end_to_end_images_per_s": {p: len(folders) * images / seconds[p] for p in PRECISIONS},
        "forward_images_per_s": forward,
        "fid": {pair: {**values, "relative_difference": abs(values["bf16"] - values["fp32"]) / values["fp32"]}
                for pair, values in fids.items()},
        "mean_abs_difference": float(np.abs(stats["bf16"]["real"].mean - stats["fp32"]["real"].mean).max()),
        "pool_features": features,
    }


def _ready_inputs(embedder: InceptionEmbedder, folder: Path) -> torch.Tensor:
    paths = sorted(folder.iterdir())
    return torch.stack([embedder.transform(decode_image(path)) for path in paths])


def _forward_rates(weights: Path, folder: Path, rounds: int) -> dict[str, float]:
    """Images/s of the forward pass alone (pool3 only, as an FID run asks) on one batch of ready inputs."""
    embedder = InceptionEmbedder(weights=weights)
    embedder.request_outputs({"pool"})
    batch = _ready_inputs(embedder, folder)[:BATCH]
    best = {precision: float("inf") for precision in PRECISIONS}
    for round_index in range(rounds + 1):  # round 0 warms both up
        for precision in PRECISIONS if round_index % 2 == 0 else PRECISIONS[::-1]:
            with torch.inference_mode(), autocast(precision, embedder.device):
                start = time.perf_counter()
                embedder.forward(batch)
                elapsed = time.perf_counter() - start
            if round_index:
                best[precision] = min(best[precision], elapsed)
    return {precision: BATCH / seconds for precision, seconds in best.items()}


def _feature_deviation(weights: Path, folder: Path) -> dict[str, float]:
    """Per-image relative L2 difference of the pool3 features, bf16 against fp32."""
    embedder = InceptionEmbedder(weights=weights)
    embedder.request_outputs({"pool"})
    inputs = _ready_inputs(embedder, folder)
    features = {}
    for precision in PRECISIONS:
        with torch.inference_mode(), autocast(precision, embedder.device):
            features[precision] = torch.cat(
                [embedder.forward(inputs[i : i + BATCH])["pool"].double() for i in range(0, len(inputs), BATCH)]
            )
    relative = (features["bf16"] - features["fp32"]).norm(dim=1) / features["fp32"].norm(dim=1)
    return {"relative_l2_median": float(relative.median()), "relative_l2_max": float(relative.max())}


def report(results: dict) -> str:
    """The results as Markdown."""
    e2e, forward = results["end_to_end_images_per_s"], results["forward_images_per_s"]
    lines = [
        f"Machine: {results['machine']}; torch {results['torch']}, {results['threads']} threads; "
        f"{results['images_per_set']} images per set; inception, tf preprocessing, deterministic random weights.",
        "",
        "| pair | FID fp32 | FID bf16 | relative difference |",
        "|---|---:|---:|---:|",
        *(f"| {pair} | {v['fp32']:.4f} | {v['bf16']:.4f} | {v['relative_difference']:.1e} |"
          for pair, v in results["fid"].items()),
        "",
        f"pool3 features, bf16 against fp32, relative L2 difference per image: median "
        f"{results['pool_features']['relative_l2_median']:.1e}, max {results['pool_features']['relative_l2_max']:.1e}; "
        f"max |Δμ| of real's statistics {results['mean_abs_difference']:.1e}.",
        "",
        "| speed | fp32 | bf16 | bf16 / fp32 |",
        "|---|---:|---:|---:|",
        f"| end to end (`compute_stats`, 3 sets), images/s | {e2e['fp32']:.1f} | {e2e['bf16']:.1f} | "
        f"{e2e['bf16'] / e2e['fp32']:.2f}× |",
        f"| forward pass alone (batch of {BATCH}), images/s | {forward['fp32']:.1f} | {forward['bf16']:.1f} | "
        f"{forward['bf16'] / forward['fp32']:.2f}× |",
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--out", type=Path, help="write OUT.md and OUT.json")
    args = parser.parse_args()
    results = run(args.images, args.rounds)
    publish(report(results), results, args.out)


if __name__ == "__main__":
    main()
