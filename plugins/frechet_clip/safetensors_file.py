"""Read a ``.safetensors`` file (an 8-byte little-endian header length, a JSON header naming each tensor's dtype,
shape and byte range, then the raw bytes) into torch tensors, without the ``safetensors`` package. The header is
read within size and nesting limits, and every tensor's byte range is checked against the file before it is read.
Errors are ValueErrors naming the file."""

from __future__ import annotations

import math
import struct
from collections.abc import Callable
from pathlib import Path

import torch

from frechet.io import open_regular
from frechet.meta import parse_json

_DTYPES = {
    "F16": torch.float16, "BF16": torch.bfloat16, "F32": torch.float32, "F64": torch.float64,
    "I8": torch.int8, "U8": torch.uint8, "I16": torch.int16, "I32": torch.int32, "I64": torch.int64,
    "BOOL": torch.bool,
}
#: A header larger than this is not a weights file's (safetensors itself caps headers at 100 MB).
_MAX_HEADER = 100_000_000


def read_safetensors(path: str | Path, keep: Callable[[str], bool] | None = None) -> dict[str, torch.Tensor]:
    """The file's tensors (only the names ``keep`` accepts when given); ValueError naming the file when it is
    malformed (OSError when it cannot be opened, or is not a regular file)."""
    try:
        return _read(path, keep)
    except ValueError as error:
        raise ValueError(f"{path}: {error}") from None


def _read(path: str | Path, keep: Callable[[str], bool] | None) -> dict[str, torch.Tensor]:
    with open_regular(path) as file:
        head = file.read(8)
        if len(head) != 8:
            raise ValueError("too short for a safetensors file")
        (length,) = struct.unpack("<Q", head)
        file.seek(0, 2)
        size = file.tell()
        if length > min(_MAX_HEADER, size - 8):
            raise ValueError(f"header of {length:,} bytes is implausible for a {size:,}-byte file")
        file.seek(8)
        try:
            header = parse_json(file.read(length).decode("utf-8"), "the header")
        except UnicodeDecodeError:
            raise ValueError("the header is not JSON") from None
        if not isinstance(header, dict):
            raise ValueError("the header is not a JSON object")
        data_size = size - 8 - length
        tensors = {}
        for name, entry in header.items():
            if name == "__metadata__" or (keep is not None and not keep(name)):
                continue
            dtype, shape, (start, end) = _entry(name, entry, data_size)
            file.seek(8 + length + start)
            raw = bytearray(file.read(end - start))
            tensor = torch.frombuffer(raw, dtype=dtype) if raw else torch.empty(0, dtype=dtype)
            tensors[name] = tensor.reshape(shape)
    return tensors


def _entry(name: str, entry: object, data_size: int) -> tuple[torch.dtype, tuple[int, ...], tuple[int, int]]:
    """A header entry's dtype, shape and byte range, checked against each other and the file's size."""
    try:
        dtype = _DTYPES[entry["dtype"]]  # type: ignore[index]
        shape = tuple(int(side) for side in entry["shape"])  # type: ignore[index]
        start, end = (int(offset) for offset in entry["data_offsets"])  # type: ignore[index]
    except (KeyError, TypeError, ValueError, OverflowError):
        raise ValueError(f"tensor '{name}' has a malformed header entry") from None
    itemsize = torch.empty((), dtype=dtype).element_size()
    if min(shape, default=0) < 0 or not 0 <= start <= end <= data_size or end - start != math.prod(shape) * itemsize:
        raise ValueError(f"tensor '{name}' does not fit its byte range")
    return dtype, shape, (start, end)
