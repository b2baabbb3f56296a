"""The items a report shows: generated items farthest from the real set, real items least covered by the generated
set, and the memorisation check — generated items closer to a real item than any two real items are to each other.

Distances are Euclidean in the embedder's feature space, between items: an item that yields several feature rows
(audio frames, say) is represented by the mean of its rows. Nearest neighbours are found in float64 blocks of at most
2048 × 2048 (``frechet.metrics._pairwise``), so 50k × 50k items need no N² memory.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from frechet.metrics._pairwise import CentredRows, block_pairs, centre_of, squared_distances


@dataclass
class Pair:
    """A shown item (its index in its side's source) with its nearest neighbour on the other (or same) side and
    the distance between them."""

    item: int
    neighbour: int
    distance: float


@dataclass
class Galleries:
    """The gallery entries, each list ordered as shown; ``threshold`` is the smallest distance between two real
    items, below which a generated item counts as memorised (``memorised`` of the ``closest`` pairs are)."""

    farthest_fake: list[Pair]
    least_covered_real: list[Pair]
    closest: list[Pair]
    threshold: float
    memorised: int


def item_features(features: np.ndarray, items: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One row per item: the items (sorted, unique) and the mean of each one's feature rows."""
    unique, position = np.unique(items, return_inverse=True)
    if len(unique) == len(items):
        return items, np.asarray(features)
    sums = np.zeros((len(unique), features.shape[1]))
    np.add.at(sums, position, np.asarray(features, np.float64))
    return unique, sums / np.bincount(position)[:, None]


def galleries(real: np.ndarray, fake: np.ndarray, real_items: np.ndarray, fake_items: np.ndarray,
              size: int = 8) -> Galleries:
    """The three galleries of ``size`` entries each from per-item features (see :func:`item_features`)."""
    real_t, fake_t = torch.as_tensor(np.asarray(real)), torch.as_tensor(np.asarray(fake))
    centre = centre_of(real_t)
    real_rows, fake_rows = CentredRows(real_t, centre), CentredRows(fake_t, centre)
    fake_to_real, fake_nearest = _nearest(fake_rows, real_rows)
    real_to_fake, real_nearest = _nearest(real_rows, fake_rows)
    real_to_real, _ = _nearest(real_rows, real_rows, exclude_self=True)
    threshold = float(real_to_real.min()) if len(real_rows) > 1 else 0.0

    def pairs(distances: np.ndarray, nearest: np.ndarray, own: np.ndarray, other: np.ndarray,
              descending: bool) -> list[Pair]:
        order = np.argsort(-distances if descending else distances, kind="stable")[:size]
        return [Pair(int(own[i]), int(other[nearest[i]]), float(distances[i])) for i in order]

    return Galleries(
        farthest_fake=pairs(fake_to_real, fake_nearest, fake_items, real_items, descending=True),
        least_covered_real=pairs(real_to_fake, real_nearest, real_items, fake_items, descending=True),
        closest=pairs(fake_to_real, fake_nearest, fake_items, real_items, descending=False),
        threshold=threshold,
        memorised=int(np.count_nonzero(fake_to_real < threshold)),
    )


def _nearest(rows: CentredRows, others: CentredRows, *, exclude_self: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """For each row, the distance to its nearest row of ``others`` (another row of the same set with
    ``exclude_self``) and that row's index."""
    best = torch.full((len(rows),), torch.inf, dtype=torch.float64)
    where = torch.zeros(len(rows), dtype=torch.int64)
    for span_a, span_b in block_pairs(len(rows), len(others)):
        distances = squared_distances(rows.block(span_a), others.block(span_b))
        if exclude_self and span_a == span_b:
            distances.fill_diagonal_(torch.inf)
        value, index = distances.min(dim=1)
        better = value < best[span_a]
        best[span_a] = torch.where(better, value, best[span_a])
        where[span_a] = torch.where(better, index + span_b.start, where[span_a])
    return best.sqrt().numpy(), where.numpy()
