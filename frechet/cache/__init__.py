"""Content-addressed cache of embedder results: per shard of items, exact statistics state and optional feature rows.

A shard's key hashes the embedder id, the source kind and options, and the content digest of each of its items
(``Source.item_digest`` or the bytes of ``Source.item_path``), so a re-run on the same items finds it whatever the
inputs are called, a changed item or option misses, and a run killed at any moment resumes from the shards already
written. Every file is written to a temporary name and renamed, so concurrent runs may both write a shard: the last
rename wins and both versions are valid. Each shard carries a sha256 digest of its arrays and record, checked on
every read, so a shard changed by hand or by a disk error is recomputed, never used. Layout and semantics:
``docs/guide/cache.md``.

This module is the cache folder as a run uses it (shard keys, reading and writing shards); the shard file format is
in :mod:`frechet.cache.shard`, hashing item files in :mod:`frechet.cache.digests`, and listing and clearing the folder
in :mod:`frechet.cache.housekeeping`.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import BinaryIO

import numpy as np

from frechet.cache import housekeeping
from frechet.cache.digests import FileDigests
from frechet.cache.housekeeping import CacheEntry, Cleared, Leftovers
from frechet.cache.shard import (
    SHARD_FORMAT, SHARD_FORMAT_VERSION, SHARDS_FOLDER, Shard, read_meta, serves, shard_arrays, shard_digest,
    shard_from_arrays,
)
from frechet.caller import spell
from frechet.errors import ConfigError, InputError, OutputError
from frechet.io import atomic_write, read_npz
from frechet.meta import MetaError
from frechet.sources import Source, source_identity

__all__ = [
    "SHARD_FORMAT", "SHARD_FORMAT_VERSION", "SHARDS_FOLDER", "CacheEntry", "Cleared", "FeatureCache", "Leftovers",
    "Shard", "default_cache_dir", "serves", "shard_digest",
]

log = logging.getLogger("frechet")

_WARNING_LOCK = threading.Lock()


def default_cache_dir() -> Path:
    """``FRECHET_CACHE_DIR``, else ``$XDG_CACHE_HOME/frechet``, else ``~/.cache/frechet``."""
    configured = os.environ.get("FRECHET_CACHE_DIR", "").strip()
    if configured:
        return Path(configured).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME", "").strip()
    return (Path(xdg).expanduser() if xdg else Path.home() / ".cache") / "frechet"


class FeatureCache:
    """The cache folder: shard keys, shard files, listing and clearing."""

    def __init__(self, root: str | Path | None = None, *, progress: bool | None = None) -> None:
        """``progress`` as for :class:`frechet.progress.Progress` (hashing many new files says so)."""
        self.progress = progress
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
            hashed = FileDigests(self, writer).digests([Path(path) for path in paths])
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
        meta = read_meta(path)
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
            shard = shard_from_arrays(arrays, embedder_id, key)
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
        arrays = shard_arrays(shard, embedder_id, key, label=label, device=device)
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
        return housekeeping.entries(self.root)

    def leftovers(self) -> Leftovers:
        """The files besides this format's readable shards and indexes: frechet's own unusable ones, and others."""
        return housekeeping.leftovers(self.root)

    def total_bytes(self) -> int:
        """Bytes of every file frechet made in the folder: what :meth:`clear` with no filter frees."""
        return housekeeping.total_bytes(self.root)

    def clear(
        self, *, embedder: str | None = None, input: str | None = None, older_than: float | None = None
    ) -> Cleared:
        """Remove shards, all or those matching every filter given, and the files frechet can no longer use (see
        :func:`frechet.cache.housekeeping.clear`)."""
        return housekeeping.clear(self.root, embedder=embedder, input=input, older_than=older_than)


def _file_in_the_way(folder: Path) -> Path | None:
    """``folder`` or its nearest existing ancestor, when that is not a folder (then no cache can live there)."""
    for candidate in (folder, *folder.parents):
        if candidate.exists():
            return None if candidate.is_dir() else candidate
    return None


def _keys(source: Source, embedder_id: str, ranges: Sequence[tuple[int, int]], digests: Sequence[str]) -> list[str]:
    header = json.dumps(
        {
            "format": SHARD_FORMAT_VERSION,
            "embedder": embedder_id,
            **source_identity(source),
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
