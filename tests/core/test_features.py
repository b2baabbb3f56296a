"""The features domain: .npy/.npz feature files and arrays as inputs, through the Python API."""

import json
import subprocess
import sys

import numpy as np
import pytest
import torch

import frechet
from frechet import FeatureStats, frechet_distance
from frechet.cli import main
from frechet.errors import InputError
from frechet.features import FeatureMatrixSource, open_feature_file


def _rows(n, d=6, seed=0):
    return np.random.default_rng(seed).standard_normal((n, d))


def test_arrays_tensors_and_files_give_the_same_distance(tmp_path):
    a, b = _rows(80), _rows(90, seed=1) + 0.3
    expected = frechet_distance(FeatureStats.from_features(a), FeatureStats.from_features(b))
    np.save(tmp_path / "a.npy", a)
    np.savez(tmp_path / "b.npz", features=b)
    assert frechet.compute(a, b)["fd"] == pytest.approx(expected, rel=1e-12)
    assert frechet.compute(torch.from_numpy(a), torch.from_numpy(b))["fd"] == pytest.approx(expected, rel=1e-12)
    assert frechet.fd(tmp_path / "a.npy", tmp_path / "b.npz")["fd"] == pytest.approx(expected, rel=1e-12)


def test_an_npz_with_a_single_array_of_any_name_is_read(tmp_path):
    np.savez(tmp_path / "x.npz", arr_0=_rows(10))
    assert frechet.compute_stats(tmp_path / "x.npz").n == 10


def test_fewer_samples_than_dimensions_use_the_exact_gram_form():
    a, b = _rows(5, d=40), _rows(7, d=40, seed=1)
    c1, c2 = a - a.mean(0), b - b.mean(0)
    nuclear = np.linalg.svd(c1 @ c2.T, compute_uv=False).sum() / np.sqrt(4 * 6)
    expected = ((a.mean(0) - b.mean(0)) ** 2).sum() + (c1**2).sum() / 4 + (c2**2).sum() / 6 - 2 * nuclear
    assert frechet.compute(a, b)["fd"] == pytest.approx(expected, rel=1e-11)


@pytest.mark.parametrize(
    ("write", "message"),
    [
        (lambda p: np.save(p / "f.npy", np.zeros(5)), "2-D"),
        (lambda p: np.save(p / "f.npy", np.zeros((0, 3))), "empty"),
        (lambda p: np.save(p / "f.npy", np.array([[object()]], dtype=object)), "pickled Python objects"),
        (lambda p: np.save(p / "f.npy", np.array([["a"]])), "real numbers"),
        (lambda p: (p / "f.npy").write_bytes(b"\x93NUMPY" + b"\x00" * 3), "unreadable"),
        (lambda p: (p / "f.npy").write_bytes(b""), "not a .npy file"),
        (lambda p: np.savez(p / "f.npz", a=np.zeros((2, 2)), b=np.zeros((2, 2))), "name the feature matrix"),
    ],
)
def test_bad_feature_files_are_rejected_with_the_file_named(tmp_path, write, message):
    write(tmp_path)
    path = next(tmp_path.iterdir())
    with pytest.raises(InputError, match=message) as error:
        frechet.compute_stats(path)
    assert str(path) in str(error.value)


def test_nan_rows_are_rejected():
    a = _rows(20)
    a[4, 1] = np.inf
    with pytest.raises(InputError, match="NaN or Inf"):
        frechet.compute(a, _rows(20))


def test_statistics_files_are_not_read_as_features(tmp_path):
    FeatureStats.from_features(_rows(40)).save(tmp_path / "s.npz")
    with pytest.raises(InputError, match="holds statistics"):
        open_feature_file(tmp_path / "s.npz")


def test_distance_refuses_inputs_that_need_a_model(tmp_path):
    (tmp_path / "images").mkdir()
    with pytest.raises(InputError, match=r"frechet.fd\(\) takes statistics.*use frechet.compute\(\)"):
        frechet.fd(tmp_path / "images", _rows(5))


def test_a_nan_row_stops_the_run_by_name_or_is_skipped_and_listed(tmp_path):
    a = _rows(20)
    a[4, 1], a[7, 0] = np.nan, -np.inf
    np.save(tmp_path / "a.npy", a)
    message = rf"^{tmp_path / 'a.npy'}\[4\]: this feature row holds NaN or Inf; .*skip_bad=True"
    with pytest.raises(InputError, match=message):
        frechet.compute(tmp_path / "a.npy", _rows(20, seed=1))
    result = frechet.compute(tmp_path / "a.npy", _rows(20, seed=1), skip_bad=True)
    assert result["skipped"] == [f"{tmp_path / 'a.npy'}[4]", f"{tmp_path / 'a.npy'}[7]"] and result["n_real"] == 18
    clean = np.delete(a, [4, 7], axis=0)
    assert result["fd"] == pytest.approx(frechet.compute(clean, _rows(20, seed=1))["fd"], rel=1e-12)


def test_one_sample_is_an_error_naming_the_input():
    with pytest.raises(InputError, match=r"^<array \(1, 6\)>: a covariance needs at least 2 samples, found 1"):
        frechet.compute(_rows(1), _rows(20))
    with pytest.raises(InputError, match=r"^<array \(1, 6\)>: a covariance needs at least 2 samples, found 1"):
        frechet.compute_stats(_rows(1))


def test_no_more_samples_than_dimensions_warn_that_fd_is_biased_but_stay_exact(tmp_path, capsys):
    a, b = _rows(6, d=6), _rows(40, d=6, seed=1)
    np.save(tmp_path / "a.npy", a)
    np.save(tmp_path / "b.npy", b)
    assert main(["distance", str(tmp_path / "a.npy"), str(tmp_path / "b.npy"), "--json"]) == 0
    captured = capsys.readouterr()
    warnings = [line for line in captured.err.splitlines() if line.startswith("frechet: warning:")]
    assert len(warnings) == 1 and "a.npy: 6 samples for 6 feature dimensions" in warnings[0]
    assert "strongly biased" in warnings[0]
    c1, c2 = a - a.mean(0), b - b.mean(0)
    exact = ((a.mean(0) - b.mean(0)) ** 2).sum() + np.trace(np.cov(a, rowvar=False)) + np.trace(np.cov(b, rowvar=False))
    exact -= 2 * np.linalg.svd(c1 @ c2.T, compute_uv=False).sum() / np.sqrt(5 * 39)
    assert json.loads(captured.out.splitlines()[-1])["fd"] == pytest.approx(exact, rel=1e-10)


_PEAK_MEMORY = """
import resource, sys
import numpy as np
import frechet
rng = np.random.default_rng(0)
np.save("a.npy", rng.standard_normal((6, 8000)))
np.save("b.npy", rng.standard_normal((6, 8000)) + 0.1)
np.save("small.npy", rng.standard_normal((6, 10)))
frechet.compute("small.npy", "small.npy", progress=False)  # imports and first-use allocations, before measuring
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
fd = frechet.compute("a.npy", "b.npy", progress=False)["fd"]
print(fd, (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) * 1024)
"""


def test_few_samples_of_wide_features_never_form_a_d_by_d_matrix_end_to_end(tmp_path):
    done = subprocess.run([sys.executable, "-c", _PEAK_MEMORY], cwd=tmp_path, capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    fd, grown = map(float, done.stdout.split())
    a, b = np.load(tmp_path / "a.npy"), np.load(tmp_path / "b.npy")
    c1, c2 = a - a.mean(0), b - b.mean(0)
    nuclear = np.linalg.svd(c1 @ c2.T, compute_uv=False).sum() / 5
    expected = ((a.mean(0) - b.mean(0)) ** 2).sum() + (c1**2).sum() / 5 + (c2**2).sum() / 5 - 2 * nuclear
    assert fd == pytest.approx(expected, rel=1e-10)
    assert grown < 64e6  # one 8000 × 8000 float64 matrix alone is 512 MB


def test_feature_files_are_read_in_blocks_whatever_the_batch_size_and_bad_rows_are_still_named(tmp_path,
                                                                                              monkeypatch):
    rows = _rows(5000, d=4)
    rows[[17, 4321]] = np.inf
    np.save(tmp_path / "rows.npy", rows)
    monkeypatch.setattr(FeatureMatrixSource, "load", lambda *_: pytest.fail("read one row at a time"))
    stats = frechet.compute_stats(tmp_path / "rows.npy", batch_size=1, skip_bad=True, progress=False)
    clean = np.delete(rows, [17, 4321], axis=0)
    assert stats.n == 4998 and np.allclose(stats.cov, np.cov(clean, rowvar=False), rtol=1e-12, atol=0)
    assert stats.meta["skipped"] == [f"{tmp_path / 'rows.npy'}[{index}]" for index in (17, 4321)]
    with pytest.raises(InputError, match=r"rows\.npy\[17\]: this feature row holds NaN or Inf.*skip_bad=True"):
        frechet.compute_stats(tmp_path / "rows.npy", batch_size=1, progress=False)
