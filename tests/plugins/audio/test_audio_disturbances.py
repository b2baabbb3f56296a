"""The audio disturbances of `frechet sanity` do what their units say, and audio gallery items become players."""

from __future__ import annotations

import io
import wave

import numpy as np
import pytest

from frechet_audio.clips import ArrayClip
from frechet_audio.disturb import Clipping, LowPass, NoiseAtSNR, clip_samples
from frechet_audio.players import PLAYER_RATE, PLAYER_SECONDS, player

RATE = 16000


def tones(seconds: float = 1.0, channels: int = 2) -> ArrayClip:
    """A clip of 200 Hz and 3 kHz tones (channel 2 a phase-shifted copy)."""
    time = np.arange(int(seconds * RATE)) / RATE
    signal = 0.5 * np.sin(2 * np.pi * 200 * time) + 0.3 * np.sin(2 * np.pi * 3000 * time)
    return ArrayClip(np.stack([np.roll(signal, shift) for shift in range(channels)], axis=1), RATE, "tones")


@pytest.mark.parametrize("snr", [30.0, 10.0, 0.0])
def test_noise_gives_exactly_the_stated_snr(snr):
    clip = tones()
    noisy = clip_samples(NoiseAtSNR().apply(clip, snr, seed=3))
    signal = clip_samples(clip)
    measured = 10 * np.log10(np.mean(signal**2) / np.mean((noisy - signal) ** 2))
    assert measured == pytest.approx(snr, abs=1e-9)


def test_lowpass_removes_what_is_above_the_cutoff_and_keeps_what_is_below():
    filtered = clip_samples(LowPass().apply(tones(), 1000.0, seed=0))[:, 0]
    spectrum = np.abs(np.fft.rfft(filtered))
    frequencies = np.fft.rfftfreq(filtered.size, 1 / RATE)
    assert spectrum[frequencies > 1000].max() < 1e-9 * spectrum.max()
    time = np.arange(RATE) / RATE
    np.testing.assert_allclose(filtered, 0.5 * np.sin(2 * np.pi * 200 * time), atol=1e-9)


def test_clipping_level_is_a_fraction_of_the_peak():
    clip = tones()
    clipped = clip_samples(Clipping().apply(clip, 0.25, seed=0))
    peak = np.abs(clip_samples(clip)).max()
    assert np.abs(clipped).max() == pytest.approx(0.25 * peak)
    assert np.mean(np.abs(clipped) >= 0.25 * peak - 1e-12) > 0.5


def test_audio_strengths_grow_the_damage():
    assert NoiseAtSNR().strengths(5) == pytest.approx([32, 24, 16, 8, 0])
    assert LowPass().strengths(5) == pytest.approx([8000, 4000, 2000, 1000, 500])
    assert Clipping().strengths(2) == pytest.approx([0.55, 0.1])


def test_audio_items_become_short_mono_wav_players():
    media = player(tones(seconds=7.0), "audio")
    with wave.open(io.BytesIO(media.data)) as reader:
        assert (reader.getnchannels(), reader.getframerate()) == (1, PLAYER_RATE)
        assert reader.getnframes() == PLAYER_SECONDS * PLAYER_RATE
    assert media.mime == "audio/wav" and player(np.zeros((4, 4, 3), np.uint8), "image") is None
