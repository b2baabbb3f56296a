"""MOSES' reference statistics (ref:moses-test, ref:moses-test-scaffolds): the pickled dict in their .npz read without
running anything, its FCD entry checked; the file taken from an installed molsets when its checksum is the
published one."""

from __future__ import annotations

import dataclasses
import os
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from frechet import references
from frechet.errors import StatsFileError
from frechet.io import file_sha256
from frechet.pickled_stats import read_moses_stats


class _Runs:
    def __reduce__(self):
        return (os.system, ("touch should-never-exist",))


def _moses_npz(path: Path, **extra) -> tuple[Path, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    mu = rng.standard_normal(512).astype(np.float32)
    root = rng.standard_normal((512, 600))
    sigma = root @ root.T / 600
    np.savez(path, stats={"FCD": {"mu": mu, "sigma": sigma}, "Frag": Counter({"[1*]C": 3, "c1ccccc1": 2}),
                          "SNN": {"fps": np.zeros((4, 16), np.uint8)}, **extra})
    return path, mu, sigma


def test_the_fcd_entry_of_a_moses_statistics_file_is_read(tmp_path: Path) -> None:
    path, mu, sigma = _moses_npz(tmp_path / "test_stats.npz")
    stats = read_moses_stats(path)
    np.testing.assert_array_equal(stats.mean, mu.astype(np.float64))
    np.testing.assert_array_equal(stats.cov, sigma)


def test_a_moses_file_naming_other_code_is_refused_without_running_it(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    path, _, _ = _moses_npz(tmp_path / "test_stats.npz", extra=_Runs())
    with pytest.raises(StatsFileError, match=r"refused: this pickle refers to (posix|nt)\.system"):
        read_moses_stats(path)
    assert not (tmp_path / "should-never-exist").exists()


def test_other_files_are_not_taken_for_moses_statistics(tmp_path: Path) -> None:
    plain = tmp_path / "plain.npz"
    np.savez(plain, mu=np.zeros(512), sigma=np.eye(512))
    with pytest.raises(StatsFileError, match="not MOSES' single 'stats.npy'"):
        read_moses_stats(plain)
    small = tmp_path / "small.npz"
    np.savez(small, stats={"FCD": {"mu": np.zeros(3), "sigma": np.eye(3)}})
    with pytest.raises(StatsFileError, match="not ChemNet's 512 dimensions"):
        read_moses_stats(small)


def test_moses_references_say_where_they_come_from_and_how_to_reproduce_them() -> None:
    entry = references.lookup("ref:moses-test").describe()
    assert entry["reproduce_with"] == "--embedder chemnet --preprocess moses"
    assert entry["items"] == 176_074 and entry["dim"] == 512 and entry["format"] == "moses-npz"
    assert entry["package_file"] == "moses/dataset/data/test_stats.npz"
    assert references.lookup("moses-test-scaffolds").split == "test_scaffolds"


def test_the_file_is_taken_from_an_installed_package_only_with_the_published_checksum(tmp_path: Path,
                                                                                    monkeypatch) -> None:
    package = tmp_path / "fake_molsets" / "data"
    package.mkdir(parents=True)
    (tmp_path / "fake_molsets" / "__init__.py").write_text("raise RuntimeError('never imported')\n")
    path, mu, _ = _moses_npz(package / "test_stats.npz")
    monkeypatch.setattr(sys, "path", [str(tmp_path), *sys.path])
    entry = dataclasses.replace(references.lookup("moses-test"), package_file="fake_molsets/data/test_stats.npz",
                                sha256=file_sha256(path), items=None)
    assert references.local_path(entry) == path
    np.testing.assert_array_equal(references.load(entry).mean, mu.astype(np.float64))
    other = dataclasses.replace(entry, sha256="0" * 64)
    with pytest.raises(Exception, match="moses-test"):
        references.local_path(other)  # offline, with no other copy: an error naming the reference
