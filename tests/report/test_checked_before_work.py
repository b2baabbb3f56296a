"""Everything a command can check is checked before any item is embedded: the plot's format, every output's folder,
the seed's range, the device; and a table already computed is printed before a plot that may fail is written."""

from __future__ import annotations

import pytest

import frechet
from frechet.cli import main
from frechet.errors import ConfigError, OutputError


@pytest.fixture
def real(image_sets):
    return image_sets[0]


def _refused_before_work(tiny, capsys, argv, message):
    calls = tiny.CALLS
    assert main(argv) == 2
    [line] = capsys.readouterr().err.strip().splitlines()
    assert message in line, line
    assert tiny.CALLS == calls  # nothing was embedded


@pytest.mark.parametrize("plot, message", [
    ("curves.jpg", "plots are written as .svg, .png or .pdf"),
    ("a_file/curves.png", "is a file, not a folder, so nothing can be written under it"),
])
def test_sanity_refuses_a_plot_it_cannot_write_before_any_work(tiny, real, tmp_path, capsys, plot, message):
    pytest.importorskip("matplotlib")
    (tmp_path / "a_file").write_text("not a folder")
    _refused_before_work(tiny, capsys, ["sanity", str(real), "--embedder", "tiny-conv", "--disturbances", "noise",
                                        "--levels", "2", "--plot", str(tmp_path / plot)], message)


def test_a_plot_that_fails_to_be_written_comes_after_the_table(tiny, real, tmp_path, capsys, monkeypatch):
    pytest.importorskip("matplotlib")
    from frechet.report import plots

    def full_disk(figure, path):
        raise OutputError(f"{path}: writing failed (no space left on device)")

    monkeypatch.setattr(plots, "save", full_disk)
    assert main(["sanity", str(real), "--embedder", "tiny-conv", "--disturbances", "noise", "--levels", "2",
                 "--plot", str(tmp_path / "curves.png")]) == 2
    printed = capsys.readouterr()
    assert "DISTURBANCE" in printed.out and "noise" in printed.out
    assert "writing failed (no space left on device)" in printed.err


@pytest.mark.parametrize("argv, message", [
    (["--seed", str(2**32)], "--seed 4294967296 is not valid: it must be a whole number from 0 to 4294967295"),
    (["--device", "meta"], "frechet does not run on meta devices; use cpu, cuda or mps"),
    (["--device", "nonsense"], "is not a device name"),
    (["--report", "{tmp}/a_file/report.html"], "is a file, not a folder"),
    (["--save-stats", "{tmp}/a_file/stats"], "is a file, not a folder"),
])
def test_compute_refuses_what_it_can_check_before_any_work(tiny, image_sets, tmp_path, capsys, argv, message):
    (tmp_path / "a_file").write_text("not a folder")
    argv = [part.format(tmp=tmp_path) for part in argv]
    _refused_before_work(tiny, capsys, ["compute", *map(str, image_sets[:2]), "--embedder", "tiny-conv", *argv],
                         message)


def test_a_report_under_a_file_is_refused_before_any_work(tiny, image_sets, tmp_path, capsys):
    pytest.importorskip("matplotlib")
    (tmp_path / "a_file").write_text("not a folder")
    _refused_before_work(tiny, capsys, ["report", *map(str, image_sets[:2]), "--embedder", "tiny-conv", "-o",
                                        str(tmp_path / "a_file" / "report.html")], "is a file, not a folder")


@pytest.mark.parametrize("settings, message", [
    ({"seed": 2**32}, r"seed=4294967296 is not valid: it must be a whole number from 0 to 4294967295"),
    ({"seed": -1}, r"seed=-1 is not valid"),
    ({"device": "meta"}, r"device='meta': frechet does not run on meta devices"),
    ({"device": 0}, r"device=0 must be a name"),
])
def test_the_api_refuses_a_seed_or_device_it_cannot_use(tiny, image_sets, settings, message):
    with pytest.raises(ConfigError, match=message):
        frechet.compute(*image_sets[:2], embedder="tiny-conv", **settings)
    with pytest.raises(ConfigError, match=message):
        frechet.Scorer(embedder="tiny-conv", **settings)


def test_the_largest_seed_numpy_takes_is_accepted_and_used(tiny, image_sets):
    result = frechet.compute(*image_sets[:2], embedder="tiny-conv", metrics=["fd", "kid"],
                             metric_options={"kid_subset_size": 4, "kid_subsets": 5}, seed=2**32 - 1, progress=False)
    assert result["kid"] == result["kid"]  # a number: numpy's RandomState took the seed


def test_workers_beyond_the_batches_are_never_started(tiny, image_sets, monkeypatch):
    """--workers 100000 on a few batches starts one worker per batch at most, not 100,000 processes."""
    from frechet import loading

    started, real_loader = [], loading.DataLoader

    def recording_loader(dataset, *, num_workers, **options):
        started.append(num_workers)
        return real_loader(dataset, num_workers=0, **options)  # the count is recorded; none is started here

    monkeypatch.setattr(loading, "DataLoader", recording_loader)
    result = frechet.compute(*image_sets[:2], embedder="tiny-conv", workers=100_000, batch_size=4, cache=False,
                             progress=False)
    assert started and max(started) <= -(-max(result["n_real"], result["n_fake"]) // 4)
