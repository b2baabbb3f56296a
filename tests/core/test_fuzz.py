"""Fuzzing: the statistics loader and the command line never fail with anything but their documented errors, and FD
through the runner keeps the properties of a distance whatever the order and batching of the items."""

import io
import zipfile

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import frechet
from frechet import frechet_distance
from frechet.cli import main
from frechet.errors import StatsFileError
from frechet.stats import FeatureStats

_ARRAYS = hnp.arrays(
    dtype=st.sampled_from([np.float64, np.float32, np.int64, np.uint8, np.bool_, np.complex64, "U3"]),
    shape=hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=4),
)


def _npz_bytes(arrays):
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(arrays=st.dictionaries(st.sampled_from(["mu", "sigma", "n", "meta", "x"]), _ARRAYS, max_size=5))
def test_any_npz_content_loads_validly_or_raises_stats_file_error(tmp_path, arrays):
    path = tmp_path / "fuzz.npz"
    path.write_bytes(_npz_bytes(arrays))
    try:
        stats = FeatureStats.load(path)
    except StatsFileError as error:
        assert str(path) in str(error)
    else:
        d = stats.dim
        assert stats.mean.shape == (d,) and stats.cov.shape == (d, d)
        assert np.isfinite(stats.cov).all() and np.array_equal(stats.cov, stats.cov.T)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=600), cut=st.integers(0, 2000))
def test_any_bytes_or_cut_archive_raise_stats_file_error(tmp_path, data, cut):
    good = _npz_bytes({"mu": np.zeros(3), "sigma": np.eye(3)})
    for index, content in enumerate((data, good[:cut], b"PK\x03\x04" + data, _corrupt_member(good, data))):
        path = tmp_path / f"fuzz{index}.npz"
        path.write_bytes(content)
        try:
            loaded = FeatureStats.load(path)
        except StatsFileError as error:
            assert str(path) in str(error) and "\n" not in str(error)
        else:  # only the whole good archive (or a member damaged where nothing is read) may load: as written
            assert content[: len(good)] == good or index == 3
            np.testing.assert_array_equal(loaded.mean, np.zeros(3))
            np.testing.assert_array_equal(loaded.cov, np.eye(3))


def _corrupt_member(archive: bytes, data: bytes) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(archive)) as source, zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            target.writestr(info, data if info.filename == "sigma.npy" else source.read(info))
    return out.getvalue()


_WORDS = st.sampled_from([
    "compute", "stats", "distance", "plugins", "embedders", "metrics", "--json", "--force", "--metrics", "fd,kid",
    "--batch-size", "0", "-3", "64", "--workers", "--device", "cpu", "gpu", "--layer", "pool", "--embedder",
    "features", "nope", "--embedder-option", "a=b", "=", "--metric-option", "x", "-o", "--out", "--seed", "1e3",
    "--quiet", "--skip-bad", "--save-stats", "{a}", "{b}", "{out}", "", "--", "-", "--version",
])


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(words=st.lists(_WORDS, max_size=9))
def test_the_command_line_only_ever_succeeds_or_exits_2_with_one_line(tmp_path, capsys, monkeypatch, words):
    monkeypatch.chdir(tmp_path)  # a fuzzed `-o stats` or `--save-stats x` writes here, never into the checkout
    rng = np.random.default_rng(0)
    np.save(tmp_path / "a.npy", rng.standard_normal((20, 3)))
    np.save(tmp_path / "b.npy", rng.standard_normal((20, 3)))
    argv = [w.format(a=tmp_path / "a.npy", b=tmp_path / "b.npy", out=tmp_path / "o.npz") for w in words]
    try:
        code = main(argv)
    except SystemExit as exit_info:  # argparse: usage errors (2), --help/--version (0)
        code = exit_info.code
    err = capsys.readouterr().err
    assert code in (0, 2)
    if code == 2:
        errors = [line for line in err.splitlines() if line.startswith("frechet: error:")]
        assert len(errors) == 1 and "Traceback" not in err


def test_a_fuzzed_loader_example_that_is_valid_round_trips(tmp_path):
    path = tmp_path / "ok.npz"
    path.write_bytes(_npz_bytes({"mu": np.ones(2), "sigma": np.eye(2), "n": np.array(5)}))
    assert FeatureStats.load(path).n == 5


def _runner_stats(rows, batch_size, shard_size):
    return frechet.compute_stats(rows, batch_size=batch_size, shard_size=shard_size, progress=False)


@settings(max_examples=100, deadline=None)
@given(
    sizes=st.tuples(st.integers(2, 30), st.integers(2, 30)),
    d=st.integers(1, 8),
    seed=st.integers(0, 2**32 - 1),
    scale=st.sampled_from([1e-3, 1.0, 1e3]),
    batching=st.tuples(st.integers(1, 40), st.integers(1, 40), st.integers(1, 40), st.integers(1, 40)),
)
def test_fd_through_the_runner_is_symmetric_non_negative_zero_on_itself_and_blind_to_order_and_batching(
    sizes, d, seed, scale, batching
):
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((sizes[0], d)) * scale + rng.standard_normal(d) * scale
    b = rng.standard_normal((sizes[1], d)) @ rng.standard_normal((d, d)) * scale
    stats_a, stats_b = _runner_stats(a, 64, 64), _runner_stats(b, 64, 64)
    fd = frechet_distance(stats_a, stats_b)
    tolerance = 1e-6 * max(fd, scale**2 * d)
    assert fd >= 0
    assert abs(frechet_distance(stats_b, stats_a) - fd) <= tolerance
    assert frechet_distance(stats_a, _runner_stats(a, *batching[:2])) <= tolerance
    shuffled_a = _runner_stats(a[rng.permutation(len(a))], *batching[:2])
    shuffled_b = _runner_stats(b[rng.permutation(len(b))], *batching[2:])
    assert abs(frechet_distance(shuffled_a, shuffled_b) - fd) <= tolerance
    np.testing.assert_allclose(shuffled_a.cov, stats_a.cov, rtol=0, atol=1e-12 * scale**2 * 10)
