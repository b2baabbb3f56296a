"""Every reader bounds its work by what the file can hold: sizes a header declares are checked against the bytes
present, nesting and shared references are counted, FIFOs are refused, and a file that shrinks while being read is
an error, not a crash. Hostile cases run in a subprocess where a hang or a crash of the process is what fails."""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
import zipfile

import numpy as np
import pytest
from time_limit import within

import frechet
from frechet.cache import SHARDS_FOLDER, FeatureCache
from frechet.cli import main
from frechet.errors import InputError, OutputError, StatsFileError, WeightsError
from frechet.metrics.kid import kid
from frechet.pickled_stats import read_edm2_stats

_TIMEOUT = 120  # a subprocess's limit: imports alone take seconds on a loaded machine; a hang takes forever


def _python(code: str, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=_TIMEOUT,
                          env={**os.environ, **(env or {})}, check=False)


# ------------------------------------------------------------------------------------------------- EDM2 pickles
def test_an_edm2_pickle_whose_lists_share_one_object_is_refused_without_walking_every_path(tmp_path):
    laughs: list = [0.0] * 10
    for _ in range(20):  # 10**20 paths through 20 memoised lists: a few kilobytes on disk
        laughs = [laughs] * 10
    (tmp_path / "laughs.pkl").write_bytes(pickle.dumps({"num_images": 2, "fid": {"mu": laughs, "sigma": laughs}}))
    assert (tmp_path / "laughs.pkl").stat().st_size < 4096
    with within(30), pytest.raises(StatsFileError, match=r"laughs\.pkl: holds more than 10,000 values"):
        frechet.load_stats(tmp_path / "laughs.pkl")


def test_an_edm2_pickle_nested_200000_deep_is_one_line_not_a_recursion_error(tmp_path):
    data = b"\x80\x02" + b"]" * 200_000 + b"a" * 199_999 + b"."  # EMPTY_LIST ×N, APPEND ×(N−1): lists in lists
    (tmp_path / "deep.pkl").write_bytes(data)
    with within(30), pytest.raises(StatsFileError, match=r"deep\.pkl: more than 10,000 pickle opcodes"):
        frechet.load_stats(tmp_path / "deep.pkl")


def test_a_pickle_that_is_not_edm2_inception_statistics_is_not_taken_for_them(tmp_path):
    rows = np.random.default_rng(0).standard_normal((40, 16))
    (tmp_path / "small.pkl").write_bytes(pickle.dumps({"fid": {"mu": rows.mean(0), "sigma": np.cov(rows.T)}}))
    with pytest.raises(StatsFileError, match=r"'fid' has mu \(16,\) .* 2048-dimensional; this is not an EDM2"):
        read_edm2_stats(tmp_path / "small.pkl")
    (tmp_path / "other.pkl").write_bytes(pickle.dumps({"mu": rows.mean(0), "sigma": np.cov(rows.T)}))
    with pytest.raises(StatsFileError, match=r"not an EDM2 reference pickle \(unexpected entries \['mu', 'sigma'\]"):
        frechet.load_stats(tmp_path / "other.pkl")


def test_a_fifo_named_pkl_given_to_load_stats_is_refused_at_once(tmp_path):
    os.mkfifo(tmp_path / "stats.pkl")
    done = _python(f"import frechet; frechet.load_stats({str(tmp_path / 'stats.pkl')!r})")
    assert done.returncode == 1 and "StatsFileError" in done.stderr and "not a regular file" in done.stderr


# ------------------------------------------------------------------------------------------------- NumPy files
def _claiming(path, shape, member="mu.npy", *, compress=False):
    """An .npz whose member ``member`` has a valid .npy header claiming ``shape`` (float64) and 8 bytes of data."""
    header = np.lib.format.header_data_from_array_1_0(np.zeros(1))
    header["shape"] = shape
    with open(path.with_suffix(".hdr"), "wb") as handle:
        np.lib.format.write_array_header_1_0(handle, header)
    data = path.with_suffix(".hdr").read_bytes() + bytes(8)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED) as archive:
        archive.writestr(member, data)
        archive.writestr("sigma.npy", data)
    return path


@pytest.mark.parametrize("compress", [False, True])
def test_a_statistics_file_claiming_far_more_values_than_it_holds_is_refused_before_reading(tmp_path, compress):
    path = _claiming(tmp_path / "claims.npz", (10**12,), compress=compress)
    assert path.stat().st_size < 1024
    with within(30), pytest.raises(StatsFileError, match=r"'mu.npy' claims shape \(1000000000000,\) of float64 "
                                    r"\(8,000,000,000,000 bytes\), but the member holds \d+"):
        frechet.load_stats(path)


def test_an_image_batch_claiming_a_million_images_is_one_line_not_a_warning_per_image(tmp_path):
    header = np.lib.format.header_data_from_array_1_0(np.zeros((1, 8, 8, 3), np.uint8))
    header["shape"] = (10**6, 1024, 1024, 3)
    with open(tmp_path / "hdr", "wb") as handle:
        np.lib.format.write_array_header_1_0(handle, header)
    with zipfile.ZipFile(tmp_path / "batch.npz", "w") as archive:
        archive.writestr("arr_0.npy", (tmp_path / "hdr").read_bytes() + bytes(3 * 1024))
    with pytest.raises(InputError, match=r"batch\.npz: 'arr_0.npy' claims shape \(1000000, 1024, 1024, 3\)"):
        frechet.compute(tmp_path / "batch.npz", tmp_path / "batch.npz", embedder="inception", skip_bad=True,
                        progress=False)


def test_a_features_npy_claiming_more_rows_than_it_holds_is_refused(tmp_path):
    np.save(tmp_path / "rows.npy", np.zeros((4, 3)))
    data = bytearray((tmp_path / "rows.npy").read_bytes())
    data[: data.index(b"}") + 1] = data[: data.index(b"}") + 1].replace(b"(4, 3)", b"(9, 3)")
    (tmp_path / "rows.npy").write_bytes(bytes(data))
    with pytest.raises(InputError, match=r"rows\.npy: claims shape \(9, 3\) of float64 \(216 bytes\), but holds 96"):
        frechet.fd(tmp_path / "rows.npy", tmp_path / "rows.npy")


_SHRINK = """
import os, sys, numpy as np
from frechet_image.npz import NpzImageSource
path = sys.argv[1]
source = NpzImageSource(path)
assert source.load(0).shape == (256, 256, 3)
os.truncate(path, os.path.getsize(path) // 2)
source.load(len(source) - 1)
"""


def test_an_image_batch_truncated_while_being_read_is_an_error_not_a_crash(tmp_path):
    np.savez(tmp_path / "batch.npz", arr_0=np.zeros((40, 256, 256, 3), np.uint8))  # 5 images per block read
    done = _python(_SHRINK, str(tmp_path / "batch.npz"))
    assert done.returncode == 1, (done.returncode, done.stderr)  # not -SIGBUS
    assert "is cut short" in done.stderr and "truncated or replaced while being read" in done.stderr


# ------------------------------------------------------------------------------------------------- cache folder
_FIFO_SHARD = """
import os, sys, frechet
from frechet.cli import main
rows, folder = sys.argv[1], sys.argv[2]
options = dict(embedder="projection", cache_dir=folder, progress=False)
first = frechet.compute_stats(rows, **options)
for shard in __import__("pathlib").Path(folder).glob("{shards}/*/*.npz"):
    os.unlink(shard)
    os.mkfifo(shard)
again = frechet.compute_stats(rows, **options)
assert again.n == first.n and (again.mean == first.mean).all()
sys.exit(main(["cache", "ls", "--cache-dir", folder]))
"""


def test_a_fifo_in_place_of_a_cache_shard_is_recomputed_and_listed_without_blocking(projection, rows_file, tmp_path):
    done = _python(_FIFO_SHARD.replace("{shards}", SHARDS_FOLDER), str(rows_file), str(tmp_path / "cache"),
                   env={"PYTHONPATH": str(projection.site)})
    assert done.returncode == 0, done.stderr
    assert "is unreadable or not this shard; recomputing it" in done.stderr


def test_a_folder_frechet_did_not_make_is_listed_without_being_walked(tmp_path):
    deep = tmp_path / "photos" / "2024" / "trip"
    deep.mkdir(parents=True)
    (deep / "a.jpg").write_bytes(b"x")
    (tmp_path / "notes.txt").write_text("mine")
    leftovers = FeatureCache(tmp_path).leftovers()
    assert sorted(leftovers.foreign) == [str(tmp_path / "notes.txt"), str(tmp_path / "photos")]
    done = subprocess.run([sys.executable, "-m", "frechet", "cache", "ls", "--cache-dir", "/"], capture_output=True,
                          text=True, timeout=_TIMEOUT, check=False)
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr


# ------------------------------------------------------------------------------------------------- paths, outputs
@pytest.mark.parametrize("where", ["input", "out", "save_stats"])
def test_a_name_or_path_no_filesystem_can_hold_is_one_line(tmp_path, capsys, where):
    long_name, long_path = "n" * 300, "/".join(["d" * 200] * 25)
    for bad in (long_name, long_path):
        args = {
            "input": ["stats", f"{bad}.npz", "-o", str(tmp_path / "out.npz")],
            "out": ["stats", str(tmp_path), "-o", f"{bad}.npz"],
            "save_stats": ["compute", str(tmp_path), str(tmp_path), "--save-stats", bad],
        }[where]
        with pytest.raises(SystemExit) as stopped:
            main(args)
        error = capsys.readouterr().err
        assert stopped.value.code == 2 and len(error.splitlines()) == 1
        assert "more than the 255 a name may have" in error or "more than the 4,095 a path may have" in error


def test_statistics_are_refused_a_name_whose_suffix_frechet_would_not_read_back(tmp_path, capsys):
    features = tmp_path / "rows.npy"
    np.save(features, np.random.default_rng(0).standard_normal((10, 3)))
    assert main(["stats", str(features), "-o", str(tmp_path / "out.npy")]) == 2
    assert "statistics are saved as .npz" in capsys.readouterr().err and not (tmp_path / "out.npy").exists()
    stats = frechet.load_stats(_saved(tmp_path))
    with pytest.raises(OutputError, match=r"out\.pkl: statistics are saved as \.npz"):
        stats.save(tmp_path / "out.pkl")


def _saved(tmp_path):
    rows = np.random.default_rng(1).standard_normal((10, 3))
    frechet.FeatureStats.from_moments(rows.mean(0), np.cov(rows.T), 10).save(tmp_path / "ok.npz")
    return tmp_path / "ok.npz"


# ------------------------------------------------------------------------------------------------- KID
def test_kid_of_features_whose_kernel_overflows_is_refused_naming_the_side_and_scale():
    rng = np.random.default_rng(0)
    real, fake = rng.standard_normal((20, 4)), rng.standard_normal((20, 4)) * 1e55
    scales = r"\(real up to [\d.]+, gen up to [\d.]+e\+55"
    with pytest.raises(InputError, match=r"KID: the features are too large .*" + scales):
        kid(real, fake, subsets=3, subset_size=10, names=("real", "gen"))
    assert np.isfinite(kid(real, fake / 1e52, subsets=3, subset_size=10)[0])


# ------------------------------------------------------------------------------------------------- checkpoints
def _rewritten(source, target, change, *, deflate=()):
    """A copy of the zip ``source`` with each member's bytes passed through ``change(name, data)``."""
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w") as new:
        for info in old.infolist():
            kind = zipfile.ZIP_DEFLATED if info.filename.endswith(deflate) else zipfile.ZIP_STORED
            new.writestr(info.filename, change(info.filename, old.read(info)), compress_type=kind)
    return target


def test_a_checkpoint_whose_tensor_repeats_a_few_bytes_into_gigabytes_is_refused(tmp_path):
    torch = pytest.importorskip("torch")
    from frechet.weights import load_state_dict

    torch.save({"w": torch.ones(4)}, tmp_path / "ok.pth")
    # size (4,) stride (1,) becomes size (600,000,000,) stride (0,): 16 stored bytes standing for 2.4 GB
    stride = _rewritten(tmp_path / "ok.pth", tmp_path / "stride.pth", lambda name, data: data.replace(
        b"K\x04\x85q\x08K\x01\x85", b"J\x00\x46\xc3\x23\x85q\x08K\x00\x85") if name.endswith("data.pkl") else data)
    with pytest.raises(WeightsError, match=r"stride\.pth: .*\(600000000,\) \(strides \(0,\), offset 0\) reaches"):
        load_state_dict(stride)
    bomb = _rewritten(tmp_path / "ok.pth", tmp_path / "bomb.pth",
                      lambda name, data: bytes(80 << 20) if name.endswith("data/0") else data, deflate=("data/0",))
    with pytest.raises(WeightsError, match=r"bomb\.pth: .*data/0: would unpack 83,886,080 bytes .* zip bomb"):
        load_state_dict(bomb)
    os.mkfifo(tmp_path / "fifo.pth")
    with within(30), pytest.raises(WeightsError, match=r"fifo\.pth: cannot be read \(not a regular file"):
        load_state_dict(tmp_path / "fifo.pth")


def test_mmd_of_features_whose_squared_distances_overflow_is_refused_not_nan():
    from frechet.metrics.mmd import mmd

    rng = np.random.default_rng(0)
    real, fake = rng.standard_normal((20, 4)), rng.standard_normal((20, 4)) * 1e200
    scales = r"\(real up to [\d.]+, fake up to [\d.]+e\+200"
    with pytest.raises(InputError, match=r"MMD: the features are too large .*" + scales):
        mmd(real, fake)
    assert np.isfinite(mmd(real, fake / 1e198))
