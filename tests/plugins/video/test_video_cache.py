"""Videos of .npy/.npz files and frame folders carry a digest of their own bytes, so the feature cache knows them
again: a second run on the same input embeds nothing, and a changed video misses only its own shard."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
from PIL import Image

import frechet
from frechet.plugins import get_registry
from frechet_video import digest as video_digest
from frechet_video.arrays import ArrayFileSource
from frechet_video.sources import FrameFoldersSource


def _videos(count: int = 4, dtype=np.uint8) -> np.ndarray:
    videos = np.random.default_rng(7).integers(0, 256, (count, 5, 6, 7, 3))
    return videos.astype(np.uint8) if dtype == np.uint8 else (videos / 255.0).astype(dtype)


def _oracle(video: np.ndarray) -> str:
    """sha256 over the header the digest documents and the array's bytes, computed in one piece."""
    return hashlib.sha256(f"video {video.dtype.str} {video.shape}\n".encode() + video.tobytes()).hexdigest()


def _digests(given) -> list:
    source = get_registry().open_source(given, "video")
    return [source.item_digest(index) for index in range(len(source))]


@pytest.mark.parametrize("dtype", [np.uint8, np.float32, np.float64])
def test_each_stored_video_is_digested_by_its_own_bytes_read_in_pieces(tmp_path, dtype, monkeypatch):
    monkeypatch.setattr(video_digest, "CHUNK", 1000)  # a stored video is read in many pieces
    videos = _videos(dtype=dtype)
    np.save(tmp_path / "videos.npy", videos)
    np.savez(tmp_path / "stored.npz", videos)
    np.savez_compressed(tmp_path / "compressed.npz", videos)
    expected = [_oracle(video) for video in videos]
    for given in ("videos.npy", "stored.npz", "compressed.npz"):
        assert _digests(tmp_path / given) == expected, given
    assert len(set(expected)) == len(expected)


def test_a_stored_video_cut_short_gets_no_digest_so_loading_reports_it(tmp_path):
    np.save(tmp_path / "videos.npy", _videos())
    source = get_registry().open_source(tmp_path / "videos.npy", "video")
    with open(tmp_path / "videos.npy", "r+b") as handle:
        handle.truncate(handle.seek(0, 2) - 10)
    assert source.item_digest(0) is not None and source.item_digest(3) is None


@pytest.mark.parametrize("name", ["videos.npy", "videos.npz"])
def test_a_second_run_on_an_array_file_embeds_nothing_and_a_changed_video_only_itself(tmp_path, name, mean_motion,
                                                                                      monkeypatch):
    calls = []
    load = ArrayFileSource.load
    monkeypatch.setattr(ArrayFileSource, "load", lambda self, index: calls.append(index) or load(self, index))
    videos = _videos(6)
    path = tmp_path / name
    (np.save if name.endswith(".npy") else np.savez_compressed)(path, videos)
    settings = {"embedder": mean_motion, "progress": False, "workers": 0, "shard_size": 2}

    first = frechet.sanity(path, disturbances=["noise"], levels=2, **settings)
    assert len(calls) == 3 * 6  # the videos, then two noisy copies of them
    again = frechet.sanity(path, disturbances=["noise"], levels=2, **settings)
    stats = frechet.compute_stats(path, **settings)
    assert len(calls) == 3 * 6  # nothing embedded the second time
    assert [level.fd for level in again.curves[0].levels] == [level.fd for level in first.curves[0].levels]
    assert first.curves[0].levels[-1].fd > 0 and stats.n == 6

    videos[4, 0, 0, 0, 0] ^= 1
    (np.save if name.endswith(".npy") else np.savez_compressed)(path, videos)
    frechet.compute_stats(path, **settings)
    assert calls[18:] == [4, 5]  # the shard holding the changed video


def test_a_frame_folder_is_known_by_its_frames_bytes_in_order(tmp_path, mean_motion, monkeypatch):
    for index, video in enumerate(_videos(3)):
        (tmp_path / f"video{index}").mkdir()
        for t, frame in enumerate(video):
            Image.fromarray(frame).save(tmp_path / f"video{index}" / f"{t:03d}.png")
    before = _digests(tmp_path)
    settings = {"embedder": mean_motion, "progress": False, "workers": 0, "shard_size": 1}
    loads = []
    load = FrameFoldersSource.load
    monkeypatch.setattr(FrameFoldersSource, "load", lambda self, index: loads.append(index) or load(self, index))
    frechet.compute_stats(tmp_path, **settings)
    frechet.compute_stats(tmp_path, **settings)
    assert loads == [0, 1, 2]

    first, second = tmp_path / "video1" / "000.png", tmp_path / "video1" / "001.png"
    first_bytes = first.read_bytes()
    first.write_bytes(second.read_bytes())
    second.write_bytes(first_bytes)  # the same files, two frames swapped
    after = _digests(tmp_path)
    assert after[0] == before[0] and after[2] == before[2] and after[1] != before[1]
    frechet.compute_stats(tmp_path, **settings)
    assert loads == [0, 1, 2, 1]
