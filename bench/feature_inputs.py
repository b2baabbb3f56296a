"""Benchmark: statistics of a feature file through ``frechet stats`` against ``FeatureStats.from_features`` on the
same array, timed in the same run.

    python bench/feature_inputs.py [--rows 200000] [--dims 16] [--batch-sizes 8 64] [--threads 1 2]
                                   [--out bench/results/feature_inputs]

Both run in-process in a subprocess per measurement (imports excluded, each the best of three): ``frechet.compute_stats
(path, batch_size=B)`` — the runner, reading the file in blocks — and ``FeatureStats.from_features(np.load(path))``,
the floor. ``--threads`` sets torch's and OpenMP's thread counts, since small tensor operations on a loaded machine
run slower with more threads.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from harness import publish

_TIMED = (
    "import sys, time, numpy as np, frechet\n"
    "path, batch_size = sys.argv[1], int(sys.argv[2])\n"
    "frechet.compute_stats(np.zeros((8, 2)), progress=False)\n"
    "def best(function):\n"
    "    times = []\n"
    "    for _ in range(3):\n"
    "        start = time.perf_counter(); function(); times.append(time.perf_counter() - start)\n"
    "    return min(times)\n"
    "runner = best(lambda: frechet.compute_stats(path, batch_size=batch_size, progress=False))\n"
    "floor = best(lambda: frechet.FeatureStats.from_features(np.load(path)))\n"
    "print(runner, floor)\n"
)


def run(rows: int, dims: int, batch_sizes: list[int], threads: list[int], work: Path) -> list[dict[str, float]]:
    """Time the runner and the floor for each thread count and batch size."""
    path = work / "features.npy"
    np.save(path, np.random.default_rng(0).standard_normal((rows, dims)).astype(np.float32))
    results = []
    for count in threads:
        env = {**os.environ, "OMP_NUM_THREADS": str(count), "MKL_NUM_THREADS": str(count)}
        for batch_size in batch_sizes:
            done = subprocess.run([sys.executable, "-c", _TIMED, str(path), str(batch_size)], env=env,
                                  capture_output=True, text=True, check=True)
            runner, floor = map(float, done.stdout.split())
            results.append({"threads": count, "batch_size": batch_size, "rows": rows, "dims": dims,
                            "runner_s": runner, "from_features_s": floor})
            print(json.dumps(results[-1]), flush=True)
    return results


def table(results: list[dict[str, float]]) -> str:
    """The results as Markdown, with the machine they were measured on."""
    lines = [
        f"Machine: {platform.machine()}, {os.cpu_count()} cores (shared; load average {os.getloadavg()[0]:.1f} at the "
        f"end of the run); numpy {np.__version__}. {results[0]['rows']:,} × {results[0]['dims']} float32 rows in a "
        "`.npy` file. On a machine loaded beyond its cores, every small tensor operation waits for its other threads: "
        "the 1-thread rows show the work itself.",
        "",
        "| threads | --batch-size | frechet.compute_stats | FeatureStats.from_features | ratio |",
        "|---:|---:|---:|---:|---:|",
    ]
    for row in results:
        lines.append(f"| {row['threads']} | {row['batch_size']} | {row['runner_s']:.3f} s | "
                     f"{row['from_features_s']:.3f} s | {row['runner_s'] / row['from_features_s']:.2f}× |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--dims", type=int, default=16)
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[8, 64])
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--out", type=Path, help="write OUT.md and OUT.json")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work:
        results = run(args.rows, args.dims, args.batch_sizes, args.threads, Path(work))
    publish(table(results), {"results": results}, args.out)


if __name__ == "__main__":
    main()
