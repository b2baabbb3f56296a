"""Whether a file holds what the reference catalogue says it does: read in its format by frechet's own readers, with
the dimension, floating-point dtype, image size and (where the file states one) item count of every catalogue entry
that names it. A download is checked so before it is kept or pinned: an HTML page, a truncated archive or another
dataset's statistics under the right name are refused, and nothing is recorded for them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from frechet.errors import StatsFileError
from frechet.io import npz_headers
from frechet.pickled_stats import read_edm2_stats, read_moses_stats, read_pickled_arrays, read_pickled_stats
from frechet.stats import FeatureStats

if TYPE_CHECKING:
    from frechet.references import Reference

#: sFID's spatial features in an ADM batch (``mu_s``/``sigma_s``): 7 channels of Inception's mixed_6 at 17 x 17.
ADM_SPATIAL_DIM = 2023
#: The images of an ADM batch.
ADM_IMAGES = "arr_0"


def check_reference_file(path: Path, entries: Sequence[Reference]) -> None:
    """Raise StatsFileError (naming ``path``) unless the file holds, for each of ``entries`` (the catalogue entries
    that share this file), statistics of its format, dimension and item count."""
    for entry in entries:
        if entry.format == "edm2-pkl":
            _check_pickle(path, entry)
        elif entry.format == "cdfvd-pkl":
            _check_stats(path, entry, read_pickled_stats(path), "cd-fvd statistics", entry.dim)
        elif entry.format == "moses-npz":
            _check_stats(path, entry, read_moses_stats(path, entry.key or "FCD"), f"'{entry.key}'", entry.dim)
        else:
            _check_npz(path, entry, entry.key, entry.dim)
        if entry.format == "adm-batch":
            _check_npz(path, entry, "s", ADM_SPATIAL_DIM)
            _check_images(path, entry)


def _check_npz(path: Path, entry: Reference, key: str | None, dim: int) -> None:
    stats = FeatureStats.load(path, key=key)
    headers = npz_headers(path)
    for name in ("mu", "sigma") if key is None else (f"mu_{key}", f"sigma_{key}"):
        _check_float(path, name, headers.get(name, ((), np.dtype(object)))[1])
    _check_stats(path, entry, stats, "/".join(("mu", "sigma") if key is None else (f"mu_{key}", f"sigma_{key}")), dim)


def _check_pickle(path: Path, entry: Reference) -> None:
    stats = read_edm2_stats(path, entry.key)
    held = read_pickled_arrays(path)[entry.key]
    for name in ("mu", "sigma"):
        _check_float(path, f"{entry.key}.{name}", np.asarray(held[name]).dtype)
    _check_stats(path, entry, stats, f"'{entry.key}'", entry.dim)


def _check_float(path: Path, name: str, dtype: np.dtype) -> None:
    if dtype.kind != "f":
        raise StatsFileError(f"{path}: '{name}' has dtype {dtype}, but reference statistics are floating-point")


def _check_stats(path: Path, entry: Reference, stats: FeatureStats, what: str, dim: int) -> None:
    if stats.dim != dim:
        raise StatsFileError(
            f"{path}: {what} are {stats.dim}-dimensional, but ref:{entry.name} ({entry.embedder} features) has "
            f"{dim} dimensions"
        )
    if entry.items is not None and stats.n is not None and stats.n != entry.items:
        raise StatsFileError(f"{path}: {what} are of {stats.n:,} items, but ref:{entry.name} has {entry.items:,}")


def _check_images(path: Path, entry: Reference) -> None:
    header: Mapping[str, Any] = npz_headers(path)
    if ADM_IMAGES not in header:
        raise StatsFileError(f"{path}: no '{ADM_IMAGES}' image batch, which every ADM reference batch holds")
    shape, dtype = header[ADM_IMAGES]
    size = tuple(int(side) for side in entry.resolution.split("x")) if entry.resolution else None
    if len(shape) != 4 or shape[3] != 3 or dtype != np.uint8 or (size is not None and tuple(shape[1:3]) != size):
        expected = f"N x {entry.resolution.replace('x', ' x ')} x 3" if entry.resolution else "N x H x W x 3"
        raise StatsFileError(
            f"{path}: '{ADM_IMAGES}' is {' x '.join(map(str, shape))} {dtype}, but ref:{entry.name} holds {expected} "
            "uint8 images"
        )
