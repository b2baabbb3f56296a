"""--save-stats on a disk that fills up: the scores are printed first, then one line saying nothing was saved; the
exit code says so, and neither file is left half-written, nor one without the other, nor an older one replaced."""

import errno
import json

import numpy as np
import pytest

import frechet
from frechet.cli import main
from frechet.errors import UnsavedResultError


@pytest.fixture
def full_after_one_file(monkeypatch):
    """numpy's savez writes the first file, then the disk is full."""
    real_savez, calls = np.savez, []

    def savez(handle, **arrays):
        calls.append(1)
        if len(calls) > 1:
            handle.write(b"partial")
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_savez(handle, **arrays)

    monkeypatch.setattr(np, "savez", savez)


def _inputs(tmp_path):
    rng = np.random.default_rng(0)
    np.save(tmp_path / "real.npy", rng.standard_normal((40, 4)).astype(np.float32))
    np.save(tmp_path / "fake.npy", rng.standard_normal((30, 4)).astype(np.float32))
    return tmp_path / "real.npy", tmp_path / "fake.npy"


def test_a_full_disk_prints_the_score_then_one_line_and_leaves_no_file(tmp_path, capsys, full_after_one_file):
    real, fake = _inputs(tmp_path)
    out = tmp_path / "stats"
    out.mkdir()
    (out / "real.npz").write_bytes(b"an older file of the user's")
    code = main(["compute", str(real), str(fake), "--save-stats", str(out), "--json"])
    printed = capsys.readouterr()
    expected = frechet.compute(real, fake, progress=False)["fd"]
    assert code == 2
    assert json.loads(printed.out.strip().splitlines()[-1])["fd"] == pytest.approx(expected, rel=1e-12)
    [error] = [line for line in printed.err.splitlines() if "error" in line]
    assert "No space left on device" in error and "no statistics were saved" in error
    assert sorted(path.name for path in out.iterdir()) == ["real.npz"]
    assert (out / "real.npz").read_bytes() == b"an older file of the user's"


def test_the_api_raises_with_the_result_attached(tmp_path, full_after_one_file):
    real, fake = _inputs(tmp_path)
    with pytest.raises(UnsavedResultError, match="no statistics were saved") as raised:
        frechet.compute(real, fake, save_stats=tmp_path / "stats", progress=False)
    assert raised.value.result["n_real"] == 40 and raised.value.result["fd"] > 0
    assert list((tmp_path / "stats").iterdir()) == []


def test_a_real_full_disk_keeps_the_scores_and_leaves_no_file(tmp_path, capsys, full_disk):
    """Statistics of 40-d features take 13 KB a file: the first fits the 16 KiB disk, the second does not."""
    rng = np.random.default_rng(1)
    np.save(tmp_path / "real.npy", rng.standard_normal((60, 40)).astype(np.float32))
    np.save(tmp_path / "fake.npy", rng.standard_normal((50, 40)).astype(np.float32))
    argv = [str(tmp_path / "real.npy"), str(tmp_path / "fake.npy")]
    assert main(["compute", *argv, "--save-stats", str(full_disk), "--json"]) == 2
    printed = capsys.readouterr()
    assert json.loads(printed.out.strip().splitlines()[-1])["fd"] == pytest.approx(
        frechet.compute(*argv, progress=False)["fd"], rel=1e-12)
    assert "the disk is full" in printed.err and list(full_disk.iterdir()) == []
