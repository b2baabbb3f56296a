"""Reading a statistics file of any format frechet knows: its own and other tools' ``.npz`` files
(:meth:`frechet.stats.FeatureStats.load`), EDM2's reference pickles and cd-fvd's statistics pickles
(:mod:`frechet.pickled_stats`).

The readers of foreign formats sit above :mod:`frechet.stats` and import it, never the other way round.
"""

from __future__ import annotations

from pathlib import Path

from frechet.pickled_stats import read_pickled_stats
from frechet.stats import FeatureStats


def read_stats(path: str | Path, key: str | None = None) -> FeatureStats:
    """Statistics read and validated from ``path``: a cd-fvd ``.pkl``, an EDM2 ``.pkl`` (its entry ``key``, "fid" by
    default), else an ``.npz`` (``mu_KEY``/``sigma_KEY`` with a ``key``)."""
    if Path(path).suffix.lower() == ".pkl":
        return read_pickled_stats(path, key)
    return FeatureStats.load(path, key=key)
