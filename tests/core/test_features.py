"""The features domain: .npy/.npz feature files and arrays as inputs, through the Python API."""

import numpy as np
import pytest
import torch

import frechet
from frechet import FeatureStats, frechet_distance
from frechet.errors import InputError
from frechet.features import open_feature_file


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
    with pytest.raises(InputError, match="use `compute`"):
        frechet.fd(tmp_path / "images", _rows(5))
