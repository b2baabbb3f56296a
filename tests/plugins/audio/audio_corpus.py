"""The generated audio the parity goldens are made from: tones, chirps, noise, clicks and speech at several rates,
mono, stereo and 6-channel, written as 16-bit, 24-bit and float WAV, FLAC and (committed) Ogg Vorbis.

``write_corpus(root)`` writes the same files in the reference environment (``scripts/goldens/audio.py``) and in the
test suite: only NumPy's legacy ``RandomState``, elementary functions and soundfile's lossless writers are used, and
the speech (espeak-ng) and Ogg clips are committed under ``tests/goldens/audio``. Groups are folders:
``background`` and ``eval`` at 16 kHz (FAD parity), ``eval44k`` and ``eval48k`` (the eval signals at 44.1 and 48 kHz,
for the resampler comparison) and ``misc`` (other rates and channel counts).
"""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile

GOLDENS = Path(__file__).resolve().parents[2] / "goldens" / "audio"
Signal = Callable[[int, int], np.ndarray]  # (rate, frames) -> (frames,) or (frames, channels)


@dataclass(frozen=True)
class ClipSpec:
    """One generated file: folder, name, rate, seconds, format/subtype, and the signal (or a committed file)."""

    group: str
    name: str
    rate: int
    seconds: float
    subtype: str
    signal: Signal | None = None
    committed: str | None = None

    @property
    def filename(self) -> str:
        if self.committed:
            return self.name + Path(self.committed).suffix
        return self.name + (".flac" if self.subtype.startswith("FLAC") else ".wav")


def _time(rate: int, frames: int) -> np.ndarray:
    return np.arange(frames) / rate


def tone(frequency: float, amplitude: float = 0.5) -> Signal:
    return lambda rate, frames: amplitude * np.sin(2 * np.pi * frequency * _time(rate, frames))


def harmonics(fundamental: float, count: int = 5) -> Signal:
    def make(rate: int, frames: int) -> np.ndarray:
        t = _time(rate, frames)
        return 0.3 * sum(np.sin(2 * np.pi * fundamental * k * t) / k for k in range(1, count + 1))

    return make


def chirp(start: float, stop: float, seconds: float) -> Signal:
    def make(rate: int, frames: int) -> np.ndarray:
        t = _time(rate, frames)
        return 0.5 * np.sin(2 * np.pi * (start * t + (stop - start) * t * t / (2 * seconds)))

    return make


def noise(seed: int, amplitude: float) -> Signal:
    return lambda rate, frames: np.random.RandomState(seed).uniform(-amplitude, amplitude, frames)


def am_tone(carrier: float, rate_hz: float) -> Signal:
    def make(rate: int, frames: int) -> np.ndarray:
        t = _time(rate, frames)
        return 0.4 * (1 + 0.5 * np.sin(2 * np.pi * rate_hz * t)) * np.sin(2 * np.pi * carrier * t)

    return make


def clicks(period: float) -> Signal:
    def make(rate: int, frames: int) -> np.ndarray:
        x = np.zeros(frames)
        x[:: int(round(period * rate))] = 0.9
        return x

    return make


def silence_then(signal: Signal, seconds: float) -> Signal:
    def make(rate: int, frames: int) -> np.ndarray:
        x = signal(rate, frames)
        x[: int(seconds * rate)] = 0.0
        return x

    return make


def stereo(left: Signal, right: Signal) -> Signal:
    return lambda rate, frames: np.stack([left(rate, frames), right(rate, frames)], axis=1)


def channels(*signals: Signal) -> Signal:
    return lambda rate, frames: np.stack([signal(rate, frames) for signal in signals], axis=1)


def mix(*signals: Signal) -> Signal:
    return lambda rate, frames: sum(signal(rate, frames) for signal in signals)


def speech(name: str, gain: float = 1.0) -> Signal:
    def make(rate: int, frames: int) -> np.ndarray:
        samples, file_rate = soundfile.read(GOLDENS / "speech" / name, dtype="float64")
        assert file_rate == rate, (name, file_rate, rate)
        return gain * samples[:frames]

    return make


_EVAL_SIGNALS: list[tuple[str, float, str, Signal]] = [
    ("tone523", 2.8, "PCM_16", tone(523.25)),
    ("harmonic330", 3.0, "FLOAT", harmonics(330.0)),
    ("chirp_down", 3.1, "PCM_24", chirp(6000.0, 150.0, 3.1)),
    ("noise_quiet", 2.4, "PCM_16", noise(21, 0.05)),
    ("stereo_noise_tone", 2.5, "PCM_16", stereo(noise(22, 0.2), tone(1250.0, 0.3))),
]

CLIPS: list[ClipSpec] = [
    ClipSpec("background", "tone440", 16000, 3.0, "PCM_16", tone(440.0)),
    ClipSpec("background", "harmonic220", 16000, 2.5, "PCM_24", harmonics(220.0)),
    ClipSpec("background", "chirp_up", 16000, 3.2, "FLOAT", chirp(100.0, 7000.0, 3.2)),
    ClipSpec("background", "noise", 16000, 2.0, "PCM_16", noise(11, 0.3)),
    ClipSpec("background", "speech_a", 16000, 2.9, "FLAC_16", speech("speech_a_16k.flac")),
    ClipSpec("background", "am_stereo", 16000, 3.0, "FLAC_24", stereo(am_tone(700.0, 3.0), tone(1500.0, 0.2))),
    ClipSpec("background", "clicks", 16000, 2.2, "PCM_16", clicks(0.1)),
    ClipSpec("background", "silence_tone", 16000, 2.6, "FLOAT",
             stereo(silence_then(tone(900.0), 1.0), silence_then(tone(300.0), 1.2))),
    *[ClipSpec("eval", name, 16000, seconds, subtype, signal) for name, seconds, subtype, signal in _EVAL_SIGNALS],
    ClipSpec("eval", "speech_b", 16000, 3.8, "FLAC_16", speech("speech_b_16k.flac")),
    ClipSpec("eval", "speech_noise", 16000, 2.9, "PCM_16", mix(speech("speech_a_16k.flac", 0.4), noise(23, 0.1))),
    ClipSpec("eval", "clicks_fast", 16000, 2.0, "PCM_24", clicks(0.037)),
    *[ClipSpec("eval44k", name, 44100, seconds, subtype, signal) for name, seconds, subtype, signal in _EVAL_SIGNALS],
    *[ClipSpec("eval48k", name, 48000, seconds, subtype, signal) for name, seconds, subtype, signal in _EVAL_SIGNALS],
    ClipSpec("misc", "speech_c_22k", 22050, 2.37, "FLAC_16", committed="speech/speech_c_22k.flac"),
    ClipSpec("misc", "tone_8k", 8000, 2.0, "PCM_16", mix(tone(1000.0, 0.4), tone(2500.0, 0.3))),
    ClipSpec("misc", "six_channels", 16000, 2.0, "PCM_24", channels(*(tone(200.0 * k, 0.3) for k in range(1, 7)))),
    ClipSpec("misc", "tone_noise_ogg", 16000, 1.5, "VORBIS", committed="tone_noise.ogg"),
]

FAD_PAIRS = (("background", "eval"), ("background", "eval44k"), ("background", "eval48k"))


def write_corpus(root: Path) -> dict[str, Path]:
    """Write every clip under ``root/<group>/``; returns {"group/name": path}."""
    paths = {}
    for spec in CLIPS:
        folder = root / spec.group
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / spec.filename
        if spec.committed:
            shutil.copyfile(GOLDENS / spec.committed, path)
        else:
            samples = spec.signal(spec.rate, int(round(spec.seconds * spec.rate)))
            flac = spec.subtype.startswith("FLAC")
            fmt, subtype = ("FLAC", "PCM_" + spec.subtype[5:]) if flac else ("WAV", spec.subtype)
            soundfile.write(path, samples, spec.rate, format=fmt, subtype=subtype)
        paths[f"{spec.group}/{spec.name}"] = path
    return paths


def samples_digest(path: Path) -> str:
    """sha256 of a file's decoded samples and rate (the goldens pin the corpus they were made from; file bytes
    would not do: encoders and WAV PEAK chunks vary)."""
    samples, rate = soundfile.read(path, dtype="float64", always_2d=True)
    return hashlib.sha256(f"{rate},{samples.shape}".encode() + samples.tobytes()).hexdigest()


def clap_windows() -> np.ndarray:
    """Two 10 s windows at 48 kHz for the LAION-CLAP network goldens, float32 (2, 480 000): a chirp with noise over
    the whole window, and a 3 s tone zero-padded as fadtk pads a clip's last windows."""
    rng = np.random.RandomState(48)
    t = np.arange(480000) / 48000
    chirp = 0.4 * np.sin(2 * np.pi * (80 * t + 900 * t * t / 10)) + rng.uniform(-0.1, 0.1, t.size)
    tone = np.where(t < 3.0, 0.6 * np.sin(2 * np.pi * 523.25 * t), 0.0)
    return np.stack([chirp, tone]).astype(np.float32)
