"""Whole runs on image inputs: bad files stop the run by name or are skipped and reported; edge-case inputs."""

from __future__ import annotations

import json
import zipfile

import numpy as np
import pytest
from conftest import write_image

import frechet
from frechet.cli import main
from frechet.errors import InputError
from frechet_image.decode import MAX_PIXELS_ENV


def _good_folder(folder, count=4, size=(12, 9)):
    for index in range(count):
        write_image(folder / f"good{index}.png", (30 * index, 100, 200 - 20 * index), size=size)
    return folder


def _bad_files(folder):
    """A corrupt, a truncated and an empty image; returns their paths by kind."""
    folder.mkdir(parents=True, exist_ok=True)
    corrupt = folder / "corrupt.png"
    corrupt.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00garbage" * 20)
    whole = write_image(folder / "whole.jpg", (90, 90, 90), size=(64, 64)).read_bytes()
    (folder / "whole.jpg").unlink()
    truncated = folder / "truncated.jpg"
    truncated.write_bytes(whole[: len(whole) // 2])
    empty = folder / "zero.png"
    empty.write_bytes(b"")
    return {"corrupt": corrupt, "truncated": truncated, "zero-byte": empty}


def _compute(real, fake, embedder, **kwargs):
    return frechet.compute(real, fake, embedder=embedder, progress=False, workers=0, **kwargs)


@pytest.mark.parametrize("kind", ["corrupt", "truncated", "zero-byte"])
def test_a_bad_image_stops_the_run_naming_the_file(tmp_path, mean_colour, kind):
    real = _good_folder(tmp_path / "real")
    fake = _good_folder(tmp_path / "fake")
    bad = _bad_files(tmp_path / "bad")[kind]
    bad.rename(fake / bad.name)
    with pytest.raises(InputError, match=rf"^{fake / bad.name}: .*\(pass --skip-bad to skip bad items\)$"):
        _compute(real, fake, mean_colour)


def test_skip_bad_goes_on_and_reports_the_skipped_files(tmp_path, mean_colour):
    real = _good_folder(tmp_path / "real")
    fake = _good_folder(tmp_path / "fake")
    bad = {kind: path.rename(fake / path.name) for kind, path in _bad_files(tmp_path / "bad").items()}
    result = _compute(real, fake, mean_colour, skip_bad=True)
    assert result["n_skipped"] == 3 and result["n_fake"] == 4 and result["n_real"] == 4
    assert result["skipped"] == sorted(str(path) for path in bad.values())
    clean = _compute(real, _good_folder(tmp_path / "only-good"), mean_colour)
    assert result["fd"] == pytest.approx(clean["fd"], rel=1e-12)


def test_the_cli_fails_in_one_line_or_skips_and_reports_in_json(tmp_path, mean_colour, capsys):
    real = _good_folder(tmp_path / "real")
    fake = _good_folder(tmp_path / "fake")
    _bad_files(fake)
    arguments = ["compute", str(real), str(fake), "--embedder", mean_colour, "--workers", "0", "--quiet"]
    assert main(arguments) == 2
    error = capsys.readouterr().err.strip()
    assert error.count("\n") == 0 and error.startswith(f"frechet: error: {fake / 'corrupt.png'}: cannot decode")
    assert main([*arguments, "--skip-bad", "--json"]) == 0
    values = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert values["n_skipped"] == 3 and values["n_fake"] == 4
    assert [name.rsplit("/", 1)[-1] for name in values["skipped"]] == ["corrupt.png", "truncated.jpg", "zero.png"]


def test_bad_zip_members_are_skipped_and_named_with_their_archive(tmp_path, mean_colour):
    real = _good_folder(tmp_path / "real")
    archive = tmp_path / "fake.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        for path in _good_folder(tmp_path / "staged").iterdir():
            zipped.write(path, f"img/{path.name}")
        zipped.writestr("img/broken.png", b"not a png")
    result = _compute(real, archive, mean_colour, skip_bad=True)
    assert result["skipped"] == [f"{archive}:img/broken.png"] and result["n_fake"] == 4


def test_an_image_above_the_pixel_limit_fails_by_name_or_is_skipped(tmp_path, mean_colour, monkeypatch):
    real = _good_folder(tmp_path / "real")
    fake = _good_folder(tmp_path / "fake")
    write_image(fake / "huge.png", (1, 2, 3), size=(40, 30))
    monkeypatch.setenv(MAX_PIXELS_ENV, "1000")
    with pytest.raises(InputError, match=rf"{fake / 'huge.png'}: 1,200 pixels is above the limit of 1,000 pixels"):
        _compute(real, fake, mean_colour)
    assert _compute(real, fake, mean_colour, skip_bad=True)["skipped"] == [str(fake / "huge.png")]
    monkeypatch.setenv(MAX_PIXELS_ENV, "1200")
    assert _compute(real, fake, mean_colour)["n_fake"] == 5


def test_mixed_sizes_are_each_resized_on_their_own(tmp_path, mean_colour):
    real = _good_folder(tmp_path / "real")
    fake = tmp_path / "fake"
    for index, size in enumerate([(5, 5), (40, 13), (9, 31), (64, 64)]):
        write_image(fake / f"{index}.png", (100, 50 * index, 20), size=size)
    result = _compute(real, fake, mean_colour)
    assert result["n_fake"] == 4 and np.isfinite(result["fd"])


def test_an_empty_folder_is_a_clear_error(tmp_path, mean_colour):
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="empty: no image files found"):
        _compute(_good_folder(tmp_path / "real"), tmp_path / "empty", mean_colour)


def test_a_single_image_is_embedded_but_cannot_make_a_covariance_alone(tmp_path, mean_colour):
    single = write_image(tmp_path / "one.png", (9, 9, 9))
    with pytest.raises(InputError, match="a covariance needs at least 2 samples"):
        _compute(_good_folder(tmp_path / "real"), single, mean_colour)


def test_worker_processes_give_the_same_result_as_the_main_process(tmp_path, mean_colour):
    real = _good_folder(tmp_path / "real", count=9)
    archive = tmp_path / "fake.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        for path in _good_folder(tmp_path / "staged", count=7, size=(20, 16)).iterdir():
            zipped.write(path, path.name)
    serial = frechet.compute(real, archive, embedder=mean_colour, progress=False, workers=0, batch_size=2)
    parallel = frechet.compute(real, archive, embedder=mean_colour, progress=False, workers=2, batch_size=2)
    assert parallel["fd"] == serial["fd"] and parallel["n_fake"] == 7
