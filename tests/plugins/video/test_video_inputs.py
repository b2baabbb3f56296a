"""Video inputs end to end: folders of video files and of frame folders, array files and in-memory videos reach the
embedder as the same frames; bad inputs stop the run by name in one line, or are skipped and reported."""

from __future__ import annotations

import os
import sys

import numpy as np
import pytest
import torch
from video_files import lossless, moving_frames, write_video
from PIL import Image

import frechet
from frechet.errors import ConfigError, InputError
from frechet.plugins import get_registry
from frechet_video.frames import natural_key

pytest.importorskip("av")


def _compute(real, fake, embedder, **kwargs):
    return frechet.compute(real, fake, embedder=embedder, progress=False, workers=0, **kwargs)


def _frames(count: int, phase: int) -> np.ndarray:
    return moving_frames(count, 16, 24, phase)


def _videos(folder, count=3, suffix=".mkv"):
    for index in range(count):
        lossless(folder / f"clip{index}{suffix}", _frames(5, 40 * index))
    return folder


def _frame_folders(folder, count=3, names=lambda t: f"{t:03d}.png"):
    for index in range(count):
        for t, frame in enumerate(_frames(5, 40 * index)):
            (folder / f"video{index}").mkdir(parents=True, exist_ok=True)
            Image.fromarray(frame).save(folder / f"video{index}" / names(t))
    return folder


def _loaded(source):
    return [source.load(index).frames() for index in range(len(source))]


def test_frame_folders_and_arrays_give_the_frames_they_hold(tmp_path):
    videos = np.stack([_frames(5, 40 * index) for index in range(3)])
    np.save(tmp_path / "videos.npy", videos)
    np.savez(tmp_path / "stored.npz", videos)
    np.savez_compressed(tmp_path / "compressed.npz", videos=videos)
    inputs = [_frame_folders(tmp_path / "frames"), tmp_path / "videos.npy", tmp_path / "stored.npz",
              tmp_path / "compressed.npz", videos, torch.from_numpy(videos), list(videos)]
    for given in inputs:
        source = get_registry().open_source(given, "video")
        assert np.array_equal(np.stack(_loaded(source)), videos), given


def test_float_arrays_stay_float32_and_a_stored_video_reads_only_the_frames_asked(tmp_path):
    videos = np.random.default_rng(0).random((2, 6, 4, 5, 3))
    np.save(tmp_path / "videos.npy", videos)
    video = get_registry().open_source(tmp_path / "videos.npy", "video").load(1)
    frames = video.read([5, 0])
    assert frames.dtype == np.float32 and np.array_equal(frames, videos[1, [5, 0]].astype(np.float32))


def test_frames_are_in_natural_order():
    names = ["frame_10.png", "frame_2.png", "frame_1.png", "Frame_3.png"]
    assert sorted(names, key=natural_key) == ["frame_1.png", "frame_2.png", "Frame_3.png", "frame_10.png"]


def test_a_folder_of_unpadded_frame_numbers_plays_in_number_order(tmp_path):
    folder = _frame_folders(tmp_path / "frames", count=1, names=lambda t: f"f{(t * 3) + 1}.png")  # f1 f4 f7 f10 f13
    source = get_registry().open_source(folder, "video")
    assert np.array_equal(source.load(0).frames(), _frames(5, 0))


def test_video_files_and_frame_folders_give_the_same_distance(tmp_path, mean_motion):
    files = _videos(tmp_path / "files")
    folders = _frame_folders(tmp_path / "frames")
    real = np.stack([_frames(5, 7 + index) for index in range(3)])
    from_files = _compute(real, files, mean_motion)
    from_frames = _compute(real, folders, mean_motion)
    assert from_files["n_fake"] == 3 and from_files["fd"] == pytest.approx(from_frames["fd"], rel=0.05)


# ---------------------------------------------------------------------------------------------------- bad input
def _bad_videos(folder):
    """One bad video file of each kind, by kind."""
    folder.mkdir(parents=True, exist_ok=True)
    whole = write_video(folder / "whole.mp4", _frames(8, 0)).read_bytes()
    (folder / "whole.mp4").unlink()
    (folder / "corrupt.mp4").write_bytes(b"\x00\x00\x00\x18ftypisom" + b"garbage!" * 64)
    (folder / "truncated.mp4").write_bytes(whole[: len(whole) // 2])
    (folder / "zero-byte.webm").write_bytes(b"")
    streamed = write_video(folder / "streamed.mkv", _frames(20, 0)).read_bytes()  # its index comes first
    (folder / "streamed.mkv").unlink()
    (folder / "cut-short.mkv").write_bytes(streamed[: len(streamed) * 4 // 5])
    import av

    for suffix in (".avi", ".mkv"):
        with av.open(str(folder / f"no-frames{suffix}"), "w") as container:
            stream = container.add_stream("libx264", rate=8)
            stream.width, stream.height = 24, 16
            container.start_encoding()
    write_video(folder / "still.gif", _frames(1, 0), codec="gif", pix_fmt="rgb8")
    return {path.name: path for path in folder.iterdir()}


BAD_MESSAGES = {
    "corrupt.mp4": "not a readable video",
    "truncated.mp4": "not a readable video",
    "cut-short.mkv": r"declares 2.5 s but its frames stop at \S+ s; the file is cut short",
    "zero-byte.webm": "empty file",
    "no-frames.avi": "holds no frames",
    "no-frames.mkv": "ends before its first frame",
    "still.gif": "holds a single frame",
}


@pytest.mark.parametrize("kind", sorted(BAD_MESSAGES))
def test_a_bad_video_stops_the_run_naming_the_file_in_one_line(tmp_path, mean_motion, kind):
    fake = _videos(tmp_path / "fake")
    bad = _bad_videos(tmp_path / "bad")[kind]
    moved = bad.rename(fake / bad.name)
    with pytest.raises(InputError, match=rf"^{moved}: {BAD_MESSAGES[kind]}[^\n]*$"):
        _compute(_videos(tmp_path / "real"), fake, mean_motion)


def test_skip_bad_goes_on_and_reports_every_bad_video(tmp_path, mean_motion):
    fake = _videos(tmp_path / "fake")
    bad = [path.rename(fake / path.name) for path in _bad_videos(tmp_path / "bad").values()]
    result = _compute(_videos(tmp_path / "real"), fake, mean_motion, skip_bad=True)
    assert result["n_fake"] == 3 and result["n_skipped"] == len(bad)
    assert result["skipped"] == sorted(str(path) for path in bad)


def test_frames_of_different_sizes_in_one_folder_are_one_line_naming_both(tmp_path):
    folder = _frame_folders(tmp_path / "frames", count=1)
    Image.fromarray(np.zeros((20, 30, 3), np.uint8)).save(folder / "video0" / "005.png")
    source = get_registry().open_source(folder, "video")
    with pytest.raises(InputError, match=r"video0: frames differ in size \(000.png is 24×16, 005.png is 30×20\)"):
        source.load(0)


@pytest.mark.parametrize("shape", [(4, 16, 24, 3), (2, 4, 16, 24), (16, 24, 3)])
def test_an_array_of_the_wrong_rank_or_layout_is_one_line(tmp_path, shape):
    array = np.zeros(shape, np.uint8)
    np.save(tmp_path / "wrong.npy", array)
    for given in (array, tmp_path / "wrong.npy"):
        with pytest.raises(InputError) as caught:
            get_registry().open_source(given, "video").load(0)
        assert "\n" not in str(caught.value) and "(videos, frames, height, width, 3)" in str(caught.value)


def test_an_array_file_claiming_more_than_it_holds_is_refused_unread(tmp_path):
    np.save(tmp_path / "videos.npy", np.zeros((2, 4, 8, 8, 3), np.uint8))
    data = (tmp_path / "videos.npy").read_bytes()
    (tmp_path / "cut.npy").write_bytes(data[: len(data) - 100])
    with pytest.raises(InputError, match=r"cut.npy: claims shape \(2, 4, 8, 8, 3\).*truncated"):
        get_registry().open_source(tmp_path / "cut.npy", "video")


def test_float_frames_outside_0_1_are_refused_by_name():
    videos = np.full((1, 3, 4, 4, 3), 2.0, np.float32)
    with pytest.raises(InputError, match=r"\[0\]: float frames must hold values in \[0, 1\], found \[2, 2\]"):
        get_registry().open_source(videos, "video").load(0)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_a_fifo_named_like_a_video_is_never_opened(tmp_path, mean_motion):
    fake = _videos(tmp_path / "fake")
    os.mkfifo(fake / "pipe.mp4")
    with pytest.raises(InputError, match=r"pipe.mp4: not a regular file \(a FIFO"):
        _compute(_videos(tmp_path / "real"), fake, mean_motion)


def test_a_missing_pyav_stops_the_run_once_naming_the_video_extra(tmp_path, mean_motion, monkeypatch):
    real, fake = _videos(tmp_path / "real"), _videos(tmp_path / "fake")
    monkeypatch.setitem(sys.modules, "av", None)
    with pytest.raises(ConfigError, match=r"^reading video files: needs the optional package 'av'.*\.\[video\]'\)$"):
        _compute(real, fake, mean_motion, skip_bad=True)
