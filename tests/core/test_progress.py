"""Progress of long work: a bar on a terminal, a few log lines without one, nothing when switched off."""

import logging

import numpy as np
import pytest

from frechet.cache import FeatureCache
from frechet.cache.digests import FileDigests
from frechet.cli import main
from frechet.progress import Progress, track


def _lines(caplog):
    return [record.getMessage() for record in caplog.records if record.name == "frechet"]


def test_without_a_terminal_progress_is_a_start_line_a_line_per_tenth_and_an_end_line_with_the_rate(
    caplog, monkeypatch
):
    monkeypatch.setattr("frechet.progress._LOG_EVERY_S", 0.0)  # as if each tenth took long
    with caplog.at_level(logging.INFO, logger="frechet"):
        assert sum(track(range(250), 250, "kid", unit="subset")) == sum(range(250))
    lines = _lines(caplog)
    assert lines[0] == "kid: 250 subsets to do"
    assert [line.split(" (")[0] for line in lines[1:-1]] == [f"kid: {10 * step} %" for step in range(1, 10)]
    assert lines[-1].startswith("kid: 250 subsets in ") and lines[-1].endswith(" subsets/s")


def test_quick_work_logs_only_its_start_and_end(caplog):
    with caplog.at_level(logging.INFO, logger="frechet"):
        list(track(range(1000), 1000, "real/"))
    assert len(_lines(caplog)) == 2


def test_switched_off_progress_says_nothing(caplog, capsys):
    with caplog.at_level(logging.INFO, logger="frechet"):
        list(track(range(50), 50, "mind", show=False))
    assert not _lines(caplog) and not capsys.readouterr().err


def test_a_bar_is_drawn_on_stderr_when_asked(capsys, caplog):
    with caplog.at_level(logging.INFO, logger="frechet"), Progress(20, "fd-ci", unit="half-sample", show=True) as bar:
        bar.update(20)
    assert "fd-ci" in capsys.readouterr().err and not _lines(caplog)


def test_work_that_fails_logs_no_end_line(caplog, monkeypatch):
    monkeypatch.setattr("frechet.progress._LOG_EVERY_S", 0.0)
    with caplog.at_level(logging.INFO, logger="frechet"), pytest.raises(RuntimeError):
        with Progress(10, "prdc") as progress:
            progress.update(3)
            raise RuntimeError("stop")
    assert len(_lines(caplog)) == 2  # the start line and 30 %


def test_compute_logs_embedding_and_metric_progress_without_a_terminal_and_quiet_silences_it(tmp_path, capsys):
    rng = np.random.default_rng(0)
    for name in ("real", "fake"):
        np.save(tmp_path / f"{name}.npy", rng.standard_normal((60, 4)).astype(np.float32))
    args = ["compute", str(tmp_path / "real.npy"), str(tmp_path / "fake.npy"), "--metrics", "kid,fd-ci",
            "--kid-subsets", "5", "--kid-subset-size", "20", "--bootstrap", "10", "--no-cache"]
    assert main(args) == 0
    err = capsys.readouterr().err
    assert "frechet: info: kid: 5 subsets in " in err and "frechet: info: fd-ci: 5 half-sample pairs in " in err
    assert "real.npy: 60 items in " in err
    assert main([*args, "--quiet"]) == 0
    assert capsys.readouterr().err == ""


def test_slow_steps_announce_themselves_on_stderr_and_quiet_silences_them(tmp_path, capsys, monkeypatch):
    # the size thresholds lowered so that tiny inputs take the paths that large ones take
    monkeypatch.setattr("frechet.metrics.fd._ANNOUNCE_DIM", 4)
    monkeypatch.setattr("frechet.statsfiles._ANNOUNCE_BYTES", 0)
    monkeypatch.setattr("frechet.cache.digests._ANNOUNCE_BYTES", 0)
    rng = np.random.default_rng(1)
    for name, count in (("real", 30), ("fake", 3)):  # 3 samples of 4 dimensions: the bias estimate runs too
        np.save(tmp_path / f"{name}.npy", rng.standard_normal((count, 4)).astype(np.float32))
    stats = tmp_path / "real.npz"
    assert main(["stats", str(tmp_path / "real.npy"), "--out", str(stats), "--no-cache"]) == 0
    capsys.readouterr()
    args = ["compute", str(stats), str(tmp_path / "fake.npy"), "--no-cache"]
    assert main(args) == 0
    err = capsys.readouterr().err
    assert f"frechet: info: reading {stats} (0 MiB): 1 file to do" in err
    assert "frechet: info: fd on 4 dimensions: 3 steps to do" in err
    assert "frechet: info: fd on 4 dimensions: 3 steps in " in err
    assert main([*args, "--quiet"]) == 0
    assert "info" not in capsys.readouterr().err


def test_hashing_many_bytes_for_the_cache_announces_itself(tmp_path, caplog, monkeypatch):
    monkeypatch.setattr("frechet.cache.digests._ANNOUNCE_BYTES", 10)
    files = [tmp_path / f"{index}.bin" for index in range(3)]
    for file in files:
        file.write_bytes(b"12345")
    with caplog.at_level(logging.INFO, logger="frechet"):
        FileDigests(FeatureCache(tmp_path / "cache"), "0").digests(files)  # 15 bytes: announced
        assert _lines(caplog)[0] == "hashing new files for the cache (0 MiB): 3 files to do"
        caplog.clear()
        (tmp_path / "other.bin").write_bytes(b"x" * 20)
        FileDigests(FeatureCache(tmp_path / "cache"), "0").digests(files[:1] + [tmp_path / "none.bin"])
        FileDigests(FeatureCache(tmp_path / "cache", progress=False), "0").digests([tmp_path / "other.bin"])
    assert not _lines(caplog)  # 5 bytes (the others known already, or unreadable), or progress switched off
