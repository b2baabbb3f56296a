"""Benchmark: FD of few samples of wide features (N ≪ d) end to end, against the covariance (moments) route.

    python bench/wide_features.py [--dims 2000 5000 10000 20000] [--n 6] [--baseline-up-to 10000]
                                  [--out bench/results/wide_features]

For each d: two (N, d) float64 ``.npy`` files. "frechet" is ``frechet compute a.npy b.npy`` in a subprocess (the rows
are the statistics' state and the Gram form is used end to end, no d × d matrix); the baseline, in a subprocess of
the same run, forms both covariances with ``np.cov`` and calls ``frechet_distance`` on the moments, which is the
work any moments-based route does (and what frechet did before: 289 s and 15.9 GB at d = 20,000, N = 6, as
measured when the problem was reported). Wall time and peak RSS are those of each subprocess alone; the baseline is
skipped above ``--baseline-up-to`` (it needs about 4 d² × 8 bytes).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
from pathlib import Path

import numpy as np

from harness import Measured, publish, run_measured

_MOMENTS = (
    "import sys, numpy as np\n"
    "from frechet import frechet_distance\n"
    "a, b = np.load(sys.argv[1]), np.load(sys.argv[2])\n"
    "print(frechet_distance(a.mean(0), np.cov(a, rowvar=False), b.mean(0), np.cov(b, rowvar=False)))\n"
)


def run(dims: list[int], n: int, baseline_up_to: int, work: Path) -> list[dict[str, float | None]]:
    """Measure both routes per d; returns one row per d."""
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    rows = []
    for d in dims:
        rng = np.random.default_rng(d)
        a, b = work / f"a{d}.npy", work / f"b{d}.npy"
        np.save(a, rng.standard_normal((n, d)))
        np.save(b, rng.standard_normal((n, d)) + 0.1)
        ours = run_measured([sys.executable, "-m", "frechet", "compute", str(a), str(b), "--json", "--quiet",
                             "--no-cache"], env)
        value = json.loads(ours.out.splitlines()[-1])["fd"]
        baseline: Measured | None = None
        if d <= baseline_up_to:
            baseline = run_measured([sys.executable, "-c", _MOMENTS, str(a), str(b)], env)
        rows.append({
            "d": d, "n": n, "ours_s": ours.seconds, "ours_rss_mib": ours.rss_mib,
            "moments_s": baseline.seconds if baseline else None,
            "moments_rss_mib": baseline.rss_mib if baseline else None,
            "rel_diff": abs(float(baseline.out) - value) / value if baseline else None,
        })
        print(json.dumps(rows[-1]), flush=True)
    return rows


def table(rows: list[dict[str, float | None]]) -> str:
    """The results as Markdown, with the machine they were measured on."""
    lines = [
        f"Machine: {platform.machine()}, {os.cpu_count()} cores (shared; load average {os.getloadavg()[0]:.1f} at the "
        f"end of the run); numpy {np.__version__}. Each time is one subprocess, start-up and imports included.",
        "",
        "| d | N | frechet compute | peak RSS | covariance route | peak RSS | time ratio | memory ratio | rel. diff |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        if row["moments_s"] is None:
            lines.append(f"| {row['d']} | {row['n']} | {row['ours_s']:.1f} s | {row['ours_rss_mib']:.0f} MiB "
                         "| – | – | – | – | – |")
            continue
        lines.append(
            f"| {row['d']} | {row['n']} | {row['ours_s']:.1f} s | {row['ours_rss_mib']:.0f} MiB | "
            f"{row['moments_s']:.1f} s | {row['moments_rss_mib']:.0f} MiB | "
            f"{row['moments_s'] / row['ours_s']:.1f}× | {row['moments_rss_mib'] / row['ours_rss_mib']:.1f}× | "
            f"{row['rel_diff']:.1e} |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dims", type=int, nargs="+", default=[2000, 5000, 10000, 20000])
    parser.add_argument("--n", type=int, default=6)
    parser.add_argument("--baseline-up-to", type=int, default=10000)
    parser.add_argument("--out", type=Path, help="write OUT.md and OUT.json")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work:
        rows = run(args.dims, args.n, args.baseline_up_to, Path(work))
    publish(table(rows), {"rows": rows}, args.out)


if __name__ == "__main__":
    main()
