"""EDM2's statistics pickles: read through an unpickler that builds only dicts, numbers and numeric arrays; anything
else is refused without being created or run."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest

import frechet
from frechet.errors import StatsFileError
from frechet.pickled_stats import read_edm2_stats, read_pickled_arrays
from frechet.stats import FeatureStats
from frechet.statsfiles import is_stats_file


def _edm2_payload() -> dict:
    """What EDM2 writes: Inception (2048-d) and DINOv2 (1024-d) moments of its images."""
    rows = np.random.default_rng(0).standard_normal((100, 2048))
    mu, sigma = rows.mean(0), np.cov(rows, rowvar=False)
    return {"num_images": 100, "fid": {"mu": mu, "sigma": sigma},
            "fd_dinov2": {"mu": mu[:1024], "sigma": sigma[:1024, :1024]}}


class _WritesAFile:
    """Pickles as a call that would write ``target`` when unpickled."""

    def __init__(self, target: Path) -> None:
        self.target = target

    def __reduce__(self):
        return Path.write_text, (self.target, "ran")


@pytest.mark.parametrize("protocol", [2, 4, 5])
def test_a_benign_edm2_pickle_reads_its_statistics_and_image_count(tmp_path, protocol):
    payload = _edm2_payload()
    (tmp_path / "ref.pkl").write_bytes(pickle.dumps(payload, protocol=protocol))
    stats = read_edm2_stats(tmp_path / "ref.pkl")
    assert stats.n == 100 and np.array_equal(stats.mean, payload["fid"]["mu"])
    np.testing.assert_allclose(stats.cov, payload["fid"]["sigma"], rtol=1e-12)
    assert read_edm2_stats(tmp_path / "ref.pkl", "fd_dinov2").dim == 1024


def test_a_pickle_holding_any_other_object_is_refused_without_running_it(tmp_path):
    target = tmp_path / "written-by-the-pickle.txt"
    payload = {**_edm2_payload(), "extra": _WritesAFile(target)}
    (tmp_path / "evil.pkl").write_bytes(pickle.dumps(payload))
    with pytest.raises(StatsFileError, match=r"refused: this pickle refers to pathlib\.Path\.write_text"):
        frechet.load_stats(tmp_path / "evil.pkl")
    assert not target.exists()


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (np.array([1, "a"], dtype=object), "refers to|dtype object"),
        ({1, 2}, "refers to builtins.set|is a set"),
        (np.array(["a", "b"]), "dtype <U1, not numbers"),
    ],
)
def test_anything_but_numeric_arrays_numbers_and_dicts_is_refused(tmp_path, value, message):
    (tmp_path / "odd.pkl").write_bytes(pickle.dumps({"fid": {"mu": np.zeros(2), "sigma": np.eye(2)}, "odd": value}))
    with pytest.raises(StatsFileError, match=message):
        read_pickled_arrays(tmp_path / "odd.pkl")


def test_a_pickle_without_the_asked_entry_names_what_it_has(tmp_path):
    (tmp_path / "fid-only.pkl").write_bytes(pickle.dumps({"fid": {"mu": np.zeros(2), "sigma": np.eye(2)}}))
    with pytest.raises(StatsFileError, match=r"no 'fd_dinov2' statistics .* \(it has \['fid'\]\)"):
        read_edm2_stats(tmp_path / "fid-only.pkl", "fd_dinov2")


def test_a_truncated_pickle_is_a_one_line_error(tmp_path):
    data = pickle.dumps(_edm2_payload())
    (tmp_path / "cut.pkl").write_bytes(data[: len(data) // 2])
    with pytest.raises(StatsFileError, match="not a readable pickle"):
        read_edm2_stats(tmp_path / "cut.pkl")


def test_an_edm2_pickle_is_statistics_for_distance(tmp_path):
    payload = _edm2_payload()
    (tmp_path / "ref.pkl").write_bytes(pickle.dumps(payload))
    assert is_stats_file(tmp_path / "ref.pkl")
    frechet.load_stats(tmp_path / "ref.pkl").save(tmp_path / "same.npz")
    result = frechet.fd(tmp_path / "ref.pkl", tmp_path / "same.npz")
    assert abs(result["fd"]) < 1e-9 and result["fid"] == result["fd"]


def test_feature_stats_load_refuses_a_pickle_and_names_the_reader_that_takes_it(tmp_path):
    (tmp_path / "ref.pkl").write_bytes(pickle.dumps(_edm2_payload()))
    with pytest.raises(StatsFileError, match=r"ref\.pkl: a pickle, .*frechet\.load_stats\(path\)"):
        FeatureStats.load(tmp_path / "ref.pkl")
    assert frechet.load_stats(tmp_path / "ref.pkl").n == 100
