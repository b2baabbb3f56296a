"""Content-addressed cache of embedder results: per shard of items, exact statistics state and optional feature rows.

A shard's key hashes the embedder id, the source kind and options, and the content digest of each of its items
(``Source.item_digest`` or the bytes of ``Source.item_path``), so a re-run on the same items finds it whatever the
inputs are called, a changed item or option misses, and a run killed at any moment resumes from the shards already
written. Every file is written to a temporary name and renamed, so concurrent runs may both write a shard: the last
rename wins and both versions are valid. Each shard carries a sha256 digest of its arrays and record, checked on
every read, so a shard changed by hand or by a disk error is recomputed, never used. Layout and semantics:
``docs/guide/cache.md``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import threading
import time
import zipfile
import zlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from frechet.caller import spell
from frechet.errors import ConfigError, InputError, OutputError
from frechet.io import atomic_write, file_sha256, open_regular, read_npz
from frechet.meta import MAX_CHARS, SHARD_SCHEMA, MetaError, check_meta, parse_json
from frechet.sources import Source
from frechet.stats import FeatureStats
from frechet.version import __version__

log = logging.getLogger("frechet")

SHARD_FORMAT = "frechet-cache-shard"
SHARD_FORMAT_VERSION = 3
#: The folder of the shards of this format; other versions live beside it in their own folders.
SHARDS_FOLDER = f"shards-v{SHARD_FORMAT_VERSION}"
_FILE_INDEX = "file-digests-v1"
_STATE_KEYS = ("n", "mean", "m2", "rows")
#: What frechet names its files in the cache folder: shards of any format version, file-digest indexes, and the
#: temporary files of writes in progress (or of killed runs). Anything else there was not made by frechet.
_SHARD_NAME = re.compile(r"^shards-v(\d+)/[0-9a-f]{16}/[0-9a-f]{64}\.npz$")
_INDEX_NAME = re.compile(r"^file-digests-v\d+/[0-9a-f]{24}\.[A-Za-z0-9_-]+\.json$")
_TEMP_NAME = re.compile(r"^(shards-v\d+/[0-9a-f]{16}|file-digests-v\d+)/\.[^/]+\.tmp$")
_ZIP_MAGIC = b"PK\x03\x04"
#: Temporary files older than this are left over from killed runs (a live write lasts seconds); `clear` removes them.
_STALE_TEMP_SECONDS = 3600
_HASH_THREADS = 8
_WARNING_LOCK = threading.Lock()


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
    where kept, the feature rows in item order; the bad items as (offset in the shard, what is wrong with it) —
    without its name, so a shard shared by inputs holding the same bytes is reported in the current input's names."""

    start: int
    stop: int
    n_good: int
    stats: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)
    features: dict[str, np.ndarray] = field(default_factory=dict)
    skipped: list[tuple[int, str]] = field(default_factory=list)

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
    """What ``clear`` removed, and the files in the cache folder it left alone because frechet did not make them."""

    files: int
    bytes: int
    foreign: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Leftovers:
    """Files in the cache folder besides readable shards: frechet's own that it can no longer use (damaged, of an
    older format, temporary files of killed runs), which ``clear`` removes, and files frechet did not make, which it
    never touches."""

    unusable: list[str]
    unusable_bytes: int
    foreign: list[str]


def serves(holds: Mapping[str, set[str]], needs: Mapping[str, set[str]]) -> bool:
    """True when a shard holding ``holds`` has every output and kind in ``needs``."""
    return all(kinds <= holds.get(output, set()) for output, kinds in needs.items())


class FeatureCache:
    """The cache folder: shard keys, shard files, listing and clearing."""

    def __init__(self, root: str | Path | None = None) -> None:
        self.root = Path(root).expanduser() if root is not None else default_cache_dir()
        blocked = _file_in_the_way(self.root)
        if blocked is not None:
            where = "is a file" if blocked == self.root else f"is under {blocked}, which is a file"
            raise ConfigError(f"{self.root}: the cache folder {where}; pass another {spell('cache_dir', 'DIR')}")
        #: Why writing failed, once it has: the cache is then only read for the rest of the run (one warning).
        self.write_failure: str | None = None

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
            hashed = _FileDigests(self, writer).digests([Path(path) for path in paths])
            for position, digest in zip(missing, hashed):
                digests[position] = "file:" + digest
        return digests  # type: ignore[return-value]

    # ------------------------------------------------------------------ shards
    def shard_path(self, embedder_id: str, key: str) -> Path:
        """Where the shard ``key`` of embedder ``embedder_id`` lives."""
        folder = hashlib.sha256(embedder_id.encode()).hexdigest()[:16]
        return self.root / SHARDS_FOLDER / folder / f"{key}.npz"

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
        """The cached shard ``key``, or None when it is absent, damaged or fails its integrity digest (it is then
        reported once, recomputed and rewritten)."""
        path = self.shard_path(embedder_id, key)
        if not path.exists():
            return None
        try:
            arrays = read_npz(path)
            shard = _shard_from_arrays(arrays, embedder_id, key)
        except (InputError, MetaError, AttributeError, KeyError, ValueError, TypeError) as error:
            log.warning("cache: %s is unreadable (%s); recomputing it", path, str(error).splitlines()[0])
            return None
        try:
            os.utime(path)  # last use, for `frechet cache clear --older-than`
        except OSError:
            pass
        return shard

    def write(self, embedder_id: str, key: str, shard: Shard, *, label: str, device: str = "") -> None:
        """Store ``shard`` under ``key`` atomically (a concurrent writer's version is replaced whole), with a digest
        of its arrays and record; after a failed write the cache is only read (see :meth:`store`)."""
        outputs = sorted(shard.stats)
        arrays: dict[str, np.ndarray] = {}
        for number, output in enumerate(outputs):
            for name, value in shard.stats[output].items():
                arrays[f"{number}.{name}"] = value
            if output in shard.features:
                arrays[f"{number}.features"] = shard.features[output]
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
        self.store(self.shard_path(embedder_id, key), lambda handle: np.savez(handle, **arrays))

    def store(self, path: Path, write: Callable[[BinaryIO], object]) -> bool:
        """Write a cache file atomically with ``write(handle)``. The cache only saves time, so a failure (read-only,
        a full disk, a file in the way) is one warning for the whole run, which goes on without writing the cache;
        returns whether the file was written."""
        if self.write_failure is not None:
            return False
        try:
            with atomic_write(path) as handle:
                write(handle)
        except OutputError as error:
            with _WARNING_LOCK:
                if self.write_failure is None:
                    self.write_failure = str(error)
                    log.warning("feature cache not written, continuing without it: %s", error)
            return False
        return True

    # ------------------------------------------------------------------ listing and clearing
    def entries(self) -> list[CacheEntry]:
        """The cached shards grouped by (embedder id, input), newest use first."""
        groups: dict[tuple[str, str], dict[str, Any]] = {}
        for path, meta in self._shards():
            stat = path.stat()
            group = groups.setdefault(
                (meta["embedder"], meta["label"]),
                {"shards": 0, "items": 0, "outputs": {}, "bytes": 0, "last_used": 0.0},
            )
            group["shards"] += 1
            group["items"] += max(0, meta["stop"] - meta["start"])
            group["bytes"] += stat.st_size
            group["last_used"] = max(group["last_used"], stat.st_mtime)
            for output in meta["outputs"]:
                group["outputs"].setdefault(output["name"], set()).update(output["kinds"])
        entries = [
            CacheEntry(embedder, label, group["shards"], group["items"],
                       {output: sorted(kinds) for output, kinds in sorted(group["outputs"].items())},
                       group["bytes"], group["last_used"])
            for (embedder, label), group in groups.items()
        ]
        return sorted(entries, key=lambda entry: -entry.last_used)

    def leftovers(self) -> Leftovers:
        """The files besides this format's readable shards and indexes: frechet's own unusable ones, and others."""
        unusable, foreign, size = [], [], 0
        for path, kind in self._files():
            if kind == "shard" and _read_meta(path) is None:
                kind = "unusable"
            if kind in ("unusable", "old", "temporary"):
                unusable.append(str(path))
                size += _size(path)
            elif kind == "foreign":
                foreign.append(str(path))
        return Leftovers(unusable, size, foreign)

    def clear(
        self, *, embedder: str | None = None, input: str | None = None, older_than: float | None = None
    ) -> Cleared:
        """Remove the shards whose embedder id contains ``embedder``, whose input label contains ``input`` and that
        were last used more than ``older_than`` seconds ago (each filter optional); with no filter, everything frechet
        made, including the file-digest index and shards of older formats. Every clear removes frechet's files that
        can no longer be read (a damaged shard, a corrupt index) and temporary files left by killed runs. Files
        frechet did not make (recognised by their names and headers) are never removed, only reported."""
        files = size = 0
        now = time.time()
        unfiltered = embedder is None and input is None and older_than is None
        foreign = []
        for path, kind in self._files():
            if kind == "foreign":
                foreign.append(str(path))
                continue
            try:
                stat = path.stat()
            except FileNotFoundError:  # a concurrent `clear`
                continue
            if kind == "shard":
                meta = _read_meta(path)
                if meta is None:
                    kind = "unusable"
                elif not unfiltered and not _selected(meta, stat, now, embedder, input, older_than):
                    continue
            elif kind == "temporary" and now - stat.st_mtime <= _STALE_TEMP_SECONDS:
                continue  # a write in progress
            elif kind in ("index", "old") and not unfiltered:
                continue
            files, size = files + 1, size + _remove(path, stat.st_size)
        for folder in sorted(self.root.glob("shards-v*/*"), reverse=True):
            if folder.is_dir() and not any(folder.iterdir()):
                folder.rmdir()
        return Cleared(files, size, foreign)

    def _shards(self) -> Iterable[tuple[Path, dict[str, Any]]]:
        for path in sorted((self.root / SHARDS_FOLDER).glob("*/*.npz")):
            meta = _read_meta(path)
            if meta is not None:
                yield path, meta

    def _files(self) -> Iterable[tuple[Path, str]]:
        """Every file under the cache folder with what it is: "shard" (this format), "old" (an older format),
        "index", "temporary", "unusable" (named like frechet's but not what the name says) or "foreign"."""
        if not self.root.is_dir():
            return
        for folder, _, names in os.walk(self.root):
            for name in sorted(names):
                path = Path(folder) / name
                yield path, _kind(path, path.relative_to(self.root).as_posix())


def _kind(path: Path, relative: str) -> str:
    if _TEMP_NAME.match(relative):
        return "temporary"
    shard = _SHARD_NAME.match(relative)
    if shard:
        if _header(path, len(_ZIP_MAGIC)) != _ZIP_MAGIC:
            return "unusable"
        version = int(shard.group(1))
        if version == SHARD_FORMAT_VERSION:
            return "shard"
        return "old" if version < SHARD_FORMAT_VERSION else "foreign"  # a newer frechet's: not ours to judge
    if _INDEX_NAME.match(relative):
        return "index" if _header(path, 10) == b'{"folder":' else "unusable"
    return "foreign"


def _header(path: Path, count: int) -> bytes:
    try:
        with open_regular(path) as handle:
            return handle.read(count)
    except OSError:
        return b""


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _selected(
    meta: Mapping[str, Any], stat: os.stat_result, now: float, embedder: str | None, input: str | None,
    older_than: float | None,
) -> bool:
    if embedder is not None and embedder not in meta["embedder"]:
        return False
    if input is not None and input not in meta["label"]:
        return False
    return older_than is None or now - stat.st_mtime >= older_than


def _file_in_the_way(folder: Path) -> Path | None:
    """``folder`` or its nearest existing ancestor, when that is not a folder (then no cache can live there)."""
    for candidate in (folder, *folder.parents):
        if candidate.exists():
            return None if candidate.is_dir() else candidate
    return None


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
    """A shard's record, checked against the schema, or None when it cannot be read or is not this format's."""
    try:
        with np.load(path, allow_pickle=False) as npz:
            raw = npz["meta"]
            meta = check_meta(parse_json(str(raw)), SHARD_SCHEMA, format=SHARD_FORMAT,
                              version=SHARD_FORMAT_VERSION, required=True)
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile, zlib.error):
        return None
    if meta["format_version"] != SHARD_FORMAT_VERSION:
        return None
    return meta


def _shard_from_arrays(arrays: Mapping[str, np.ndarray], embedder_id: str, key: str) -> Shard:
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
    return shard


# ---------------------------------------------------------------------------------------------------- file digests
class _FileDigests:
    """sha256 of files, remembered per folder by (size, mtime, ctime, inode) so unchanged files are not read again.

    Each writer (rank) keeps its own index file per folder and readers merge them all, so concurrent runs and ranks
    never lose each other's entries wholesale; an entry whose file changed in any of those fields is ignored.
    """

    def __init__(self, cache: FeatureCache, writer: str) -> None:
        self.cache, self.folder, self.writer = cache, cache.root / _FILE_INDEX, writer

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
        text = json.dumps({"folder": str(folder), "files": current}).encode()
        self.cache.store(own, lambda handle: handle.write(text))  # only a speed-up: never fails a run


def _signature(path: Path) -> list[int] | None:
    try:
        stat = path.stat()
    except OSError:
        return None
    return [stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns, stat.st_ino]


def _read_index(index_file: Path, folder: Path) -> dict[str, list[Any]]:
    try:
        with open_regular(index_file) as handle:
            content = parse_json(handle.read(MAX_CHARS + 1).decode("utf-8", "replace"), "a file-digest index")
    except (OSError, MetaError):
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
