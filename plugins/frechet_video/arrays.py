"""Videos stored in ``.npy`` / ``.npz`` files as one (N, T, H, W, 3) array, uint8 or float in [0, 1].

The header's shape is checked against the bytes the file holds before anything is read; an uncompressed array
(``np.save``, ``np.savez``) is then read in place, only the frames a clip takes, and a compressed ``.npz`` member is
decompressed into memory once per process. Float frames are returned as float32 and checked to lie in [0, 1] as
they are read. Each video's digest for the feature cache hashes its own bytes (:mod:`frechet_video.digest`).
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

import numpy as np

from frechet.errors import InputError
from frechet.io import npz_members, open_regular, read_npy_header, read_npz
from frechet.sources import Source
from frechet_image.npz import member_data_offset
from frechet_video.digest import array_digest, stored_digest
from frechet_video.video import ArrayVideo, Video, checked_frames

_LAYOUT = "(videos, frames, height, width, 3)"


class StoredVideo(Video):
    """Video ``index`` of an uncompressed array file: frames read from their place in the file."""

    def __init__(self, path: Path, offset: int, shape: tuple[int, ...], dtype: np.dtype, name: str) -> None:
        self.path, self.offset, self.frame_shape, self.dtype = path, offset, shape[1:], dtype
        self.frame_bytes = math.prod(self.frame_shape) * dtype.itemsize
        super().__init__(name, shape[0])

    def _read(self, indices: list[int]) -> np.ndarray:
        frames = np.empty((len(indices), *self.frame_shape), self.dtype)
        with open_regular(self.path) as handle:
            for row, index in enumerate(indices):
                got = os.preadv(handle.fileno(), [frames[row]], self.offset + index * self.frame_bytes)
                if got != self.frame_bytes:
                    raise InputError(f"{self.name}: frame {index} is cut short; the file was truncated or replaced "
                                     "while being read — restore it and run again")
        return checked_frames(frames, self.name)


class ArrayFileSource(Source):
    """The videos of a ``.npy`` file, or of one array in an ``.npz`` (``arr_0``, or its only 5-D array)."""

    domain = "video"

    def __init__(self, path: str | Path) -> None:
        super().__init__(str(path))
        self.path = Path(path)
        if self.path.suffix.lower() == ".npz":
            self.key, self.shape, dtype, self._offset = _npz_array(self.path)
        else:
            self.key, (self.shape, dtype, self._offset) = None, _npy_array(self.path)
        self.dtype = _checked_layout(self.shape, dtype, self.path)
        self._array: np.ndarray | None = None

    def __len__(self) -> int:
        return self.shape[0]

    def load(self, index: int) -> Video:
        name = self.item_name(index)
        if self._offset is None:
            return ArrayVideo(self._decompressed()[index], name)
        return StoredVideo(self.path, self._video_offset(self._offset, index), self.shape[1:], self.dtype, name)

    def item_name(self, index: int) -> str:
        return f"{self.path}[{index}]"

    def item_digest(self, index: int) -> str | None:
        if self._offset is None:
            return array_digest(self._decompressed()[index])
        return stored_digest(self.path, self._video_offset(self._offset, index), self.dtype, self.shape[1:])

    def _video_offset(self, data_offset: int, index: int) -> int:
        """Where video ``index`` starts in the file whose array data starts at ``data_offset``."""
        return data_offset + index * math.prod(self.shape[1:]) * self.dtype.itemsize

    def _decompressed(self) -> np.ndarray:
        if self._array is None:  # once per process: DataLoader workers decompress their own
            self._array = read_npz(self.path, keys={self.key})[self.key]
        return self._array

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_array": None}


def _npy_array(path: Path) -> tuple[tuple[int, ...], np.dtype, int]:
    """(shape, dtype, data offset) of a ``.npy`` file, its header checked against the file's size."""
    try:
        with open_regular(path) as handle:
            if handle.read(6) != b"\x93NUMPY":
                raise InputError(f"{path}: not a .npy file; save videos with np.save(path, videos)")
            handle.seek(0)
            shape, fortran, dtype = read_npy_header(handle)
            offset, size = handle.tell(), os.fstat(handle.fileno()).st_size
    except OSError as error:
        raise InputError(f"{path}: cannot be read ({error.strerror or error})") from None
    except ValueError as error:
        raise InputError(f"{path}: unreadable .npy header ({error})") from None
    if fortran:
        raise InputError(f"{path}: stored in Fortran order; save it C-ordered: np.save(path, np.ascontiguousarray(a))")
    claimed = math.prod(shape) * dtype.itemsize
    if offset + claimed > size:
        raise InputError(f"{path}: claims shape {tuple(shape)} of {dtype} ({claimed:,} bytes), but holds "
                         f"{size - offset:,}; the file is truncated or corrupt")
    return tuple(shape), dtype, offset


def _npz_array(path: Path) -> tuple[str, tuple[int, ...], np.dtype, int | None]:
    """(key, shape, dtype, data offset or None when compressed) of the video array of an ``.npz``."""
    members = npz_members(path)
    if "arr_0" in members:
        key = "arr_0"
    else:
        batches = [name for name, member in members.items() if len(member.shape) == 5]
        if len(batches) != 1:
            raise InputError(f"{path}: no single video array found (arrays: {', '.join(sorted(members)) or 'none'}); "
                             f"store the videos as 'arr_0', a {_LAYOUT} array: np.savez(path, videos)")
        key = batches[0]
    member = members[key]
    return key, member.shape, member.dtype, member_data_offset(path, member)


def _checked_layout(shape: tuple[int, ...], dtype: np.dtype, path: Path) -> np.dtype:
    if len(shape) != 5 or shape[-1] != 3:
        raise InputError(f"{path}: an array of shape {shape}; videos are stored as {_LAYOUT} RGB"
                         + (" — a 4-D array is images: use an image embedder, or add the frames axis" if len(shape) == 4
                            else ""))
    if dtype != np.uint8 and dtype.kind != "f":
        raise InputError(f"{path}: videos must be uint8 (0-255) or float (0-1), got dtype {dtype}")
    if 0 in shape:
        raise InputError(f"{path}: holds no video frames (shape {shape})")
    return dtype
