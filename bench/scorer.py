"""Benchmark: ``frechet.Scorer`` inside a training loop — its per-update overhead over the bare forward pass of the
same network, its memory over many FID-only updates, and torchmetrics' ``FrechetInceptionDistance`` on the same
inputs and weights in the same run.

    python bench/scorer.py [--rounds 3] [--updates 1000] [--out bench/results/scorer]
    python bench/scorer.py --batched-only [--rounds 2] [--out bench/results/scorer_batched]

1. Overhead (this process): the FID Inception network with deterministic random weights, batches of 32 uint8
   299×299 images. ``Scorer.update`` (decode-free: preprocessing in ``tf`` mode, forward, float64 running sums) is
   timed against the network alone on the same batch already preprocessed. The two alternate within each round;
   the best round counts. Bar: ≤ 5 % overhead.
2. Memory (a subprocess): a Scorer computing FID only, with a near-free 2048-d image embedder, fed ``--updates``
   batches of 32 16×16 images; peak RSS after a tenth of the updates and at the end. Bar: ≤ 2 % growth.
3. torchmetrics (the reference environment, ``/work/shared/refenv.sh image``): ``FrechetInceptionDistance(
   feature=2048, antialias=False, feature_extractor_weights_path=<the same random weights>)`` against a Scorer in
   ``tf`` mode on the same 128×128 images (resized to 299 by both): seconds per update of 32, peak RSS, and the
   FID each reports. Writes ``OUT.md`` and ``OUT.json``.
4. Batched input (this process, alone with ``--batched-only``): ``Scorer.update`` on one uint8 tensor of 64
   512×512 images (``tf`` mode: the batch is resized and scaled at once, no per-item loop) against the same
   network's bare forward pass on the already-made input; the network input is checked to equal the per-item
   path's bit for bit. Bar: ≤ 5 % overhead.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from harness import BENCH, REFERENCE_PYTHON, inception_weights, publish

BATCH = 32
BARS = {"overhead": 0.05, "rss_growth": 0.02}

_MEMORY = """
import json, resource, sys
import numpy as np
import frechet
updates = int(sys.argv[1])
scorer = frechet.Scorer(metrics=["fid"], embedder="python:harness:PixelProjection", device="cpu",
                        reference=np.random.default_rng(0).integers(0, 256, (3000, 16, 16, 3), dtype=np.uint8))
rng = np.random.default_rng(1)
peaks = {}
for step in range(1, updates + 1):
    scorer.update(rng.integers(0, 256, (32, 16, 16, 3), dtype=np.uint8))
    if step in (updates // 10, updates):
        peaks[step] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"peaks": peaks, "fd": scorer.compute()["fd"]}))
"""

_TORCHMETRICS = """
import json, resource, sys, time
import numpy as np, torch
from torchmetrics.image.fid import FrechetInceptionDistance
weights, images, batches = sys.argv[1], np.load(sys.argv[2]), int(sys.argv[3])
torch.set_num_threads(int(sys.argv[4]))
fid = FrechetInceptionDistance(feature=2048, antialias=False, feature_extractor_weights_path=weights)
real, fake = torch.from_numpy(images[0]).permute(0, 3, 1, 2), torch.from_numpy(images[1]).permute(0, 3, 1, 2)
seconds = []
for side, data in ((True, real), (False, fake)):
    for start in range(0, len(data), batches):
        began = time.perf_counter()
        fid.update(data[start : start + batches], real=side)
        seconds.append(time.perf_counter() - began)
value = float(fid.compute())
print(json.dumps({"fid": value, "seconds_per_update": sorted(seconds)[len(seconds) // 2],
                  "rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def overhead(weights: Path, rounds: int) -> dict:
    """Best-of-rounds seconds of Scorer.update and of the bare forward pass on the same batch."""
    import frechet
    from frechet.embedding import forward_outputs
    from frechet_inception import InceptionEmbedder

    images = np.random.default_rng(3).integers(0, 256, (BATCH, 299, 299, 3), dtype=np.uint8)
    scorer = frechet.Scorer(metrics=["fid"], embedder="inception", device="cpu",
                            embedder_options={"weights": str(weights), "preprocess": "tf"})
    bare = InceptionEmbedder(weights=weights, preprocess="tf")
    bare.request_outputs({"pool"})
    ready = bare.collate([bare.transform(image) for image in images])
    forward_outputs(bare, ready, ["pool"])  # load the network, warm the allocator
    scorer.update(images)
    best = _alternating_best({"scorer update": lambda: scorer.update(images),
                              "bare forward": lambda: forward_outputs(bare, ready, ["pool"])}, rounds)
    return {"seconds": best, "overhead": best["scorer update"] / best["bare forward"] - 1}


def batched(weights: Path, rounds: int) -> dict:
    """Best-of-rounds seconds of Scorer.update on a (64, 3, 512, 512) uint8 tensor and of the bare forward pass on
    its network input; and whether that input equals the per-item path's."""
    import frechet
    from frechet.embedding import forward_outputs
    from frechet_image.sources import ImageArraySource
    from frechet_inception import InceptionEmbedder

    images = torch.from_numpy(np.random.default_rng(5).integers(0, 256, (64, 3, 512, 512), dtype=np.uint8))
    scorer = frechet.Scorer(metrics=["fid"], embedder="inception", device="cpu", batch_size=64,
                            embedder_options={"weights": str(weights), "preprocess": "tf"})
    bare = InceptionEmbedder(weights=weights, preprocess="tf")
    bare.request_outputs({"pool"})
    source = ImageArraySource(images)
    ready = bare.transform_batch(source.load_batch(0, len(source)))
    equal = bool(torch.equal(ready, bare.collate([bare.transform(source.load(i)) for i in range(len(source))])))
    forward_outputs(bare, ready, ["pool"])  # load the network, warm the allocator
    scorer.update(images)
    best = _alternating_best({"scorer update": lambda: scorer.update(images),
                              "bare forward": lambda: forward_outputs(bare, ready, ["pool"])}, rounds)
    return {"seconds": best, "overhead": best["scorer update"] / best["bare forward"] - 1, "input_equal": equal}


def _alternating_best(methods: dict, rounds: int) -> dict:
    """Best-of-rounds seconds of each method, their order alternating from round to round."""
    best = {name: float("inf") for name in methods}
    for round_index in range(rounds):
        for name in list(methods) if round_index % 2 == 0 else list(methods)[::-1]:
            began = time.perf_counter()
            methods[name]()
            best[name] = min(best[name], time.perf_counter() - began)
    return best


def batched_report(results: dict) -> str:
    """The Markdown of a ``--batched-only`` run."""
    b, load = results["batched"], results["load_average"]
    return "\n".join([
        "# `frechet.Scorer.update` on an in-memory uint8 batch",
        "",
        f"Machine: {results['machine']}, shared with other jobs (load average {load['before']:.1f} before, "
        f"{load['after']:.1f} after); torch {results['torch']}. The full FID Inception network with deterministic "
        "random weights (the parity seed), `tf` mode, one batch of 64 uint8 images of 512×512 as one (N, 3, H, W) "
        "tensor: resized and scaled at once on its device, no per-item loop.",
        "",
        "| measure | value | bar |",
        "|---|---:|---:|",
        f"| `Scorer.update` vs the bare forward pass on its input, overhead | {100 * b['overhead']:.1f} % "
        f"({b['seconds']['scorer update']:.3f} s vs {b['seconds']['bare forward']:.3f} s) "
        f"| ≤ {100 * BARS['overhead']:.0f} % |",
        f"| network input equal to the per-item path's, bit for bit | {'yes' if b['input_equal'] else 'NO'} | yes |",
        "",
    ])


def memory(updates: int) -> dict:
    """Peak RSS of an FID-only Scorer after a tenth of ``updates`` and at the end (a fresh process)."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(BENCH), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run([sys.executable, "-c", _MEMORY, str(updates)], capture_output=True, text=True, env=env,
                          check=True)
    report = json.loads(done.stdout.strip().splitlines()[-1])
    peaks = {int(step): value for step, value in report["peaks"].items()}
    first, last = peaks[min(peaks)], peaks[max(peaks)]
    return {"updates": updates, "peak_rss_mib": peaks, "rss_growth": last / first - 1}


def against_torchmetrics(weights: Path, work: Path) -> dict:
    """torchmetrics' FID and a tf-mode Scorer on the same 128×128 images: FID, seconds per update, peak RSS."""
    import frechet

    rng = np.random.default_rng(4)
    images = np.stack([rng.integers(0, 256, (64, 128, 128, 3)), rng.integers(40, 216, (64, 128, 128, 3))])
    images = images.astype(np.uint8)
    np.save(work / "images.npy", images)
    threads = torch.get_num_threads()
    done = subprocess.run([REFERENCE_PYTHON, "-c", _TORCHMETRICS, str(weights), str(work / "images.npy"),
                           str(BATCH), str(threads)], capture_output=True, text=True, check=True)
    theirs = json.loads(done.stdout.strip().splitlines()[-1])
    scorer = frechet.Scorer(metrics=["fid"], embedder="inception", device="cpu",
                            embedder_options={"weights": str(weights), "preprocess": "tf"})
    seconds = []
    for real, side in ((True, images[0]), (False, images[1])):
        for start in range(0, len(side), BATCH):
            began = time.perf_counter()
            scorer.update(side[start : start + BATCH], real=real)
            seconds.append(time.perf_counter() - began)
    ours = {"fid": scorer.compute()["fid"], "seconds_per_update": sorted(seconds)[len(seconds) // 2]}
    import resource

    ours["rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"torchmetrics": theirs, "frechet": ours,
            "fid_relative_difference": abs(ours["fid"] - theirs["fid"]) / theirs["fid"]}


def report(results: dict) -> str:
    """The Markdown table of a run's results."""
    o, m, t, load = results["overhead"], results["memory"], results["torchmetrics"], results["load_average"]
    lines = [
        "# `frechet.Scorer` in a training loop",
        "",
        f"Machine: {results['machine']}, shared with other jobs (load average {load['before']:.1f} before, "
        f"{load['after']:.1f} after); torch {results['torch']}; torchmetrics {results['torchmetrics_version']}. "
        f"Batches of {BATCH}; FID Inception with deterministic random weights (the parity seed).",
        "",
        "| measure | value | bar |",
        "|---|---:|---:|",
        f"| `Scorer.update` vs the bare forward pass (299×299 uint8, `tf` mode), overhead | "
        f"{100 * o['overhead']:.1f} % ({o['seconds']['scorer update']:.3f} s vs {o['seconds']['bare forward']:.3f} s) "
        f"| ≤ {100 * BARS['overhead']:.0f} % |",
        f"| peak RSS growth over {m['updates']} FID-only updates (from update {min(m['peak_rss_mib'], key=int)}) | "
        f"{100 * m['rss_growth']:.2f} % ({', '.join(f'{v:.0f}' for v in m['peak_rss_mib'].values())} MiB) "
        f"| ≤ {100 * BARS['rss_growth']:.0f} % |",
        "",
        "torchmetrics' `FrechetInceptionDistance(feature=2048, antialias=False)` and `frechet.Scorer(metrics=[\"fid\"],"
        " embedder_options={\"preprocess\": \"tf\"})` on the same 64 + 64 images of 128×128, same weights:",
        "",
        "| | FID | seconds per update | peak RSS |",
        "|---|---:|---:|---:|",
        f"| torchmetrics {results['torchmetrics_version']} | {t['torchmetrics']['fid']:.6f} | "
        f"{t['torchmetrics']['seconds_per_update']:.3f} | {t['torchmetrics']['rss_mib']:.0f} MiB |",
        f"| frechet Scorer | {t['frechet']['fid']:.6f} | {t['frechet']['seconds_per_update']:.3f} | "
        f"{t['frechet']['rss_mib']:.0f} MiB |",
        "",
        f"FID relative difference: {t['fid_relative_difference']:.2e}.",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--updates", type=int, default=1000)
    parser.add_argument("--out", type=Path)
    parser.add_argument("--batched-only", action="store_true", help="only the batched-input measurement (4.)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="frechet-bench-scorer-"))
    weights, env = inception_weights(work)
    os.environ.update({key: env[key] for key in ("TORCH_HOME", "FRECHET_OFFLINE")})
    if args.batched_only:
        load_before = os.getloadavg()[0]
        results = {"machine": f"{platform.machine()}, {os.cpu_count()} cores", "torch": torch.__version__,
                   "batched": batched(weights, args.rounds)}
        results["load_average"] = {"before": load_before, "after": os.getloadavg()[0]}
        publish(batched_report(results), results, args.out)
        return
    version = subprocess.run([REFERENCE_PYTHON, "-c", "import torchmetrics; print(torchmetrics.__version__)"],
                             capture_output=True, text=True, check=True).stdout.strip()
    load_before = os.getloadavg()[0]
    results = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "torch": torch.__version__,
        "torchmetrics_version": version,
        "overhead": overhead(weights, args.rounds),
        "memory": memory(args.updates),
        "torchmetrics": against_torchmetrics(weights, work),
    }
    results["load_average"] = {"before": load_before, "after": os.getloadavg()[0]}
    publish(report(results), results, args.out)


if __name__ == "__main__":
    main()
