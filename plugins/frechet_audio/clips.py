"""Audio clips: one recording at its own sample rate, read block by block — from a file, or from an in-memory array.

Blocks are float64 arrays of shape (frames, channels). Integer PCM arrays are scaled to [-1, 1) as soundfile does
(int16 / 2¹⁵, int32 / 2³¹); float arrays are taken as they are.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import torch

from frechet.errors import InputError

_INTEGER_SCALE = {np.dtype(np.int16): 2.0**15, np.dtype(np.int32): 2.0**31}


class Clip(ABC):
    """One recording: its name for messages, sample rate, length in frames, channel count, and its samples."""

    def __init__(self, name: str, sample_rate: int, frames: int, channels: int) -> None:
        self.name, self.sample_rate, self.frames, self.channels = name, sample_rate, frames, channels

    @abstractmethod
    def blocks(self, frames: int) -> Iterator[np.ndarray]:
        """The samples in order, as float64 (≤ frames, channels) blocks; InputError if they cannot all be read."""

    @property
    def seconds(self) -> float:
        """Duration in seconds."""
        return self.frames / self.sample_rate


class ArrayClip(Clip):
    """A clip held in memory as a (samples,) or (samples, channels) array."""

    def __init__(self, samples: np.ndarray, sample_rate: int, name: str) -> None:
        samples = _as_frames_by_channels(samples, name)
        super().__init__(name, sample_rate, samples.shape[0], samples.shape[1])
        self._samples = samples

    def blocks(self, frames: int) -> Iterator[np.ndarray]:
        for start in range(0, self.frames, frames):
            block = self._samples[start : start + frames]
            scale = _INTEGER_SCALE.get(block.dtype)
            yield block / scale if scale else block.astype(np.float64)


class AudioClips:
    """In-memory clips for the Python API: waveforms plus the sample rate they are sampled at.

    ``clips`` is a sequence of arrays or tensors, each (samples,) for mono or (samples, channels), or one array of
    shape (clips, samples) or (clips, samples, channels) when all clips have the same length. Float samples are
    expected in [-1, 1]; int16 and int32 PCM are scaled to it. Example::

        frechet.compute(AudioClips(reference, sample_rate=44100), AudioClips(generated, sample_rate=16000),
                        embedder="vggish")
    """

    def __init__(self, clips: Sequence[Any] | np.ndarray | torch.Tensor, sample_rate: int) -> None:
        if isinstance(sample_rate, bool) or not isinstance(sample_rate, (int, np.integer)) or sample_rate <= 0:
            raise InputError(f"AudioClips: sample_rate must be a positive whole number of Hz, got {sample_rate!r}")
        if isinstance(clips, (np.ndarray, torch.Tensor)):
            if clips.ndim not in (2, 3):
                raise InputError(
                    f"AudioClips: one array holds several clips, shape (clips, samples) or (clips, samples, channels); "
                    f"got shape {tuple(clips.shape)} — put a single clip in a list: AudioClips([clip], sample_rate)"
                )
        elif not isinstance(clips, Sequence) or isinstance(clips, (str, bytes)):
            raise InputError(f"AudioClips: expected a list of arrays or one array of clips, got {type(clips).__name__}")
        self.clips = clips
        self.sample_rate = int(sample_rate)

    def __len__(self) -> int:
        return len(self.clips)

    def clip(self, index: int) -> ArrayClip:
        """Clip ``index`` (its shape and dtype checked now, so one bad clip can be skipped)."""
        return ArrayClip(self.clips[index], self.sample_rate, self.item_name(index))

    def item_name(self, index: int) -> str:
        """Name of clip ``index`` in messages."""
        return f"<clips>[{index}]"


def _as_frames_by_channels(samples: Any, name: str) -> np.ndarray:
    if isinstance(samples, torch.Tensor):
        samples = samples.detach().cpu().numpy()
    samples = np.asarray(samples)
    if samples.dtype.kind != "f" and samples.dtype not in _INTEGER_SCALE:
        raise InputError(f"{name}: samples must be float, int16 or int32 PCM, got dtype {samples.dtype}")
    if samples.ndim == 1:
        samples = samples[:, None]
    if samples.ndim != 2:
        raise InputError(f"{name}: a clip is (samples,) or (samples, channels), got shape {samples.shape}")
    if samples.shape[0] == 0:
        raise InputError(f"{name}: has no samples (zero-length clip)")
    if samples.shape[1] > samples.shape[0]:
        raise InputError(
            f"{name}: shape {samples.shape} has more channels than samples; clips are (samples, channels) — "
            "transpose channels-first audio (array.T)"
        )
    return samples
