"""Content digests of videos that are not files of their own, so that the feature cache knows them again: a video of
a ``.npy``/``.npz`` file by the sha256 of its element type, shape and own bytes (not the whole file's, so a changed
video misses only its own shard), read a bounded piece at a time; a frame folder by the sha256 of its frame files'
digests, in frame order."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from frechet.io import file_sha256, open_regular

#: Bytes of a stored video read at once while hashing it.
CHUNK = 8 << 20


def _header(dtype: np.dtype, shape: tuple[int, ...]) -> hashlib._Hash:
    return hashlib.sha256(f"video {dtype.str} {tuple(shape)}\n".encode())


def array_digest(video: np.ndarray) -> str:
    """sha256 hex of a video array's dtype, shape and bytes (a decompressed ``.npz`` member's video)."""
    digest = _header(video.dtype, video.shape)
    digest.update(np.ascontiguousarray(video).reshape(-1).view(np.uint8))
    return digest.hexdigest()


def stored_digest(path: Path, offset: int, dtype: np.dtype, shape: tuple[int, ...]) -> str | None:
    """sha256 hex of the video of ``dtype`` and ``shape`` stored at ``offset`` of ``path`` (as :func:`array_digest`
    gives for the same array), read ``CHUNK`` bytes at a time; None when the file cannot be read or is cut short
    (loading the video then reports it)."""
    digest = _header(dtype, shape)
    remaining = int(np.prod(shape)) * dtype.itemsize
    try:
        with open_regular(path) as handle:
            while remaining:
                chunk = os.pread(handle.fileno(), min(CHUNK, remaining), offset)
                if not chunk:
                    return None
                digest.update(chunk)
                offset, remaining = offset + len(chunk), remaining - len(chunk)
    except OSError:
        return None
    return digest.hexdigest()


def frames_digest(frames: Sequence[Path]) -> str | None:
    """sha256 hex of the sha256 digests of a frame folder's files, in frame order; None when one cannot be read
    (loading the video then reports it)."""
    digest = hashlib.sha256(f"frames {len(frames)}\n".encode())
    try:
        for path in frames:
            digest.update(file_sha256(path).encode())
    except OSError:
        return None
    return digest.hexdigest()
