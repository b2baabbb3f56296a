"""Video files decode to the frames they hold: the pinned YUV-to-RGB conversion against a float64 formula, every
container, frame counts from packets, and reads of any frames in any order."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from video_files import lossless, moving_frames, write_video

pytest.importorskip("av")

from frechet_video.decode import FileVideo  # noqa: E402

#: (Kr, Kb) of each YUV matrix, by FFmpeg's colour-space number.
LUMA_WEIGHTS = {5: (0.299, 0.114), 1: (0.2126, 0.0722), 9: (0.2627, 0.0593)}


def ycbcr_to_rgb(planes: np.ndarray, colorspace: int, full_range: bool) -> np.ndarray:
    """The textbook conversion of (3, H, W) Y, Cb, Cr planes to (H, W, 3) RGB levels, in float64."""
    y, cb, cr = (plane.astype(np.float64) for plane in planes)
    kr, kb = LUMA_WEIGHTS[colorspace]
    if full_range:
        luma, blue, red = y / 255, (cb - 128) / 255, (cr - 128) / 255
    else:
        luma, blue, red = (y - 16) / 219, (cb - 128) / 224, (cr - 128) / 224
    r, b = luma + 2 * (1 - kr) * red, luma + 2 * (1 - kb) * blue
    g = (luma - kr * r - kb * b) / (1 - kr - kb)
    return np.clip(np.rint(np.stack([r, g, b], axis=-1) * 255), 0, 255)


def decoded_planes(path) -> list[np.ndarray]:
    import av

    with av.open(str(path)) as container:
        return [frame.to_ndarray() for frame in container.decode(video=0)]


@pytest.mark.parametrize(("declared", "colorspace", "full_range"), [
    ({}, 5, False),                                  # nothing declared: BT.601, limited range
    ({"colorspace": 1, "color_range": 1}, 1, False),  # BT.709
    ({"colorspace": 9, "color_range": 1}, 9, False),  # BT.2020
    ({"color_range": 2}, 5, True),                   # full range (yuvj)
])
def test_yuv_frames_convert_by_the_declared_matrix_and_range_to_within_one_level(tmp_path, declared, colorspace,
                                                                                 full_range):
    path = lossless(tmp_path / "video.mkv", moving_frames(), **declared)
    ours = FileVideo(path).frames().astype(np.float64)
    planes = decoded_planes(path)
    exact = np.stack([ycbcr_to_rgb(frame, colorspace, full_range) for frame in planes])
    assert np.abs(ours - exact).max() <= 1
    other = 1 if colorspace == 5 else 5  # the matrix not declared would be far off: the test can tell them apart
    assert np.abs(ours - np.stack([ycbcr_to_rgb(frame, other, full_range) for frame in planes])).max() > 10


@pytest.mark.parametrize(("suffix", "codec", "pix_fmt", "mean_error", "max_error"), [
    (".mp4", "libx264", "yuv420p", 4, 255),  # lossy: the ramps' wrap-around edges ring, so only the mean is bounded
    (".mkv", "libx264", "yuv444p", 1, 3),    # lossless YUV: RGB -> YUV -> RGB rounding only
    (".webm", "libvpx-vp9", "yuv420p", 6, 255),
    (".avi", "mpeg4", "yuv420p", 12, 255),
    (".gif", "gif", "rgb8", 3, 3),           # 3-3-2-bit palette of flat colours
])
def test_every_container_reads_all_its_frames(tmp_path, suffix, codec, pix_fmt, mean_error, max_error):
    frames = moving_frames() if codec != "gif" else np.stack([np.full((8, 8, 3), level, np.uint8) for level in
                                                               ((255, 0, 0), (0, 255, 0), (255, 255, 255))])
    options = {"qp": "0"} if pix_fmt == "yuv444p" else None
    video = FileVideo(write_video(tmp_path / f"video{suffix}", frames, codec=codec, pix_fmt=pix_fmt, options=options))
    decoded = video.frames()
    assert video.num_frames == len(frames) and decoded.shape == frames.shape and decoded.dtype == np.uint8
    error = np.abs(decoded.astype(int) - frames)
    assert error.mean() <= mean_error and error.max() <= max_error


def test_reading_some_frames_gives_those_of_the_full_decode_in_the_order_asked(tmp_path):
    video = FileVideo(write_video(tmp_path / "video.mp4", moving_frames(12)))
    every = video.frames()
    assert np.array_equal(video.read([7, 2, 2, 11]), every[[7, 2, 2, 11]])
    again = pickle.loads(pickle.dumps(video))  # items travel to DataLoader workers
    assert np.array_equal(again.read([3, 0]), every[[3, 0]])
