"""Bounds for reading tensor archives (``torch.save`` zips, TorchScript archives): the sizes their zip directory
declares are checked before anything is unpacked, and each tensor's view of its storage before it is copied, so a
small file can never stand for gigabytes of work or memory."""

from __future__ import annotations

import math
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch

from frechet.io import check_member_size
from frechet.walk import WalkLimit, bounded_walk

#: The largest pickle of an archive read (a model's pickle lists its tensors: about 100 KB for OpenAI's ViT-L/14).
MAX_PICKLE_BYTES = 64 << 20
#: The most values visited in what an archive's pickle built (shared ones counted at each use).
MAX_NODES = 1_000_000


@dataclass(frozen=True)
class StorageRef:
    """A storage a pickle names, not yet read: its key in the file, element dtype and element count."""

    key: str
    dtype: torch.dtype
    numel: int

    @property
    def nbytes(self) -> int:
        """The bytes the file must hold for it."""
        return self.numel * torch.empty((), dtype=self.dtype).element_size()


@dataclass(frozen=True)
class TensorRef:
    """A tensor a pickle rebuilds, not yet read: its storage, offset, size and stride."""

    storage: StorageRef
    offset: int
    size: tuple[int, ...]
    stride: tuple[int, ...]


def tensor_rebuilder(error: type[Exception]) -> Callable[..., TensorRef]:
    """What a reader's unpickler gives for ``torch._utils._rebuild_tensor_v2``: a :class:`TensorRef` (nothing is
    read or allocated), or ``error`` when the tensor names something other than a storage."""

    def rebuild(storage: Any, offset: Any, size: Any, stride: Any, *_: Any) -> TensorRef:
        if not isinstance(storage, StorageRef):
            raise error("a tensor refers to something that is not a storage")
        return TensorRef(storage, int(offset), tuple(int(side) for side in size), tuple(int(step) for step in stride))

    return rebuild


def zip_storage_reader(archive: zipfile.ZipFile, prefix: str, error: type[Exception]) -> Callable[[StorageRef], bytes]:
    """A ``read`` for :func:`copy_tensor` over a zip archive's ``{prefix}data/`` members: each storage's bytes, once
    its member's size was checked against the size the pickle declares (``error`` otherwise)."""

    def read(storage: StorageRef) -> bytes:
        try:
            info = archive.getinfo(f"{prefix}data/{storage.key}")
        except KeyError:
            raise error(f"storage {storage.key} is missing from the archive") from None
        if info.file_size != storage.nbytes:
            raise error(f"storage {storage.key} holds {info.file_size:,} bytes, not the {storage.numel:,} values "
                        "it declares")
        return archive.read(info)

    return read


def copy_tensor(
    ref: TensorRef, read: Callable[[StorageRef], bytes], storages: dict[str, torch.Tensor], error: type[Exception]
) -> torch.Tensor:
    """The tensor ``ref`` describes, copied out of its storage: each storage read once by ``read`` (which checks the
    bytes it returns against the size the pickle declares) and kept in ``storages``, the view checked
    (:func:`view_problem`) before it is copied; ``error`` for a view that does not fit."""
    storage = storages.get(ref.storage.key)
    if storage is None:
        raw, dtype = read(ref.storage), ref.storage.dtype
        storage = torch.frombuffer(bytearray(raw), dtype=dtype) if raw else torch.empty(0, dtype=dtype)
        storages[ref.storage.key] = storage
    problem = view_problem(ref.size, ref.stride, ref.offset, storage.numel())
    if problem is not None:
        raise error(f"storage {ref.storage.key}: {problem}; the file is corrupt or crafted")
    try:
        return storage.as_strided(ref.size, ref.stride, ref.offset).clone()
    except RuntimeError:
        raise error(f"a tensor of shape {ref.size} does not fit its storage {ref.storage.key}") from None


def archive_problem(archive: zipfile.ZipFile, file_size: int) -> str | None:
    """Why the members of a tensor archive cannot be read within bounds, or None: a member lying beyond the end of
    the file, one that would unpack like a zip bomb, or a pickle larger than :data:`MAX_PICKLE_BYTES`."""
    for info in archive.infolist():
        if info.header_offset + info.compress_size > file_size:
            return f"{info.filename} declares {info.compress_size:,} bytes beyond the end of the file"
        if info.filename.endswith(".pkl") and info.file_size > MAX_PICKLE_BYTES:
            return f"{info.filename} would unpack to {info.file_size:,} bytes, more than a model's pickle needs"
        try:
            check_member_size(info, info.filename)
        except ValueError as error:
            return str(error)
    return None


def view_problem(size: Sequence[int], stride: Sequence[int], offset: int, available: int) -> str | None:
    """Why a tensor of ``size``, ``stride`` and storage ``offset`` cannot be a saved tensor's view of a storage of
    ``available`` elements, or None. It must lie inside the storage and have no more elements than it: no negative
    values, and no overlapping strides (stride 0 on a longer dimension included) that would make a few stored bytes
    cost gigabytes once copied."""
    if len(size) != len(stride) or min((*size, *stride, offset), default=0) < 0:
        return f"strides {tuple(stride)} and offset {offset} do not describe a saved tensor of shape {tuple(size)}"
    count = math.prod(size)
    if count == 0:
        return None
    extent = offset + sum((side - 1) * step for side, step in zip(size, stride)) + 1
    if extent > available or count > available:
        return (f"a tensor of shape {tuple(size)} (strides {tuple(stride)}, offset {offset}) reaches beyond or "
                f"repeats its storage of {available:,} values")
    return None


def tensors_problem(value: Any) -> str | None:
    """Why the tensors in a loaded state (a dict, possibly nested, of tensors and plain values) are not views that
    fit their storages, or None; the walk counts every visit, so shared containers are bounded too."""
    try:
        for item, _ in bounded_walk(value, _contents, max_nodes=MAX_NODES, max_depth=MAX_NODES):
            if isinstance(item, torch.Tensor):
                available = item.untyped_storage().nbytes() // max(item.element_size(), 1)
                problem = view_problem(item.shape, item.stride(), item.storage_offset(), available)
                if problem is not None:
                    return problem
    except WalkLimit as error:
        return f"it holds {error}"
    return None


def _contents(item: Any) -> list[tuple[str, Any]]:
    if isinstance(item, dict):
        return [("", value) for value in item.values()]
    return [("", value) for value in item] if isinstance(item, (list, tuple)) else []
