"""The video disturbances of `frechet sanity` do what their units say, reproducibly, on any video item; video items
are shown in reports as animated thumbnails."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

import frechet
from frechet.plugins import get_registry
from frechet_video.disturb import DropFrames, FrameBlur, FrameNoise, FreezeFrames, ReverseFrames, ShuffleFrames
from frechet_video.thumbnails import animated_thumbnail
from frechet_video.video import ArrayVideo

FRAMES = 40


def numbered(frames: int = FRAMES) -> ArrayVideo:
    """A video whose frame t is filled with level t: the order of a damaged video can be read off its pixels."""
    return ArrayVideo(np.repeat(np.arange(frames, dtype=np.uint8), 4 * 4 * 3).reshape(frames, 4, 4, 3), "numbered")


def shown(video) -> np.ndarray:
    """Which original frame each frame of ``video`` shows."""
    return video.frames()[:, 0, 0, 0].astype(int)


@pytest.mark.parametrize("fraction", [0.1, 0.5, 1.0])
def test_shuffle_permutes_the_stated_fraction_of_frames_among_themselves(fraction):
    for seed in range(3):
        order = shown(ShuffleFrames().apply(numbered(), fraction, seed))
        moved = order != np.arange(FRAMES)
        assert sorted(order) == list(range(FRAMES))  # nothing lost, nothing repeated
        assert moved.sum() <= round(fraction * FRAMES) and set(order[moved]) == set(np.flatnonzero(moved))
    assert (shown(ShuffleFrames().apply(numbered(), 1.0, 0)) != np.arange(FRAMES)).sum() > FRAMES // 2


@pytest.mark.parametrize("fraction", [0.25, 1.0])
def test_freeze_holds_one_frame_over_a_run_of_the_stated_length(fraction):
    order = shown(FreezeFrames().apply(numbered(), fraction, seed=2))
    run = round(fraction * FRAMES)
    start = int(np.flatnonzero(order != np.arange(FRAMES))[0]) - 1
    assert np.array_equal(order[start : start + run], np.full(run, start))
    assert np.array_equal(np.delete(order, range(start, start + run)), np.delete(np.arange(FRAMES),
                                                                              range(start, start + run)))


def test_reverse_plays_a_run_backwards_and_the_whole_video_at_full_strength():
    assert np.array_equal(shown(ReverseFrames().apply(numbered(), 1.0, seed=0)), np.arange(FRAMES)[::-1])
    order = shown(ReverseFrames().apply(numbered(), 0.25, seed=5))
    changed = np.flatnonzero(order != np.arange(FRAMES))
    run = order[changed[0] : changed[-1] + 1]
    assert len(run) in (9, 10) and np.array_equal(run, np.arange(changed[0], changed[-1] + 1)[::-1])


@pytest.mark.parametrize("fraction", [0.2, 0.75])
def test_drop_shows_the_last_kept_frame_in_place_of_each_dropped_one(fraction):
    order = shown(DropFrames().apply(numbered(), fraction, seed=3))
    kept = np.flatnonzero(order == np.arange(FRAMES))
    assert order[0] == 0 and FRAMES - len(kept) == round(fraction * (FRAMES - 1))
    assert all(order[t] == kept[kept <= t].max() for t in range(FRAMES))


def test_temporal_damage_is_seeded_and_the_same_for_equal_videos():
    first, again = (shown(ShuffleFrames().apply(numbered(), 0.5, seed=7)) for _ in range(2))
    assert np.array_equal(first, again)
    assert not np.array_equal(first, shown(ShuffleFrames().apply(numbered(), 0.5, seed=8)))


@pytest.mark.parametrize("sigma", [8.0, 32.0])
def test_frame_noise_sigma_is_in_8_bit_levels_for_uint8_and_float_videos(sigma):
    grey = np.full((3, 64, 64, 3), 128, np.uint8)
    for video, scale in ((ArrayVideo(grey, "u8"), 1.0), (ArrayVideo(grey / 255.0, "float"), 255.0)):
        noisy = FrameNoise().apply(video, sigma, seed=1).frames().astype(np.float64) * scale
        error = noisy - grey
        rounding = 1.0 / 12.0 if scale == 1.0 else 0.0
        assert np.sqrt(np.mean(error**2)) == pytest.approx(np.sqrt(sigma**2 + rounding), rel=0.03)
        assert not np.array_equal(error[0], error[1])  # each frame gets its own noise


def test_frame_blur_sigma_is_in_pixels_on_every_frame():
    frames = np.zeros((2, 41, 61, 3), np.uint8)
    frames[:, :, 30] = 255
    blurred = FrameBlur().apply(ArrayVideo(frames, "line"), 3.0, seed=0).frames()
    for frame in blurred:
        profile = frame[20, :, 0].astype(np.float64)
        position = np.arange(profile.size)
        mean = (profile * position).sum() / profile.sum()
        assert np.sqrt((profile * (position - mean) ** 2).sum() / profile.sum()) == pytest.approx(3.0, rel=0.03)


def test_every_video_disturbance_is_registered_with_its_unit():
    registry = get_registry()
    names = {info.name: info.unit for info in registry.disturbances("video") if info.domain == "video"}
    assert set(names) == {"noise", "blur", "shuffle", "freeze", "reverse", "drop"} and all(names.values())
    assert registry.create_disturbance("freeze", "video").strengths(4) == [0.25, 0.5, 0.75, 1.0]


def test_a_video_item_is_shown_as_an_animated_gif_of_at_most_16_frames():
    media = animated_thumbnail(numbered(), "video")
    with Image.open(io.BytesIO(media.data)) as image:
        assert media.mime == "image/gif" and image.n_frames == 16 and image.size == (media.width, media.height)
    assert animated_thumbnail(np.zeros((4, 4, 3), np.uint8), "image") is None


def test_sanity_runs_every_video_disturbance_on_video_files(tmp_path, mean_motion):
    pytest.importorskip("av")
    from video_files import moving_frames, write_video

    for index in range(6):
        write_video(tmp_path / f"clip{index}.mp4", moving_frames(8, 16, 24, phase=30 * index))
    result = frechet.sanity(tmp_path, embedder=mean_motion, levels=2, progress=False, workers=0)
    curves = {curve.name: curve for curve in result.curves}
    assert set(curves) == {"noise", "blur", "shuffle", "freeze", "reverse", "drop"}
    assert all(curve.levels[-1].fd > 0 for curve in curves.values())  # each damages what the embedder reads
