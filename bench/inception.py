"""Benchmark: ``frechet stats --embedder inception`` end to end vs pytorch-fid (``--save-stats``), same files, same
weights, timed in the same run, plus the bare forward-pass ceilings.

    python bench/inception.py [--images 1000] [--rounds 2] [--out bench/results/inception.md]

Two image sets of generated images (the tests' ``inception_random_weights``): 64×64 PNG, and 400×300 JPEG (one size per
set, because pytorch-fid stacks a folder's images into batches). pytorch-fid runs in the reference environment
(``/work/shared/refenv.sh image``; ``--reference-python``) as its command line does by default: batch size 50,
``min(8, cores)`` loader workers. Both load the same deterministic random weights in the canonical layout (saved
under pytorch-fid's file name in a temporary TORCH_HOME). frechet runs with ``--batch-size 50`` and its default
workers, in pytorch-fid's preprocessing mode (like for like) and in its default mode (tf).

Each end-to-end time is a whole command (start-up, weight loading, decoding, resizing, forward, statistics), as
wall time and as the CPU time of its whole process tree (workers included; steadier than wall time on a shared
machine); peak RSS is that of the largest process in the command's tree. The ceilings time each network's forward
pass alone on a batch of 50 ready inputs, in a fresh process. Methods take turns within each round and the best
round counts, so background load hits them alike.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch

from harness import REFERENCE_PYTHON, inception_weights, run_measured
from inception_random_weights import write_image_set

BATCH = 50
IMAGE_SETS = {"64px PNG": ((64, 64), "png"), "400x300 JPEG": ((300, 400), "jpg")}

_OUR_CEILING = """
import sys, time, torch
from frechet_inception import InceptionEmbedder
embedder = InceptionEmbedder(weights=sys.argv[1]); embedder.request_outputs({"pool"})
batch = torch.rand(%d, 3, 299, 299) * 2 - 1
with torch.inference_mode():
    embedder.forward(batch[:2]); embedder.forward(batch)
    start = time.perf_counter(); embedder.forward(batch); print(time.perf_counter() - start)
""" % BATCH
_REFERENCE_CEILING = """
import time, torch
from pytorch_fid.inception import InceptionV3
model = InceptionV3([3]).eval()
batch = torch.rand(%d, 3, 299, 299)
with torch.no_grad():
    model(batch[:2]); model(batch)
    start = time.perf_counter(); model(batch); print(time.perf_counter() - start)
""" % BATCH


def run(images: int, rounds: int, reference_python: str) -> dict:
    """Time everything; returns the measurements."""
    work = Path(tempfile.mkdtemp(prefix="frechet-bench-inception-"))
    weights, env = inception_weights(work)
    folders = {}
    for index, (name, (size, suffix)) in enumerate(IMAGE_SETS.items()):
        folders[name] = work / f"set{index}"
        write_image_set(folders[name], images, seed=100 + index, variant=index % 2, sizes=(size,), formats=(suffix,))

    frechet_cmd = [sys.executable, "-m", "frechet", "stats", "--embedder", "inception", "--weights", str(weights),
                   "--batch-size", str(BATCH), "--device", "cpu", "--quiet", "--json"]
    methods = {
        "pytorch-fid": lambda folder, out: [reference_python, "-m", "pytorch_fid", "--save-stats", "--device", "cpu",
                                            "--batch-size", str(BATCH), str(folder), str(out)],
        "frechet (pytorch-fid mode)": lambda folder, out: [*frechet_cmd, "--preprocess", "pytorch-fid", str(folder),
                                                           "-o", str(out)],
        "frechet (tf mode)": lambda folder, out: [*frechet_cmd, "--preprocess", "tf", str(folder), "-o", str(out)],
    }
    best: dict[tuple[str, str], dict[str, float]] = {}
    ceilings = {"frechet": float("inf"), "pytorch-fid": float("inf")}
    for round_index in range(rounds):
        for set_name, folder in folders.items():
            for method, command in methods.items():
                out = work / f"{method.split()[0]}-{folder.name}-{round_index}-{len(best)}.npz"
                measured = run_measured(command(folder, out), env)
                seconds, cpu, rss = measured.seconds, measured.cpu_seconds, measured.rss_mib
                key = (set_name, method)
                previous = best.get(key, {"seconds": float("inf"), "cpu": float("inf"), "rss": 0.0})
                best[key] = {"seconds": min(previous["seconds"], seconds), "cpu": min(previous["cpu"], cpu),
                             "rss": max(previous["rss"], rss)}
                print(f"round {round_index + 1} {set_name:>12} {method:<27} {images / seconds:6.1f} images/s "
                      f"({seconds:.1f} s wall, {cpu:.1f} s CPU, peak RSS {rss:.0f} MiB)", flush=True)
        ceilings["frechet"] = min(ceilings["frechet"], float(run_measured(
            [sys.executable, "-c", _OUR_CEILING, str(weights)], env).out))
        ceilings["pytorch-fid"] = min(ceilings["pytorch-fid"], float(run_measured(
            [reference_python, "-c", _REFERENCE_CEILING], env).out))
        print(f"round {round_index + 1} forward ceilings: frechet {BATCH / ceilings['frechet']:.1f} images/s, "
              f"pytorch-fid {BATCH / ceilings['pytorch-fid']:.1f} images/s", flush=True)
    agreement = _stats_agreement(work, folders)
    return {"images": images, "best": best, "ceilings": ceilings, "agreement": agreement}


def _stats_agreement(work: Path, folders: dict[str, Path]) -> dict[str, float]:
    """Max |Δμ| between frechet's (pytorch-fid mode) and pytorch-fid's statistics of each set: same numbers?"""
    found = {}
    for set_name, folder in folders.items():
        ours = sorted(work.glob(f"frechet-{folder.name}-0-*.npz"))[0]
        theirs = sorted(work.glob(f"pytorch-fid-{folder.name}-0-*.npz"))[0]
        with np.load(ours) as a, np.load(theirs) as b:
            found[set_name] = float(np.abs(a["mu"] - b["mu"]).max())
    return found


def report(results: dict) -> str:
    """A Markdown table of the results, with the machine it ran on."""
    images, best, ceilings = results["images"], results["best"], results["ceilings"]
    ceiling_rate = BATCH / ceilings["frechet"]
    lines = [
        f"Machine: {platform.machine()}, {os.cpu_count()} cores; torch {torch.__version__}; {images} images per set, "
        f"batch size {BATCH}, best of the rounds.",
        "",
        "| image set | method | images/s | vs pytorch-fid | % of frechet's forward ceiling | CPU s / 1000 images "
        "| vs pytorch-fid, CPU time | peak RSS |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for set_name in IMAGE_SETS:
        reference = best[(set_name, "pytorch-fid")]
        for (name, method), measured in best.items():
            if name == set_name:
                rate = images / measured["seconds"]
                lines.append(
                    f"| {set_name} | {method} | {rate:.1f} | {reference['seconds'] / measured['seconds']:.2f}× | "
                    f"{100 * rate / ceiling_rate:.0f}% | {1000 * measured['cpu'] / images:.0f} | "
                    f"{reference['cpu'] / measured['cpu']:.2f}× | {measured['rss']:.0f} MiB |"
                )
    lines += [
        "",
        f"Forward pass alone (batch of {BATCH}, 299×299): frechet {ceiling_rate:.1f} images/s, pytorch-fid's model "
        f"{BATCH / ceilings['pytorch-fid']:.1f} images/s ({ceilings['pytorch-fid'] / ceilings['frechet']:.2f}×).",
        "",
        "Same numbers: max |Δμ| between frechet's pytorch-fid-mode statistics and pytorch-fid's: "
        + ", ".join(f"{name} {value:.1e}" for name, value in results["agreement"].items()) + ".",
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--reference-python", default=REFERENCE_PYTHON)
    parser.add_argument("--out", type=Path, help="also write the Markdown table here")
    args = parser.parse_args()
    text = report(run(args.images, args.rounds, args.reference_python))
    print(text)
    if args.out:
        args.out.write_text(text)


if __name__ == "__main__":
    main()
