"""GuacaMol's FCD benchmark score, exp(-0.2 · FCD): reported next to the FCD, never in its place.

GuacaMol ranks a generator by this score (1 for identical distributions, falling towards 0), while papers quote the
FCD itself; mixing the two is a common error, so the score has its own key, ``guacamol_fcd_score``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from frechet.metrics.base import Metric, MetricContext, Need, Side
from frechet.metrics.fd import checked_fd

#: GuacaMol's scale of the FCD in its score.
SCALE = 0.2
#: What GuacaMol samples from each side, and the seed of its reference sample.
SAMPLE_SIZE = 10_000
SEED = 42


def guacamol_sample(smiles: Sequence[str], size: int = SAMPLE_SIZE, seed: int = SEED) -> list[str]:
    """The reference sample GuacaMol draws from a training set (``get_random_subset``: NumPy's legacy generator
    seeded with 42, ``choice(..., replace=False)``), in its order."""
    if len(smiles) < size:
        raise ValueError(f"GuacaMol samples {size:,} molecules, but only {len(smiles):,} were given")
    return [smiles[index] for index in np.random.RandomState(seed).choice(len(smiles), size, replace=False)]


def guacamol_score(fcd: float) -> float:
    """exp(-0.2 · FCD), as GuacaMol's ``FrechetBenchmark`` scores."""
    return math.exp(-SCALE * fcd)


class GuacaMolScoreMetric(Metric):
    """``fcd`` and GuacaMol's ``guacamol_fcd_score`` = exp(-0.2 · fcd) on the chosen output."""

    name = "guacamol"

    def needs(self, context: MetricContext) -> list[Need]:
        return [Need(context.output, "stats")]

    def compute(self, real: Side, fake: Side, context: MetricContext) -> dict[str, Any]:
        value = checked_fd(real, fake, context.output, context.seed, name=self.name, progress=context.progress)
        return {"guacamol_fcd": value, "guacamol_fcd_score": guacamol_score(value)}
