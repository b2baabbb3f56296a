"""How far MIND and FD at N = 1k and 5k samples per side stray from their large-N values, on generated features.

    python bench/mind_variance.py [--dim 512] [--large 50000] [--repeats 20] [--out bench/results/mind_variance]

Features come from a fixed random two-layer ReLU network (seeded) applied to 64-d Gaussian latents, so they are
non-negative, correlated and non-Gaussian like a backbone's pooled features: real = f(z), fake = f(0.9 z + 0.15),
z ~ N(0, I). The large-N value of each metric is computed once from ``--large`` fresh samples per side; at N = 1k
and 5k, ``--repeats`` fresh draws give each metric's mean and standard deviation (MIND with 1000 directions and a
new seed per draw, so the directions vary too). Writes OUT.md and OUT.json.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402

from frechet import FeatureStats, frechet_distance  # noqa: E402
from frechet.metrics.mind import mind  # noqa: E402
from harness import publish  # noqa: E402

LATENT = 64
SIZES = (1000, 5000)


class Generator:
    """A fixed random map from 64-d Gaussian latents to ``dim`` non-negative features."""

    def __init__(self, dim: int, seed: int = 2605) -> None:
        rng = np.random.default_rng(seed)
        self.first = rng.standard_normal((LATENT, dim)) / np.sqrt(LATENT)
        self.bias = 0.5 * rng.standard_normal(dim)
        self.second = rng.standard_normal((dim, dim)) / np.sqrt(dim)

    def sample(self, n: int, rng: np.random.Generator, *, fake: bool) -> np.ndarray:
        z = rng.standard_normal((n, LATENT))
        if fake:
            z = 0.9 * z + 0.15
        hidden = np.maximum(z @ self.first + self.bias, 0.0)
        return np.maximum(hidden @ self.second, 0.0).astype(np.float32)


def _both(generator: Generator, n: int, rng: np.random.Generator, seed: int) -> tuple[float, float]:
    real, fake = generator.sample(n, rng, fake=False), generator.sample(n, rng, fake=True)
    fd = frechet_distance(FeatureStats.from_features(real), FeatureStats.from_features(fake))
    return mind(real, fake, seed=seed), fd


def run(dim: int, large: int, repeats: int) -> dict:
    generator = Generator(dim)
    rng = np.random.default_rng(1)
    start = time.perf_counter()
    reference = dict(zip(("mind", "fd"), _both(generator, large, rng, 2020)))
    rows = []
    for n in SIZES:
        values = np.array([_both(generator, n, rng, 3000 + repeat) for repeat in range(repeats)])
        for column, name in enumerate(("mind", "fd")):
            mean, sd = float(values[:, column].mean()), float(values[:, column].std(ddof=1))
            rows.append({"metric": name, "n": n, "mean": mean, "sd": sd, "large_n_value": reference[name],
                         "mean_error_relative": mean / reference[name] - 1, "sd_relative": sd / reference[name]})
    return {"dim": dim, "large_n": large, "repeats": repeats, "rows": rows, "seconds": time.perf_counter() - start}


def table(result: dict) -> str:
    lines = [
        "# MIND and FD against their large-N values (bench/mind_variance.py)",
        "",
        f"Generated features: d = {result['dim']}, a fixed random ReLU network on 64-d Gaussian latents; "
        f"large-N values from {result['large_n']} samples per side; {result['repeats']} fresh draws per N.",
        "",
        "| metric | N per side | mean (sd) | large-N value | mean − large-N | sd / large-N |",
        "|--------|------------|-----------|---------------|----------------|--------------|",
    ]
    for row in result["rows"]:
        lines.append(
            f"| {row['metric']} | {row['n']} | {row['mean']:.4g} ({row['sd']:.2g}) | {row['large_n_value']:.4g} "
            f"| {100 * row['mean_error_relative']:+.1f} % | {100 * row['sd_relative']:.2f} % |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dim", type=int, default=512)
    parser.add_argument("--large", type=int, default=50000)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--out", type=Path, help="write OUT.md and OUT.json")
    args = parser.parse_args()
    result = run(args.dim, args.large, args.repeats)
    publish(table(result), result, args.out)


if __name__ == "__main__":
    main()
