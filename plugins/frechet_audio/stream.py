"""A clip as a stream of mono blocks at a model's sample rate, and fixed-length analysis windows cut from it.

Channels are averaged (all of them, as torchvggish and frechet-audio-distance do), the mono signal is resampled with
:class:`frechet_audio.resample.StreamResampler`, and non-finite samples stop the clip with an InputError. Only one
block of the file and the resampling filter's span are held at a time.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from frechet.errors import InputError
from frechet_audio.clips import Clip
from frechet_audio.resample import StreamResampler

#: Frames read from a file at a time.
BLOCK_FRAMES = 1 << 16


def mono_blocks(clip: Clip, rate: int, block_frames: int = BLOCK_FRAMES) -> Iterator[np.ndarray]:
    """The clip's samples averaged over channels and resampled to ``rate``, as consecutive float64 blocks."""
    resampler = StreamResampler(clip.sample_rate, rate)
    position = 0
    for block in clip.blocks(block_frames):
        mono = block[:, 0] if block.shape[1] == 1 else block.mean(axis=1)
        finite = np.isfinite(mono)
        if not finite.all():
            first = position + int(np.argmin(finite))
            raise InputError(
                f"{clip.name}: has NaN or infinite samples (first at {first / clip.sample_rate:.3f} s); "
                "fix or remove the clip"
            )
        position += mono.size
        yield resampler.push(mono)
    yield resampler.finish()


def mono_signal(clip: Clip, rate: int) -> np.ndarray:
    """The whole clip as one mono float64 signal at ``rate``."""
    return np.concatenate(list(mono_blocks(clip, rate)))


class Windows:
    """Cuts a block stream into windows of ``length`` samples starting every ``hop`` samples (no padding)."""

    def __init__(self, length: int, hop: int) -> None:
        self.length, self.hop = length, hop
        self._pending = np.zeros(0)

    def push(self, block: np.ndarray) -> np.ndarray:
        """Add samples; return the windows now complete, shape (k, length)."""
        self._pending = np.concatenate([self._pending, block])
        if self._pending.size < self.length:
            return np.zeros((0, self.length))
        k = 1 + (self._pending.size - self.length) // self.hop
        windows = np.lib.stride_tricks.sliding_window_view(self._pending, self.length)[:: self.hop][:k].copy()
        self._pending = self._pending[k * self.hop :]
        return windows

    def padded_rest(self) -> np.ndarray:
        """The samples after the last window, zero-padded to one window, shape (1, length)."""
        return np.pad(self._pending[: self.length], (0, self.length - min(self._pending.size, self.length)))[None]
