"""Time of fd-ci at d = 2048 with N = 50,000 generated rows against a reference statistics file of known size.

    nice python bench/fd_ci_cost.py [--dim 2048] [--rows 50000] [--pairs 3] [--out bench/results/fd_ci_cost]

Synthetic float32 features (a Gaussian with a power-law spectrum) stand in for an embedder's; the reference is the
statistics of 50,000 items of another such Gaussian, drawn from their sampling law. Times, in one process: the plain
FD (the baseline every fd-ci run pays too), the group moments of the generated side (one pass over the rows), and
``--pairs`` complementary pairs of half-samples (each: two merges of half the groups, two Gaussian replicates of the
reference, two FDs); the time per 200 half-samples is the measured time per half-sample × 200.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np
from scipy import stats as distributions

from frechet.distance import frechet_distance
from frechet.metrics.bootstrap import CHUNKS, ChunkMoments, GaussianReplicates
from frechet.stats import FeatureStats
from harness import publish


class _Clock:
    """Wall and process CPU seconds since the last lap."""

    def __init__(self) -> None:
        self.wall, self.cpu = time.perf_counter(), time.process_time()

    def lap(self) -> tuple[float, float]:
        wall, cpu = time.perf_counter(), time.process_time()
        lap = (wall - self.wall, cpu - self.cpu)
        self.wall, self.cpu = wall, cpu
        return lap


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dim", type=int, default=2048)
    parser.add_argument("--rows", type=int, default=50_000, help="generated rows (the time per half-sample does not "
                        "depend on it; the group moments are one pass over them)")
    parser.add_argument("--pairs", type=int, default=3, help="complementary half-sample pairs to time")
    parser.add_argument("--out", type=Path, help="write OUT.md and OUT.json")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    spectrum = 1.0 / np.sqrt(np.arange(1, args.dim + 1))
    features = np.empty((args.rows, args.dim), dtype=np.float32)
    for start in range(0, args.rows, 4096):
        block = rng.standard_normal((min(4096, args.rows - start), args.dim)) * np.sqrt(spectrum)
        features[start : start + len(block)] = block
    count = 50_000
    cov = distributions.wishart.rvs(count - 1, np.diag(spectrum * 1.1), random_state=rng) / (count - 1)
    reference = FeatureStats.from_moments(0.05 * rng.standard_normal(args.dim), cov, count)
    times = {}
    clock = _Clock()
    fd = frechet_distance(reference, FeatureStats.from_features(features))
    times["plain_fd"] = clock.lap()
    moments = ChunkMoments(features, CHUNKS, rng)
    replicates = GaussianReplicates(reference, count)
    times["setup"] = clock.lap()
    for _ in range(args.pairs):
        halves, _ = moments.pair(rng)
        drawn = replicates.pair(rng)
        for half in range(2):
            frechet_distance(*drawn[half], *halves[half])
    wall, cpu = clock.lap()
    per_half = (wall / (2 * args.pairs), cpu / (2 * args.pairs))
    results = {"dim": args.dim, "rows": args.rows, "reference_items": count, "fd": fd, "pairs": args.pairs,
               "per_half_sample_wall_cpu_s": per_half, "per_200_wall_cpu_s": [200 * value for value in per_half],
               **{f"{key}_wall_cpu_s": value for key, value in times.items()},
               "cpu_count": os.cpu_count(), "load_average": os.getloadavg()}
    text = "\n".join([
        "# fd-ci cost at d = 2048 (bench/fd_ci_cost.py)",
        "",
        f"{args.rows} generated rows, d = {args.dim}, against a statistics file of {count} items (parametric"
        f" replicates); {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at the end. CPU seconds are this"
        " process's (threads summed): on a machine shared with other work they, not the wall clock, say the cost.",
        "",
        "| step | wall s | CPU s |",
        "|------|--------|-------|",
        f"| plain FD (statistics of the rows + one FD) | {times['plain_fd'][0]:.1f} | {times['plain_fd'][1]:.1f} |",
        f"| group moments of the rows + the reference's eigendecomposition | {times['setup'][0]:.1f} "
        f"| {times['setup'][1]:.1f} |",
        f"| per half-sample (mean of {2 * args.pairs}) | {per_half[0]:.2f} | {per_half[1]:.2f} |",
        f"| per 200 half-samples (the default) | {200 * per_half[0]:.0f} | {200 * per_half[1]:.0f} |",
        "",
    ])
    publish(text, results, args.out)


if __name__ == "__main__":
    main()
