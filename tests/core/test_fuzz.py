"""Fuzzing: the statistics loader and the command line never fail with anything but their documented errors."""

import io
import zipfile

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

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
            FeatureStats.load(path)
        except StatsFileError:
            pass


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
def test_the_command_line_only_ever_succeeds_or_exits_2_with_one_line(tmp_path, capsys, words):
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
