"""Video inputs: video files, folders of them, folders of frame folders, (N, T, H, W, 3) array files, and videos in
memory for the Python API and ``Scorer``. Every source yields :class:`frechet_video.video.Video` items; opening one
checks what can be checked without decoding (frame count, frame sizes), so a bad video fails by name at load."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from frechet.errors import InputError
from frechet.sources import Source, list_files
from frechet_image.sources import IMAGE_SUFFIXES
from frechet_video.arrays import ArrayFileSource
from frechet_video.decode import VIDEO_SUFFIXES, FileVideo
from frechet_video.digest import frames_digest
from frechet_video.frames import FrameFolderVideo, frame_files, natural_key
from frechet_video.video import ArrayVideo, Video

_BATCH = "(videos, frames, height, width, 3)"


class VideoFilesSource(Source):
    """Video files; item i is file i, decoded through PyAV."""

    domain = "video"

    def __init__(self, paths: list[Path], label: str) -> None:
        super().__init__(label)
        self.paths = paths

    def __len__(self) -> int:
        return len(self.paths)

    def load(self, index: int) -> Video:
        return FileVideo(self.paths[index])

    def item_name(self, index: int) -> str:
        return str(self.paths[index])

    def item_path(self, index: int) -> Path:
        return self.paths[index]


class FrameFoldersSource(Source):
    """Folders of frames; item i is folder i, its image files in natural order."""

    domain = "video"

    def __init__(self, folders: list[Path], label: str) -> None:
        super().__init__(label)
        self.folders = folders

    def __len__(self) -> int:
        return len(self.folders)

    def load(self, index: int) -> Video:
        return FrameFolderVideo(self.folders[index], frame_files(self.folders[index]))

    def item_name(self, index: int) -> str:
        return str(self.folders[index])

    def item_digest(self, index: int) -> str | None:
        try:
            frames = frame_files(self.folders[index])
        except OSError:
            return None
        return frames_digest(frames)


class VideoArraySource(Source):
    """Videos in memory: one (N, T, H, W, 3) array or tensor, or a list of (T, H, W, 3) ones (lengths and sizes may
    differ); uint8, or float in [0, 1]."""

    domain = "video"

    def __init__(self, videos: np.ndarray | torch.Tensor | Sequence[Any]) -> None:
        if isinstance(videos, (np.ndarray, torch.Tensor)):
            super().__init__(f"<{type(videos).__name__} {tuple(videos.shape)}>")
            if videos.ndim != 5:
                raise InputError(f"{self.label}: a batch of videos is {_BATCH}, got {videos.ndim} dimensions"
                                 + (" — one video is videos[None], and images go to an image embedder"
                                    if videos.ndim == 4 else ""))
            if videos.shape[0] == 0:
                raise InputError(f"{self.label}: holds no videos")
        else:
            super().__init__(f"<list of {len(videos)} videos>")
            if not videos:
                raise InputError(f"{self.label}: holds no videos")
        self.videos = videos

    def __len__(self) -> int:
        return len(self.videos)

    def load(self, index: int) -> Video:
        video = self.videos[index]
        if isinstance(video, torch.Tensor):
            video = video.detach().cpu().numpy()
        return ArrayVideo(video, self.item_name(index))

    def item_name(self, index: int) -> str:
        return f"{self.label}[{index}]"


def open_video_file(path: str | Path) -> VideoFilesSource:
    """One video file as a one-item source."""
    return VideoFilesSource([Path(path)], str(path))


def open_video_folder(folder: str | Path) -> Source:
    """The videos under ``folder``: its video files (recursive, sorted by path), or else its frame folders (every
    folder holding image files is one video, sorted naturally by path). Hidden names are skipped."""
    folder = Path(folder)
    videos = list_files(folder, VIDEO_SUFFIXES)
    frame_folders = _frame_folders(folder)
    if videos and frame_folders:
        raise InputError(f"{folder}: holds both video files ({videos[0].name}, …) and folders of frames "
                         f"({frame_folders[0].name}/, …); give one kind per input")
    if videos:
        return VideoFilesSource(videos, str(folder))
    if frame_folders:
        if folder in frame_folders:
            raise InputError(f"{folder}: holds image files itself; give a folder with one subfolder of frames per "
                             "video")
        return FrameFoldersSource(frame_folders, str(folder))
    raise InputError(f"{folder}: no videos found (looked recursively for {', '.join(VIDEO_SUFFIXES)} files, and for "
                     "folders of image frames)")


def open_video_arrays(path: str | Path) -> ArrayFileSource:
    """The videos of a ``.npy`` / ``.npz`` file holding a (N, T, H, W, 3) array."""
    return ArrayFileSource(path)


def open_video_batch(videos: Any) -> VideoArraySource:
    """Videos given to the Python API or ``Scorer``."""
    return VideoArraySource(videos)


def is_video_batch(obj: Any) -> bool:
    """True for an array or tensor (its layout is checked when opened, so a wrong rank gets its own message), and
    for a non-empty list of them."""
    if isinstance(obj, (list, tuple)):
        return bool(obj) and all(isinstance(item, (np.ndarray, torch.Tensor)) for item in obj)
    return isinstance(obj, (np.ndarray, torch.Tensor))


def _frame_folders(folder: Path) -> list[Path]:
    """Every non-hidden folder under ``folder`` (itself included) that directly holds image files."""
    found = []
    for root, folders, files in os.walk(folder):
        folders[:] = [name for name in folders if not name.startswith(".")]
        if any(not name.startswith(".") and os.path.splitext(name)[1].lower() in IMAGE_SUFFIXES for name in files):
            found.append(Path(root))
    return sorted(found, key=lambda path: natural_key(path.relative_to(folder).as_posix()))
