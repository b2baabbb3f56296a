"""Property: every hand-written reader, fed a valid file cut short, with a bit flipped, with a length or size field
claiming far more than the file holds, or nested deeply, ends within 10 s and 500 MB of extra memory with a
correct result or one line (a frechet error). The readers: ``.npz`` statistics with their ``meta``, EDM2 pickles,
CLIP TorchScript archives and safetensors files, ADM image batches, ChemNet weights files (both layouts), MOSES
statistics, and cache shards (whose reader answers a damaged
shard with None: it is then recomputed)."""

from __future__ import annotations

import contextlib
import io
import json
import pickle
import struct
import tempfile
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from time_limit import within

from frechet.cache import FeatureCache
from frechet.cache.shard import Shard, shard_arrays
from frechet.errors import FrechetError
from frechet.pickled_stats import read_pickled_arrays
from frechet.stats import FeatureStats

_SECONDS = 10
_EXTRA_BYTES = 500 << 20
_EMBEDDER, _KEY = "fuzz-embedder", "0" * 64


# ------------------------------------------------------------------------------------------------- valid files
def _stats_file(folder: Path) -> bytes:
    rows = np.random.default_rng(0).standard_normal((12, 5))
    FeatureStats.from_features(rows, meta={"n_items": 12}).save(folder / "stats.npz")
    return (folder / "stats.npz").read_bytes()


def _edm2_pickle(_: Path) -> bytes:
    rows = np.random.default_rng(1).standard_normal((12, 5))
    return pickle.dumps({"num_images": 12, "fid": {"mu": rows.mean(0), "sigma": np.cov(rows.T)}}, protocol=4)


def _torchscript(folder: Path) -> bytes:
    model = torch.nn.Sequential(torch.nn.Linear(3, 2))
    torch.jit.script(model).save(str(folder / "tiny.pt"))
    return (folder / "tiny.pt").read_bytes()


def _safetensors(_: Path) -> bytes:
    raw = np.arange(6, dtype=np.float32).tobytes()
    header = json.dumps({"visual.proj": {"dtype": "F32", "shape": [2, 3], "data_offsets": [0, len(raw)]}}).encode()
    return struct.pack("<Q", len(header)) + header + raw


def _adm_batch(folder: Path) -> bytes:
    np.savez(folder / "batch.npz", arr_0=np.random.default_rng(2).integers(0, 255, (6, 8, 8, 3), dtype=np.uint8))
    return (folder / "batch.npz").read_bytes()


def _shard(folder: Path) -> bytes:
    stats = FeatureStats.from_features(np.random.default_rng(3).standard_normal((4, 3)))
    arrays = shard_arrays(Shard(0, 4, 4, stats={"out": stats.state()}), _EMBEDDER, _KEY, label="fuzz")
    np.savez(folder / "shard.npz", **arrays)
    return (folder / "shard.npz").read_bytes()


def _chemnet(legacy: bool) -> Callable[[Path], bytes]:
    def make(folder: Path) -> bytes:
        from collections import OrderedDict

        layer = ("Conv1d", (OrderedDict(weight=torch.arange(24.0).reshape(2, 3, 4)),
                            {"in_channels": 3, "out_channels": 2, "kernel_size": 4, "stride": 2, "bias": False},
                            {"activation": "selu", "padding": "same"}))
        torch.save([layer], folder / "chemnet.pt", _use_new_zipfile_serialization=not legacy)
        return (folder / "chemnet.pt").read_bytes()

    return make


def _moses_stats(folder: Path) -> bytes:
    from collections import Counter

    rows = np.random.default_rng(4).standard_normal((600, 512))
    np.savez(folder / "moses.npz", stats={"FCD": {"mu": rows.mean(0).astype(np.float32), "sigma": np.cov(rows.T)},
                                          "Frag": Counter({"[1*]C": 2, "c1ccccc1": 1})})
    return (folder / "moses.npz").read_bytes()


# ------------------------------------------------------------------------------------------------- readers
def _read_stats(path: Path) -> None:
    stats = FeatureStats.load(path)
    assert stats.mean.shape == (stats.dim,) and np.isfinite(stats.cov).all()


def _read_edm2(path: Path) -> None:
    read_pickled_arrays(path)


def _read_clip(path: Path) -> None:
    from frechet_clip.checkpoint import read_tower_state

    try:
        read_tower_state(path)
    except FrechetError as error:
        if "no CLIP image tower found" not in str(error):  # the tiny file's readable form
            raise


def _read_chemnet(path: Path) -> None:
    from frechet_molecules.weights import load_layers

    try:
        load_layers(path)
    except FrechetError as error:
        if "not ChemNet's Conv1d, Conv1d, LSTM, LSTM" not in str(error):  # the tiny file's readable form
            raise


def _read_moses(path: Path) -> None:
    from frechet.pickled_stats import read_moses_stats

    assert read_moses_stats(path).dim == 512


def _read_batch(path: Path) -> None:
    from frechet_image.npz import NpzImageSource

    source = NpzImageSource(path)
    for index in range(len(source)):
        assert source.load(index).shape == source.shape[1:]


def _read_shard(path: Path) -> None:
    cache = FeatureCache(path.parent / "cache")
    target = cache.shard_path(_EMBEDDER, _KEY)
    target.parent.mkdir(parents=True, exist_ok=True)
    path.replace(target)
    cache.holds(_EMBEDDER, _KEY)
    shard = cache.read(_EMBEDDER, _KEY)  # None for a damaged shard: it is recomputed
    assert shard is None or shard.n_good == 4


#: name -> (valid file, suffix, reader, the file nested ``depth`` deep in its own format)
_READERS: dict[str, tuple[Callable[[Path], bytes], str, Callable[[Path], None], Callable[[int], bytes]]] = {
    "stats": (_stats_file, ".npz", _read_stats, lambda depth: _npz_meta("[" * depth + "]" * depth)),
    "edm2": (_edm2_pickle, ".pkl", _read_edm2, lambda depth: _nested_pickle(depth)),
    "clip-torchscript": (_torchscript, ".pt", _read_clip, lambda depth: _nested_archive(depth)),
    "clip-safetensors": (_safetensors, ".safetensors", _read_clip, lambda depth: _nested_header(depth)),
    "adm-batch": (_adm_batch, ".npz", _read_batch, lambda depth: _npz_meta("{" * depth + "}" * depth)),
    "shard": (_shard, ".npz", _read_shard, lambda depth: _npz_meta("[" * depth + "]" * depth)),
    "chemnet-zip": (_chemnet(legacy=False), ".pt", _read_chemnet, lambda depth: _nested_archive(depth)),
    "chemnet-legacy": (_chemnet(legacy=True), ".pt", _read_chemnet, lambda depth: _nested_pickle(depth)),
    "moses-stats": (_moses_stats, ".npz", _read_moses, lambda depth: _npz_meta("[" * depth + "]" * depth)),
}


def _npz_meta(text: str) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, mu=np.zeros(2), sigma=np.eye(2), meta=np.asarray(text), arr_0=np.zeros((1, 2, 2, 3), np.uint8))
    return buffer.getvalue()


def _nested_pickle(depth: int) -> bytes:
    return b"\x80\x02}X\x03\x00\x00\x00fid" + b"]" * depth + b"a" * (depth - 1) + b"s."


def _nested_archive(depth: int) -> bytes:
    buffer = io.BytesIO()
    import zipfile

    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("m/data.pkl", b"\x80\x02" + b"]" * depth + b"a" * (depth - 1) + b".")
        archive.writestr("m/code/__torch__/m.py", "")
    return buffer.getvalue()


def _nested_header(depth: int) -> bytes:
    header = ("[" * depth + "]" * depth).encode()
    return struct.pack("<Q", len(header)) + header


@pytest.fixture(scope="module")
def valid_files(tmp_path_factory) -> dict[str, bytes]:
    folder = tmp_path_factory.mktemp("valid")
    files = {name: make(folder) for name, (make, *_) in _READERS.items()}
    for name, (_, suffix, read, _) in _READERS.items():  # imports and first-use costs, outside the time limit
        (folder / f"warm-{name}{suffix}").write_bytes(files[name])
        read(folder / f"warm-{name}{suffix}")
    for name, data in files.items():  # each reader takes its valid file
        _run(name, data)
    return files


# ------------------------------------------------------------------------------------------------- mutations
def _mutate(data: bytes, kind: str, position: int, bit: int) -> bytes:
    position %= max(len(data), 1)
    if kind == "truncated":
        return data[:position]
    if kind == "bit-flipped":
        return data[:position] + bytes([data[position] ^ (1 << bit)]) + data[position + 1:]
    # oversized: a 4-byte length or size field (pickle lengths, zip sizes, .npy header lengths) claims ~2 GB
    return data[:position] + b"\xf0\xff\xff\x7f" + data[position + 4:]


def _with_huge_npy_shape(data: bytes) -> bytes:
    """Every .npy header's first dimension made 10¹², in the header's own padding (so the header stays valid)."""
    out, start = bytearray(data), 0
    while (start := out.find(b"'shape': (", start)) >= 0:
        end = out.index(b")", start)
        dims = out[start + 10:end].split(b",")
        claim = b"1000000000000" + b"".join(b"," + dim for dim in dims[1:]) if dims[0].strip() else dims[0]
        new = b"'shape': (" + claim + b")"
        padding = out.index(b"\n", end) - out.index(b"}", end) - 1
        grow = len(new) - (end + 1 - start)
        if dims[0].strip() and grow <= padding:
            brace = out.index(b"}", end)
            out[start:brace + 1 + grow] = new + out[end + 1:brace + 1]
        start += 1
    return bytes(out)


def _status_kib(field: str) -> int:
    """A memory figure of this process from /proc/self/status (VmRSS, VmHWM), in KiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise LookupError(field)


def _reset_peak_rss() -> bool:
    """Start a new peak-RSS measurement (Linux: writing 5 to clear_refs resets VmHWM); False where it cannot."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


@contextlib.contextmanager
def _bounded():
    """Fail when the block runs over 10 s, allocates (through Python or NumPy) over 500 MB, or grows the process's
    resident memory (any allocator, torch's included) over 500 MB beyond what it held at the block's start."""
    measured = _reset_peak_rss()
    start = _status_kib("VmRSS") if measured else 0
    tracemalloc.start()
    try:
        with within(_SECONDS):
            yield
    finally:
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        assert peak < _EXTRA_BYTES, f"a reader allocated {peak:,} bytes"
        if measured:
            grown = (_status_kib("VmHWM") - start) * 1024
            assert grown < _EXTRA_BYTES, f"the process grew by {grown:,} bytes"


def _run(name: str, data: bytes) -> Any:
    _, suffix, read, _ = _READERS[name]
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"input{suffix}"
        path.write_bytes(data)
        with _bounded():
            try:
                read(path)
            except FrechetError as error:
                assert "\n" not in str(error) and str(error), repr(error)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    name=st.sampled_from(sorted(_READERS)),
    kind=st.sampled_from(["truncated", "bit-flipped", "oversized", "huge-npy-shape", "nested"]),
    position=st.integers(0, 1 << 20),
    bit=st.integers(0, 7),
    depth=st.sampled_from([40, 1000, 200_000]),
)
def test_every_reader_ends_quickly_with_a_result_or_one_line_whatever_the_damage(
    valid_files, name, kind, position, bit, depth
):
    data = valid_files[name]
    if kind == "nested":
        damaged = _READERS[name][3](depth)
    elif kind == "huge-npy-shape":
        damaged = _with_huge_npy_shape(data)
    else:
        damaged = _mutate(data, kind, position, bit)
    _run(name, damaged)
