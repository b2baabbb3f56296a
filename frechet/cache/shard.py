"""The cache shard file format: what a shard holds, its record and integrity digest, and reading one back checked."""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from frechet.io import read_npz
from frechet.meta import SHARD_SCHEMA, check_meta, parse_json
from frechet.stats import FeatureStats
from frechet.version import __version__

SHARD_FORMAT = "frechet-cache-shard"
SHARD_FORMAT_VERSION = 3
#: The folder of the shards of this format; other versions live beside it in their own folders.
SHARDS_FOLDER = f"shards-v{SHARD_FORMAT_VERSION}"
_STATE_KEYS = ("n", "mean", "m2", "rows")


@dataclass
class Shard:
    """The results for items ``start:stop``: per output the exact statistics state (``FeatureStats.state()``) and,
    where kept, the feature rows in item order, with the item (offset in the shard) each row came from; the bad
    items as (offset in the shard, what is wrong with it) — without its name, so a shard shared by inputs holding the
    same bytes is reported in the current input's names."""

    start: int
    stop: int
    n_good: int
    stats: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)
    features: dict[str, np.ndarray] = field(default_factory=dict)
    skipped: list[tuple[int, str]] = field(default_factory=list)
    row_items: np.ndarray | None = None

    def holds(self) -> dict[str, set[str]]:
        """What the shard can serve: output -> {"stats"} or {"stats", "features"}."""
        return {output: {"stats", "features"} if output in self.features else {"stats"} for output in self.stats}


def serves(holds: Mapping[str, set[str]], needs: Mapping[str, set[str]]) -> bool:
    """True when a shard holding ``holds`` has every output and kind in ``needs``."""
    return all(kinds <= holds.get(output, set()) for output, kinds in needs.items())


def shard_arrays(shard: Shard, embedder_id: str, key: str, *, label: str, device: str = "") -> dict[str, np.ndarray]:
    """What a shard file holds: per output its statistics state and kept feature rows, the rows' items, and the
    record (``meta``) with the integrity digest of it all."""
    outputs = sorted(shard.stats)
    arrays: dict[str, np.ndarray] = {}
    for number, output in enumerate(outputs):
        for name, value in shard.stats[output].items():
            arrays[f"{number}.{name}"] = value
        if output in shard.features:
            arrays[f"{number}.features"] = shard.features[output]
    if shard.row_items is not None:
        arrays["row_items"] = shard.row_items
    meta = {
        "format": SHARD_FORMAT,
        "format_version": SHARD_FORMAT_VERSION,
        "embedder": embedder_id,
        "key": key,
        "label": os.path.abspath(label) if os.path.exists(label) else label,
        "start": shard.start,
        "stop": shard.stop,
        "n_good": shard.n_good,
        "skipped": [[offset, message] for offset, message in shard.skipped],
        "outputs": [{"name": output, "kinds": sorted(shard.holds()[output])} for output in outputs],
        "device": device,
        "created": time.time(),
        "frechet_version": __version__,
    }
    meta["digest"] = shard_digest(arrays, meta)
    arrays["meta"] = np.asarray(json.dumps(meta, sort_keys=True))
    return arrays


def shard_digest(arrays: Mapping[str, np.ndarray], meta: Mapping[str, Any]) -> str:
    """sha256 over every array (name, dtype, shape, bytes) and the record without its digest: a shard whose content
    was changed in any way, by hand or by the disk, no longer matches it."""
    digest = hashlib.sha256()
    for name in sorted(arrays):
        if name == "meta":
            continue
        value = np.ascontiguousarray(arrays[name])
        digest.update(f"{name}\0{value.dtype.str}\0{value.shape}\0".encode())
        digest.update(value.tobytes())
    record = {key: value for key, value in meta.items() if key != "digest"}
    digest.update(json.dumps(record, sort_keys=True).encode())
    return digest.hexdigest()


def read_meta(path: Path) -> dict[str, Any] | None:
    """A shard's record, checked against the schema, or None when it cannot be read or is not this format's."""
    try:
        raw = read_npz(path, keys={"meta"})["meta"]  # a FIFO, or sizes the file cannot back, are refused unread
        meta = check_meta(parse_json(str(raw)), SHARD_SCHEMA, format=SHARD_FORMAT,
                          version=SHARD_FORMAT_VERSION, required=True)
    except (ValueError, KeyError):  # InputError and MetaError are ValueErrors
        return None
    if meta["format_version"] != SHARD_FORMAT_VERSION:
        return None
    return meta


def shard_from_arrays(arrays: Mapping[str, np.ndarray], embedder_id: str, key: str) -> Shard:
    """The shard a file holds, after checking its record, its digest and that its counts agree: a shard that was
    changed (a count, a mean, the skipped items) or does not add up is never merged."""
    raw = arrays.get("meta")
    if raw is None or raw.shape != () or raw.dtype.kind != "U":
        raise ValueError("it has no record")
    meta = check_meta(parse_json(str(raw)), SHARD_SCHEMA, format=SHARD_FORMAT, version=SHARD_FORMAT_VERSION,
                      required=True)
    if meta["format_version"] != SHARD_FORMAT_VERSION:
        raise ValueError(f"format version {meta['format_version']}, not {SHARD_FORMAT_VERSION}")
    if meta["embedder"] != embedder_id or meta["key"] != key:
        raise ValueError("written for another key")
    if shard_digest(arrays, meta) != meta["digest"]:
        raise ValueError("it fails its integrity digest: its arrays or record were changed")
    start, stop, n_good = meta["start"], meta["stop"], meta["n_good"]
    skipped = [(int(offset), str(message)) for offset, message in meta["skipped"]]
    if stop < start or n_good + len(skipped) != stop - start or any(offset >= stop - start for offset, _ in skipped):
        raise ValueError(f"its counts do not add up (items {start}-{stop}, {n_good} good, {len(skipped)} skipped)")
    shard = Shard(start, stop, n_good, skipped=skipped)
    for number, entry in enumerate(meta["outputs"]):
        output = entry["name"]
        state = {name: arrays[f"{number}.{name}"] for name in _STATE_KEYS if f"{number}.{name}" in arrays}
        stats = FeatureStats.from_state(state)  # refuses negative counts, shapes that disagree, NaN or Inf
        if stats.n and not n_good:
            raise ValueError(f"output '{output}' counts {stats.n} samples for no good items")
        shard.stats[output] = state
        if "features" in entry["kinds"]:
            features = arrays[f"{number}.features"]
            if features.ndim != 2 or features.shape[0] != stats.n:
                raise ValueError(f"output '{output}' has {features.shape} feature rows for n={stats.n}")
            shard.features[output] = features
    if "row_items" in arrays:
        shard.row_items = _row_items(arrays["row_items"], shard)
    return shard


def _row_items(row_items: np.ndarray, shard: Shard) -> np.ndarray:
    """The stored item offset of each kept feature row, checked against the rows and the shard's span."""
    rows = {features.shape[0] for features in shard.features.values()}
    if row_items.ndim != 1 or row_items.dtype.kind not in "iu" or rows != {row_items.shape[0]}:
        raise ValueError(f"row_items of shape {row_items.shape} do not match the {sorted(rows)} feature rows")
    if row_items.size and not (0 <= row_items.min() and row_items.max() < shard.stop - shard.start):
        raise ValueError("row_items name items outside the shard")
    return row_items.astype(np.int64)
