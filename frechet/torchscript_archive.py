"""Read a TorchScript archive (OpenAI's CLIP ``.pt`` files, StyleGAN-V's I3D detector) without running it: its
module tree, the tensors asked for, and the text of its code.

A TorchScript archive is a zip holding ``<name>/data.pkl`` (the module tree as pickled objects whose tensors point
at storages), the raw storages under ``<name>/data/<key>``, and the model's code as Python-like text under
``<name>/code/``. ``torch.jit.load`` compiles and runs that code; this reader only unpickles ``data.pkl`` with an
unpickler that admits the handful of names a module tree needs (``__torch__.*`` classes become inert attribute
holders that remember their class name, storages and the tensor rebuild function become lazy references) and
refuses every other global, then copies out the storages of the tensors asked for. The code is returned as text for
callers that need a constant it holds (a batch norm's epsilon); nothing in it is compiled or run.

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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from frechet.io import open_regular
from frechet.tensor_files import (
    MAX_NODES,
    MAX_PICKLE_BYTES,
    StorageRef,
    TensorRef,
    archive_problem,
    copy_tensor,
    tensor_rebuilder,
    zip_storage_reader,
)
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


@dataclass(frozen=True)
class ScriptModule:
    """One module of the archive's tree, as pickled: where it sits, its class, and its own attributes."""

    path: str  # dotted attribute path from the root ("" for the root)
    kind: str  # the pickled class, e.g. "__torch__.torch.nn.modules.conv.Conv3d"
    tensors: tuple[str, ...]  # the attribute names of its own tensors, in the archive's order
    values: dict[str, Any]  # its plain attributes (floats, ints, bools, strings)


@dataclass(frozen=True)
class ScriptArchive:
    """What an archive holds, read without running it."""

    tensors: dict[str, torch.Tensor]  # by attribute path (``visual.conv1.weight``), only those asked for
    modules: tuple[ScriptModule, ...]  # every module, depth first in the archive's order (the root first)
    code: dict[str, str]  # the code files' text by path below ``code/`` (``__torch__/model.py``)
    constant_tensors: int  # tensors kept as constants of the code (where torch.jit.freeze puts the weights)


def is_torchscript_archive(path: str | Path) -> bool:
    """True for a zip with a ``*/data.pkl`` and a ``*/code/`` folder or ``*/constants.pkl`` (how TorchScript
    archives differ from the zip files of ``torch.save``, which have neither). A path that is not a regular file is
    not one (and is never opened in a way that could block)."""
    try:
        with open_regular(path) as handle, zipfile.ZipFile(handle) as archive:
            names = archive.namelist()
    except (OSError, zipfile.BadZipFile, ValueError, EOFError):
        return False
    return any(name.endswith("/data.pkl") for name in names) and any(
        "/code/" in name or name.endswith("/constants.pkl") for name in names)


def read_script_archive(path: str | Path, keep: Callable[[str], bool] | None = None) -> ScriptArchive:
    """The archive's module tree, code text and tensors (only the tensor names ``keep`` accepts when given; the
    others' storages are never read). Raises ArchiveError naming the file for anything unexpected, OSError where
    the path cannot be opened as a regular file."""
    try:
        return _read(path, keep)
    except ArchiveError as error:
        raise ArchiveError(f"{path}: {error}") from None
    except (zipfile.BadZipFile, EOFError, zlib.error, NotImplementedError, RuntimeError) as error:
        raise ArchiveError(f"{path}: unreadable or truncated archive ({type(error).__name__})") from None


def _read(path: str | Path, keep: Callable[[str], bool] | None) -> ScriptArchive:
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
        except ArchiveError:
            raise
        except (pickle.UnpicklingError, EOFError, TypeError, AttributeError, IndexError, KeyError, ValueError,
                OverflowError) as error:
            raise ArchiveError(f"data.pkl is not a module tree ({type(error).__name__}: {error})") from None
        references, modules = _collect(root)
        storages: dict[str, torch.Tensor] = {}
        tensors, copied, stored = {}, 0, 0  # bytes copied out, and bytes of the storages read (a running sum)
        for name, ref in references.items():
            if keep is None or keep(name):
                new = ref.storage.key not in storages
                tensors[name] = _materialise(ref, archive, prefix, storages)
                if new:
                    stored += storages[ref.storage.key].numel() * storages[ref.storage.key].element_size()
                copied += tensors[name].numel() * tensors[name].element_size()
                if copied > 2 * stored:
                    raise ArchiveError("its tensors repeat the same storages many times over, which no saved model "
                                       "does; the archive is corrupt or crafted")
        return ScriptArchive(tensors, modules, _code(archive, prefix), _constant_tensors(archive, prefix))


def _code(archive: zipfile.ZipFile, prefix: str) -> dict[str, str]:
    """The ``.py`` files below ``<prefix>code/`` as text (sizes already bounded by :func:`archive_problem`'s
    checks; their total by :data:`MAX_PICKLE_BYTES`)."""
    folder, texts, total = f"{prefix}code/", {}, 0
    for info in archive.infolist():
        if info.filename.startswith(folder) and info.filename.endswith(".py"):
            total += info.file_size
            if total > MAX_PICKLE_BYTES:
                raise ArchiveError(f"its code would unpack to more than {MAX_PICKLE_BYTES:,} bytes, far more than a "
                                   "model's code")
            texts[info.filename[len(folder):]] = archive.read(info).decode("utf-8", errors="replace")
    return texts


def _constant_tensors(archive: zipfile.ZipFile, prefix: str) -> int:
    """How many tensor storages the archive keeps for its code's constants (``<prefix>constants/<key>``)."""
    folder = f"{prefix}constants/"
    return sum(1 for name in archive.namelist() if name.startswith(folder) and not name.endswith("/"))


_rebuild_tensor = tensor_rebuilder(ArchiveError)


class _ScriptObject:
    """An inert stand-in for a pickled ``__torch__`` module: it only holds the attributes it was given (its class
    remembers the pickled class name as ``kind``, read from the class: a module's own attribute ``kind`` cannot
    hide it)."""

    kind = ""


def _unchanged(value: Any, *_: Any) -> Any:
    return value


class _Unpickler(pickle.Unpickler):
    def __init__(self, data: bytes) -> None:
        super().__init__(io.BytesIO(data))
        self._kinds: dict[str, type[_ScriptObject]] = {}

    def find_class(self, module: str, name: str) -> Any:
        if module == "__torch__" or module.startswith("__torch__."):
            kind = f"{module}.{name}"
            if kind not in self._kinds:
                self._kinds[kind] = type("_ScriptObject", (_ScriptObject,), {"kind": kind})
            return self._kinds[kind]
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


def _collect(root: Any) -> tuple[dict[str, TensorRef], tuple[ScriptModule, ...]]:
    """Tensors reachable through module attributes, by dotted path, and the modules themselves, walked depth first
    without recursion and with every visit counted (modules nest a few levels; a tree that shares modules to stand
    for billions of paths is refused)."""
    try:
        walked = list(bounded_walk(root, _attributes, max_nodes=MAX_NODES, max_depth=MAX_DEPTH))
    except WalkLimit as error:
        raise ArchiveError(f"the module tree holds {error}, far more than a model has") from None
    modules = tuple(
        ScriptModule(where[1:], type(node).kind,
                     tuple(name for name, value in vars(node).items() if isinstance(value, TensorRef)),
                     {name: value for name, value in vars(node).items() if isinstance(value, _PLAIN)})
        for node, where in walked if isinstance(node, _ScriptObject)
    )
    return {where[1:]: node for node, where in walked if isinstance(node, TensorRef)}, modules


#: The attribute values a module reports as plain values.
_PLAIN = (bool, int, float, str)


def _attributes(node: Any) -> list[tuple[str, Any]]:
    return [(f".{name}", value) for name, value in vars(node).items()] if isinstance(node, _ScriptObject) else []


def _materialise(
    ref: TensorRef, archive: zipfile.ZipFile, prefix: str, storages: dict[str, torch.Tensor]
) -> torch.Tensor:
    """The tensor ``ref`` describes, copied out of its storage (each storage read once, after its member's size was
    checked against the size the pickle declares)."""
    return copy_tensor(ref, zip_storage_reader(archive, prefix, ArchiveError), storages, ArchiveError)
