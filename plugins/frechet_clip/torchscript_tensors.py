"""Read the tensors of a TorchScript archive (such as OpenAI's published CLIP ``.pt`` files) without running it.

A TorchScript archive is a zip holding ``<name>/data.pkl`` (the module tree as pickled objects whose tensors point
at storages), the raw storages under ``<name>/data/<key>``, and the model's code. ``torch.jit.load`` compiles and
runs that code; this reader only unpickles ``data.pkl`` with an unpickler that admits the handful of names a module
tree needs (``__torch__.*`` classes become inert attribute holders, storages and the tensor rebuild function become
lazy references) and refuses every other global, then copies out the storages of the tensors asked for.
"""

from __future__ import annotations

import io
import pickle
import zipfile
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

#: torch's storage class names in pickles -> element dtype.
_STORAGES = {
    "HalfStorage": torch.float16, "FloatStorage": torch.float32, "DoubleStorage": torch.float64,
    "BFloat16Storage": torch.bfloat16, "LongStorage": torch.int64, "IntStorage": torch.int32,
    "ShortStorage": torch.int16, "CharStorage": torch.int8, "ByteStorage": torch.uint8, "BoolStorage": torch.bool,
}
#: Helpers TorchScript pickles may call to tag lists and types; each returns its first argument unchanged.
_TAGGERS = {"build_intlist", "build_tensorlist", "build_doublelist", "build_boollist", "restore_type_tag"}


class ArchiveError(ValueError):
    """The file is not a TorchScript archive this reader can take apart safely."""


def is_torchscript_archive(path: str | Path) -> bool:
    """True for a zip with a ``*/data.pkl`` and a ``*/code/`` folder (how TorchScript archives differ from the
    zip files of ``torch.save``, which have no code)."""
    if not zipfile.is_zipfile(path):
        return False
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
    return any(name.endswith("/data.pkl") for name in names) and any("/code/" in name for name in names)


def read_torchscript_tensors(path: str | Path, keep: Callable[[str], bool] | None = None) -> dict[str, torch.Tensor]:
    """The archive's tensors by attribute path (``visual.conv1.weight``, …); only the names ``keep`` accepts when
    given (the others' storages are never read). Raises ArchiveError for anything unexpected."""
    with zipfile.ZipFile(path) as archive:
        pickles = [name for name in archive.namelist() if name.endswith("/data.pkl") and name.count("/") == 1]
        if len(pickles) != 1:
            raise ArchiveError("no single <name>/data.pkl at the top of the archive")
        prefix = pickles[0][: -len("data.pkl")]
        try:
            root = _Unpickler(archive.read(pickles[0])).load()
        except (pickle.UnpicklingError, EOFError, TypeError, AttributeError, IndexError, KeyError) as error:
            raise ArchiveError(f"data.pkl is not a module tree ({type(error).__name__}: {error})") from None
        references: dict[str, _TensorRef] = {}
        _collect(root, "", references, depth=0)
        names = [name for name in references if keep is None or keep(name)]
        storages: dict[str, torch.Tensor] = {}
        return {name: _materialise(references[name], archive, prefix, storages) for name in names}


@dataclass(frozen=True)
class _StorageRef:
    key: str
    dtype: torch.dtype
    numel: int


@dataclass(frozen=True)
class _TensorRef:
    storage: _StorageRef
    offset: int
    size: tuple[int, ...]
    stride: tuple[int, ...]


class _ScriptObject:
    """An inert stand-in for a pickled ``__torch__`` module: it only holds the attributes it was given."""


def _rebuild_tensor(storage: Any, offset: Any, size: Any, stride: Any, *_: Any) -> _TensorRef:
    if not isinstance(storage, _StorageRef):
        raise ArchiveError("a tensor refers to something that is not a storage")
    return _TensorRef(storage, int(offset), tuple(int(s) for s in size), tuple(int(s) for s in stride))


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

    def persistent_load(self, pid: Any) -> _StorageRef:
        if not (isinstance(pid, tuple) and len(pid) == 5 and pid[0] == "storage" and isinstance(pid[1], torch.dtype)):
            raise ArchiveError(f"unexpected persistent reference {pid!r:.80}")
        return _StorageRef(str(pid[2]), pid[1], int(pid[4]))


def _collect(node: Any, path: str, found: dict[str, _TensorRef], depth: int) -> None:
    """Tensors reachable through module attributes, by dotted path (modules nest, so depth stays small)."""
    if depth > 64:
        raise ArchiveError("the module tree is nested implausibly deep")
    if isinstance(node, _TensorRef):
        found[path] = node
    elif isinstance(node, _ScriptObject):
        for name, value in vars(node).items():
            _collect(value, f"{path}.{name}" if path else str(name), found, depth + 1)


def _materialise(
    ref: _TensorRef, archive: zipfile.ZipFile, prefix: str, storages: dict[str, torch.Tensor]
) -> torch.Tensor:
    """The tensor ``ref`` describes, copied out of its storage (each storage read once)."""
    storage = storages.get(ref.storage.key)
    if storage is None:
        try:
            raw = archive.read(f"{prefix}data/{ref.storage.key}")
        except KeyError:
            raise ArchiveError(f"storage {ref.storage.key} is missing from the archive") from None
        itemsize = torch.empty((), dtype=ref.storage.dtype).element_size()
        if len(raw) != ref.storage.numel * itemsize:
            raise ArchiveError(f"storage {ref.storage.key} holds {len(raw)} bytes, not {ref.storage.numel} values")
        dtype = ref.storage.dtype
        storage = torch.frombuffer(bytearray(raw), dtype=dtype) if raw else torch.empty(0, dtype=dtype)
        storages[ref.storage.key] = storage
    try:
        return storage.as_strided(ref.size, ref.stride, ref.offset).clone()
    except RuntimeError:
        raise ArchiveError(f"a tensor of shape {ref.size} does not fit its storage {ref.storage.key}") from None
