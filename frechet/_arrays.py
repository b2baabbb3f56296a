"""Safe reading of NumPy files: magic checked first, zip bombs refused, never unpickled, every failure an InputError
naming the file."""

from __future__ import annotations

import zipfile
import zlib
from pathlib import Path

import numpy as np

from frechet.archives import check_member_size
from frechet.errors import InputError

_ZIP_MAGIC = b"PK\x03\x04"
_NPY_MAGIC = b"\x93NUMPY"


def read_npz(path: Path, error: type[InputError] = InputError, hint: str = "") -> dict[str, np.ndarray]:
    """All arrays of an ``.npz`` file, loaded with ``allow_pickle=False``; ``error(message + hint)`` on any problem."""
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
            arrays = {key: npz[key] for key in npz.files}
    except ValueError as problem:
        raise _as_error(path, problem, error, hint) from None
    except (OSError, EOFError, zipfile.BadZipFile, zlib.error, KeyError) as problem:
        raise error(f"{path}: unreadable or truncated .npz ({type(problem).__name__}){hint}") from None
    for key, value in arrays.items():
        if not isinstance(value, np.ndarray):  # numpy hands back raw bytes for a member that is not .npy data
            raise error(f"{path}: member '{key}' is not a NumPy array{hint}")
    return arrays


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
