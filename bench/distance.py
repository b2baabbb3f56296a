"""Benchmark: frechet's Fréchet distance vs the scipy ``sqrtm`` formula (pytorch-fid/TTUR), timed in the same run.

    python bench/distance.py [--dims 64 768 2048] [--ranks 100 1000] [--checkpoints 5] [--rounds R] [--out FILE]

For each d: covariances of 3·d correlated Gaussian samples; then, at the largest d, statistics of r + 1 samples
(covariances of rank r < d, as statistics files of fewer items than dimensions hold them: mean, covariance and
count, no samples). The baseline is pytorch-fid's ``calculate_frechet_distance``:
``‖μ₁−μ₂‖² + tr Σ₁ + tr Σ₂ − 2 tr Re sqrtm(Σ₁Σ₂)``. "frechet" is ``frechet_distance`` on the two statistics;
"arrays" is ``frechet_distance(mu1, sigma1, mu2, sigma2)`` on the same four arrays the baseline takes (each
covariance checked as a statistics file is: finite, symmetric, non-negative variances);
"reused reference" is ``FrechetReference(reference).distance(checkpoint)`` averaged over several checkpoints (one
reference, many models). Each time is the best of a few rounds (7, and from d = 1024 ``--rounds``, default 3) in
which the methods take turns, so background load hits them alike. On a machine shared with other work, run it with
``OPENBLAS_NUM_THREADS=1``: a BLAS thread that waits for a busy core slows every method many times over, and by
different factors. Accuracy is against the sqrtm
formula at full rank, and at rank r < d (where sqrtm itself is off by about 1e-8) against the exact float64 oracle:
the singular values of the centred samples' cross product.
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

from frechet import FeatureStats, FrechetReference, frechet_distance


def _samples(d: int, n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    mixing = rng.standard_normal((d, d)) / np.sqrt(d)
    return rng.standard_normal((n, d)) @ mixing + rng.standard_normal(d) * 0.1


def _statistics(x: np.ndarray) -> FeatureStats:
    """What a statistics file holds: mean, covariance and count (no samples)."""
    return FeatureStats.from_moments(x.mean(axis=0), np.cov(x, rowvar=False), n=len(x))


def _gram_oracle(x1: np.ndarray, x2: np.ndarray) -> float:
    """Exact FD for N ≤ d from the samples: the trace term is the nuclear norm of the centred cross product."""
    c1, c2 = x1 - x1.mean(axis=0), x2 - x2.mean(axis=0)
    nuclear = scipy.linalg.svdvals(c1 @ c2.T).sum() / np.sqrt((len(x1) - 1) * (len(x2) - 1))
    diff = x1.mean(axis=0) - x2.mean(axis=0)
    return float(diff @ diff + (c1 * c1).sum() / (len(x1) - 1) + (c2 * c2).sum() / (len(x2) - 1) - 2 * nuclear)


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


def run(dims: list[int], ranks: list[int], checkpoints: int, rounds: int = 3) -> list[dict[str, float]]:
    """Time both methods per case (full rank at each d, then rank r at the largest d); one row per case."""
    cases = [(d, 3 * d) for d in dims] + [(max(dims), r + 1) for r in ranks]
    rows = []
    for d, n in cases:
        samples = [_samples(d, n, seed=1 + k) for k in range(checkpoints + 1)]
        reference, *others = [_statistics(x) for x in samples]
        mu1, s1, mu2, s2 = reference.mean, reference.cov, others[0].mean, others[0].cov
        prepared = FrechetReference(reference)
        times = _interleaved_best_times(
            {
                "sqrtm": lambda: _sqrtm_formula(mu1, s1, mu2, s2),
                "ours": lambda: frechet_distance(reference, others[0]),
                "arrays": lambda: frechet_distance(mu1, s1, mu2, s2),
                "reused": lambda: [prepared.distance(other) for other in others][0],
            },
            rounds=rounds if d >= 1024 else 7,
        )
        (reference_time, reference_value), (ours_time, ours_value) = times["sqrtm"], times["ours"]
        reused_time, reused_value = times["reused"][0] / checkpoints, times["reused"][1]
        exact = reference_value if n > d else _gram_oracle(samples[0], samples[1])
        rows.append({
            "d": d,
            "rank": min(d, n - 1),
            "sqrtm_s": reference_time,
            "ours_s": ours_time,
            "arrays_s": times["arrays"][0],
            "reused_s": reused_time,
            "speedup": reference_time / ours_time,
            "speedup_arrays": reference_time / times["arrays"][0],
            "speedup_reused": reference_time / reused_time,
            "rel_diff": abs(ours_value - exact) / abs(exact),
            "rel_diff_arrays": abs(times["arrays"][1] - exact) / abs(exact),
            "rel_diff_reused": abs(reused_value - exact) / abs(exact),
            "sqrtm_rel_diff": abs(reference_value - exact) / abs(exact),
        })
        row = rows[-1]
        print(f"d={d} rank={row['rank']}: sqrtm {reference_time:.4f}s, ours {ours_time:.4f}s ({row['speedup']:.1f}x), "
              f"reused {reused_time:.4f}s ({row['speedup_reused']:.1f}x), rel diff {row['rel_diff']:.2e}", flush=True)
    return rows


def table(rows: list[dict[str, float]]) -> str:
    """The results as a Markdown table with the machine it ran on."""
    lines = [
        f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores; numpy {np.__version__}, "
        f"scipy {scipy.__version__}; BLAS threads {os.environ.get('OPENBLAS_NUM_THREADS', 'default')}; "
        f"load average {os.getloadavg()[0]:.1f} at the end.",
        "",
        "| d | rank | scipy sqrtm formula | frechet | speed-up | frechet, arrays | speed-up | "
        "frechet, reused reference | speed-up | rel. difference (arrays; reused) | sqrtm's rel. difference |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        lines.append(
            f"| {row['d']} | {row['rank']} | {row['sqrtm_s'] * 1e3:.1f} ms | {row['ours_s'] * 1e3:.1f} ms | "
            f"{row['speedup']:.1f}× | {row['arrays_s'] * 1e3:.1f} ms | {row['speedup_arrays']:.1f}× | "
            f"{row['reused_s'] * 1e3:.1f} ms | {row['speedup_reused']:.1f}× | "
            f"{row['rel_diff']:.1e} ({row['rel_diff_arrays']:.1e}; {row['rel_diff_reused']:.1e}) | {row['sqrtm_rel_diff']:.1e} |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dims", type=int, nargs="+", default=[64, 768, 2048])
    parser.add_argument("--ranks", type=int, nargs="*", default=[100, 1000],
                        help="covariance ranks (statistics of rank + 1 items) timed at the largest d")
    parser.add_argument("--checkpoints", type=int, default=5, help="checkpoints compared with one reference")
    parser.add_argument("--rounds", type=int, default=3, help="rounds per case from d = 1024 (smaller d: 7)")
    parser.add_argument("--out", type=Path, help="also write the Markdown table here")
    args = parser.parse_args()
    text = table(run(args.dims, args.ranks, args.checkpoints, args.rounds))
    print(text)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text)


if __name__ == "__main__":
    main()
