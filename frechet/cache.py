"""Content-addressed cache of embedder results: per shard of items, exact statistics state and optional feature rows.

A shard's key hashes the embedder id, the source kind and options, and the content digest of each of its items
(``Source.item_digest`` or the bytes of ``Source.item_path``), so a re-run on the same items finds it whatever the
inputs are called, a changed item or option misses, and a run killed at any moment resumes from the shards already
written. Every file is written to a temporary name and renamed, so concurrent runs may both write a shard: the last
rename wins and both versions are valid. Layout and semantics: ``docs/guide/cache.md``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
import zipfile
import zlib
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from frechet.errors import ConfigError, InputError, OutputError
from frechet.io import atomic_write, file_sha256, read_npz
from frechet.sources import Source
from frechet.version import __version__

log = logging.getLogger("frechet")

SHARD_FORMAT = "frechet-cache-shard"
SHARD_FORMAT_VERSION = 2
_SHARDS = f"shards-v{SHARD_FORMAT_VERSION}"
_FILE_INDEX = "file-digests-v1"
_STATE_KEYS = ("n", "mean", "m2", "rows")
#: Temporary files older than this are left over from killed runs (a live write lasts seconds); `clear` removes them.
_STALE_TEMP_SECONDS = 3600
_HASH_THREADS = 8


def default_cache_dir() -> Path:
    """``FRECHET_CACHE_DIR``, else ``$XDG_CACHE_HOME/frechet``, else ``~/.cache/frechet``."""
    configured = os.environ.get("FRECHET_CACHE_DIR", "").strip()
    if configured:
        return Path(configured).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME", "").strip()
    return (Path(xdg).expanduser() if xdg else Path.home() / ".cache") / "frechet"


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


@dataclass(frozen=True)
class CacheEntry:
    """The cached shards of one input (as its first writer named it) for one embedder, for ``frechet cache ls``."""

    embedder: str
    input: str
    shards: int
    items: int
    outputs: dict[str, list[str]]
    bytes: int
    last_used: float


@dataclass(frozen=True)
class Cleared:
    """What ``clear`` removed."""

    files: int
    bytes: int


def serves(holds: Mapping[str, set[str]], needs: Mapping[str, set[str]]) -> bool:
    """True when a shard holding ``holds`` has every output and kind in ``needs``."""
    return all(kinds <= holds.get(output, set()) for output, kinds in needs.items())


class FeatureCache:
    """The cache folder: shard keys, shard files, listing and clearing."""

    def __init__(self, root: str | Path | None = None) -> None:
        self.root = Path(root).expanduser() if root is not None else default_cache_dir()
        if self.root.exists() and not self.root.is_dir():
            raise ConfigError(f"{self.root}: the cache folder is a file; pass another --cache-dir")

    # ------------------------------------------------------------------ keys
    def shard_keys(
        self, source: Source, embedder_ids: Sequence[str], ranges: Sequence[tuple[int, int]], *, writer: str = "0"
    ) -> dict[str, list[str]] | None:
        """Per embedder id, one key per ``(start, stop)`` item range (the items are hashed once for all ids), or
        None when the source cannot say what its items are."""
        indices = [index for start, stop in ranges for index in range(start, stop)]
        digests = self._item_digests(source, indices, writer)
        if digests is None:
            return None
        return {embedder_id: _keys(source, embedder_id, ranges, digests) for embedder_id in embedder_ids}

    def _item_digests(self, source: Source, indices: Sequence[int], writer: str) -> list[str] | None:
        digests: list[str | None] = [source.item_digest(index) for index in indices]
        missing = [position for position, digest in enumerate(digests) if digest is None]
        if missing:
            paths = [source.item_path(indices[position]) for position in missing]
            if any(path is None for path in paths):
                return None
            hashed = _FileDigests(self.root / _FILE_INDEX, writer).digests([Path(path) for path in paths])
            for position, digest in zip(missing, hashed):
                digests[position] = "file:" + digest
        return digests  # type: ignore[return-value]

    # ------------------------------------------------------------------ shards
    def shard_path(self, embedder_id: str, key: str) -> Path:
        """Where the shard ``key`` of embedder ``embedder_id`` lives."""
        folder = hashlib.sha256(embedder_id.encode()).hexdigest()[:16]
        return self.root / _SHARDS / folder / f"{key}.npz"

    def holds(self, embedder_id: str, key: str) -> dict[str, set[str]] | None:
        """What the cached shard ``key`` holds (output -> kinds), or None when it is absent or unreadable."""
        path = self.shard_path(embedder_id, key)
        meta = _read_meta(path)
        if meta is None or meta.get("embedder") != embedder_id or meta.get("key") != key:
            if path.exists():
                log.warning("cache: %s is unreadable or not this shard; recomputing it", path)
            return None
        return {entry["name"]: set(entry["kinds"]) for entry in meta.get("outputs", [])}

    def read(self, embedder_id: str, key: str) -> Shard | None:
        """The cached shard ``key``, or None when it is absent or damaged (it is then recomputed and rewritten)."""
        path = self.shard_path(embedder_id, key)
        try:
            arrays = read_npz(path)
            shard = _shard_from_arrays(arrays, embedder_id, key)
        except (InputError, AttributeError, KeyError, ValueError, TypeError) as error:
            if path.exists():
                log.warning("cache: %s is unreadable (%s); recomputing it", path, str(error).splitlines()[0])
            return None
        try:
            os.utime(path)  # last use, for `frechet cache clear --older-than`
        except OSError:
            pass
        return shard

    def write(self, embedder_id: str, key: str, shard: Shard, *, label: str, device: str = "") -> None:
        """Store ``shard`` under ``key`` atomically (a concurrent writer's version is replaced whole)."""
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
        arrays["meta"] = np.asarray(json.dumps(meta, sort_keys=True))
        with atomic_write(self.shard_path(embedder_id, key)) as handle:
            np.savez(handle, **arrays)

    # ------------------------------------------------------------------ listing and clearing
    def entries(self) -> list[CacheEntry]:
        """The cached shards grouped by (embedder id, input), newest use first."""
        groups: dict[tuple[str, str], dict[str, Any]] = {}
        for path, meta in self._shards():
            stat = path.stat()
            group = groups.setdefault(
                (meta.get("embedder", "?"), meta.get("label", "?")),
                {"shards": 0, "items": 0, "outputs": {}, "bytes": 0, "last_used": 0.0},
            )
            group["shards"] += 1
            group["items"] += int(meta.get("stop", 0)) - int(meta.get("start", 0))
            group["bytes"] += stat.st_size
            group["last_used"] = max(group["last_used"], stat.st_mtime)
            for output in meta.get("outputs", []):
                group["outputs"].setdefault(output["name"], set()).update(output["kinds"])
        entries = [
            CacheEntry(embedder, label, group["shards"], group["items"],
                       {output: sorted(kinds) for output, kinds in sorted(group["outputs"].items())},
                       group["bytes"], group["last_used"])
            for (embedder, label), group in groups.items()
        ]
        return sorted(entries, key=lambda entry: -entry.last_used)

    def clear(
        self, *, embedder: str | None = None, input: str | None = None, older_than: float | None = None
    ) -> Cleared:
        """Remove the shards whose embedder id contains ``embedder``, whose input label contains ``input`` and that
        were last used more than ``older_than`` seconds ago (each filter optional); with no filter, everything,
        including the file-digest index. Temporary files left by killed runs are removed in every case."""
        files = size = 0
        now = time.time()
        unfiltered = embedder is None and input is None and older_than is None
        for path, meta in self._shards():
            stat = path.stat()
            if embedder is not None and embedder not in meta.get("embedder", ""):
                continue
            if input is not None and input not in meta.get("label", ""):
                continue
            if older_than is not None and now - stat.st_mtime < older_than:
                continue
            files, size = files + 1, size + _remove(path, stat.st_size)
        for path in self._temporary_files():
            stat = path.stat()
            if now - stat.st_mtime > _STALE_TEMP_SECONDS:
                files, size = files + 1, size + _remove(path, stat.st_size)
        if unfiltered:
            for path in sorted((self.root / _FILE_INDEX).glob("*.json")):
                files, size = files + 1, size + _remove(path, path.stat().st_size)
        for folder in sorted((self.root / _SHARDS).glob("*"), reverse=True):
            if folder.is_dir() and not any(folder.iterdir()):
                folder.rmdir()
        return Cleared(files, size)

    def _shards(self) -> Iterable[tuple[Path, dict[str, Any]]]:
        for path in sorted((self.root / _SHARDS).glob("*/*.npz")):
            meta = _read_meta(path)
            if meta is not None:
                yield path, meta

    def _temporary_files(self) -> list[Path]:
        return sorted([*(self.root / _SHARDS).glob("*/.*.tmp"), *(self.root / _FILE_INDEX).glob(".*.tmp")])


def _keys(source: Source, embedder_id: str, ranges: Sequence[tuple[int, int]], digests: Sequence[str]) -> list[str]:
    header = json.dumps(
        {
            "format": SHARD_FORMAT_VERSION,
            "embedder": embedder_id,
            "source": f"{type(source).__module__}.{type(source).__qualname__}",
            "source_config": source.config(),
        },
        sort_keys=True,
        default=str,
    ).encode()
    keys, position = [], 0
    for start, stop in ranges:
        digest = hashlib.sha256(header)
        for item in digests[position : position + stop - start]:
            digest.update(b"\n" + item.encode())
        keys.append(digest.hexdigest())
        position += stop - start
    return keys


def _remove(path: Path, size: int) -> int:
    try:
        path.unlink()
    except FileNotFoundError:  # a concurrent `clear`
        return 0
    return size


def _read_meta(path: Path) -> dict[str, Any] | None:
    try:
        with np.load(path, allow_pickle=False) as npz:
            meta = json.loads(str(npz["meta"]))
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile, zlib.error):
        return None
    if not isinstance(meta, dict) or meta.get("format") != SHARD_FORMAT:
        return None
    return meta


def _shard_from_arrays(arrays: Mapping[str, np.ndarray], embedder_id: str, key: str) -> Shard:
    meta = json.loads(str(arrays["meta"]))
    if meta.get("format") != SHARD_FORMAT or meta.get("format_version") != SHARD_FORMAT_VERSION:
        raise ValueError("not a shard of this cache format")
    if meta["embedder"] != embedder_id or meta["key"] != key:
        raise ValueError("written for another key")
    shard = Shard(int(meta["start"]), int(meta["stop"]), int(meta["n_good"]))
    shard.skipped = [(int(offset), str(message)) for offset, message in meta["skipped"]]
    for number, entry in enumerate(meta["outputs"]):
        output = entry["name"]
        state = {name: arrays[f"{number}.{name}"] for name in _STATE_KEYS if f"{number}.{name}" in arrays}
        if int(state["n"]) and (state["mean"].ndim != 1 or state["m2"].shape != 2 * state["mean"].shape):
            raise ValueError(f"output '{output}' has mean {state['mean'].shape} and m2 {state['m2'].shape}")
        shard.stats[output] = state
        if "features" in entry["kinds"]:
            features = arrays[f"{number}.features"]
            n = int(shard.stats[output]["n"])
            if features.ndim != 2 or features.shape[0] != n:
                raise ValueError(f"output '{output}' has {features.shape} feature rows for n={n}")
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


# ---------------------------------------------------------------------------------------------------- file digests
class _FileDigests:
    """sha256 of files, remembered per folder by (size, mtime, ctime, inode) so unchanged files are not read again.

    Each writer (rank) keeps its own index file per folder and readers merge them all, so concurrent runs and ranks
    never lose each other's entries wholesale; an entry whose file changed in any of those fields is ignored.
    """

    def __init__(self, folder: Path, writer: str) -> None:
        self.folder, self.writer = folder, writer

    def digests(self, paths: Sequence[Path]) -> list[str]:
        """The sha256 hex digest of each file's bytes, in order."""
        absolute = [Path(os.path.abspath(path)) for path in paths]
        signatures = [_signature(path) for path in absolute]
        by_folder: dict[Path, dict[str, list[Any]]] = {}
        result: list[str | None] = []
        for path, signature in zip(absolute, signatures):
            known = by_folder.get(path.parent)
            if known is None:
                known = by_folder[path.parent] = self._load(path.parent)
            entry = known.get(path.name)
            result.append(entry[4] if entry is not None and signature is not None and entry[:4] == signature else None)
        missing = [position for position, digest in enumerate(result) if digest is None]
        if missing:
            with ThreadPoolExecutor(min(_HASH_THREADS, len(missing))) as pool:
                hashed = list(pool.map(_hash_file, [absolute[position] for position in missing]))
            updates: dict[Path, dict[str, list[Any]]] = {}
            for position, digest in zip(missing, hashed):
                path = absolute[position]
                if digest is None or signatures[position] is None:  # the run reports it as a bad item
                    result[position] = f"unreadable:{path}"
                    continue
                result[position] = digest
                if _signature(path) == signatures[position]:  # not changed while it was read
                    updates.setdefault(path.parent, {})[path.name] = [*signatures[position], digest]
            for folder, entries in updates.items():
                self._store(folder, entries)
        return result  # type: ignore[return-value]

    def _index_files(self, folder: Path) -> tuple[str, Path]:
        stem = hashlib.sha256(str(folder).encode()).hexdigest()[:24]
        return stem, self.folder / f"{stem}.{self.writer}.json"

    def _load(self, folder: Path) -> dict[str, list[Any]]:
        stem, _ = self._index_files(folder)
        merged: dict[str, list[Any]] = {}
        for index_file in sorted(self.folder.glob(f"{stem}.*.json")):
            merged.update(_read_index(index_file, folder))
        return merged

    def _store(self, folder: Path, entries: Mapping[str, list[Any]]) -> None:
        _, own = self._index_files(folder)
        current = _read_index(own, folder)
        current.update(entries)
        try:
            with atomic_write(own) as handle:
                handle.write(json.dumps({"folder": str(folder), "files": current}).encode())
        except OutputError as error:  # only a speed-up: never fail a run over it
            log.warning("cache: file digests not saved, continuing without them: %s", error)


def _signature(path: Path) -> list[int] | None:
    try:
        stat = path.stat()
    except OSError:
        return None
    return [stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns, stat.st_ino]


def _read_index(index_file: Path, folder: Path) -> dict[str, list[Any]]:
    try:
        content = json.loads(index_file.read_text())
    except (OSError, ValueError):
        return {}
    if not isinstance(content, dict) or content.get("folder") != str(folder):
        return {}
    if not isinstance(content.get("files"), dict):
        return {}
    return {name: entry for name, entry in content["files"].items() if isinstance(entry, list) and len(entry) == 5}


def _hash_file(path: Path) -> str | None:
    try:
        return file_sha256(path)
    except OSError:
        return None
