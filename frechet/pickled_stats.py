"""Statistics other tools saved as Python pickles (EDM2's dataset references), read by an unpickler that builds
nothing but dicts, lists, numbers, strings and NumPy numeric arrays: any other object is refused before it is made.

EDM2's ``calculate_metrics.py ref`` pickles ``{"num_images": N, "fid": {"mu", "sigma"}, "fd_dinov2": {"mu", "sigma"}}``
(float64, unbiased covariances). A pickle normally runs whatever callables it names; this reader resolves only NumPy's
own array, dtype and scalar reconstructors, so a file naming anything else (``os.system``, a class with a
``__reduce__``) stops at that name, without calling or importing it. The work is bounded by what such a file needs:
the pickle's opcodes are counted before it is built, and the value built is walked iteratively, every visit of a
shared object counted (a few kilobytes of memo references can otherwise stand for billions of nodes).
"""

from __future__ import annotations

import io
import os
import pickle
import pickletools
import zipfile
import zlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from frechet.errors import InputError, StatsFileError
from frechet.io import check_member_size, open_regular, read_npy_header
from frechet.stats import FeatureStats
from frechet.walk import WalkLimit, bounded_walk

#: Entries of an EDM2 reference pickle that hold statistics, and the feature dimension of each (Inception-v3 pool3,
#: DINOv2 ViT-L/14).
EDM2_DIMS = {"fid": 2048, "fd_dinov2": 1024}
EDM2_KEYS = tuple(EDM2_DIMS)
#: The top-level entries of an EDM2 reference pickle.
_EDM2_ENTRIES = frozenset({"num_images", *EDM2_KEYS})
_MAX_BYTES = 1 << 31  # 2 GiB: far above any statistics file (a 2048-d covariance is 32 MiB)
#: The most opcodes read: an EDM2 pickle has about a hundred (its arrays are single opcodes whatever their size).
MAX_OPCODES = 10_000
#: The most values visited (shared ones counted at each visit) and the deepest nesting, when checking what was built.
MAX_NODES = 10_000
MAX_DEPTH = 32


def _numpy_callables() -> dict[tuple[str, str], Any]:
    """(module, name) -> the NumPy object a pickled array, dtype or scalar refers to, under NumPy 1 and 2 names."""
    multiarray = np._core.multiarray if hasattr(np, "_core") else np.core.multiarray
    numeric = np._core.numeric if hasattr(np, "_core") else np.core.numeric
    allowed: dict[tuple[str, str], Any] = {
        ("numpy", "ndarray"): np.ndarray, ("numpy", "dtype"): np.dtype, ("_codecs", "encode"): _latin1_bytes,
    }
    for package in ("numpy.core", "numpy._core"):
        allowed[(f"{package}.multiarray", "_reconstruct")] = multiarray._reconstruct
        allowed[(f"{package}.multiarray", "scalar")] = multiarray.scalar
        allowed[(f"{package}.numeric", "_frombuffer")] = numeric._frombuffer
    dtypes = getattr(np, "dtypes", None)  # NumPy >= 1.25 may name a dtype by its class
    for name in dir(dtypes) if dtypes is not None else ():
        if name.endswith("DType"):
            allowed[("numpy.dtypes", name)] = getattr(dtypes, name)
    return allowed


class _Refused(pickle.UnpicklingError):
    """The pickle names something the reader does not build."""


def _latin1_bytes(text: str, encoding: str) -> bytes:
    """What pickle protocols 0-2 call to rebuild bytes (``_codecs.encode(text, "latin1")``), and nothing else."""
    if not isinstance(text, str) or encoding != "latin1":
        raise _Refused(f"_codecs.encode with encoding {encoding!r}")
    return text.encode("latin1")


class _ArraysOnly(pickle.Unpickler):
    allowed = _numpy_callables()

    def find_class(self, module: str, name: str) -> Any:
        try:
            return self.allowed[(module, name)]
        except KeyError:
            raise _Refused(f"{module}.{name}") from None

    def persistent_load(self, pid: Any) -> Any:
        raise _Refused("a persistent reference")


def read_pickled_arrays(path: str | Path, what: str = "statistics") -> dict[str, Any]:
    """A pickle holding a dict of numeric NumPy arrays, numbers, strings and nested such dicts (or lists), and
    nothing else: any other object, and any array that is not numeric, is refused (a StatsFileError naming it), as
    is a pickle with more than :data:`MAX_OPCODES` opcodes, :data:`MAX_NODES` values or :data:`MAX_DEPTH` levels.
    ``what`` names the content expected, in messages ("statistics", "weights")."""
    path = Path(path)
    try:
        with open_regular(path) as handle:
            size = os.fstat(handle.fileno()).st_size
            if size > _MAX_BYTES:
                raise StatsFileError(f"{path}: {size} bytes is far too large for a {what} pickle")
            data = handle.read(size)
    except OSError as error:
        raise StatsFileError(f"{path}: cannot be read ({error.strerror or error})") from None
    _check_opcodes(data, path, what)
    try:
        value = _ArraysOnly(io.BytesIO(data)).load()
    except _Refused as error:
        raise StatsFileError(
            f"{path}: refused: this pickle refers to {error}, which a {what} file never needs; frechet reads "
            "only dicts of numeric arrays and runs nothing from a pickle"
        ) from None
    except Exception as error:  # truncated or corrupt data raises many types
        raise StatsFileError(f"{path}: not a readable pickle ({type(error).__name__}: {error})") from None
    if not isinstance(value, dict):
        raise StatsFileError(f"{path}: holds a {type(value).__name__}, expected a dict of {what}")
    _check_plain(value, path, what)
    return value


def _check_opcodes(data: bytes, path: Path, what: str, limit: int = MAX_OPCODES) -> None:
    """Count the pickle's opcodes without building anything: a statistics pickle has few, and a pickle's cost to
    build (deep nesting, many colliding keys) grows with their number."""
    try:
        for count, _ in enumerate(pickletools.genops(data), 1):
            if count > limit:
                raise StatsFileError(f"{path}: more than {limit:,} pickle opcodes, far more than {what} "
                                     "need; not read")
    except StatsFileError:
        raise
    except Exception as error:  # pickletools raises ValueError and others for corrupt data
        raise StatsFileError(f"{path}: not a readable pickle ({type(error).__name__}: {error})") from None


def _check_plain(root: Any, path: Path, what: str) -> None:
    """Every value reachable from ``root`` is a dict (string keys), list, tuple, numeric array, number or string;
    walked without recursion, each visit counted, so shared and deeply nested values are bounded."""
    try:
        for value, where in bounded_walk(root, _children, max_nodes=MAX_NODES, max_depth=MAX_DEPTH):
            if isinstance(value, Mapping):
                for key in value:
                    if not isinstance(key, (str, int)):
                        raise StatsFileError(f"{path}: key {key!r:.40}{where} is not a string")
            elif isinstance(value, np.ndarray):
                if value.dtype.kind not in "biuf":
                    raise StatsFileError(
                        f"{path}: {where or 'the value'} is an array of dtype {value.dtype}, not numbers"
                    )
            elif not isinstance(value, (bool, int, float, str, np.generic, list, tuple)) and value is not None:
                raise StatsFileError(
                    f"{path}: {where or 'the value'} is a {type(value).__name__}, not an array or number"
                )
    except WalkLimit as error:
        raise StatsFileError(f"{path}: holds {error}, far more than {what} need; not read") from None


def _children(value: Any) -> list[tuple[str, Any]]:
    if isinstance(value, Mapping):
        return [(f"[{key!r:.40}]", item) for key, item in value.items()]
    if isinstance(value, (list, tuple)):
        return [(f"[{index}]", item) for index, item in enumerate(value)]
    return []


def read_edm2_stats(path: str | Path, key: str = "fid") -> FeatureStats:
    """The statistics entry ``key`` ("fid" or "fd_dinov2") of an EDM2 reference pickle, with its image count. The
    pickle must be what it claims: only EDM2's entries, ``mu`` (d,) and ``sigma`` (d, d) at the dimension of the
    entry's network."""
    path = Path(path)
    data = read_pickled_arrays(path)
    unknown = sorted(str(name) for name in data if name not in _EDM2_ENTRIES)
    if unknown:
        raise StatsFileError(
            f"{path}: not an EDM2 reference pickle (unexpected entries {unknown[:5]}; EDM2 writes "
            f"{sorted(_EDM2_ENTRIES)}); save other statistics with `frechet stats` as .npz"
        )
    entry = data.get(key)
    if not isinstance(entry, Mapping) or "mu" not in entry or "sigma" not in entry:
        found = sorted(name for name, item in data.items() if isinstance(item, Mapping) and "mu" in item)
        raise StatsFileError(
            f"{path}: no '{key}' statistics (mu, sigma) in this pickle (it has {found or 'none'}); EDM2 reference "
            f"files hold {' and '.join(EDM2_KEYS)}"
        )
    mu, sigma, dim = entry["mu"], entry["sigma"], EDM2_DIMS.get(key)
    shapes = tuple(getattr(value, "shape", None) for value in (mu, sigma))
    if dim is not None and shapes != ((dim,), (dim, dim)):
        raise StatsFileError(
            f"{path}: '{key}' has mu {shapes[0]} and sigma {shapes[1]}, but EDM2's '{key}' statistics are "
            f"{dim}-dimensional; this is not an EDM2 reference pickle"
        )
    count = data.get("num_images")
    n = int(count) if isinstance(count, (int, np.integer)) and not isinstance(count, bool) else None
    meta = {"source_format": "edm2-pkl", "key": key, **({"n_items": n} if n is not None else {})}
    try:
        return FeatureStats.from_moments(mu, sigma, n if n and n >= 2 else None, meta=meta)
    except ValueError as error:
        raise StatsFileError(f"{path}: '{key}' {error}") from None


def read_pickled_stats(path: str | Path, key: str | None = None) -> FeatureStats:
    """Statistics from a ``.pkl`` of either kind other tools publish: cd-fvd's (told by its ``raw_cov`` entry), or
    EDM2's (entry ``key``, "fid" by default)."""
    data = read_pickled_arrays(path)
    if "raw_cov" in data:
        return _cdfvd_stats(data, Path(path))
    return read_edm2_stats(path, key or "fid")


def _cdfvd_stats(data: Mapping[str, Any], path: Path) -> FeatureStats:
    """cd-fvd's ``FeatureStats.save`` pickle (its object's fields): ``num_items`` N, ``raw_mean`` the sum of the
    features and ``raw_cov`` the sum of their outer products, both float64. cd-fvd divides the centred second moment
    by N; frechet keeps the N - 1 covariance and N, and records ``fd_options`` so the distance divides by N again."""
    count, total, outer = data.get("num_items"), data.get("raw_mean"), data.get("raw_cov")
    if not isinstance(count, (int, np.integer)) or isinstance(count, bool) or count < 2:
        raise StatsFileError(f"{path}: cd-fvd statistics with num_items {count!r}; a covariance needs at least 2")
    if (not isinstance(total, np.ndarray) or not isinstance(outer, np.ndarray) or total.ndim != 1
            or outer.shape != (total.shape[0],) * 2):
        raise StatsFileError(f"{path}: cd-fvd statistics need raw_mean (d,) and raw_cov (d, d); found "
                             f"{getattr(total, 'shape', None)} and {getattr(outer, 'shape', None)}")
    n = int(count)
    mean = total.astype(np.float64) / n
    population = outer.astype(np.float64) / n - np.outer(mean, mean)
    meta = {"source_format": "cdfvd-pkl", "n_items": n, "fd_options": {"fd_covariance": "population"}}
    try:
        return FeatureStats.from_moments(mean, population * (n / (n - 1)), n, meta=meta)
    except ValueError as error:
        raise StatsFileError(f"{path}: cd-fvd statistics: {error}") from None
# ---------------------------------------------------------------------------------------------------- MOSES
#: The member of a MOSES statistics ``.npz`` (``np.savez(path, stats=dict)``): a 0-d object array, i.e. a pickle.
MOSES_MEMBER = "stats.npy"
#: MOSES' statistics pickles have about a million opcodes (the fragment and scaffold counts beside the FCD entry).
MOSES_MAX_OPCODES = 4_000_000
_MOSES_MAX_BYTES = 1 << 30
MOSES_FCD_DIM = 512


class _MosesArrays(_ArraysOnly):
    """NumPy arrays, and ``collections.Counter`` built as the plain dict it pickles (MOSES' fragment counts)."""

    allowed = {**_ArraysOnly.allowed, ("collections", "Counter"): dict}


def read_moses_stats(path: str | Path, key: str = "FCD") -> FeatureStats:
    """The ``key`` statistics (``mu``, ``sigma``; MOSES' ``FCD``: ChemNet features, 512-d) of a MOSES statistics
    ``.npz`` (``moses/dataset/data/test_stats.npz`` in the molsets wheel). Its one member is a pickled dict: it is
    size-checked in the zip directory, its opcodes are counted, and it is built by an unpickler that admits NumPy's
    array reconstructors and Counter-as-dict only, so nothing in the file runs."""
    path = Path(path)
    try:
        with open_regular(path) as handle, zipfile.ZipFile(handle) as archive:
            size = os.fstat(handle.fileno()).st_size
            names = archive.namelist()
            if names != [MOSES_MEMBER]:
                raise StatsFileError(f"{path}: holds {names[:5]}, not MOSES' single '{MOSES_MEMBER}'")
            info = archive.getinfo(MOSES_MEMBER)
            check_member_size(info, f"{path}:{MOSES_MEMBER}")
            if info.header_offset + info.compress_size > size or info.file_size > _MOSES_MAX_BYTES:
                raise StatsFileError(f"{path}: '{MOSES_MEMBER}' declares more bytes than the file holds or a "
                                     "statistics file needs; the file is truncated or not MOSES' statistics")
            with archive.open(info) as member:
                shape, _, dtype = read_npy_header(member)
                if shape != () or dtype != np.dtype(object):
                    raise StatsFileError(f"{path}: '{MOSES_MEMBER}' is {dtype} of shape {shape}, not MOSES' pickled "
                                         "dict")
                data = member.read()
    except StatsFileError:
        raise
    except InputError as error:
        raise StatsFileError(str(error)) from None
    except OSError as error:
        raise StatsFileError(f"{path}: cannot be read ({error.strerror or error})") from None
    except (zipfile.BadZipFile, ValueError, EOFError, zlib.error) as error:
        raise StatsFileError(f"{path}: not a readable MOSES statistics .npz ({type(error).__name__})") from None
    _check_opcodes(data, path, "MOSES' statistics", MOSES_MAX_OPCODES)
    try:
        value = _MosesArrays(io.BytesIO(data)).load()
    except _Refused as error:
        raise StatsFileError(f"{path}: refused: this pickle refers to {error}, which MOSES' statistics never need; "
                             "frechet runs nothing from a pickle") from None
    except Exception as error:  # truncated or corrupt data raises many types
        raise StatsFileError(f"{path}: not a readable pickle ({type(error).__name__}: {error})") from None
    stats = value.item() if isinstance(value, np.ndarray) and value.shape == () else value
    entry = stats.get(key) if isinstance(stats, dict) else None
    if not isinstance(entry, dict) or "mu" not in entry or "sigma" not in entry:
        raise StatsFileError(f"{path}: no '{key}' statistics (mu, sigma); this is not a MOSES statistics file")
    _check_plain(entry, path, "MOSES' statistics")
    mu, sigma = np.asarray(entry["mu"], dtype=np.float64), np.asarray(entry["sigma"], dtype=np.float64)
    if mu.shape != (MOSES_FCD_DIM,) or sigma.shape != (MOSES_FCD_DIM, MOSES_FCD_DIM):
        raise StatsFileError(f"{path}: '{key}' has mu {mu.shape} and sigma {sigma.shape}, not ChemNet's "
                             f"{MOSES_FCD_DIM} dimensions")
    try:
        return FeatureStats.from_moments(mu, sigma, None, meta={"source_format": "moses-npz", "key": key})
    except ValueError as error:
        raise StatsFileError(f"{path}: '{key}' {error}") from None
