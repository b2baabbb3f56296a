"""Benchmark: ``frechet stats`` end to end on 256×256 JPEGs against pytorch-fid and against frechet's own bare
forward pass, the warm-cache re-run, and peak memory of a statistics-only run over 2k vs 20k items — in one run.

    python bench/throughput.py [--images 1000] [--rounds 3] [--before REV] [--out bench/results/throughput]

Inputs: ``--images`` generated 256×256 JPEGs (the tests' ``inception_random_weights``, quality 90) and the deterministic
random Inception weights, saved under pytorch-fid's file name in a temporary TORCH_HOME; both tools read the same
files and weights. pytorch-fid runs in the reference environment (``/work/shared/refenv.sh image``) as its command
line does by default (``--save-stats``, batch size 50, ``min(8, cores)`` workers); frechet runs ``frechet stats``
with its defaults (tf preprocessing, batch size 64, automatic workers, feature cache on, in a fresh cache folder);
once more in pytorch-fid's preprocessing mode (like for like), with ``--workers 2`` against the default (none on 2
cores), and with glibc's default allocator in place of the one the command sets (``frechet._malloc``). The bare
forward pass is frechet's network alone, in a fresh process, on the same images decoded and preprocessed beforehand
(not timed), in batches of 64 as the runner forms them, whole. ``--before REV`` adds the same bare forward pass, and
``frechet stats`` by default and with 2 workers, with frechet's code at git revision REV (its ``frechet`` and
``plugins`` folders, extracted with ``git archive`` and put first on the import path), to measure a change to the
network or the runner in the same session. The warm run repeats the
first frechet command on the cache it just filled. Every end-to-end time is a whole command (start-up, weights,
decoding, resizing, forward, statistics). Methods take turns within each round, in an order that rotates from round
to round; the best round counts.

Memory: peak RSS of ``frechet stats`` over 2,000 and 20,000 16×16 PNGs with the ``PixelProjection`` embedder of
``bench/harness.py`` (a random projection of the pixels to 2048 features, so the statistics are FID-sized while the
network costs nothing), run through the ``python:`` embedder family: the same sources, DataLoader workers, runner,
statistics and feature cache as any run. Writes ``OUT.md`` and ``OUT.json``.

Threads: the ``frechet`` command lets idle OpenMP threads sleep (``OMP_WAIT_POLICY=PASSIVE``, ``frechet._openmp``);
pytorch-fid and the bare forward pass run with the OpenMP default (spinning), as they do when started as is. Both
also run once more with the passive policy (``…, idle threads sleeping``), so a gain that comes from the policy
alone, on a machine shared with other work, shows as such.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

import numpy as np
import torch

from frechet.loading import default_workers
from frechet.settings import DEFAULT_BATCH_SIZE
from frechet_inception import InceptionEmbedder
from harness import BENCH, REFERENCE_PYTHON, inception_weights, machine_load, publish, run_measured
from inception_random_weights import write_image_set

SIZE = 256
BATCH = DEFAULT_BATCH_SIZE
PYTORCH_FID_BATCH = 50
MEMORY_ITEMS = (2000, 20000)
#: Bars from the issue: end to end vs pytorch-fid, vs the bare forward pass, warm cache vs cold, memory growth.
DEFAULT_ALLOCATOR = "frechet, glibc's default allocator"
#: The frechet command with its allocator setting switched off, to show what that setting gains.
_WITH_DEFAULT_ALLOCATOR = (
    "import sys, frechet.loading as loading; from frechet.cli import main\n"
    "loading.reuse_large_allocations = lambda: False\n"
    "sys.exit(main(sys.argv[1:]))\n"
)
BARS = {"vs_pytorch_fid": 3.0, "vs_forward": 0.85, "vs_forward_today": 1.2, "vs_forward_before": 1.2,
        "warm_speedup": 5.0, "rss_growth": 1.10}
#: Suffix of the methods run with idle OpenMP threads sleeping, as the ``frechet`` command sets.
SLEEPING = ", idle threads sleeping"
ROOT = BENCH.parent

_BARE_FORWARD = """
import sys, time, torch
from pathlib import Path
from frechet_image import decode_image
from frechet_inception import InceptionEmbedder
from frechet._malloc import reuse_large_allocations
embedder = InceptionEmbedder(weights=sys.argv[1]); embedder.request_outputs({"pool"})
inputs = torch.stack([embedder.transform(decode_image(path)) for path in sorted(Path(sys.argv[2]).iterdir())])
batch = int(sys.argv[3])
reuse_large_allocations()  # as the frechet command does here
with torch.inference_mode():
    embedder.forward(inputs[:2])
    start = time.perf_counter()
    for first in range(0, len(inputs), batch):
        embedder.forward(inputs[first : first + batch])
    print(time.perf_counter() - start)
"""


def _at(method: str, revision: str) -> str:
    """The name of ``method`` run with frechet's code at ``revision``."""
    return f"{method} at {revision}"


def _checkout(revision: str, folder: Path) -> dict[str, str]:
    """frechet's code at ``revision`` extracted into ``folder``; the PYTHONPATH that imports it first."""
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", revision, "frechet", "plugins"], capture_output=True,
                             check=True).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(folder, filter="data")
    return {"PYTHONPATH": os.pathsep.join([str(folder), str(folder / "plugins")])}


def run(
    images: int,
    rounds: int,
    reference_python: str,
    memory_items: tuple[int, int] = MEMORY_ITEMS,
    before: str | None = None,
) -> dict:
    """Measure everything; returns the results as a JSON-ready dict."""
    load = machine_load()
    work = Path(tempfile.mkdtemp(prefix="frechet-bench-throughput-"))
    weights, env = inception_weights(work)
    folder = work / "images"
    write_image_set(folder, images, seed=256, variant=0, sizes=((SIZE, SIZE),), formats=("jpg",))
    ours = [sys.executable, "-m", "frechet", "stats", str(folder), "--embedder", "inception", "--weights",
            str(weights), "--device", "cpu", "--quiet", "--json"]
    methods = {
        "pytorch-fid": lambda tag: [reference_python, "-m", "pytorch_fid", "--save-stats", "--device", "cpu",
                                    "--batch-size", str(PYTORCH_FID_BATCH), str(folder), str(work / f"{tag}.npz")],
        "frechet": lambda tag: [*ours, "-o", str(work / f"{tag}.npz"), "--cache-dir", str(work / tag)],
        "frechet (pytorch-fid mode)": lambda tag: [*ours, "--preprocess", "pytorch-fid", "-o",
                                                   str(work / f"{tag}.npz"), "--cache-dir", str(work / tag)],
        **{
            f"frechet --workers {n}": lambda tag, n=n: [*ours, "--workers", str(n), "-o", str(work / f"{tag}.npz"),
                                                       "--cache-dir", str(work / tag)]
            for n in (2,)
        },
        DEFAULT_ALLOCATOR: lambda tag: [sys.executable, "-c", _WITH_DEFAULT_ALLOCATOR, *ours[3:], "-o",
                                        str(work / f"{tag}.npz"), "--cache-dir", str(work / tag)],
        "bare forward pass": lambda tag: [sys.executable, "-c", _BARE_FORWARD, str(weights), str(folder), str(BATCH)],
    }
    envs = {name: env for name in methods}
    for name in ("pytorch-fid", "bare forward pass"):
        methods[name + SLEEPING] = methods[name]
        envs[name + SLEEPING] = {**env, "OMP_WAIT_POLICY": "PASSIVE"}
    if before:
        before_env = {**env, **_checkout(before, work / "before")}
        for name in ("bare forward pass", "frechet", "frechet --workers 2"):
            methods[_at(name, before)] = methods[name]
            envs[_at(name, before)] = before_env
    names = list(methods)
    seconds: dict[str, list[float]] = {name: [] for name in [*names, "frechet, warm cache"]}
    cpu: dict[str, list[float]] = {name: [] for name in seconds}
    rss: dict[str, list[float]] = {name: [] for name in seconds}
    for round_index in range(rounds):
        order = names[round_index % len(names):] + names[: round_index % len(names)]
        for name in order:
            tag = f"method{names.index(name)}-round{round_index}"
            measured = run_measured(methods[name](tag), envs[name])
            elapsed = float(measured.out.split()[-1]) if name.startswith("bare forward pass") else measured.seconds
            _record(seconds, cpu, rss, name, elapsed, measured)
            print(f"round {round_index + 1} {name:<27} {images / elapsed:6.2f} images/s ({elapsed:.1f} s)", flush=True)
            if name == "frechet":  # the same command again, on the cache it just filled
                warm = run_measured(methods[name](tag), env)
                _record(seconds, cpu, rss, "frechet, warm cache", warm.seconds, warm)
                print(f"round {round_index + 1} {'frechet, warm cache':<27} {warm.seconds:.2f} s", flush=True)
    memory = _memory(work, env, memory_items)
    agreement = _agreement(*(work / f"method{names.index(name)}-round0.npz"
                             for name in ("pytorch-fid", "frechet (pytorch-fid mode)")))
    return {**_summary(images, seconds, cpu, rss, memory, agreement, before), "load": {"start": load, "end": machine_load()}}


def _record(seconds: dict, cpu: dict, rss: dict, name: str, elapsed: float, measured) -> None:
    seconds[name].append(elapsed)
    cpu[name].append(measured.cpu_seconds)
    rss[name].append(measured.rss_mib)


def _memory(work: Path, env: dict[str, str], counts: tuple[int, int]) -> dict[str, dict[str, float]]:
    """Peak RSS and time of a statistics-only run over each item count (16×16 PNGs, PixelProjection)."""
    env = {**env, "PYTHONPATH": os.pathsep.join(filter(None, [str(BENCH), env.get("PYTHONPATH", "")]))}
    largest = work / f"png{max(counts)}"
    write_image_set(largest, max(counts), seed=16, variant=0, sizes=((16, 16),), formats=("png",))
    found = {}
    for count in sorted(counts):
        folder = largest if count == max(counts) else work / f"png{count}"
        if folder != largest:
            folder.mkdir()
            for path in sorted(largest.iterdir())[:count]:
                os.link(path, folder / path.name)
        command = [sys.executable, "-m", "frechet", "stats", str(folder), "-o", str(work / f"memory{count}.npz"),
                   "--embedder", "python:harness:PixelProjection", "--device", "cpu", "--quiet", "--json",
                   "--cache-dir", str(work / f"memory-cache{count}")]
        measured = run_measured(command, env)
        report = json.loads(measured.out.strip().splitlines()[-1])
        assert report["n"] == count and report["dim"] == 2048, report
        found[str(count)] = {"rss_mib": measured.rss_mib, "seconds": measured.seconds}
        print(f"memory: {count} items, peak RSS {measured.rss_mib:.0f} MiB ({measured.seconds:.1f} s)", flush=True)
    return found


def _agreement(theirs: Path, ours: Path) -> float:
    """Max |Δμ| between pytorch-fid's statistics and frechet's in pytorch-fid mode: the same numbers?"""
    with np.load(theirs) as a, np.load(ours) as b:
        return float(np.abs(a["mu"] - b["mu"]).max())


def _summary(
    images: int, seconds: dict, cpu: dict, rss: dict, memory: dict, agreement: float, before: str | None
) -> dict:
    best = {name: min(values) for name, values in seconds.items()}
    median = {name: float(np.median(values)) for name, values in seconds.items()}
    rate = {name: images / value for name, value in median.items() if name != "frechet, warm cache"}
    ratios = {
        "vs_pytorch_fid": rate["frechet"] / rate["pytorch-fid"],
        "vs_pytorch_fid_like_for_like": rate["frechet (pytorch-fid mode)"] / rate["pytorch-fid"],
        "vs_pytorch_fid_sleeping": rate["frechet"] / rate["pytorch-fid" + SLEEPING],
        "vs_forward": rate["frechet"] / rate["bare forward pass" + SLEEPING],
        "vs_forward_pytorch_fid_mode": rate["frechet (pytorch-fid mode)"] / rate["bare forward pass" + SLEEPING],
        "vs_forward_today": rate["frechet"] / rate["bare forward pass"],
        "warm_speedup": best["frechet"] / best["frechet, warm cache"],
        "rss_growth": memory[max(memory, key=int)]["rss_mib"] / memory[min(memory, key=int)]["rss_mib"],
    }
    if before:
        ratios["vs_forward_before"] = rate["frechet"] / rate[_at("bare forward pass", before)]
        ratios["forward_vs_forward_before"] = rate["bare forward pass"] / rate[_at("bare forward pass", before)]
        ratios["end_to_end_vs_before"] = rate["frechet"] / rate[_at("frechet", before)]
        ratios["workers_end_to_end_vs_before"] = rate["frechet --workers 2"] / rate[_at("frechet --workers 2", before)]
    return {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "torch": torch.__version__,
        "images": images,
        "image_size": SIZE,
        "batch_size": {"frechet": BATCH, "pytorch-fid": PYTORCH_FID_BATCH},
        "default_workers": default_workers([InceptionEmbedder()], images, BATCH),
        "seconds_per_round": seconds,
        "cpu_seconds_per_round": cpu,
        "peak_rss_mib_per_round": rss,
        "best_seconds": best,
        "median_seconds": median,
        "images_per_s": rate,
        "ratios": ratios,
        "bars": BARS,
        "passed": {
            key: (ratios[key] <= bar) if key == "rss_growth" else (ratios[key] >= bar)
            for key, bar in BARS.items() if key in ratios
        },
        "before": before,
        "memory": memory,
        "max_abs_mean_difference_vs_pytorch_fid": agreement,
    }


def report(results: dict) -> str:
    """The results as Markdown."""
    rate, best, ratios, images = results["images_per_s"], results["median_seconds"], results["ratios"], results["images"]
    cpu = {name: min(values) for name, values in results["cpu_seconds_per_round"].items()}
    rss = {name: max(values) for name, values in results["peak_rss_mib_per_round"].items()}
    forward = rate["bare forward pass" + SLEEPING]
    lines = [
        f"Machine: {results['machine']}; torch {results['torch']}; {images} generated {SIZE}×{SIZE} JPEGs, "
        f"the same files and random weights for both tools; median of {len(results['seconds_per_round']['frechet'])} "
        f"rounds (methods interleaved). Machine load (1/5/15 min) {results['load']['start']} at the start, "
        f"{results['load']['end']} at the end (2 cores).",
        "",
        "| method | images/s | vs pytorch-fid | % of the bare forward pass (threads sleeping) | CPU s / 1000 images "
        "| peak RSS |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name in rate:
        share = f"{100 * rate[name] / forward:.0f}%" if not name.startswith("pytorch-fid") else "–"
        cpu_cell = f"{1000 * cpu[name] / images:.0f}" if not name.startswith("bare forward pass") else "–"
        label = f"frechet (defaults: {results['default_workers']} workers here)" if name == "frechet" else name
        lines.append(f"| {label} | {rate[name]:.2f} | {rate[name] / rate['pytorch-fid']:.2f}× | {share} | "
                     f"{cpu_cell} | {rss[name]:.0f} MiB |")
    memory = results["memory"]
    small, large = min(memory, key=int), max(memory, key=int)
    passed = {key: "met" if ok else "**missed**" for key, ok in results["passed"].items()}
    lines += [
        "",
        f"Warm cache: the same `frechet stats` command again takes {best['frechet, warm cache']:.2f} s against "
        f"{best['frechet']:.1f} s cold: {ratios['warm_speedup']:.0f}× faster.",
        "",
        "Memory of a statistics-only run (16×16 PNGs, 2048-d `PixelProjection`): peak RSS "
        f"{memory[small]['rss_mib']:.0f} MiB for {int(small):,} items, {memory[large]['rss_mib']:.0f} MiB for "
        f"{int(large):,} items ({ratios['rss_growth']:.2f}×).",
        "",
        "| bar | measured | result |",
        "|---|---:|---|",
        f"| end to end vs pytorch-fid ≥ {BARS['vs_pytorch_fid']}× | {ratios['vs_pytorch_fid']:.2f}× "
        f"(pytorch-fid mode {ratios['vs_pytorch_fid_like_for_like']:.2f}×; against pytorch-fid with idle threads "
        f"sleeping {ratios['vs_pytorch_fid_sleeping']:.2f}×) | {passed['vs_pytorch_fid']} |",
        f"| end to end ≥ {BARS['vs_forward_today']}× the bare forward pass (OpenMP default) | "
        f"{ratios['vs_forward_today']:.2f}× | {passed['vs_forward_today']} |",
        f"| end to end ≥ {100 * BARS['vs_forward']:.0f}% of the bare forward pass, idle threads sleeping | "
        f"{100 * ratios['vs_forward']:.0f}% (pytorch-fid mode {100 * ratios['vs_forward_pytorch_fid_mode']:.0f}%) | "
        f"{passed['vs_forward']} |",
        *([f"| end to end ≥ {BARS['vs_forward_before']}× the bare forward pass at {results['before']} | "
           f"{ratios['vs_forward_before']:.2f}× (bare forward pass {ratios['forward_vs_forward_before']:.2f}×) | "
           f"{passed['vs_forward_before']} |",
           f"| (no bar) `frechet stats` against the same command at {results['before']} | "
           f"{ratios['end_to_end_vs_before']:.2f}× "
           f"(with 2 workers {ratios['workers_end_to_end_vs_before']:.2f}×) | – |"]
          if results["before"] else []),
        f"| warm-cache re-run ≥ {BARS['warm_speedup']:.0f}× faster | {ratios['warm_speedup']:.0f}× | "
        f"{passed['warm_speedup']} |",
        f"| peak RSS, {int(large):,} vs {int(small):,} items ≤ {BARS['rss_growth']}× | "
        f"{ratios['rss_growth']:.2f}× | {passed['rss_growth']} |",
        "",
        f"Same numbers: max |Δμ| between frechet's pytorch-fid-mode statistics and pytorch-fid's: "
        f"{results['max_abs_mean_difference_vs_pytorch_fid']:.1e}.",
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--reference-python", default=REFERENCE_PYTHON)
    parser.add_argument("--memory-items", type=int, nargs=2, default=MEMORY_ITEMS, metavar=("SMALL", "LARGE"))
    parser.add_argument("--before", metavar="REV",
                        help="also time the bare forward pass and frechet stats (default, 2 workers) with frechet's "
                             "code at git revision REV")
    parser.add_argument("--out", type=Path, help="write OUT.md and OUT.json")
    args = parser.parse_args()
    results = run(args.images, args.rounds, args.reference_python, tuple(args.memory_items), args.before)
    publish(report(results), results, args.out)


if __name__ == "__main__":
    main()
