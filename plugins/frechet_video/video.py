"""The video item every video source yields: a name, a frame count known once it is opened, and its frames read by
index, so that clip sampling decodes only the frames a clip takes.

Frames come back as an (n, H, W, 3) array: uint8 RGB, or float32 in [0, 1] where the input was a float array (kept
as given, so a model fed floats sees the user's values). Items are pickled into DataLoader workers: a video holds
what names its frames (a path, a list of frame files, an array), never an open file.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence

import numpy as np

from frechet.errors import InputError


class Video(ABC):
    """One video: ``name`` for messages, ``num_frames``, and ``read(indices)`` for any of its frames."""

    def __init__(self, name: str, num_frames: int) -> None:
        if num_frames < 1:
            raise InputError(f"{name}: holds no frames; remove it or regenerate it")
        if num_frames == 1:
            raise InputError(f"{name}: holds a single frame, a still image rather than a video; remove it, or give "
                             "stills to an image embedder")
        self.name, self.num_frames = name, num_frames

    def read(self, indices: Sequence[int]) -> np.ndarray:
        """Frames ``indices`` (any order, repeats allowed) as (len(indices), H, W, 3): uint8 RGB, or float32 in
        [0, 1] for float inputs; InputError naming the video if an index is out of range or a frame is unreadable."""
        wanted = [int(index) for index in indices]
        outside = [index for index in wanted if not 0 <= index < self.num_frames]
        if outside:
            raise InputError(f"{self.name}: frame {outside[0]} asked for, but the video has {self.num_frames} frames")
        if not wanted:
            raise InputError(f"{self.name}: no frames asked for")
        return self._read(wanted)

    def frames(self) -> np.ndarray:
        """Every frame, in order."""
        return self.read(range(self.num_frames))

    @abstractmethod
    def _read(self, indices: list[int]) -> np.ndarray:
        """Frames at the valid ``indices``."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r}, {self.num_frames} frames)"


class ArrayVideo(Video):
    """A video held in memory as a (T, H, W, 3) array: uint8, or float in [0, 1] (returned as float32)."""

    def __init__(self, frames: np.ndarray, name: str) -> None:
        self._frames = checked_frames(frames, name)
        super().__init__(name, self._frames.shape[0])

    def _read(self, indices: list[int]) -> np.ndarray:
        return np.ascontiguousarray(self._frames[indices])


def checked_frames(frames: np.ndarray, name: str) -> np.ndarray:
    """``frames`` as a (T, H, W, 3) uint8 or float32 array, after checking its layout, dtype and float range."""
    frames = np.asarray(frames)
    if frames.ndim != 4 or frames.shape[-1] != 3:
        raise InputError(f"{name}: a video is (frames, height, width, 3) RGB, got shape {frames.shape}")
    if 0 in frames.shape[1:3]:
        raise InputError(f"{name}: holds no pixels (shape {frames.shape})")
    if frames.dtype == np.uint8:
        return frames
    if frames.dtype.kind != "f":
        raise InputError(f"{name}: video frames must be uint8 (0-255) or float (0-1), got dtype {frames.dtype}")
    if frames.size:
        low, high = float(frames.min()), float(frames.max())
        if not (0.0 <= low and high <= 1.0):  # NaN fails too
            raise InputError(f"{name}: float frames must hold values in [0, 1], found [{low:g}, {high:g}]; scale "
                             "them, or pass uint8")
    return frames.astype(np.float32, copy=False)
