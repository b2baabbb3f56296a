"""Outputs: no output ever replaces an input or lands inside an input folder (through links, '..' or hard links),
refused before any work; files frechet writes honour the umask and keep the mode of a file they replace."""

import os
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import frechet
from frechet.cli import main
from frechet.errors import OutputError


@pytest.fixture
def feats(tmp_path):
    """Two feature files: feats.npz (key 'features') and rows.npy."""
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "feats.npz", features=rng.standard_normal((40, 3)))
    np.save(tmp_path / "rows.npy", rng.standard_normal((50, 3)))
    return tmp_path / "feats.npz", tmp_path / "rows.npy"


def _refused(argv, capsys):
    assert main(argv) == 2
    error = capsys.readouterr().err.strip()
    assert error.count("\n") == 0 and "Traceback" not in error
    return error


@pytest.mark.parametrize("which", [0, 1], ids=["npz", "npy"])
def test_stats_refuses_to_write_over_its_own_input_and_leaves_it_untouched(feats, capsys, which):
    path = feats[which]
    before = path.read_bytes()
    error = _refused(["stats", str(path), "-o", str(path)], capsys)
    assert error == f"frechet: error: {path}: this output would overwrite the input {path}; write it elsewhere"
    assert path.read_bytes() == before


def test_an_output_reaching_an_input_through_a_link_dotdot_or_hard_link_is_refused(feats, tmp_path, capsys):
    source = feats[1]
    before = source.read_bytes()
    (tmp_path / "sub").mkdir()
    (tmp_path / "link.npy").symlink_to(source)
    os.link(source, tmp_path / "hard.npy")
    for output in (tmp_path / "link.npy", tmp_path / "sub" / ".." / "rows.npy", tmp_path / "hard.npy"):
        error = _refused(["stats", str(source), "-o", str(output)], capsys)
        assert f"this output would overwrite the input {source}" in error
    assert source.read_bytes() == before


def test_compute_save_stats_naming_the_folder_of_an_input_is_refused_before_any_work(feats, tmp_path, capsys):
    folder = tmp_path / "dir"
    folder.mkdir()
    fake = folder / "fake.npz"
    fake.write_bytes(feats[0].read_bytes())
    error = _refused(["compute", str(feats[1]), str(fake), "--save-stats", str(folder)], capsys)
    assert error == f"frechet: error: {fake}: this output would overwrite the input {fake}; write it elsewhere"
    assert fake.read_bytes() == feats[0].read_bytes() and sorted(os.listdir(folder)) == ["fake.npz"]


def test_an_output_inside_an_input_folder_is_refused_by_the_api_too(projection, tmp_path):
    folder = tmp_path / "rows"
    folder.mkdir()
    for index, row in enumerate(np.random.default_rng(1).standard_normal((6, 3))):
        np.save(folder / f"{index}.npy", row)
    with pytest.raises(OutputError, match=r"inside the input folder .*rows; write it elsewhere"):
        frechet.compute_stats(folder, embedder="projection", save=folder / "sub" / "ref.npz", progress=False)
    assert sorted(path.name for path in folder.rglob("*")) == [f"{index}.npy" for index in range(6)]


def test_save_stats_naming_a_regular_file_says_it_needs_a_folder(feats, tmp_path, capsys):
    taken = tmp_path / "taken.txt"
    taken.write_text("mine")
    error = _refused(["compute", *map(str, feats), "--save-stats", str(taken)], capsys)
    assert error == (f"frechet: error: --save-stats {taken}: this is a file, and the statistics go into a folder "
                     "(real.npz, fake.npz); name a folder")
    assert taken.read_text() == "mine"


_WRITE_EVERYTHING = """
    import os, sys
    import numpy as np
    import frechet
    from frechet.io import atomic_write
    for umask in sys.argv[2:]:  # one process, each umask in turn: three start-ups would cost seconds each
        os.umask(int(umask, 8))
        out = f"{sys.argv[1]}/{umask}"
        np.save(f"{out}/rows.npy", np.random.default_rng(0).standard_normal((30, 3)))
        frechet.compute_stats(f"{out}/rows.npy", save=f"{out}/stats.npz", progress=False)
        frechet.compute_stats(f"{out}/folder", embedder="projection", cache_dir=f"{out}/cache", progress=False)
        with atomic_write(f"{out}/kept.bin") as handle:
            handle.write(b"again")
"""
_UMASKS = {"002": 0o664, "022": 0o644, "077": 0o600}


@pytest.fixture(scope="module")
def written_under_each_umask(tmp_path_factory, projection_site) -> Path:
    """ROOT/UMASK/: what one process wrote there under that umask (statistics, a cache, a replaced file of mode
    0640), with the test projection plugin installed for it."""
    root = tmp_path_factory.mktemp("umask")
    for umask in _UMASKS:
        folder = root / umask / "folder"
        folder.mkdir(parents=True)
        for index, row in enumerate(np.random.default_rng(2).standard_normal((8, 3))):
            np.save(folder / f"{index}.npy", row)
        (root / umask / "kept.bin").write_bytes(b"first")
        os.chmod(root / umask / "kept.bin", 0o640)
    env = {**os.environ, "PYTHONPATH": str(projection_site)}
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(_WRITE_EVERYTHING), str(root), *_UMASKS], env=env,
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    return root


@pytest.mark.parametrize(("umask", "expected"), _UMASKS.items())
def test_every_file_frechet_writes_honours_the_umask_and_a_replaced_file_keeps_its_mode(
    written_under_each_umask, umask, expected
):
    out = written_under_each_umask / umask
    written = [out / "stats.npz", *(out / "cache").rglob("*.npz"), *(out / "cache").rglob("*.json")]
    assert len(written) >= 3  # the statistics, a cache shard, a file-digest index
    assert {path.name: oct(stat.S_IMODE(path.stat().st_mode)) for path in written} == {
        path.name: oct(expected) for path in written
    }
    assert stat.S_IMODE((out / "kept.bin").stat().st_mode) == 0o640
    assert (out / "kept.bin").read_bytes() == b"again"


def test_an_output_that_is_a_fifo_a_device_or_a_folder_is_never_replaced(feats, tmp_path, capsys):
    fifo = tmp_path / "pipe.npz"
    os.mkfifo(fifo)
    (tmp_path / "folder.npz").mkdir()
    for output, kind in ((fifo, "a FIFO (named pipe)"), (tmp_path / "folder.npz", "a folder")):
        error = _refused(["stats", str(feats[1]), "-o", str(output)], capsys)
        assert error == f"frechet: error: {output}: is {kind}, not a file; name a file to write"
    assert stat.S_ISFIFO(fifo.stat().st_mode) and (tmp_path / "folder.npz").is_dir()


def test_a_cache_folder_inside_an_input_folder_is_one_warning_and_nothing_is_written_there(projection, tmp_path,
                                                                                          caplog):
    folder = tmp_path / "rows"
    folder.mkdir()
    for index, row in enumerate(np.random.default_rng(5).standard_normal((6, 3))):
        np.save(folder / f"{index}.npy", row)
    with caplog.at_level("WARNING", logger="frechet"):
        frechet.compute_stats(folder, embedder="projection", cache_dir=folder / "cache", progress=False)
    assert "feature cache not used, continuing without it: " in caplog.text
    assert "inside the input folder" in caplog.text
    assert sorted(path.name for path in folder.rglob("*")) == [f"{index}.npy" for index in range(6)]
