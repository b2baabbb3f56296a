"""Safe reading of NumPy files: magic checked first, zip bombs refused, never unpickled, every failure an InputError
naming the file."""

from __future__ import annotations

import zipfile
import zlib
from collections.abc import Collection
from pathlib import Path
from typing import Any

import numpy as np

from frechet.archives import check_member_size
from frechet.errors import InputError

_ZIP_MAGIC = b"PK\x03\x04"
_NPY_MAGIC = b"\x93NUMPY"


def read_npz(
    path: Path, error: type[InputError] = InputError, hint: str = "", keys: Collection[str] | None = None
) -> dict[str, np.ndarray]:
    """The arrays of an ``.npz`` file (only those named in ``keys`` when given: others, such as an image batch stored
    beside statistics, are never read), loaded with ``allow_pickle=False``; ``error(message + hint)`` on any
    problem."""
    _expect_magic(path, _ZIP_MAGIC, "an .npz (zip) file", error, hint)
    try:
        with zipfile.ZipFile(path) as archive:
            for member in archive.infolist():
                check_member_size(member, f"{path}:{member.filename}")
    except InputError as problem:
        raise error(str(problem)) from None
    except (OSError, EOFError, zipfile.BadZipFile) as problem:
        raise error(f"{path}: unreadable or truncated .npz ({type(problem).__name__}){hint}") from None
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {key: npz[key] for key in npz.files if keys is None or key in keys}
    except ValueError as problem:
        raise _as_error(path, problem, error, hint) from None
    except (OSError, EOFError, zipfile.BadZipFile, zlib.error, KeyError) as problem:
        raise error(f"{path}: unreadable or truncated .npz ({type(problem).__name__}){hint}") from None
    for key, value in arrays.items():
        if not isinstance(value, np.ndarray):  # numpy hands back raw bytes for a member that is not .npy data
            raise error(f"{path}: member '{key}' is not a NumPy array{hint}")
    return arrays


def npz_headers(path: Path) -> dict[str, tuple[tuple[int, ...], np.dtype]]:
    """Shape and dtype of each array in an ``.npz``, read from the headers only (the data is never read); empty when
    the file is not a readable ``.npz``."""
    headers = {}
    try:
        with zipfile.ZipFile(path) as archive:
            for member in archive.infolist():
                if not member.filename.endswith(".npy"):
                    continue
                with archive.open(member) as handle:
                    shape, _, dtype = _read_header(handle)
                headers[member.filename[: -len(".npy")]] = (tuple(shape), dtype)
    except (OSError, EOFError, ValueError, zipfile.BadZipFile, zlib.error):
        return {}
    return headers


def _read_header(handle: Any) -> tuple[tuple[int, ...], bool, np.dtype]:
    """(shape, fortran order, dtype) of the ``.npy`` data at ``handle``'s position, which is left at the data."""
    version = np.lib.format.read_magic(handle)
    if version == (1, 0):
        return np.lib.format.read_array_header_1_0(handle)
    if version == (2, 0):
        return np.lib.format.read_array_header_2_0(handle)
    raise ValueError(f".npy format version {version} is not supported")


def read_npy(path: Path, error: type[InputError] = InputError, hint: str = "") -> np.ndarray:
    """A memory-mapped ``.npy`` array, loaded with ``allow_pickle=False``."""
    _expect_magic(path, _NPY_MAGIC, "a .npy file", error, hint)
    try:
        return np.load(path, mmap_mode="r", allow_pickle=False)
    except ValueError as problem:
        raise _as_error(path, problem, error, hint) from None
    except (OSError, EOFError) as problem:
        raise error(f"{path}: unreadable or truncated .npy ({type(problem).__name__}){hint}") from None


def _expect_magic(path: Path, magic: bytes, what: str, error: type[InputError], hint: str) -> None:
    try:
        with open(path, "rb") as handle:
            start = handle.read(len(magic))
    except FileNotFoundError:
        raise error(f"{path}: no such file") from None
    except OSError as problem:
        raise error(f"{path}: cannot be read ({problem.strerror or problem})") from None
    if start != magic:
        raise error(f"{path}: unreadable: not {what}{hint}")


def _as_error(path: Path, problem: ValueError, error: type[InputError], hint: str) -> InputError:
    if "pickle" in str(problem).lower() or "python objects" in str(problem).lower():
        return error(f"{path}: holds pickled Python objects, which frechet never loads; save plain numeric arrays")
    return error(f"{path}: unreadable ({problem}){hint}")
