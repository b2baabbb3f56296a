"""Images stored in an ``.npz``, as the ADM evaluator's batches hold them: ``arr_0``, an (N, H, W, 3) uint8 array,
read in place one image at a time when stored uncompressed, as ``np.savez`` writes it (read, not memory-mapped: a
map of a file that shrinks while in use kills the process). A reference batch also holds
statistics over its whole dataset — ``mu``/``sigma`` of the Inception pool3 features and ``mu_s``/``sigma_s`` of the
spatial (sFID) features — which are offered to the ``inception`` embedder as given, as the evaluator uses them."""

from __future__ import annotations

import hashlib
import logging
import math
import os
import struct
import zipfile
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from frechet.errors import InputError
from frechet.io import NpyMember, npz_members, open_regular, read_npz
from frechet.references import format_meta
from frechet.sources import Source
from frechet.stats import FeatureStats

log = logging.getLogger("frechet")

#: The array the ADM evaluator reads images from.
IMAGES = "arr_0"
#: Statistics of an ADM reference batch: embedder output -> the suffix of its arrays (mu/sigma, mu_s/sigma_s).
ADM_STATISTICS = {"pool": None, "sfid": "s"}
_LOCAL_HEADER = struct.Struct("<4s5H3I2H")  # a zip member's local file header, before its name and extra field
_IN_MEMORY_WARNING_BYTES = 1 << 30
#: Bytes of neighbouring images read at once from an uncompressed batch.
_BLOCK_BYTES = 1 << 20


class NpzImageSource(Source):
    """The images of an ``.npz`` batch; item i is ``arr_0[i]``."""

    domain = "image"

    def __init__(self, path: str | Path) -> None:
        super().__init__(str(path))
        self.path = Path(path)
        members = npz_members(self.path)
        if not members:
            raise InputError(f"{path}: not a readable .npz file")
        headers = {name: (member.shape, member.dtype) for name, member in members.items()}
        self.key = _image_array(headers, self.path)
        shape, dtype = headers[self.key]
        if dtype != np.uint8 or len(shape) != 4 or shape[3] != 3:
            raise InputError(
                f"{path}: '{self.key}' is a {dtype} array of shape {shape}; image batches are uint8 (N, H, W, 3), as "
                "the ADM evaluator reads them"
            )
        if 0 in shape:
            raise InputError(f"{path}: '{self.key}' holds no images (shape {shape})")
        self.shape, self.headers = shape, headers
        self._offset = member_data_offset(self.path, members[self.key])
        self._file: BinaryIO | None = None
        self._block: tuple[int, np.ndarray] | None = None  # (first image, images) read last
        self._array: np.ndarray | None = None
        self._stored: dict[str, FeatureStats] | None = None

    def __len__(self) -> int:
        return self.shape[0]

    def load(self, index: int) -> np.ndarray:
        return self._image(index)

    def item_name(self, index: int) -> str:
        return f"{self.path}[{index}]"

    def item_digest(self, index: int) -> str:
        image = self._image(index)
        return hashlib.sha256(str(image.shape).encode() + np.ascontiguousarray(image).tobytes()).hexdigest()

    def stored_stats(self) -> dict[str, FeatureStats]:
        if self._stored is None:
            self._stored = {}
            for output, key in ADM_STATISTICS.items():
                names = ("mu", "sigma") if key is None else (f"mu_{key}", f"sigma_{key}")
                if all(name in self.headers for name in names):
                    stats = FeatureStats.load(self.path, key=key)
                    stats.meta = {**format_meta("adm-batch"), **stats.meta, "output": output}
                    self._stored[output] = stats
        return self._stored

    def _image(self, index: int) -> np.ndarray:
        """Image ``index``: read from its place in the file, a block of neighbours at a time (items are mostly read
        in order), or taken from the decompressed array of a compressed member."""
        if self._offset is None:
            return np.array(self._decompressed()[index], order="C")
        per_block = max(1, _BLOCK_BYTES // math.prod(self.shape[1:]))
        first = index - index % per_block
        if self._block is None or self._block[0] != first:
            self._block = (first, self._read_block(first, min(per_block, self.shape[0] - first)))
        return self._block[1][index - first].copy()

    def _read_block(self, first: int, count: int) -> np.ndarray:
        """Images ``first`` to ``first + count``, checked to be all there (the file may shrink while it is read)."""
        block = np.empty((count, *self.shape[1:]), np.uint8)
        if self._file is None:  # opened once per process (DataLoader workers open their own)
            self._file = open_regular(self.path)
        got = os.preadv(self._file.fileno(), [block], self._offset + first * block[0].nbytes)
        if got != block.nbytes:
            cut = first + got // block[0].nbytes
            raise InputError(f"{self.path}: image {cut} is cut short: the file was truncated or replaced while being "
                             "read; restore it and run again")
        return block

    def _decompressed(self) -> np.ndarray:
        """The image array of a compressed member, decompressed into memory once per process."""
        if self._array is None:
            size = math.prod(self.shape)
            if size > _IN_MEMORY_WARNING_BYTES:
                log.warning("%s: '%s' is compressed, so its %.1f GiB are decompressed into memory; save image "
                            "batches with np.savez to read them in place", self.path, self.key, size / 2**30)
            self._array = read_npz(self.path, keys={self.key})[self.key]
        return self._array

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_array": None, "_file": None, "_block": None}


def _image_array(headers: dict[str, tuple[tuple[int, ...], np.dtype]], path: Path) -> str:
    if IMAGES in headers:
        return IMAGES
    batches = [name for name, (shape, _) in headers.items() if len(shape) == 4]
    if len(batches) == 1:
        return batches[0]
    raise InputError(
        f"{path}: no image batch found (arrays: {', '.join(sorted(headers))}); store the images as 'arr_0', an "
        "(N, H, W, 3) uint8 array: np.savez(path, arr_0=images)"
    )


def member_data_offset(path: Path, member: NpyMember) -> int | None:
    """Where the array data of an uncompressed, C-ordered member starts in the file; None when it cannot be read in
    place."""
    info = member.info
    if info.compress_type != zipfile.ZIP_STORED or info.flag_bits & 0x1 or member.fortran:
        return None
    try:
        with open_regular(path) as handle:
            handle.seek(info.header_offset)
            fields = _LOCAL_HEADER.unpack(handle.read(_LOCAL_HEADER.size))
    except (OSError, struct.error):
        return None
    if fields[0] != b"PK\x03\x04":
        return None
    start = info.header_offset + _LOCAL_HEADER.size + fields[-2] + fields[-1]
    if start + member.header_bytes + member.data_bytes > os.path.getsize(path):
        raise InputError(f"{path}: '{info.filename}' extends beyond the end of the file; the file is truncated")
    return start + member.header_bytes


def open_image_npz(path: str | Path) -> NpzImageSource:
    """The images of an ``.npz`` batch (the ADM evaluator's format)."""
    return NpzImageSource(path)
