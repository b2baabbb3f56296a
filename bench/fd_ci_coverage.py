"""Coverage of fd-ci's interval, by simulation from Gaussians whose Fréchet distance is known in closed form.

    python bench/fd_ci_coverage.py [--repeats 1000 200] [--cells 256:2,256:5] [--partial CELLS.jsonl]
                                   [--from-partial CELLS.jsonl ...] [--out bench/results/fd_ci_coverage]

For d = 16 and d = 256 one pair of populations is fixed (seeded): the reference N(0, Σ₁) with a power-law spectrum
λᵢ = i^(−½), the other N(δ, Σ₂) with Σ₂ = 0.9 Σ₁ + 0.1 Q diag(λᵢ e^(0.3 zᵢ)) Qᵀ (Q a random rotation, zᵢ standard
normal) and δ = 0.3 Σ₁^½ z. Their FD is exact (``frechet_distance`` of the population moments). For each N/d in
2, 5, 20, 100 and each repeat, N samples are drawn on each side and fd-ci's half-samples are computed once with the
defaults (200 half-samples of 50 groups, seed = the repeat); the 90 % and 95 % intervals both come from them. The
table reports, per cell, how often each interval covers the population FD, how often it holds the plain FD (always,
by construction), their mean width, and the mean error of the plain and the bias-corrected FD. Writes OUT.md and
OUT.json. Run it under ``flock /tmp/frechet-heavy.lock``: the d = 256 cells take most of the time (about 40 CPU
minutes in all); ``--cells`` and ``--partial`` split them over processes, ``--from-partial`` joins the results.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # a d × d eigenproblem per replicate: threads only contend

import numpy as np  # noqa: E402

from frechet.distance import frechet_distance  # noqa: E402
from frechet.metrics.bootstrap import half_samples  # noqa: E402
from harness import publish  # noqa: E402

DIMS = (16, 256)
RATIOS = (2, 5, 20, 100)
CONFIDENCES = (0.90, 0.95)


def population(dim: int, seed: int = 19) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(μ₁, Σ₁, μ₂, Σ₂) of the two Gaussians for dimension ``dim``."""
    rng = np.random.default_rng(seed)
    spectrum = 1.0 / np.sqrt(np.arange(1, dim + 1))
    rotation, _ = np.linalg.qr(rng.standard_normal((dim, dim)))
    other = rotation @ np.diag(spectrum * np.exp(0.3 * rng.standard_normal(dim))) @ rotation.T
    sigma1 = np.diag(spectrum)
    sigma2 = 0.9 * sigma1 + 0.1 * other
    shift = 0.3 * np.sqrt(spectrum) * rng.standard_normal(dim)
    return np.zeros(dim), sigma1, shift, sigma2


def cell(dim: int, ratio: int, repeats: int) -> dict:
    """Coverage and widths of the 90 % and 95 % intervals over ``repeats`` simulated data sets."""
    mu1, sigma1, mu2, sigma2 = population(dim)
    truth = frechet_distance(mu1, sigma1, mu2, sigma2)
    factors = np.linalg.cholesky(sigma1), np.linalg.cholesky(sigma2)
    n = dim * ratio
    rng = np.random.default_rng([dim, ratio])
    tallies = {c: {"covers": 0, "holds_fd": 0, "width": 0.0} for c in CONFIDENCES}
    plain, corrected = [], []
    start = time.perf_counter()
    for repeat in range(repeats):
        real = (rng.standard_normal((n, dim)) @ factors[0].T + mu1).astype(np.float32)
        fake = (rng.standard_normal((n, dim)) @ factors[1].T + mu2).astype(np.float32)
        samples = half_samples(real, fake, seed=repeat)
        plain.append(samples.fd)
        corrected.append(samples.fd - samples.bias)
        for confidence, tally in tallies.items():
            interval = samples.interval(confidence)
            tally["covers"] += interval.low <= truth <= interval.high
            tally["holds_fd"] += interval.low <= samples.fd <= interval.high
            tally["width"] += interval.high - interval.low
    return {
        "d": dim, "n_per_side": n, "n_over_d": ratio, "repeats": repeats, "population_fd": truth,
        "plain_fd_error": float(np.mean(plain) - truth), "plain_fd_sd": float(np.std(plain)),
        "corrected_fd_error": float(np.mean(corrected) - truth), "corrected_fd_sd": float(np.std(corrected)),
        "seconds": time.perf_counter() - start,
        **{f"coverage_{round(c * 100)}": t["covers"] / repeats for c, t in tallies.items()},
        **{f"holds_fd_{round(c * 100)}": t["holds_fd"] / repeats for c, t in tallies.items()},
        **{f"width_{round(c * 100)}": t["width"] / repeats for c, t in tallies.items()},
    }


def table(cells: list[dict]) -> str:
    lines = [
        "# fd-ci coverage (bench/fd_ci_coverage.py)",
        "",
        "Gaussians with a closed-form FD; defaults (200 half-samples, 50 groups). Binomial standard error of a",
        "coverage p over R repeats: √(p(1 − p)/R), e.g. 1.0 point for 90 % at R = 1000 and 2.1 points at R = 200.",
        "",
        "| d | N/d | N per side | repeats | population FD | plain FD − FD (sd) | corrected − FD (sd) "
        "| 90 % covers | 95 % covers | holds FD | width 90 / 95 % |",
        "|---|-----|------------|---------|---------------|--------------------|---------------------"
        "|-------------|-------------|----------|-----------------|",
    ]
    for c in cells:
        lines.append(
            f"| {c['d']} | {c['n_over_d']} | {c['n_per_side']} | {c['repeats']} | {c['population_fd']:.4g} "
            f"| {c['plain_fd_error']:+.3g} ({c['plain_fd_sd']:.2g}) "
            f"| {c['corrected_fd_error']:+.3g} ({c['corrected_fd_sd']:.2g}) "
            f"| {100 * c['coverage_90']:.1f} % | {100 * c['coverage_95']:.1f} % "
            f"| {100 * min(c['holds_fd_90'], c['holds_fd_95']):.0f} % "
            f"| {c['width_90']:.3g} / {c['width_95']:.3g} |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, nargs=2, default=(1000, 200), metavar=("D16", "D256"),
                        help="simulated data sets per cell for d = 16 and d = 256")
    parser.add_argument("--cells", help="only these d:N/d cells, e.g. 256:2,256:5 (default: all)")
    parser.add_argument("--partial", type=Path, help="append each finished cell to this file as a JSON line")
    parser.add_argument("--from-partial", type=Path, nargs="+", metavar="FILE",
                        help="publish the table from these --partial files instead of simulating")
    parser.add_argument("--out", type=Path, help="write OUT.md and OUT.json")
    args = parser.parse_args()
    if args.from_partial:
        cells = [json.loads(line) for path in args.from_partial for line in path.read_text().splitlines() if line]
        cells.sort(key=lambda c: (c["d"], c["n_over_d"]))
    else:
        repeats = dict(zip(DIMS, args.repeats))
        chosen = [(dim, ratio) for dim in DIMS for ratio in RATIOS]
        if args.cells:
            chosen = [tuple(int(part) for part in item.split(":")) for item in args.cells.split(",")]
        cells = []
        for dim, ratio in chosen:
            cells.append(cell(dim, ratio, repeats[dim]))
            print(f"d={dim} N/d={ratio}: {cells[-1]['seconds']:.0f} s", flush=True)
            if args.partial:
                with args.partial.open("a") as partial:
                    partial.write(json.dumps(cells[-1]) + "\n")
    publish(table(cells), {"cells": cells}, args.out)


if __name__ == "__main__":
    main()
