"""Audio disturbances for ``frechet sanity``: white noise at a signal-to-noise ratio, low-pass filtering, clipping.

Each reads a whole clip, damages its samples (all channels alike) and returns an in-memory clip at the same sample
rate; randomness comes from the samples, the strength and the seed (:func:`frechet.disturbance.content_rng`).
Mixing another input in is the core's ``mix:OTHER``. Strengths at level t in (0, 1] (t = k / levels): SNR
40·(1 − t) dB, cut-off 16000 · 32^(−t) Hz (8 kHz … 500 Hz for 5 levels), clipping level 1 − 0.9·t of the peak.
"""

from __future__ import annotations

import numpy as np

from frechet.disturbance import ItemDisturbance, content_rng
from frechet_audio.clips import ArrayClip, Clip
from frechet_audio.stream import BLOCK_FRAMES


def clip_samples(clip: Clip) -> np.ndarray:
    """All of a clip's samples as one float64 (frames, channels) array."""
    blocks = list(clip.blocks(BLOCK_FRAMES))
    return np.concatenate(blocks) if blocks else np.zeros((0, clip.channels))


class NoiseAtSNR(ItemDisturbance):
    """White Gaussian noise scaled so that the clip's power over the noise's is exactly the stated ratio."""

    name = "noise"
    domain = "audio"
    description = "white Gaussian noise at an exact signal-to-noise ratio"
    unit = "signal-to-noise ratio in dB (lower is noisier)"

    def strength(self, t: float) -> float:
        return 40.0 * (1.0 - t)

    def apply(self, clip: Clip, strength: float, seed: int) -> Clip:
        samples = clip_samples(clip)
        noise = content_rng(seed, strength, samples, str(clip.sample_rate)).standard_normal(samples.shape)
        signal_power, noise_power = np.mean(samples**2), np.mean(noise**2)
        scale = np.sqrt(signal_power / noise_power / 10.0 ** (strength / 10.0)) if noise_power > 0 else 0.0
        return ArrayClip(samples + scale * noise, clip.sample_rate, clip.name)


class LowPass(ItemDisturbance):
    """Every frequency above the cut-off removed (zeroed in the FFT of the whole clip); none when it is at or above
    the clip's Nyquist frequency."""

    name = "lowpass"
    domain = "audio"
    description = "every frequency above a cut-off removed"
    unit = "low-pass cut-off in Hz (lower removes more)"

    def strength(self, t: float) -> float:
        return 16000.0 * 32.0 ** (-t)

    def apply(self, clip: Clip, strength: float, seed: int) -> Clip:
        samples = clip_samples(clip)
        spectrum = np.fft.rfft(samples, axis=0)
        spectrum[np.fft.rfftfreq(samples.shape[0], 1.0 / clip.sample_rate) > strength] = 0.0
        return ArrayClip(np.fft.irfft(spectrum, n=samples.shape[0], axis=0), clip.sample_rate, clip.name)


class Clipping(ItemDisturbance):
    """Samples clipped to ± the stated fraction of the clip's peak magnitude (hard clipping)."""

    name = "clipping"
    domain = "audio"
    description = "hard clipping at a fraction of the peak"
    unit = "clipping level as a fraction of the clip's peak (lower clips more)"

    def strength(self, t: float) -> float:
        return 1.0 - 0.9 * t

    def apply(self, clip: Clip, strength: float, seed: int) -> Clip:
        samples = clip_samples(clip)
        level = strength * (np.abs(samples).max() if samples.size else 0.0)
        return ArrayClip(np.clip(samples, -level, level), clip.sample_rate, clip.name)


DISTURBANCES = (NoiseAtSNR, LowPass, Clipping)
