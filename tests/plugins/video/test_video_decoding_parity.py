"""Decoding parity with the peers' loaders, against the frames they gave for the committed videos
(tests/goldens/video, made by scripts/goldens/video_decoding.py): PyAV's to_rgb() (cd-fvd's read_video up to
torchvision 0.20), torchvision 0.28's VideoClips through TorchCodec (cd-fvd's VideoDataset today), the ffmpeg command
line through moviepy (StyleGAN-V's conversion script), and the frame-folder loaders of cd-fvd and StyleGAN-V."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("av")

from frechet_video.decode import FileVideo  # noqa: E402
from frechet_video.frames import FrameFolderVideo, frame_files  # noqa: E402

GOLDENS = Path(__file__).resolve().parents[2] / "goldens" / "video"
#: swscale converts YUV with SIMD code chosen by the CPU, whose rounding may differ from the machine that made the
#: goldens by a level; nothing else may differ.
SIMD_LEVELS = 1


@pytest.fixture(scope="module")
def peers() -> dict[str, np.ndarray]:
    with np.load(GOLDENS / "frames.npz") as npz:
        frames = {key: npz[key] for key in npz.files}
    same_as = json.loads((GOLDENS / "decoding.json").read_text())["same_as"]
    return {**frames, **{key: frames[twin] for key, twin in same_as.items()}}


@pytest.mark.parametrize("loader", ["pyav_to_rgb", "cdfvd_videoclips", "stylegan_v_moviepy"])
@pytest.mark.parametrize("name", ["lossless444.mkv", "h264_420.mp4", "h264_420_bt709.mp4", "h264_420_fullrange.mp4",
                                  "rgb8.gif"])
def test_video_files_decode_to_the_peers_frames(peers, loader, name):
    ours = FileVideo(GOLDENS / "files" / name).frames().astype(np.int64)
    theirs = peers[f"{loader}/{name}"]
    assert ours.shape == theirs.shape and np.abs(ours - theirs).max() <= SIMD_LEVELS


@pytest.mark.parametrize("loader", ["cdfvd_framedataset", "stylegan_v_framefolder"])
def test_frame_folders_read_exactly_as_the_peers_read_them(peers, loader):
    folder = GOLDENS / "frames" / "video0"
    assert np.array_equal(FrameFolderVideo(folder, frame_files(folder)).frames(), peers[f"{loader}/frames"])


def test_the_recorded_comparison_is_what_the_goldens_hold(peers):
    recorded = json.loads((GOLDENS / "decoding.json").read_text())
    for loader in ("pyav_to_rgb", "pyav_before_12_emulated", "cdfvd_videoclips", "stylegan_v_moviepy"):
        for name, facts in recorded[loader].items():
            difference = np.abs(peers[f"{loader}/{name}"].astype(np.int64) - peers[f"frechet/{name}"])
            assert facts["max"] == difference.max()
    assert recorded["pyav_before_12_emulated"]["h264_420_bt709.mp4"]["max"] > 20  # BT.601 on a BT.709 stream
