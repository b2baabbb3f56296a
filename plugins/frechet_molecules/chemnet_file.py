"""Read ``ChemNet_v0.13_pretrained.pt`` — the ChemNet weights the ``fcd`` and ``fcd_torch`` wheels ship — without
running anything from it.

Both files hold the same tensors as a list of ``(layer type, (state dict, constructor arguments, other settings))``
saved by ``torch.save``: the ``fcd`` wheel in torch's zip format (``<name>/data.pkl`` and one member per storage),
the ``fcd_torch`` wheel in torch's legacy format (five pickles in a row, then each storage as its element count and
bytes). This reader unpickles with an unpickler that admits only what such a list needs (an ordered dict, the tensor
rebuild function, float storages as lazy references) and refuses every other name before it is built, then copies
each storage out after checking its declared size against the bytes the file holds. The work is bounded by the
file: pickles are size- and opcode-counted before they are built, the value built is walked with every visit counted,
and each tensor must be a view that lies inside its storage.
"""

from __future__ import annotations

import io
import os
import pickle
import pickletools
import struct
import zipfile
import zlib
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import torch

from frechet.io import open_regular
from frechet.tensor_files import (
    StorageRef,
    TensorRef,
    archive_problem,
    copy_tensor,
    tensor_rebuilder,
    zip_storage_reader,
)
from frechet.walk import WalkLimit, bounded_walk

#: torch's storage class names in pickles -> element dtype (ChemNet's are all float32; the others are refused later
#: by the layout check, with a clearer message than an unknown name).
_STORAGES = {"FloatStorage": torch.float32, "DoubleStorage": torch.float64, "HalfStorage": torch.float16}
#: The legacy format's first pickle.
_LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
#: Far above what the ChemNet file holds (a pickle of 1.4 KB, 528 opcodes, 4 layers, 12 tensors).
_MAX_PICKLE_BYTES = 1 << 20
_MAX_OPCODES = 100_000
_MAX_NODES = 10_000
_MAX_DEPTH = 16
_MAX_STORAGES = 256


class ChemNetFileError(ValueError):
    """The file is not a ChemNet weights file this reader can take apart safely; the message says why."""


@dataclass(frozen=True)
class Layer:
    """One saved layer: its type ("Conv1d", "LSTM"), tensors, constructor arguments and other settings."""

    kind: str
    state: dict[str, torch.Tensor]
    kwargs: dict[str, Any]
    info: dict[str, Any]


def read_chemnet_file(path: str | Path) -> list[Layer]:
    """The layers saved in ``path`` (either published layout). Raises ChemNetFileError naming the file for anything
    else: another format, a name outside the admitted few, sizes that do not match the bytes."""
    try:
        with open_regular(path) as handle:
            size = os.fstat(handle.fileno()).st_size
            if zipfile.is_zipfile(handle):
                handle.seek(0)
                return _read_zip(handle, size)
            handle.seek(0)
            return _read_legacy(handle, size)
    except ChemNetFileError as error:
        raise ChemNetFileError(f"{path}: {error}") from None
    except OSError as error:
        raise ChemNetFileError(f"{path}: cannot be read ({error.strerror or error})") from None
    except (zipfile.BadZipFile, EOFError, zlib.error, struct.error, NotImplementedError, ValueError, RuntimeError,
            OverflowError) as error:
        raise ChemNetFileError(f"{path}: unreadable or truncated ({type(error).__name__})") from None


# ---------------------------------------------------------------------------------------------------- formats
def _read_zip(handle: BinaryIO, size: int) -> list[Layer]:
    with zipfile.ZipFile(handle) as archive:
        problem = archive_problem(archive, size)
        if problem is not None:
            raise ChemNetFileError(problem)
        pickles = [name for name in archive.namelist() if name.endswith("/data.pkl") and name.count("/") == 1]
        if len(pickles) != 1:
            raise ChemNetFileError("a zip without one <name>/data.pkl at its top is not a torch.save file")
        prefix = pickles[0][: -len("data.pkl")]
        root = _unpickle(archive.read(pickles[0]))
        return _layers(root, zip_storage_reader(archive, prefix, ChemNetFileError))


def _read_legacy(handle: BinaryIO, size: int) -> list[Layer]:
    header = [_unpickle(_next_pickle(handle, size)) for _ in range(3)]
    if header[0] != _LEGACY_MAGIC or header[1] != 1001 or not isinstance(header[2], dict):
        raise ChemNetFileError("neither a zip nor torch's legacy save format")
    if header[2].get("little_endian") is not True:
        raise ChemNetFileError("a big-endian legacy file, which this reader does not take")
    root = _unpickle(_next_pickle(handle, size))
    keys = _unpickle(_next_pickle(handle, size))
    if not (isinstance(keys, list) and len(keys) <= _MAX_STORAGES and all(isinstance(key, str) for key in keys)):
        raise ChemNetFileError("its storage list is not a short list of names")
    refs = {ref.key: ref for ref in _storage_refs(root)}
    if set(refs) != set(keys):
        raise ChemNetFileError("the storages its tensors name are not the storages it lists")
    data: dict[str, bytes] = {}
    for key in keys:  # in the listed order: an 8-byte element count, then the bytes
        (numel,) = struct.unpack("<q", _read_exactly(handle, 8, size))
        if numel != refs[key].numel:
            raise ChemNetFileError(f"storage {key} holds {numel:,} values, not the {refs[key].numel:,} it declares")
        data[key] = _read_exactly(handle, refs[key].nbytes, size)
    return _layers(root, lambda ref: data[ref.key])


def _next_pickle(handle: BinaryIO, size: int) -> bytes:
    """The bytes of the pickle starting at the handle's position, found by walking its opcodes (bounded)."""
    start = handle.tell()
    window = handle.read(min(_MAX_PICKLE_BYTES, size - start))
    stream = io.BytesIO(window)
    try:
        for count, (opcode, _, _) in enumerate(pickletools.genops(stream), 1):
            if count > _MAX_OPCODES:
                raise ChemNetFileError(f"a pickle of more than {_MAX_OPCODES:,} opcodes, far more than ChemNet needs")
            if opcode.name == "STOP":
                break
    except ChemNetFileError:
        raise
    except Exception as error:  # pickletools raises ValueError and others for bytes that are not a pickle
        raise ChemNetFileError(f"not a pickle at byte {start:,} ({type(error).__name__})") from None
    end = stream.tell()
    handle.seek(start + end)
    return window[:end]


def _read_exactly(handle: BinaryIO, count: int, size: int) -> bytes:
    if count < 0 or handle.tell() + count > size:
        raise ChemNetFileError(f"declares {count:,} bytes beyond the end of the file")
    return handle.read(count)


# ---------------------------------------------------------------------------------------------------- unpickling
_rebuild_tensor = tensor_rebuilder(ChemNetFileError)


class _Unpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if (module, name) == ("collections", "OrderedDict"):
            return OrderedDict
        if (module, name) == ("torch._utils", "_rebuild_tensor_v2"):
            return _rebuild_tensor
        if module == "torch" and name in _STORAGES:
            return _STORAGES[name]
        raise ChemNetFileError(f"it refers to {module}.{name}, which a ChemNet weights file never needs; refused")

    def persistent_load(self, pid: Any) -> StorageRef:
        # zip: ("storage", type, key, location, numel); legacy: the same and a view's metadata (None)
        if not (isinstance(pid, tuple) and len(pid) in (5, 6) and pid[0] == "storage" and isinstance(pid[1],
                torch.dtype) and isinstance(pid[4], int) and 0 <= pid[4] and (len(pid) == 5 or pid[5] is None)):
            raise ChemNetFileError(f"unexpected storage reference {pid!r:.80}")
        return StorageRef(str(pid[2]), pid[1], pid[4])


def _unpickle(data: bytes) -> Any:
    if len(data) > _MAX_PICKLE_BYTES:
        raise ChemNetFileError(f"a pickle of {len(data):,} bytes, far more than ChemNet's layer list")
    try:
        if sum(1 for _ in pickletools.genops(data)) > _MAX_OPCODES:
            raise ChemNetFileError(f"a pickle of more than {_MAX_OPCODES:,} opcodes, far more than ChemNet needs")
        return _Unpickler(io.BytesIO(data)).load()
    except ChemNetFileError:
        raise
    except Exception as error:  # truncated or corrupt pickles raise many types
        raise ChemNetFileError(f"not a readable pickle ({type(error).__name__}: {error})") from None


def _walk(root: Any) -> list[Any]:
    try:
        return [value for value, _ in bounded_walk(root, _children, max_nodes=_MAX_NODES, max_depth=_MAX_DEPTH)]
    except WalkLimit as error:
        raise ChemNetFileError(f"it holds {error}, far more than ChemNet's layer list") from None


def _children(value: Any) -> list[tuple[str, Any]]:
    if isinstance(value, dict):
        return [("", item) for item in value.values()]
    if isinstance(value, (list, tuple)):
        return [("", item) for item in value]
    if isinstance(value, TensorRef):
        return [("", value.storage)]
    return []


def _storage_refs(root: Any) -> list[StorageRef]:
    found = {value.key: value for value in _walk(root) if isinstance(value, StorageRef)}
    if len(found) > _MAX_STORAGES:
        raise ChemNetFileError(f"more than {_MAX_STORAGES} storages, far more than ChemNet has")
    return list(found.values())


def _layers(root: Any, read: Any) -> list[Layer]:
    """The layer list, with each storage read once (by ``read(ref)``) and each tensor copied out of it."""
    _storage_refs(root)  # bounds the walk and the storage count before anything is read
    if not isinstance(root, list):
        raise ChemNetFileError(f"holds a {type(root).__name__}, not ChemNet's list of layers")
    storages: dict[str, torch.Tensor] = {}
    layers = []
    for entry in root:
        if not (isinstance(entry, tuple) and len(entry) == 2 and isinstance(entry[0], str)
                and isinstance(entry[1], tuple) and len(entry[1]) == 3
                and all(isinstance(part, dict) for part in entry[1])):
            raise ChemNetFileError("an entry is not (layer type, (state dict, arguments, settings))")
        kind, (state, kwargs, info) = entry
        tensors = {}
        for name, ref in state.items():
            if not isinstance(ref, TensorRef):
                raise ChemNetFileError(f"{kind} entry '{name}' is not a tensor")
            tensors[str(name)] = copy_tensor(ref, read, storages, ChemNetFileError)
        layers.append(Layer(kind, tensors, dict(kwargs), dict(info)))
    return layers
