"""Audio files read with soundfile (libsndfile): the header when a clip is opened, the samples block by block.

Every problem becomes an InputError naming the file: unreadable or unknown formats, zero-length files, and truncated
files — a WAV whose data chunk is shorter than its header declares (libsndfile would quietly read the rest), or a
compressed stream that stops early.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from frechet.errors import InputError
from frechet.io import check_regular_file
from frechet.optional import import_optional, install_extra
from frechet_audio.clips import Clip

#: File suffixes the audio sources read (what libsndfile ≥ 1.1 decodes).
AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".oga", ".opus", ".mp3", ".aif", ".aiff")
_UNKNOWN_SIZES = (0, 0xFFFFFFFF)  # streamed WAVs leave the data size unset


def soundfile_module() -> ModuleType:
    """The soundfile package, or one ConfigError for the run saying how to install it."""
    return import_optional("soundfile", "reading audio files", install_extra("audio", "soundfile"))


class FileClip(Clip):
    """A clip in an audio file; opening reads and checks the header, ``blocks`` streams the samples."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        check_regular_file(self.path)  # a FIFO or a device would block or never end
        soundfile = soundfile_module()
        try:
            info = soundfile.info(str(self.path))
        except (RuntimeError, OSError) as error:  # soundfile.LibsndfileError is a RuntimeError
            raise InputError(f"{self.path}: {_open_failure(self.path, error)}") from None
        if info.frames <= 0:
            raise InputError(f"{self.path}: has no samples (zero-length audio)")
        if info.samplerate <= 0:
            raise InputError(f"{self.path}: invalid sample rate {info.samplerate} in its header")
        super().__init__(str(self.path), info.samplerate, info.frames, info.channels)
        _check_wav_length(self.path, info)

    def blocks(self, frames: int) -> Iterator[np.ndarray]:
        soundfile = soundfile_module()
        read = 0
        try:
            with soundfile.SoundFile(str(self.path)) as handle:
                for block in handle.blocks(blocksize=frames, dtype="float64", always_2d=True):
                    read += block.shape[0]
                    yield block
        except (RuntimeError, OSError) as error:
            raise InputError(
                f"{self.path}: unreadable or truncated audio after {read / self.sample_rate:.2f} s "
                f"({_reason(error)}); re-export or re-download it"
            ) from None
        if read < self.frames:
            raise InputError(
                f"{self.path}: truncated: the header declares {self.seconds:.2f} s but only "
                f"{read / self.sample_rate:.2f} s could be read; re-export or re-download it"
            )


def _check_wav_length(path: Path, info: Any) -> None:
    """Refuse a RIFF/WAVE file whose data chunk is shorter than its header says (an interrupted copy or download)."""
    declared = _declared_wav_data_bytes(path)
    if declared is None:
        return
    block_align = _wav_block_align(info)
    if block_align and declared // block_align > info.frames:
        seconds = declared // block_align / info.samplerate
        raise InputError(
            f"{path}: truncated: the header declares {seconds:.2f} s of audio but the file holds "
            f"{info.frames / info.samplerate:.2f} s; re-export or re-download it"
        )


def _declared_wav_data_bytes(path: Path) -> int | None:
    """The data chunk size a plain RIFF/WAVE header declares, or None (other formats, RF64, unset sizes)."""
    with open(path, "rb") as handle:
        if handle.read(12)[:4] != b"RIFF":
            return None
        while header := handle.read(8):
            if len(header) < 8:
                return None
            chunk, size = header[:4], struct.unpack("<I", header[4:])[0]
            if chunk == b"data":
                return None if size in _UNKNOWN_SIZES else size
            handle.seek(size + (size & 1), 1)
    return None


def _wav_block_align(info: Any) -> int:
    """Bytes per frame of an uncompressed WAV subtype (0 when the subtype is compressed or unknown)."""
    bits = {"PCM_U8": 8, "PCM_16": 16, "PCM_24": 24, "PCM_32": 32, "FLOAT": 32, "DOUBLE": 64}
    return bits.get(info.subtype, 0) // 8 * info.channels


def _open_failure(path: Path, error: BaseException) -> str:
    """Why libsndfile could not open ``path``: the file system's reason when there is one (libsndfile reports a
    permission or link problem only as "System error"), else the format's."""
    try:
        with open(path, "rb"):
            pass
    except OSError as system:
        return f"cannot read ({system.strerror or system}); check the file and its permissions"
    return f"unreadable audio file ({_reason(error)}); check or re-export it"


def _reason(error: BaseException) -> str:
    text = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    return text.split(": ", 1)[-1] if text.startswith("Error opening") else text
