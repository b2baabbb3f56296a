"""Listing and clearing the cache folder: cached inputs per embedder, and which files are frechet's to remove."""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from frechet.cache.shard import SHARD_FORMAT_VERSION, SHARDS_FOLDER, read_meta
from frechet.io import open_regular

#: What frechet names its files in the cache folder: shards of any format version, file-digest indexes, and the
#: temporary files of writes in progress (or of killed runs). Anything else there was not made by frechet.
_SHARD_NAME = re.compile(r"^shards-v(\d+)/[0-9a-f]{16}/[0-9a-f]{64}\.npz$")
_INDEX_NAME = re.compile(r"^file-digests-v\d+/[0-9a-f]{24}\.[A-Za-z0-9_-]+\.json$")
_TEMP_NAME = re.compile(r"^(shards-v\d+/[0-9a-f]{16}|file-digests-v\d+)/\.[^/]+\.tmp$")
#: The folders frechet makes in the cache folder: only these are looked into (any other folder, say the whole
#: filesystem when the cache folder is /, is reported as not frechet's without being walked).
_OWN_FOLDER = re.compile(r"^(shards-v\d+(/[0-9a-f]{16})?|file-digests-v\d+)$")
_ZIP_MAGIC = b"PK\x03\x04"
#: Temporary files older than this are left over from killed runs (a live write lasts seconds); `clear` removes them.
_STALE_TEMP_SECONDS = 3600


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


def entries(root: Path) -> list[CacheEntry]:
    """The cached shards grouped by (embedder id, input), newest use first."""
    groups: dict[tuple[str, str], dict[str, Any]] = {}
    for path, meta in _shards(root):
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


def leftovers(root: Path) -> Leftovers:
    """The files besides this format's readable shards and indexes: frechet's own unusable ones, and others."""
    unusable, foreign, size = [], [], 0
    for path, kind in _files(root):
        if kind == "shard" and read_meta(path) is None:
            kind = "unusable"
        if kind in ("unusable", "old", "temporary"):
            unusable.append(str(path))
            size += _size(path)
        elif kind == "foreign":
            foreign.append(str(path))
    return Leftovers(unusable, size, foreign)


def total_bytes(root: Path) -> int:
    """Bytes of every file frechet made in the cache folder, counted as :func:`clear` counts what it removes: with
    no filter, ``clear`` frees exactly this (writes in progress aside)."""
    total, now = 0, time.time()
    for path, kind in _files(root):
        try:
            stat = path.stat()
        except FileNotFoundError:  # a concurrent `clear`
            continue
        if kind != "foreign" and not (kind == "temporary" and _in_progress(stat, now)):
            total += stat.st_size
    return total


def clear(
    root: Path, *, embedder: str | None = None, input: str | None = None, older_than: float | None = None
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
    for path, kind in _files(root):
        if kind == "foreign":
            foreign.append(str(path))
            continue
        try:
            stat = path.stat()
        except FileNotFoundError:  # a concurrent `clear`
            continue
        if kind == "shard":
            meta = read_meta(path)
            if meta is None:
                kind = "unusable"
            elif not unfiltered and not _selected(meta, stat, now, embedder, input, older_than):
                continue
        elif kind == "temporary" and _in_progress(stat, now):
            continue
        elif kind in ("index", "old") and not unfiltered:
            continue
        files, size = files + 1, size + _remove(path, stat.st_size)
    for folder in sorted(root.glob("shards-v*/*"), reverse=True):
        if folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()
    return Cleared(files, size, foreign)


def _shards(root: Path) -> Iterable[tuple[Path, dict[str, Any]]]:
    for path in sorted((root / SHARDS_FOLDER).glob("*/*.npz")):
        meta = read_meta(path)
        if meta is not None:
            yield path, meta


def _files(root: Path) -> Iterable[tuple[Path, str]]:
    """Every file in frechet's folders under the cache folder with what it is: "shard" (this format), "old" (an
    older format), "index", "temporary", "unusable" (named like frechet's but not what the name says) or "foreign";
    a folder frechet does not make is "foreign" as a whole, and never walked."""
    if not root.is_dir():
        return
    for folder, folders, names in os.walk(root):
        own = []
        for name in sorted(folders):
            path = Path(folder) / name
            if _OWN_FOLDER.match(path.relative_to(root).as_posix()):
                own.append(name)
            else:
                yield path, "foreign"
        folders[:] = own
        for name in sorted(names):
            path = Path(folder) / name
            yield path, _kind(path, path.relative_to(root).as_posix())


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


def _in_progress(stat: os.stat_result, now: float) -> bool:
    """Whether a temporary file is a write in progress rather than the leftover of a killed run."""
    return now - stat.st_mtime <= _STALE_TEMP_SECONDS


def _selected(
    meta: Mapping[str, Any], stat: os.stat_result, now: float, embedder: str | None, input: str | None,
    older_than: float | None,
) -> bool:
    if embedder is not None and embedder not in meta["embedder"]:
        return False
    if input is not None and input not in meta["label"]:
        return False
    return older_than is None or now - stat.st_mtime >= older_than


def _remove(path: Path, size: int) -> int:
    try:
        path.unlink()
    except FileNotFoundError:  # a concurrent `clear`
        return 0
    return size
