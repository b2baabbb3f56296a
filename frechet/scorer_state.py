"""A Scorer's checkpoint state: tensors and plain Python values only, so ``torch.load``'s default
(``weights_only=True``) reads it back without trusting a pickle; versioned, and checked entry by entry before a
Scorer takes it, so a state from other settings or a damaged one is one line saying what differs.

Layout (version 2)::

    {"version": 2, "embedder": str, "output": str, "metrics": [str, ...],
     "real" | "fake": {"items": int,
                       "stats": {output: {"n": int[, "mean": float64 (d,), "rows": float64 (n, d) | "m2": (d, d)]}},
                       "features": {output: float32/float64 (rows, d)}}}

Version 1 (frechet before versioned states) held NumPy arrays and no ``metrics``; it is still read.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from frechet.errors import ConfigError, InputError
from frechet.stats import FeatureStats

#: The state format this frechet writes; it reads this one and every older one.
VERSION = 2
SIDES = ("real", "fake")
_TOP = {1: {"embedder", "output", "real", "fake"}, 2: {"version", "embedder", "output", "metrics", "real", "fake"}}
_SIDE = {"items", "stats", "features"}
_REDO = "pass the dict Scorer.state_dict() returned, unchanged"


@dataclass(frozen=True)
class Expected:
    """What a Scorer accepts: its embedder id, output, metric names, per side which outputs keep statistics and
    which keep features, and the declared width of each output (None where the embedder does not declare one)."""

    embedder: str
    output: str
    metrics: tuple[str, ...]
    needs: Mapping[str, Mapping[str, set[str]]]
    dims: Mapping[str, int | None]


@dataclass
class SideState:
    """One side read back: items fed, statistics per output, kept feature rows per output."""

    items: int
    stats: dict[str, FeatureStats]
    features: dict[str, np.ndarray]


def side_state(items: int, stats: Mapping[str, FeatureStats], features: Mapping[str, np.ndarray]) -> dict[str, Any]:
    """One side as plain values and CPU tensors."""
    return {"items": int(items),
            "stats": {output: _stats_entry(part) for output, part in stats.items()},
            "features": {output: torch.from_numpy(np.ascontiguousarray(rows)) for output, rows in features.items()}}


def make_state(expected: Expected, sides: Mapping[str, dict[str, Any]]) -> dict[str, Any]:
    """The whole state of a Scorer, in the current format."""
    return {"version": VERSION, "embedder": expected.embedder, "output": expected.output,
            "metrics": list(expected.metrics), **{label: sides[label] for label in SIDES}}


def read_state(state: Any, expected: Expected) -> dict[str, SideState]:
    """Both sides of ``state``, checked against ``expected``: the version, the entries, the settings it was made
    with (ConfigError), then every count, dtype and shape (InputError), all before anything is used."""
    if not isinstance(state, Mapping):
        raise InputError(f"Scorer state: got {type(state).__name__}, expected the dict Scorer.state_dict() returns")
    version = _version(state.get("version", 1))
    _entries(state, _TOP[version], "Scorer state")
    made = (state["embedder"], state["output"])
    if made != (expected.embedder, expected.output):
        raise ConfigError(f"Scorer state: made with embedder {made[0]} (output {made[1]}), but this Scorer uses "
                          f"{expected.embedder} (output {expected.output}); build the Scorer with those settings")
    if version >= 2:
        metrics = state["metrics"]
        if not isinstance(metrics, list) or not all(isinstance(name, str) for name in metrics):
            raise InputError(f"Scorer state: 'metrics' is {metrics!r}, expected a list of metric names; {_REDO}")
        if sorted(set(metrics)) != sorted(set(expected.metrics)):
            raise ConfigError(f"Scorer state: made for metrics {', '.join(metrics) or '(none)'}, but this Scorer "
                              f"computes {', '.join(expected.metrics)}; build the Scorer with metrics={metrics!r}")
    return {label: _side(state[label], label, version, expected) for label in SIDES}


def _version(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InputError(f"Scorer state: format version {value!r} is not a version frechet writes (1 to {VERSION}); "
                         f"{_REDO}")
    if value > VERSION:
        raise ConfigError(f"Scorer state: format version {value} was written by a newer frechet (this one reads up "
                          f"to version {VERSION}); upgrade frechet to resume it")
    return value


def _entries(mapping: Any, expected: set[str], where: str) -> None:
    if not isinstance(mapping, Mapping):
        raise InputError(f"{where}: got {type(mapping).__name__}, expected a dict; {_REDO}")
    missing, extra = sorted(expected - set(mapping)), sorted(set(mapping) - expected, key=str)
    if missing or extra:
        said = [f"missing {', '.join(map(repr, missing))}"] if missing else []
        said += [f"unexpected {', '.join(map(repr, extra))}"] if extra else []
        raise InputError(f"{where}: {' and '.join(said)} entries; {_REDO}")


def _side(side: Any, label: str, version: int, expected: Expected) -> SideState:
    where = f"Scorer state, {label} side"
    _entries(side, _SIDE, where)
    items = _count(side["items"], f"{where}: 'items'", version)
    needs = expected.needs[label]
    kept = {kind: {output for output, kinds in needs.items() if kind in kinds} for kind in ("stats", "features")}
    for kind, outputs in kept.items():
        if not isinstance(side[kind], Mapping) or set(side[kind]) != outputs:
            held = sorted(side[kind], key=str) if isinstance(side[kind], Mapping) else type(side[kind]).__name__
            raise ConfigError(f"{where}: keeps {kind} of {held or 'no output'}, but this Scorer's metrics "
                              f"({', '.join(expected.metrics)}) keep {kind} of {sorted(outputs) or 'no output'}; "
                              "build the Scorer with the metrics the state was made with")
    stats = {output: _stats(side["stats"][output], f"{where}, stats of '{output}'", version, expected.dims[output])
             for output in kept["stats"]}
    features = {output: _features(side["features"][output], f"{where}, features of '{output}'", version,
                                  expected.dims[output]) for output in kept["features"]}
    for output, rows in features.items():
        if output in stats and (stats[output].n or 0) != rows.shape[0]:
            raise InputError(f"{where}: the statistics of '{output}' count {stats[output].n or 0} rows but "
                             f"{rows.shape[0]} feature rows are held; {_REDO}")
    counts = [part.n or 0 for part in stats.values()] + [rows.shape[0] for rows in features.values()]
    if (items == 0) != (not any(counts)):
        raise InputError(f"{where}: {items} items fed but {max(counts, default=0)} rows held; {_REDO}")
    return SideState(items, stats, features)


def _count(value: Any, where: str, version: int) -> int:
    if version == 1 and isinstance(value, np.ndarray) and value.shape == () and value.dtype.kind in "iu":
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
        raise InputError(f"{where} is {value!r}, expected a whole number ≥ 0; {_REDO}")
    return int(value)


def _stats(entry: Any, where: str, version: int, dim: int | None) -> FeatureStats:
    if not isinstance(entry, Mapping) or "n" not in entry:
        raise InputError(f"{where}: got {type(entry).__name__} without 'n', expected {{'n', 'mean', 'rows' or 'm2'}}; "
                         f"{_REDO}")
    n = _count(entry["n"], f"{where}: 'n'", version)
    allowed = {"n"} if n == 0 else {"n", "mean", "rows" if "rows" in entry else "m2"}
    _entries(entry, allowed, where)
    arrays = {key: _array(value, f"{where}: '{key}'", version, (np.float64,))
              for key, value in entry.items() if key != "n"}
    if "mean" in arrays and dim is not None and arrays["mean"].shape != (dim,):
        raise InputError(f"{where}: 'mean' has shape {arrays['mean'].shape}, but this Scorer's output is {dim} wide; "
                         f"{_REDO}")
    try:
        return FeatureStats.from_state({"n": np.asarray(n, np.int64), **arrays})
    except InputError as error:
        raise InputError(f"{where}: {error}") from None


def _features(value: Any, where: str, version: int, dim: int | None) -> np.ndarray:
    rows = _array(value, where, version, (np.float32, np.float64))
    if rows.ndim != 2 or (dim is not None and rows.shape[1] != dim and rows.shape[0]):
        raise InputError(f"{where}: shape {rows.shape}, expected (rows, {dim or 'd'}); {_REDO}")
    if not np.isfinite(rows).all():
        raise InputError(f"{where}: holds NaN or Inf; {_REDO}")
    return rows if rows.shape[0] else np.zeros((0, dim or rows.shape[1]), rows.dtype)


def _array(value: Any, where: str, version: int, dtypes: tuple[type, ...]) -> np.ndarray:
    """A CPU tensor (or, in a version-1 state, a NumPy array) of one of ``dtypes``, as a NumPy array."""
    if isinstance(value, torch.Tensor) and not value.is_sparse and not value.is_complex():
        array = value.detach().cpu().numpy() if value.dtype != torch.bfloat16 else None
    elif version == 1 and isinstance(value, np.ndarray):
        array = value
    else:
        array = None
    if array is None or array.dtype not in [np.dtype(dtype) for dtype in dtypes]:
        got = getattr(value, "dtype", type(value).__name__)
        names = " or ".join(np.dtype(dtype).name for dtype in dtypes)
        raise InputError(f"{where}: got {got}, expected a {names} tensor; {_REDO}")
    return array


def _stats_entry(stats: FeatureStats) -> dict[str, Any]:
    state = stats.state()
    return {"n": int(state["n"]), **{key: torch.from_numpy(value) for key, value in state.items() if key != "n"}}
