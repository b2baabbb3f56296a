"""Sound players for the galleries of ``frechet report``: the first seconds of a clip as a small mono WAV."""

from __future__ import annotations

import io
import wave
from typing import Any

import numpy as np

from frechet.report import Media
from frechet_audio.clips import Clip
from frechet_audio.stream import mono_blocks

#: What a player holds: the first PLAYER_SECONDS of the clip, mono, resampled to PLAYER_RATE Hz, 16-bit.
PLAYER_SECONDS = 5.0
PLAYER_RATE = 16000


def player(item: Any, domain: str) -> Media | None:
    """A short WAV of an audio item (a :class:`frechet_audio.clips.Clip`); None for anything else."""
    if domain != "audio" or not isinstance(item, Clip):
        return None
    wanted = int(PLAYER_SECONDS * PLAYER_RATE)
    parts, held = [], 0
    for block in mono_blocks(item, PLAYER_RATE):
        parts.append(block[: wanted - held])
        held += parts[-1].size
        if held >= wanted:
            break
    signal = np.concatenate(parts) if parts else np.zeros(0)
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(2)
        writer.setframerate(PLAYER_RATE)
        writer.writeframes((np.clip(signal, -1.0, 1.0) * 32767.0).round().astype("<i2").tobytes())
    return Media("audio/wav", buffer.getvalue())
