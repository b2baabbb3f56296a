"""sha256 of the files behind items, remembered per folder in the cache so unchanged files are not read again."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

from frechet.io import file_sha256, open_regular
from frechet.meta import MAX_CHARS, MetaError, parse_json
from frechet.progress import Progress

if TYPE_CHECKING:
    from frechet.cache import FeatureCache

_FILE_INDEX = "file-digests-v1"
_HASH_THREADS = 8
#: Hashing at least this many bytes of new files says so (it can take seconds on a slow disk).
_ANNOUNCE_BYTES = 128 * 2**20


class FileDigests:
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
            hashed = self._hash([absolute[position] for position in missing],
                                sum(signatures[position][0] for position in missing if signatures[position]))
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

    def _hash(self, paths: Sequence[Path], size: int) -> list[str | None]:
        """sha256 of each file (None when unreadable), in threads; announced when there are many bytes to read."""
        show = self.cache.progress if size >= _ANNOUNCE_BYTES else False
        description = f"hashing new files for the cache ({size / 2**20:.0f} MiB)"
        with Progress(len(paths), description, unit="file", show=show) as progress, \
                ThreadPoolExecutor(min(_HASH_THREADS, len(paths))) as pool:
            hashed = []
            for digest in pool.map(_hash_file, paths):
                hashed.append(digest)
                progress.update()
        return hashed

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
