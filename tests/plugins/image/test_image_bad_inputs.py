"""Whole runs on image inputs: bad files stop the run by name or are skipped and reported; edge-case inputs."""

from __future__ import annotations

import json
import shutil
import struct
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
    with pytest.raises(InputError, match=rf"^{fake / bad.name}: .*\(pass skip_bad=True to skip bad items\)$"):
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


# ---------------------------------------------------------------------------------------------------- hostile inputs
def test_a_png_named_jpg_is_read_by_its_content_and_a_text_file_named_png_is_a_bad_item(tmp_path, mean_colour):
    real = _good_folder(tmp_path / "real")
    fake = _good_folder(tmp_path / "fake")
    png_bytes = write_image(tmp_path / "staged.png", (200, 10, 10)).read_bytes()
    (fake / "really-a-png.jpg").write_bytes(png_bytes)
    (fake / "notes.png").write_text("not an image, whatever its name says\n")
    with pytest.raises(InputError, match=rf"^{fake / 'notes.png'}: cannot decode this image .*skip_bad=True"):
        _compute(real, fake, mean_colour)
    result = _compute(real, fake, mean_colour, skip_bad=True)
    assert result["skipped"] == [str(fake / "notes.png")] and result["n_fake"] == 5
    (fake / "notes.png").unlink()
    (fake / "really-a-png.jpg").rename(fake / "really-a-png.png")
    assert _compute(real, fake, mean_colour)["fd"] == result["fd"]


def test_symlink_loops_in_a_folder_neither_recurse_nor_hide_a_file(tmp_path, mean_colour):
    real = _good_folder(tmp_path / "real")
    fake = _good_folder(tmp_path / "fake")
    (fake / "sub").mkdir()
    (fake / "sub" / "up").symlink_to(fake, target_is_directory=True)  # a folder loop: not followed
    (fake / "loop.png").symlink_to(fake / "loop.png")  # a file link to itself: a bad item, named
    (fake / "gone.png").symlink_to(fake / "deleted.png")  # a broken link: a bad item too
    with pytest.raises(InputError, match=rf"^{fake / 'gone.png'}: cannot read \(No such file or directory\)"):
        _compute(real, fake, mean_colour)
    (fake / "gone.png").unlink()
    with pytest.raises(InputError, match=rf"^{fake / 'loop.png'}: cannot read \(Too many levels of symbolic links\)"):
        _compute(real, fake, mean_colour)
    (fake / "gone.png").symlink_to(fake / "deleted.png")
    result = _compute(real, fake, mean_colour, skip_bad=True)
    assert result["skipped"] == [str(fake / "gone.png"), str(fake / "loop.png")] and result["n_fake"] == 4


def test_unreadable_files_and_folders_are_named_not_silently_left_out(tmp_path, run_unprivileged):
    folder = _good_folder(tmp_path / "images")
    (folder / "good0.png").chmod(0)
    (folder / "locked").mkdir()
    write_image(folder / "locked" / "hidden-from-listing.png", (1, 2, 3))
    (folder / "locked").chmod(0)
    done = run_unprivileged(f"""
        from frechet.errors import InputError
        from frechet_image import decode_image
        from frechet_image.sources import open_image_folder
        for call in (lambda: decode_image({str(folder / "good0.png")!r}), lambda: open_image_folder({str(folder)!r})):
            try:
                call()
            except InputError as error:
                print(error)
    """)
    (folder / "locked").chmod(0o755)  # let pytest clean up
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        f"{folder / 'good0.png'}: cannot read (Permission denied); check the file and its permissions",
        (f"{folder / 'locked'}: cannot list this folder (Permission denied); fix its permissions, or move it out of "
         "the input"),
    ]


def test_nested_zips_are_never_opened_and_the_user_is_told(tmp_path, mean_colour, caplog):
    real = _good_folder(tmp_path / "real")
    inner = tmp_path / "inner.zip"
    with zipfile.ZipFile(inner, "w") as zipped:
        for path in _good_folder(tmp_path / "staged-inner").iterdir():
            zipped.write(path, path.name)
    only_nested = tmp_path / "only-nested.zip"
    with zipfile.ZipFile(only_nested, "w") as zipped:
        zipped.write(inner, "more/inner.zip")
    with pytest.raises(InputError, match=r"no image members found .*nested archives such as 'more/inner.zip' are not"):
        _compute(real, only_nested, mean_colour)
    mixed = tmp_path / "mixed.zip"
    with zipfile.ZipFile(mixed, "w") as zipped:
        zipped.write(inner, "inner.zip")
        zipped.write(real / "good0.png", "good0.png")
        zipped.write(real / "good1.png", "good1.png")
    with caplog.at_level("WARNING", logger="frechet"):
        assert _compute(real, mixed, mean_colour)["n_fake"] == 2
    assert "mixed.zip: 1 nested archive(s) not read; nested archives such as 'inner.zip' are not opened" in caplog.text


def _declare_unpacked_size(archive, size):
    """Rewrite the (only) member's unpacked size in both its local header and the central directory."""
    data = bytearray(archive.read_bytes())
    struct.pack_into("<I", data, 22, size)
    struct.pack_into("<I", data, data.index(b"PK\x01\x02") + 24, size)
    archive.write_bytes(bytes(data))


def test_a_zip_bomb_member_is_refused_before_it_is_inflated(tmp_path, mean_colour, monkeypatch):
    real = _good_folder(tmp_path / "real")
    bomb = tmp_path / "bomb.zip"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as zipped:
        zipped.writestr("bomb.png", b"\0" * 100_000)
    _declare_unpacked_size(bomb, 4_000_000_000)  # ~4 GB declared from ~100 bytes stored
    opened, open_member = [], zipfile.ZipFile.open

    def spy(archive, member, *args, **kwargs):
        opened.append(getattr(member, "filename", member))
        return open_member(archive, member, *args, **kwargs)

    monkeypatch.setattr(zipfile.ZipFile, "open", spy)
    with pytest.raises(InputError, match=rf"^{bomb}:bomb.png: would unpack 4,000,000,000 bytes from .* zip bomb"):
        _compute(real, bomb, mean_colour)
    assert "bomb.png" not in opened


def test_a_zip_member_holding_more_than_it_declares_is_cut_off_and_refused(tmp_path, mean_colour):
    real = _good_folder(tmp_path / "real")
    lying = tmp_path / "lying.zip"
    with zipfile.ZipFile(lying, "w", zipfile.ZIP_DEFLATED) as zipped:
        zipped.writestr("small.png", b"\0" * 10_000_000)  # 10 MB that claims to be 100 bytes
    _declare_unpacked_size(lying, 100)
    with pytest.raises(InputError, match=rf"^{lying}:small.png: cannot .*Bad CRC-32"):
        _compute(real, lying, mean_colour)


def test_a_full_disk_under_the_feature_cache_leaves_no_partial_file_and_the_run_goes_on(tmp_path, mean_colour,
                                                                                        full_disk, caplog):
    real, fake = _good_folder(tmp_path / "real"), _good_folder(tmp_path / "fake", count=5)
    with open(full_disk / "filler", "wb", buffering=0) as filler, pytest.raises(OSError, match="No space left"):
        while True:
            filler.write(b"\0" * 4096)
    with caplog.at_level("WARNING", logger="frechet"):
        result = _compute(real, fake, mean_colour, cache_dir=full_disk)
    assert result["fd"] == _compute(real, fake, mean_colour, cache=False)["fd"]
    assert caplog.text.count("feature cache not written, continuing without it") == 1  # one warning per run
    assert caplog.text.count("writing failed (the disk is full: No space left on device") == 1
    assert [path.name for path in full_disk.rglob("*") if path.is_file()] == ["filler"]


def test_two_folders_holding_the_same_bytes_name_the_bad_item_of_the_folder_being_scored(
    tmp_path, mean_colour, capsys
):
    ds_x = _good_folder(tmp_path / "dsX")
    (ds_x / "zz_broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00garbage" * 20)
    ds_y = tmp_path / "dsY"
    shutil.copytree(ds_x, ds_y)
    reference = _good_folder(tmp_path / "ref")

    def run(folder, *extra):
        return main(["compute", str(reference), str(folder), "--embedder", mean_colour, "--workers", "0", *extra])

    assert run(ds_x, "--skip-bad", "--json") == 0  # fills the cache; dsY's shards have the same keys
    capsys.readouterr()
    assert run(ds_y, "--skip-bad") == 0
    out, err = capsys.readouterr()
    assert "shards read from the cache" in err  # dsY was served by dsX's shards …
    broken = ds_y / "zz_broken.png"
    assert f"warning: skipped {broken}: cannot decode this image" in err  # … yet every message names dsY's file
    assert any(line.startswith("skipped") and line.endswith(str(broken)) for line in out.splitlines())
    assert run(ds_y, "--skip-bad", "--json") == 0
    assert json.loads(capsys.readouterr().out.splitlines()[-1])["skipped"] == [str(broken)]
    assert run(ds_y) == 2
    error = capsys.readouterr().err.splitlines()[-1]
    assert error.startswith(f"frechet: error: {broken}: cannot decode this image") and "--skip-bad" in error
    assert str(ds_x) not in out + err + error


def test_statistics_written_over_an_image_of_the_input_folder_are_refused_and_the_image_is_untouched(
    tmp_path, mean_colour, capsys
):
    folder = _good_folder(tmp_path / "imgs")
    image = folder / "good0.png"
    before = image.read_bytes()
    assert main(["stats", str(folder), "-o", str(image), "--embedder", mean_colour, "--workers", "0"]) == 2
    assert capsys.readouterr().err == (f"frechet: error: {image}: this output would be written inside the input "
                                       f"folder {folder}; write it elsewhere\n")
    assert image.read_bytes() == before and zipfile.is_zipfile(image) is False
