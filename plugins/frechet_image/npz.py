"""Images stored in an ``.npz``, as the ADM evaluator's batches hold them: ``arr_0``, an (N, H, W, 3) uint8 array,
read in place (memory-mapped when stored uncompressed, as ``np.savez`` writes it). A reference batch also holds
statistics over its whole dataset — ``mu``/``sigma`` of the Inception pool3 features and ``mu_s``/``sigma_s`` of the
spatial (sFID) features — which are offered to the ``inception`` embedder as given, as the evaluator uses them."""

from __future__ import annotations

import hashlib
import logging
import struct
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from frechet.io import npz_headers, read_npy_header
from frechet.errors import InputError
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


class NpzImageSource(Source):
    """The images of an ``.npz`` batch; item i is ``arr_0[i]``."""

    domain = "image"

    def __init__(self, path: str | Path) -> None:
        super().__init__(str(path))
        self.path = Path(path)
        headers = npz_headers(self.path)
        if not headers:
            raise InputError(f"{path}: not a readable .npz file")
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
        self._offset = _data_offset(self.path, f"{self.key}.npy")
        self._array: np.ndarray | None = None
        self._stored: dict[str, FeatureStats] | None = None

    def __len__(self) -> int:
        return self.shape[0]

    def load(self, index: int) -> np.ndarray:
        return np.array(self._images()[index], order="C")

    def item_name(self, index: int) -> str:
        return f"{self.path}[{index}]"

    def item_digest(self, index: int) -> str:
        image = self._images()[index]
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

    def _images(self) -> np.ndarray:
        """The image array, opened once per process (DataLoader workers open their own)."""
        if self._array is None:
            if self._offset is not None:
                self._array = np.memmap(self.path, np.uint8, "r", offset=self._offset, shape=self.shape)
            else:
                size = int(np.prod(self.shape))
                if size > _IN_MEMORY_WARNING_BYTES:
                    log.warning("%s: '%s' is compressed, so its %.1f GiB are decompressed into memory; save image "
                                "batches with np.savez to read them in place", self.path, self.key, size / 2**30)
                with np.load(self.path, allow_pickle=False) as npz:
                    self._array = npz[self.key]
        return self._array

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_array": None}


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


def _data_offset(path: Path, member_name: str) -> int | None:
    """Where the array data of an uncompressed, C-ordered member starts in the file; None when it cannot be mapped."""
    try:
        with zipfile.ZipFile(path) as archive:
            member = archive.getinfo(member_name)
        if member.compress_type != zipfile.ZIP_STORED or member.flag_bits & 0x1:
            return None
        with open(path, "rb") as handle:
            handle.seek(member.header_offset)
            fields = _LOCAL_HEADER.unpack(handle.read(_LOCAL_HEADER.size))
            if fields[0] != b"PK\x03\x04":
                return None
            handle.seek(member.header_offset + _LOCAL_HEADER.size + fields[-2] + fields[-1])
            start = handle.tell()
            shape, fortran, _ = read_npy_header(handle)
            offset = handle.tell()
        if fortran or offset - start + int(np.prod(shape)) != member.file_size:
            return None
        return offset
    except (OSError, KeyError, ValueError, struct.error, zipfile.BadZipFile):
        return None


def open_image_npz(path: str | Path) -> NpzImageSource:
    """The images of an ``.npz`` batch (the ADM evaluator's format)."""
    return NpzImageSource(path)
