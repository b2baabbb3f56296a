"""Monge Inception Distance (Berthet et al. 2026): 3·d times the sliced squared 2-Wasserstein distance of two sets.

    MIND = 3d / (n·M) Σᵢ Σⱼ (sort(X uᵢ)ⱼ − sort(Y uᵢ)ⱼ)²

over M random unit directions uᵢ (``mind_directions``, 1000). In one dimension the optimal transport pairs the
order statistics, so each direction costs a sort. The sides are brought to the smaller count n first: the larger
one is subsampled by a seeded permutation (none when the counts are equal). As torch-fidelity's ``metric_mind``
(unreleased, on its master branch), whose values this reproduces: a CPU ``torch.Generator`` seeded with the seed
draws ``randperm`` of the larger side (first n taken), then the directions as float32 ``randn(M, d)``, each
divided by its norm. frechet projects and sorts in float64 (torch-fidelity in float32), in blocks of directions.

Sorting needs every row: nothing streams, both sides' features are kept (N · d float32 each) and each block of
directions adds 2 · n · block float64 projections (at most 256 MiB). Cost: 2 · n · d · M multiply-adds and 2M sorts
of n values.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import numpy as np
import torch

from frechet.caller import spell_metric_option
from frechet.errors import ConfigError, InputError
from frechet.metrics._options import whole_number
from frechet.metrics._pairwise import feature_pair, spans
from frechet.metrics.base import Metric, MetricContext, Need, Side, too_few
from frechet.memory import describe_bytes, shortfall
from frechet.progress import track

log = logging.getLogger("frechet")

DIRECTIONS = 1000
#: Projection values per block (both sides): 2 · 2²⁴ float64 values are 256 MiB.
_BLOCK_VALUES = 2**24


def mind(
    real: np.ndarray | torch.Tensor,
    fake: np.ndarray | torch.Tensor,
    *,
    directions: int = DIRECTIONS,
    seed: int = 2020,
    device: str | torch.device | None = None,
    progress: bool | None = False,
) -> float:
    """MIND between (N, d) ``real`` and (M, d) ``fake`` features over ``directions`` seeded random directions."""
    real_t, fake_t = feature_pair(real, fake, device, "MIND")
    if directions < 1:
        raise InputError(f"MIND needs at least 1 direction, got {directions}")
    n, dim = min(real_t.shape[0], fake_t.shape[0]), real_t.shape[1]
    _check_room(directions, dim)  # where the embedder does not declare its width, known only now
    generator = torch.Generator(device="cpu").manual_seed(seed)
    sides = []
    for rows in (real_t, fake_t):  # only the larger side is permuted, so the order of the sides does not matter
        if rows.shape[0] > n:
            rows = rows[torch.randperm(rows.shape[0], generator=generator)[:n].to(rows.device)]
        sides.append(rows)
    units = torch.randn(directions, dim, generator=generator, dtype=torch.float32)
    units = (units / units.norm(dim=1, keepdim=True).clamp_min(1e-12)).to(device=sides[0].device, dtype=torch.float64)
    step = max(1, _BLOCK_VALUES // n)
    blocks = range(0, directions, step)
    total = torch.zeros((), dtype=torch.float64, device=sides[0].device)
    for start in track(blocks, len(blocks), "mind", unit="block", show=progress):
        block = units[start : start + step].T
        first, second = (torch.sort(_project(rows, block), dim=0).values for rows in sides)
        total += ((first - second) ** 2).sum()
    return 3.0 * dim * float(total) / (n * directions)


def _project(rows: torch.Tensor, directions: torch.Tensor) -> torch.Tensor:
    """rows @ directions in float64, converting the rows span by span (no float64 copy of the whole matrix)."""
    return torch.cat([rows[span].to(torch.float64) @ directions for span in spans(rows.shape[0])])


class MINDMetric(Metric):
    """Key ``mind``; option ``mind_directions`` (1000)."""

    name = "mind"
    options = {"mind_directions": DIRECTIONS}

    def needs(self, context: MetricContext) -> list[Need]:
        return [Need(context.output, "features")]

    def check_sizes(self, sizes: Mapping[str, int | None], context: MetricContext, *, exact: bool = True) -> None:
        for label, count in sizes.items():
            if count is not None and count < 1:
                too_few(f"mind: the {label} side has no items", exact=exact)
        known = [count for count in sizes.values() if count is not None]
        if len(known) == 2 and min(known) < max(known) and exact:
            log.info("mind: the larger side is subsampled to the smaller side's %d items", min(known))
        _check_room(whole_number(context.options, "mind_directions"), context.outputs.get(context.output))

    def compute(self, real: Side, fake: Side, context: MetricContext) -> dict[str, Any]:
        value = mind(
            real.features_of(context.output, self.name),
            fake.features_of(context.output, self.name),
            directions=whole_number(context.options, "mind_directions"),
            seed=context.seed,
            device=context.device,
            progress=context.progress,
        )
        return {"mind": value}


def _check_room(directions: int, dim: int | None) -> None:
    """Refuse, before any work, more directions than memory can hold (each a d-vector in float32 and float64)."""
    if dim is None:
        return
    needed = directions * dim * 12
    available = shortfall(needed)
    if available is not None:
        raise ConfigError(f"mind: {spell_metric_option('mind_directions', directions)} at d = {dim} needs "
                          f"{describe_bytes(needed)} for its directions, more than the {describe_bytes(available)} "
                          "of memory available; use fewer directions")
