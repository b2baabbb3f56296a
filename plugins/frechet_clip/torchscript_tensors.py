"""Read the tensors of a TorchScript archive (such as OpenAI's published CLIP ``.pt`` files) without running it.

A TorchScript archive is a zip holding ``<name>/data.pkl`` (the module tree as pickled objects whose tensors point
at storages), the raw storages under ``<name>/data/<key>``, and the model's code. ``torch.jit.load`` compiles and
runs that code; this reader only unpickles ``data.pkl`` with an unpickler that admits the handful of names a module
tree needs (``__torch__.*`` classes become inert attribute holders, storages and the tensor rebuild function become
lazy references) and refuses every other global, then copies out the storages of the tensors asked for.

Its work is bounded by what the archive holds: ``data.pkl`` and each storage are sized from the zip's directory
before they are read (no zip bombs, no storage other than its member's size), the module tree is
walked with every visit counted (shared modules count at each use), and a tensor must lie inside its storage with
no more elements than it (no stride tricks that make a few bytes stand for gigabytes).
"""

from __future__ import annotations

import io
import os
import pickle
import zipfile
import zlib
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from frechet.io import open_regular
from frechet.tensor_files import MAX_NODES, StorageRef, TensorRef, archive_problem, copy_tensor, tensor_rebuilder
from frechet.walk import WalkLimit, bounded_walk

#: torch's storage class names in pickles -> element dtype.
_STORAGES = {
    "HalfStorage": torch.float16, "FloatStorage": torch.float32, "DoubleStorage": torch.float64,
    "BFloat16Storage": torch.bfloat16, "LongStorage": torch.int64, "IntStorage": torch.int32,
    "ShortStorage": torch.int16, "CharStorage": torch.int8, "ByteStorage": torch.uint8, "BoolStorage": torch.bool,
}
#: Helpers TorchScript pickles may call to tag lists and types; each returns its first argument unchanged.
_TAGGERS = {"build_intlist", "build_tensorlist", "build_doublelist", "build_boollist", "restore_type_tag"}
#: The deepest nesting of the module tree read (modules nest a few levels).
MAX_DEPTH = 64


class ArchiveError(ValueError):
    """The file is not a TorchScript archive this reader can take apart safely."""


def is_torchscript_archive(path: str | Path) -> bool:
    """True for a zip with a ``*/data.pkl`` and a ``*/code/`` folder (how TorchScript archives differ from the
    zip files of ``torch.save``, which have no code). A path that is not a regular file is not one (and is never
    opened in a way that could block)."""
    try:
        with open_regular(path) as handle, zipfile.ZipFile(handle) as archive:
            names = archive.namelist()
    except (OSError, zipfile.BadZipFile, ValueError, EOFError):
        return False
    return any(name.endswith("/data.pkl") for name in names) and any("/code/" in name for name in names)


def read_torchscript_tensors(path: str | Path, keep: Callable[[str], bool] | None = None) -> dict[str, torch.Tensor]:
    """The archive's tensors by attribute path (``visual.conv1.weight``, …); only the names ``keep`` accepts when
    given (the others' storages are never read). Raises ArchiveError naming the file for anything unexpected."""
    try:
        return _read_tensors(path, keep)
    except ArchiveError as error:
        raise ArchiveError(f"{path}: {error}") from None
    except (zipfile.BadZipFile, EOFError, zlib.error, NotImplementedError, RuntimeError) as error:
        raise ArchiveError(f"{path}: unreadable or truncated archive ({type(error).__name__})") from None


def _read_tensors(path: str | Path, keep: Callable[[str], bool] | None) -> dict[str, torch.Tensor]:
    with open_regular(path) as handle, zipfile.ZipFile(handle) as archive:
        pickles = [name for name in archive.namelist() if name.endswith("/data.pkl") and name.count("/") == 1]
        if len(pickles) != 1:
            raise ArchiveError("no single <name>/data.pkl at the top of the archive")
        prefix = pickles[0][: -len("data.pkl")]
        problem = archive_problem(archive, os.fstat(handle.fileno()).st_size)
        if problem is not None:
            raise ArchiveError(problem)
        try:
            root = _Unpickler(archive.read(pickles[0])).load()
        except (pickle.UnpicklingError, EOFError, TypeError, AttributeError, IndexError, KeyError) as error:
            raise ArchiveError(f"data.pkl is not a module tree ({type(error).__name__}: {error})") from None
        references = _collect(root)
        storages: dict[str, torch.Tensor] = {}
        tensors, copied = {}, 0
        for name, ref in references.items():
            if keep is None or keep(name):
                tensors[name] = _materialise(ref, archive, prefix, storages)
                copied += tensors[name].numel() * tensors[name].element_size()
                if copied > 2 * sum(storage.numel() * storage.element_size() for storage in storages.values()):
                    raise ArchiveError("its tensors repeat the same storages many times over, which no saved model "
                                       "does; the archive is corrupt or crafted")
        return tensors


_rebuild_tensor = tensor_rebuilder(ArchiveError)


class _ScriptObject:
    """An inert stand-in for a pickled ``__torch__`` module: it only holds the attributes it was given."""


def _unchanged(value: Any, *_: Any) -> Any:
    return value


class _Unpickler(pickle.Unpickler):
    def __init__(self, data: bytes) -> None:
        super().__init__(io.BytesIO(data))

    def find_class(self, module: str, name: str) -> Any:
        if module == "__torch__" or module.startswith("__torch__."):
            return _ScriptObject
        if (module, name) in (("torch._utils", "_rebuild_tensor_v2"), ("torch._utils", "_rebuild_tensor")):
            return _rebuild_tensor
        if module == "torch" and name in _STORAGES:
            return _STORAGES[name]
        if (module, name) == ("collections", "OrderedDict"):
            return OrderedDict
        if module == "torch.jit._pickle" and name in _TAGGERS:
            return _unchanged
        raise ArchiveError(f"the archive refers to {module}.{name}, which this reader does not admit")

    def persistent_load(self, pid: Any) -> StorageRef:
        if not (isinstance(pid, tuple) and len(pid) == 5 and pid[0] == "storage" and isinstance(pid[1], torch.dtype)):
            raise ArchiveError(f"unexpected persistent reference {pid!r:.80}")
        return StorageRef(str(pid[2]), pid[1], int(pid[4]))


def _collect(root: Any) -> dict[str, TensorRef]:
    """Tensors reachable through module attributes, by dotted path, walked without recursion and with every visit
    counted (modules nest a few levels; a tree that shares modules to stand for billions of paths is refused)."""
    try:
        walked = bounded_walk(root, _attributes, max_nodes=MAX_NODES, max_depth=MAX_DEPTH)
        return {where[1:]: node for node, where in walked if isinstance(node, TensorRef)}
    except WalkLimit as error:
        raise ArchiveError(f"the module tree holds {error}, far more than a model has") from None


def _attributes(node: Any) -> list[tuple[str, Any]]:
    return [(f".{name}", value) for name, value in vars(node).items()] if isinstance(node, _ScriptObject) else []


def _materialise(
    ref: TensorRef, archive: zipfile.ZipFile, prefix: str, storages: dict[str, torch.Tensor]
) -> torch.Tensor:
    """The tensor ``ref`` describes, copied out of its storage (each storage read once, after its member's size was
    checked against the size the pickle declares)."""

    def read(storage: StorageRef) -> bytes:
        try:
            info = archive.getinfo(f"{prefix}data/{storage.key}")
        except KeyError:
            raise ArchiveError(f"storage {storage.key} is missing from the archive") from None
        if info.file_size != storage.nbytes:
            raise ArchiveError(f"storage {storage.key} holds {info.file_size:,} bytes, not the "
                               f"{storage.numel:,} values it declares")
        return archive.read(info)

    return copy_tensor(ref, read, storages, ArchiveError)
