"""Benchmark: frechet's Fréchet distance vs the scipy ``sqrtm`` formula (pytorch-fid/TTUR), timed in the same run.

    python bench/distance.py [--dims 64 768 2048] [--checkpoints 5] [--out bench/results/distance.md]

For each d: covariances of 3·d correlated Gaussian samples; the reference formula is
``‖μ₁−μ₂‖² + tr Σ₁ + tr Σ₂ − 2 tr Re sqrtm(Σ₁Σ₂)``. "ours" is ``frechet_distance``; "ours, reused reference" is
``FrechetReference(reference).distance(checkpoint)`` averaged over several checkpoints (one reference, many models).
Each time is the best of a few rounds in which the methods take turns, so background load hits them alike.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import scipy
import scipy.linalg

from frechet import FrechetReference, frechet_distance


def _covariance(d: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    mixing = rng.standard_normal((d, d)) / np.sqrt(d)
    x = rng.standard_normal((3 * d, d)) @ mixing + rng.standard_normal(d) * 0.1
    return x.mean(axis=0), np.cov(x, rowvar=False)


def _sqrtm_formula(mu1: np.ndarray, s1: np.ndarray, mu2: np.ndarray, s2: np.ndarray) -> float:
    root = scipy.linalg.sqrtm(s1 @ s2)
    return float(((mu1 - mu2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2 * np.trace(root).real)


def _interleaved_best_times(functions: dict[str, Callable[[], float]], rounds: int) -> dict[str, tuple[float, float]]:
    """Best time and value of each function, run in turns so that background load hits all of them alike."""
    best = {name: (float("inf"), float("nan")) for name in functions}
    for _ in range(rounds):
        for name, function in functions.items():
            start = time.perf_counter()
            value = function()
            elapsed = time.perf_counter() - start
            best[name] = (min(best[name][0], elapsed), value)
    return best


def run(dims: list[int], checkpoints: int) -> list[dict[str, float]]:
    """Time both methods per dimension; returns one row per d."""
    rows = []
    for d in dims:
        mu1, s1 = _covariance(d, seed=1)
        others = [_covariance(d, seed=2 + k) for k in range(checkpoints)]
        mu2, s2 = others[0]
        prepared = FrechetReference(mu1, s1)
        times = _interleaved_best_times(
            {
                "sqrtm": lambda: _sqrtm_formula(mu1, s1, mu2, s2),
                "ours": lambda: frechet_distance(mu1, s1, mu2, s2),
                "reused": lambda: [prepared.distance(mu, s) for mu, s in others][0],
            },
            rounds=3 if d >= 1024 else 7,
        )
        (reference_time, reference_value), (ours_time, ours_value) = times["sqrtm"], times["ours"]
        reused_time, reused_value = times["reused"][0] / checkpoints, times["reused"][1]
        rows.append({
            "d": d,
            "sqrtm_s": reference_time,
            "ours_s": ours_time,
            "reused_s": reused_time,
            "speedup": reference_time / ours_time,
            "speedup_reused": reference_time / reused_time,
            "rel_diff": abs(ours_value - reference_value) / abs(reference_value),
            "rel_diff_reused": abs(reused_value - ours_value) / abs(ours_value),
        })
        print(f"d={d}: sqrtm {reference_time:.4f}s, ours {ours_time:.4f}s ({rows[-1]['speedup']:.1f}x), "
              f"reused {reused_time:.4f}s ({rows[-1]['speedup_reused']:.1f}x), rel diff {rows[-1]['rel_diff']:.2e}",
              flush=True)
    return rows


def table(rows: list[dict[str, float]]) -> str:
    """The results as a Markdown table with the machine it ran on."""
    lines = [
        f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores; numpy {np.__version__}, "
        f"scipy {scipy.__version__}.",
        "",
        "| d | scipy sqrtm formula | frechet | speed-up | frechet, reused reference | speed-up | rel. difference |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        lines.append(
            f"| {row['d']} | {row['sqrtm_s'] * 1e3:.1f} ms | {row['ours_s'] * 1e3:.1f} ms | {row['speedup']:.1f}× | "
            f"{row['reused_s'] * 1e3:.1f} ms | {row['speedup_reused']:.1f}× | {row['rel_diff']:.1e} |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dims", type=int, nargs="+", default=[64, 768, 2048])
    parser.add_argument("--checkpoints", type=int, default=5, help="checkpoints compared with one reference")
    parser.add_argument("--out", type=Path, help="also write the Markdown table here")
    args = parser.parse_args()
    text = table(run(args.dims, args.checkpoints))
    print(text)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text)


if __name__ == "__main__":
    main()
