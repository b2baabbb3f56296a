"""Precision, recall, density and coverage in one blocked pass over k-nearest-neighbour distances.

Shared engine of :mod:`frechet.metrics.precision_recall` and :mod:`frechet.metrics.density_coverage`, and the
``prdc`` metric (all four numbers, as the prdc package of Naeem et al. reports them). Each side's k-NN radius comes
from one pass over the upper triangle of its own distance matrix; the four counts from one pass over the real × fake
distances. Every block is float64 and at most 2048 × 2048, so 50k × 50k needs no N² memory. Distances are compared
squared (same order as the distances).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import torch

from frechet.errors import InputError
from frechet.metrics._options import whole_number
from frechet.metrics._pairwise import CentredRows, block_pairs, centre_of, feature_pair, squared_distances
from frechet.metrics.base import Metric, MetricContext, Need, Side, too_few
from frechet.progress import Progress


def manifold_scores(
    real: np.ndarray | torch.Tensor,
    fake: np.ndarray | torch.Tensor,
    *,
    pr_nearest_k: int | None = None,
    dc_nearest_k: int | None = None,
    device: str | torch.device | None = None,
    progress: bool | None = False,
) -> dict[str, float]:
    """Precision/recall with ``pr_nearest_k`` and density/coverage with ``dc_nearest_k`` (None: skip that pair).

    Precision/recall use closed balls (distance ≤ radius: Kynkäänniemi et al., torch-fidelity); density/coverage
    open balls (distance < radius: Naeem et al.'s prdc package). A radius is the distance to the k-th nearest
    *other* sample of the same side, as both peers compute it.
    """
    metric = "precision/recall" if dc_nearest_k is None else "density/coverage" if pr_nearest_k is None else "prdc"
    real_t, fake_t = feature_pair(real, fake, device, metric)
    ks = [k for k in (pr_nearest_k, dc_nearest_k) if k is not None]
    for label, rows, k in (("real", real_t, max(ks)), ("fake", fake_t, pr_nearest_k)):
        if k is not None and rows.shape[0] <= k:  # the fake side has radii only for recall
            raise InputError(f"{metric}: nearest_k={k} needs more than {k} {label} samples, got {rows.shape[0]}")
    centre = centre_of(real_t)
    real_rows, fake_rows = CentredRows(real_t, centre), CentredRows(fake_t, centre)
    blocks = sum(1 for _ in block_pairs(len(real_rows))) + sum(1 for _ in block_pairs(len(fake_rows), len(real_rows)))
    if pr_nearest_k is not None:
        blocks += sum(1 for _ in block_pairs(len(fake_rows)))
    with Progress(blocks, metric, unit="block", show=progress) as bar:
        real_radii = _kth_neighbour_squared(real_rows, ks, bar)
        fake_radii = _kth_neighbour_squared(fake_rows, [pr_nearest_k], bar) if pr_nearest_k is not None else {}
        return _count(real_rows, fake_rows, real_radii, fake_radii, pr_nearest_k, dc_nearest_k, bar)


def _kth_neighbour_squared(rows: CentredRows, ks: list[int], bar: Progress) -> dict[int, torch.Tensor]:
    """Squared distance from each row to its k-th nearest other row, for each k: one pass over the upper triangle."""
    k_max = max(ks)
    nearest = torch.full((len(rows), k_max), torch.inf, dtype=torch.float64, device=rows.device)
    for span_a, span_b in block_pairs(len(rows)):
        block_a = rows.block(span_a)
        distances = squared_distances(block_a, rows.block(span_b) if span_b != span_a else block_a)
        if span_a == span_b:
            distances.fill_diagonal_(torch.inf)  # a sample is not its own neighbour
        nearest[span_a] = _smallest(nearest[span_a], distances, k_max)
        if span_a != span_b:
            nearest[span_b] = _smallest(nearest[span_b], distances.T, k_max)
        bar.update()
    return {k: nearest[:, k - 1] for k in ks}


def _smallest(current: torch.Tensor, candidates: torch.Tensor, k: int) -> torch.Tensor:
    """The k smallest values per row among ``current`` (sorted) and ``candidates``, sorted ascending."""
    take = min(k, candidates.shape[1])
    block_best = torch.topk(candidates, take, dim=1, largest=False, sorted=True).values
    return torch.topk(torch.cat([current, block_best], dim=1), k, dim=1, largest=False, sorted=True).values


def _count(
    real: CentredRows,
    fake: CentredRows,
    real_radii: dict[int, torch.Tensor],
    fake_radii: dict[int, torch.Tensor],
    pr_k: int | None,
    dc_k: int | None,
    bar: Progress,
) -> dict[str, float]:
    """One pass over fake × real distances accumulating the counts each asked-for score needs."""
    device = real.device
    in_real = torch.zeros(len(fake), dtype=torch.bool, device=device)  # precision: fake inside some real ball
    in_fake = torch.zeros(len(real), dtype=torch.bool, device=device)  # recall: real inside some fake ball
    balls_hit = torch.zeros(len(fake), dtype=torch.float64, device=device)  # density: real balls holding a fake
    nearest_fake = torch.full((len(real),), torch.inf, dtype=torch.float64, device=device)  # coverage
    for span_f, span_r in block_pairs(len(fake), len(real)):
        distances = squared_distances(fake.block(span_f), real.block(span_r))  # (fake rows, real rows)
        if pr_k is not None:
            in_real[span_f] |= (distances <= real_radii[pr_k][span_r]).any(dim=1)
            in_fake[span_r] |= (distances <= fake_radii[pr_k][span_f, None]).any(dim=0)
        if dc_k is not None:
            balls_hit[span_f] += (distances < real_radii[dc_k][span_r]).sum(dim=1)
            nearest_fake[span_r] = torch.minimum(nearest_fake[span_r], distances.min(dim=0).values)
        bar.update()
    scores: dict[str, float] = {}
    if pr_k is not None:
        scores.update(precision=_mean(in_real), recall=_mean(in_fake))
    if dc_k is not None:
        scores.update(
            density=float(balls_hit.sum()) / (dc_k * len(fake)),
            coverage=_mean(nearest_fake < real_radii[dc_k]),
        )
    return scores


def _mean(flags: torch.Tensor) -> float:
    return int(flags.sum()) / flags.shape[0]


def prdc(
    real: np.ndarray | torch.Tensor,
    fake: np.ndarray | torch.Tensor,
    *,
    pr_nearest_k: int = 3,
    dc_nearest_k: int = 5,
    device: str | torch.device | None = None,
    progress: bool | None = False,
) -> dict[str, float]:
    """All four scores: precision/recall with ``pr_nearest_k``, density/coverage with ``dc_nearest_k``.

    ``prdc(real, fake, pr_nearest_k=5, dc_nearest_k=5)`` reproduces the prdc package's ``compute_prdc(…, 5)``.
    """
    return manifold_scores(real, fake, pr_nearest_k=pr_nearest_k, dc_nearest_k=dc_nearest_k, device=device,
                           progress=progress)


def check_neighbour_counts(
    metric: str, sizes: Mapping[str, int | None], pr_k: int | None, dc_k: int | None, exact: bool
) -> None:
    """Refuse a side with no more items than its k: the real side needs > max(k) (its radii), the fake side > the
    precision/recall k (recall's radii)."""
    flags = {"real": [k for k in (pr_k, dc_k) if k is not None], "fake": [pr_k] if pr_k is not None else []}
    for label, ks in flags.items():
        count = sizes.get(label)
        if ks and count is not None and count <= max(ks):
            names = [name for name, k in (("pr_nearest_k", pr_k), ("dc_nearest_k", dc_k)) if k == max(ks)]
            too_few(f"{metric}: the {label} side has {count} items, but k-nearest-neighbour radii with "
                    f"{names[0]}={max(ks)} need more than {max(ks)}; add items or set --nearest-k K with K < {count}",
                    exact=exact)


class PRDCMetric(Metric):
    """Precision, recall, density and coverage in one pass; options ``pr_nearest_k`` (3) and ``dc_nearest_k`` (5)."""

    name = "prdc"
    options = {"pr_nearest_k": 3, "dc_nearest_k": 5}

    def needs(self, context: MetricContext) -> list[Need]:
        return [Need(context.output, "features")]

    def check_sizes(self, sizes: Mapping[str, int | None], context: MetricContext, *, exact: bool = True) -> None:
        check_neighbour_counts(self.name, sizes, whole_number(context.options, "pr_nearest_k"),
                               whole_number(context.options, "dc_nearest_k"), exact)

    def compute(self, real: Side, fake: Side, context: MetricContext) -> dict[str, Any]:
        return prdc(
            real.features_of(context.output, self.name),
            fake.features_of(context.output, self.name),
            pr_nearest_k=whole_number(context.options, "pr_nearest_k"),
            dc_nearest_k=whole_number(context.options, "dc_nearest_k"),
            device=context.device,
            progress=context.progress,
        )
