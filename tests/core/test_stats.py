"""FeatureStats: streaming float64 moments equal numpy's, merge exactly, and round-trip through validated .npz files."""

import json
import struct
import zipfile

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from frechet.cli import main
from frechet.errors import InputError, OutputError, StatsFileError
from frechet.stats import FeatureStats, symmetric_part


def _features(n=300, d=12, seed=0, offset=0.0):
    rng = np.random.default_rng(seed)
    return (rng.standard_normal((n, d)) @ rng.standard_normal((d, d)) + offset).astype(np.float32)


def _rel(a, b):
    return np.abs(a - b).max() / np.abs(b).max()


def test_mean_and_cov_equal_numpy_in_float64_whatever_the_input_dtype():
    x = _features()
    stats = FeatureStats()
    for start in range(0, len(x), 64):
        stats.update(x[start : start + 64])
    assert stats.n == len(x)
    assert stats.mean.dtype == np.float64 and stats.cov.dtype == np.float64
    assert _rel(stats.mean, x.astype(np.float64).mean(axis=0)) < 1e-13
    assert _rel(stats.cov, np.cov(x.astype(np.float64), rowvar=False)) < 1e-12


@pytest.mark.parametrize("size", [1, 63, 64, 65, 200])
def test_the_tiled_symmetric_part_is_the_plain_formula_bit_for_bit(size):
    matrix = np.random.default_rng(size).standard_normal((size, size)) * 1e3
    for divisor in (1.0, 7):
        got = symmetric_part(matrix, divisor)
        assert got.flags.c_contiguous
        np.testing.assert_array_equal(got, (matrix / divisor + (matrix / divisor).T) / 2)
        np.testing.assert_array_equal(got, got.T)


def test_numpy_arrays_and_torch_tensors_give_the_same_statistics():
    x = _features()
    from_numpy = FeatureStats.from_features(x)
    from_torch = FeatureStats.from_features(torch.from_numpy(x))
    assert np.array_equal(from_numpy.mean, from_torch.mean)
    assert np.array_equal(from_numpy.cov, from_torch.cov)


@settings(max_examples=40, deadline=None)
@given(cuts=st.lists(st.integers(min_value=0, max_value=200), max_size=6))
def test_merging_any_split_equals_one_pass(cuts):
    x = _features(n=200, d=8, seed=3, offset=50.0)
    one_pass = FeatureStats.from_features(x)
    bounds = [0, *sorted(cuts), len(x)]
    merged = FeatureStats()
    for start, stop in zip(bounds, bounds[1:]):
        merged.merge(FeatureStats.from_features(x[start:stop]))
    assert merged.n == one_pass.n
    assert _rel(merged.mean, one_pass.mean) < 1e-12
    assert _rel(merged.cov, one_pass.cov) < 1e-12


def test_large_offsets_do_not_lose_precision():
    # Naive sum-of-squares accumulation loses ~all digits here; centred (Chan) updates do not.
    x = _features(n=1000, d=4, seed=1).astype(np.float64) * 1e-3 + 1e6
    stats = FeatureStats()
    for start in range(0, len(x), 10):
        stats.update(x[start : start + 10])
    assert _rel(stats.cov, np.cov(x, rowvar=False)) < 1e-7


def test_samples_are_kept_only_while_there_are_no_more_than_dimensions():
    x = _features(n=20, d=12)
    stats = FeatureStats().update(x[:12])
    assert stats.rows.shape == (12, 12)
    stats.update(x[12:13])
    assert stats.rows is None
    halves = FeatureStats.from_features(x[:5]).merge(FeatureStats.from_features(x[5:10]))
    assert np.array_equal(halves.rows, x[:10].astype(np.float64))


def test_non_finite_features_are_rejected():
    x = _features(n=10)
    x[3, 2] = np.nan
    with pytest.raises(InputError, match="NaN or Inf"):
        FeatureStats.from_features(x)


def test_wrong_shapes_and_dimension_changes_are_rejected():
    with pytest.raises(InputError, match="2-D"):
        FeatureStats().update(np.zeros(5))
    stats = FeatureStats.from_features(_features(d=12))
    with pytest.raises(InputError, match="dimension 5"):
        stats.update(np.zeros((3, 5)))


def test_one_sample_has_no_covariance():
    with pytest.raises(InputError, match="at least 2 samples"):
        FeatureStats.from_features(np.ones((1, 3))).cov


@pytest.mark.parametrize("n", [0, 5, 300])  # empty, N ≤ d (rows kept), N > d
def test_the_state_round_trip_is_bit_exact_and_merges_as_the_original(n):
    x = _features(n=max(n, 1), d=12, seed=3)[:n]
    original = FeatureStats()
    for start in range(0, n, 64):
        original.update(x[start : start + 64])
    copy = FeatureStats.from_state(original.state())
    assert copy.n == n and set(copy.state()) == set(original.state())
    assert ("rows" in copy.state()) == (0 < n <= 12)
    for key, value in original.state().items():
        assert np.array_equal(copy.state()[key], value)
    more = _features(n=40, d=12, seed=4)
    merged_original, merged_copy = FeatureStats().merge(original), FeatureStats().merge(copy)
    merged_original.update(more), merged_copy.update(more)
    assert np.array_equal(merged_copy.cov, merged_original.cov)
    assert np.array_equal(merged_copy.mean, merged_original.mean)


def test_a_state_with_inconsistent_shapes_is_rejected():
    with pytest.raises(InputError, match=r"expected \(d,\) and \(d, d\)"):
        FeatureStats.from_state({"n": np.int64(3), "mean": np.zeros(4), "m2": np.zeros((3, 3))})


def test_save_and_load_round_trip_with_meta(tmp_path):
    stats = FeatureStats.from_features(_features(), meta={"embedder": "x", "output": "pool"})
    path = stats.save(tmp_path / "s.npz", meta={"n_items": 300})
    loaded = FeatureStats.load(path)
    assert loaded.n == 300
    assert np.array_equal(loaded.mean, stats.mean)
    assert np.allclose(loaded.cov, stats.cov, rtol=1e-15, atol=0)
    assert loaded.meta == {"embedder": "x", "output": "pool", "n_items": 300}


def test_saved_files_are_what_pytorch_fid_reads(tmp_path):
    # pytorch-fid's loader: np.load(path); f["mu"][:], f["sigma"][:]
    stats = FeatureStats.from_features(_features())
    stats.save(tmp_path / "s.npz")
    with np.load(tmp_path / "s.npz") as f:
        mu, sigma = f["mu"][:], f["sigma"][:]
    assert mu.shape == (12,) and sigma.shape == (12, 12) and sigma.dtype == np.float64


def test_files_of_other_tools_load_without_a_sample_count(tmp_path):
    x = _features()
    np.savez(tmp_path / "pfid.npz", mu=x.mean(0), sigma=np.cov(x, rowvar=False))
    loaded = FeatureStats.load(tmp_path / "pfid.npz")
    assert loaded.n is None and loaded.meta == {}
    with pytest.raises(InputError, match="without a sample count"):
        loaded.merge(FeatureStats.from_features(x))


def test_loaded_statistics_with_a_count_still_merge_exactly(tmp_path):
    x = _features(n=400)
    FeatureStats.from_features(x[:150]).save(tmp_path / "a.npz")
    merged = FeatureStats.load(tmp_path / "a.npz").merge(FeatureStats.from_features(x[150:]))
    assert _rel(merged.cov, np.cov(x.astype(np.float64), rowvar=False)) < 1e-12


def _write_npz(path, **arrays):
    np.savez(path, **arrays)
    return path


@pytest.mark.parametrize(
    ("arrays", "message"),
    [
        ({"mu": np.zeros((3, 1)), "sigma": np.eye(3)}, "mean must be a non-empty vector"),
        ({"mu": np.zeros(3), "sigma": np.eye(4)}, r"must be \(3, 3\)"),
        ({"mu": np.zeros(3), "sigma": np.full((3, 3), np.nan)}, "NaN or Inf"),
        ({"mu": np.zeros(3), "sigma": np.array([[1, 0.5, 0], [0, 1, 0], [0, 0, 1]])}, "not symmetric"),
        ({"mu": np.zeros(3), "sigma": -np.eye(3)}, "negative variances"),
        ({"mu": np.zeros(3)}, "needs 'mu' and 'sigma'"),
        ({"mu": np.array(["a", "b"]), "sigma": np.eye(2)}, "expected real numbers"),
        ({"mu": np.zeros(2), "sigma": np.eye(2), "n": np.array(2.5)}, "single integer"),
        ({"mu": np.zeros(2), "sigma": np.eye(2), "n": np.array(1)}, "at least 2 samples"),
        ({"mu": np.zeros(2), "sigma": np.eye(2), "meta": np.array("{not json")}, "not valid JSON"),
        ({"mu": np.zeros(2), "sigma": np.eye(2), "meta": np.array("[1, 2]")}, "JSON object"),
    ],
)
def test_malformed_statistics_files_are_rejected_with_the_file_named(tmp_path, arrays, message):
    path = _write_npz(tmp_path / "bad.npz", **arrays)
    with pytest.raises(StatsFileError, match=message) as error:
        FeatureStats.load(path)
    assert str(path) in str(error.value)


def test_pickled_object_arrays_are_never_unpickled(tmp_path):
    path = tmp_path / "evil.npz"
    np.savez(path, mu=np.array([object()], dtype=object), sigma=np.eye(1))
    with pytest.raises(StatsFileError, match="pickled Python objects"):
        FeatureStats.load(path)


def test_truncated_and_non_zip_files_are_rejected(tmp_path):
    good = FeatureStats.from_features(_features()).save(tmp_path / "good.npz")
    truncated = tmp_path / "truncated.npz"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(StatsFileError, match="truncated"):
        FeatureStats.load(truncated)
    garbage = tmp_path / "garbage.npz"
    garbage.write_bytes(b"not a zip at all")
    with pytest.raises(StatsFileError, match="unreadable"):
        FeatureStats.load(garbage)
    with pytest.raises(StatsFileError, match="no such statistics file"):
        FeatureStats.load(tmp_path / "missing.npz")


def test_corrupted_member_data_is_rejected(tmp_path):
    good = FeatureStats.from_features(_features()).save(tmp_path / "good.npz")
    corrupt = tmp_path / "corrupt.npz"
    with zipfile.ZipFile(good) as source, zipfile.ZipFile(corrupt, "w") as target:
        for info in source.infolist():
            data = source.read(info)
            target.writestr(info, data[:20] if info.filename == "sigma.npy" else data)
    with pytest.raises(StatsFileError):
        FeatureStats.load(corrupt)


def test_a_failed_save_leaves_the_previous_file_untouched(tmp_path, monkeypatch):
    path = FeatureStats.from_features(_features(seed=1)).save(tmp_path / "s.npz")
    before = path.read_bytes()

    def disk_full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(np, "savez", disk_full)
    with pytest.raises(OutputError, match="No space left on device"):
        FeatureStats.from_features(_features(seed=2)).save(path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["s.npz"]


def test_meta_is_stored_as_a_json_string(tmp_path):
    path = FeatureStats.from_features(_features(), meta={"embedder": "e"}).save(tmp_path / "s.npz")
    with np.load(path, allow_pickle=False) as f:
        assert json.loads(str(f["meta"])) == {"embedder": "e"}


def test_a_statistics_file_with_a_zip_bomb_member_is_refused_before_it_is_inflated(tmp_path, monkeypatch):
    path = tmp_path / "bomb.npz"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("mu.npy", b"\0" * 100_000)
        archive.writestr("sigma.npy", b"\0" * 100_000)
    data = bytearray(path.read_bytes())
    directory = data.index(b"PK\x01\x02")  # declare ~4 GB unpacked for mu.npy, the first member
    struct.pack_into("<I", data, 22, 4_000_000_000)
    struct.pack_into("<I", data, directory + 24, 4_000_000_000)
    path.write_bytes(bytes(data))
    monkeypatch.setattr(np, "load", lambda *args, **kwargs: pytest.fail("np.load must not be reached"))
    with pytest.raises(StatsFileError, match=rf"^{path}:mu.npy: would unpack 4,000,000,000 bytes .* zip bomb"):
        FeatureStats.load(path)


def test_saving_to_a_full_disk_leaves_no_file_and_says_the_disk_is_full(full_disk, tmp_path, capsys):
    np.save(tmp_path / "rows.npy", _features(n=200, d=64))  # sigma alone is 32 KiB: more than the disk holds
    out = full_disk / "stats.npz"
    assert main(["stats", str(tmp_path / "rows.npy"), "-o", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"frechet: error: {out}: writing failed (the disk is full: ")
    assert list(full_disk.iterdir()) == []


def test_features_whose_squares_overflow_are_refused_naming_the_input_and_nothing_is_written(tmp_path, capsys):
    rows = _features(n=300, d=4).astype(np.float64) * 1e155
    np.save(tmp_path / "huge.npy", rows)
    np.save(tmp_path / "fine.npy", _features(n=300, d=4))
    assert main(["stats", str(tmp_path / "huge.npy"), "-o", str(tmp_path / "s.npz"), "--quiet"]) == 2
    error = capsys.readouterr().err
    assert error.startswith(f"frechet: error: {tmp_path / 'huge.npy'}: the features are too large for float64 "
                            "statistics") and error.count("\n") == 1
    assert not (tmp_path / "s.npz").exists()
    assert main(["compute", str(tmp_path / "fine.npy"), str(tmp_path / "huge.npy")]) == 2
    assert f"error: {tmp_path / 'huge.npy'}: the features are too large" in capsys.readouterr().err


def test_statistics_whose_covariance_would_overflow_are_never_saved(tmp_path):
    stats = FeatureStats.from_features(_features(n=3, d=4).astype(np.float64) * 1e200)  # rows kept: no M2 yet
    stats.label = "huge.npy"
    with pytest.raises(InputError, match="^huge.npy: the features are too large for float64 statistics"):
        stats.save(tmp_path / "s.npz")
    assert not (tmp_path / "s.npz").exists()


@pytest.mark.parametrize(
    ("state", "message"),
    [
        ({"n": np.int64(-4)}, "sample count -4"),
        ({"n": np.float64(3)}, "sample count 3.0"),
        ({"n": np.int64(3), "mean": np.zeros(2), "rows": np.zeros((2, 2))}, "rows for n=3"),
        ({"n": np.int64(3), "mean": np.zeros(2), "m2": np.full((2, 2), np.inf)}, "NaN or Inf"),
        ({"n": np.int64(3), "mean": np.zeros(2), "m2": np.diag([1.0, -1.0])}, "negative variances"),
        ({"n": np.int64(3), "mean": np.zeros(2)}, "neither of rows and m2"),
    ],
)
def test_a_state_that_cannot_come_from_data_is_refused(state, message):
    with pytest.raises(InputError, match=message):
        FeatureStats.from_state(state)


def test_while_there_are_no_more_samples_than_dimensions_no_d_by_d_matrix_is_held():
    x = _features(n=8, d=12).astype(np.float64)
    stats = FeatureStats().update(x[:3]).merge(FeatureStats.from_features(x[3:6])).update(x[6:])
    state = stats.state()
    assert set(state) == {"n", "mean", "rows"}  # the rows are the state; M2 only on request
    assert _rel(stats.cov, np.cov(x, rowvar=False)) < 1e-12
    assert set(stats.state(rows=False)) == {"n", "mean", "m2"}


def test_a_covariance_given_without_a_count_is_kept_as_its_exactly_symmetric_part_never_the_callers_array():
    rng = np.random.default_rng(7)
    x = rng.standard_normal((50, 6))
    sigma = np.cov(x, rowvar=False).astype(np.float32).astype(np.float64)
    sigma[0, 1] += 1e-7 * sigma[0, 1]  # rounding-level asymmetry, as a float32 file may hold
    given = sigma.copy()
    stats = FeatureStats.from_moments(x.mean(axis=0), sigma)
    sigma[:] = 0.0  # the caller reuses its array
    assert np.array_equal(stats.cov, stats.cov.T)
    assert np.array_equal(stats.cov, (given + given.T) / 2)
