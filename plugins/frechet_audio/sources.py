"""Audio inputs: one audio file, a folder of them (recursive, sorted), or in-memory clips given to the Python API.

Items are :class:`frechet_audio.clips.Clip` objects: opening one reads only the header (an unreadable or empty file
fails there, naming the file); the embedder then streams its samples.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from frechet.errors import InputError
from frechet.sources import Source, list_files
from frechet_audio.clips import AudioClips, Clip
from frechet_audio.files import AUDIO_SUFFIXES, FileClip


class AudioFilesSource(Source):
    """Audio files, one clip each."""

    domain = "audio"

    def __init__(self, paths: list[Path], label: str) -> None:
        super().__init__(label)
        self.paths = paths

    def __len__(self) -> int:
        return len(self.paths)

    def load(self, index: int) -> Clip:
        return FileClip(self.paths[index])

    def item_name(self, index: int) -> str:
        return str(self.paths[index])

    def item_path(self, index: int) -> Path:
        return self.paths[index]


class AudioClipsSource(Source):
    """Clips held in memory (:class:`frechet_audio.AudioClips`)."""

    domain = "audio"

    def __init__(self, clips: AudioClips) -> None:
        super().__init__(f"<{len(clips)} clips at {clips.sample_rate} Hz>")
        self.clips = clips

    def __len__(self) -> int:
        return len(self.clips)

    def load(self, index: int) -> Clip:
        return self.clips.clip(index)

    def item_name(self, index: int) -> str:
        return self.clips.item_name(index)

def open_audio_file(path: str | Path) -> AudioFilesSource:
    """A source of one audio file."""
    return AudioFilesSource([Path(path)], str(path))


def open_audio_folder(folder: str | Path) -> AudioFilesSource:
    """A source of every audio file under ``folder`` (subfolders included, hidden names skipped), sorted by path;
    links to folders are not followed."""
    return AudioFilesSource(list_files(folder, AUDIO_SUFFIXES), str(folder))


def open_audio_clips(clips: Any) -> AudioClipsSource:
    """A source of in-memory clips; bare arrays are refused with how to give their sample rate."""
    if not isinstance(clips, AudioClips):
        raise InputError(
            f"<{type(clips).__name__}>: audio arrays need their sample rate; pass "
            "frechet_audio.AudioClips(arrays, sample_rate=...)"
        )
    return AudioClipsSource(clips)


def is_audio_object(obj: Any) -> bool:
    """True for AudioClips, and for bare arrays, tensors or lists of them (refused later with a hint)."""
    if isinstance(obj, AudioClips):
        return True
    if isinstance(obj, (list, tuple)):
        return bool(obj) and all(isinstance(item, (np.ndarray, torch.Tensor)) for item in obj)
    return isinstance(obj, (np.ndarray, torch.Tensor))
