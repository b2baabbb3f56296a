"""fadtk's reading chain: the 16-bit files it converts every input to, CLAP's requantisation and windows, and the
float16 statistics; checked against fadtk 1.1.0's own converted files (scripts/goldens/fadtk_encodec.py)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
import soundfile
import torch

from frechet.stats import FeatureStats
from frechet_audio.clips import ArrayClip
from frechet_audio.fadtk import (
    clap_requantise,
    converted_pcm16,
    fadtk_windows,
    float16_rows,
    kaiser_kernel,
    kaiser_resample,
    pcm16_to_float32,
    to_pcm16,
)
from frechet_audio.files import FileClip

GOLDENS = Path(__file__).resolve().parents[2] / "goldens" / "fadtk_encodec"


@pytest.fixture(scope="module")
def fadtk_facts() -> dict:
    return json.loads((GOLDENS / "goldens.json").read_text())


def test_every_converted_file_equals_fadtk_s_bit_for_bit(corpus, fadtk_facts):
    """All 30 clips (16/22.05/44.1/48/8 kHz, mono to 6 channels, PCM, float, FLAC, Ogg) at 24 and 48 kHz."""
    converted = fadtk_facts["converted"]
    assert len(converted) == 2 * len(corpus)
    for name, digest in converted.items():
        rate, key = name.split("/", 1)
        samples = converted_pcm16(FileClip(corpus[key]), int(rate))
        assert hashlib.sha256(samples.astype("<i2").tobytes()).hexdigest() == digest, name


@pytest.mark.skipif(soundfile.__libsndfile_version__ != "1.2.2", reason="the rule measured is libsndfile 1.2.2's")
def test_16_bit_rounding_is_what_libsndfile_writes(tmp_path):
    rng = np.random.RandomState(0)
    steps = rng.randint(-32768, 32767, 20000) * 65536.0 + rng.uniform(-1.0, 1.0, 20000)  # near each 16-bit step
    x = np.concatenate([steps / 2.0**31, rng.uniform(-1.3, 1.3, 20000), [-1e-14, 1e-14, -2.0**-32, 1.0, -1.0]])
    x = x.astype(np.float32)
    soundfile.write(tmp_path / "x.wav", x, 24000, subtype="PCM_16")
    np.testing.assert_array_equal(to_pcm16(x), soundfile.read(tmp_path / "x.wav", dtype="int16")[0])
    assert not np.array_equal(to_pcm16(x), np.clip(np.floor(x.astype(np.float64) * 32768), -32768, 32767))


def test_resampler_keeps_the_rate_and_the_length_rule():
    x = torch.from_numpy(np.random.RandomState(1).uniform(-0.5, 0.5, 44101).astype(np.float32))
    assert kaiser_resample(x, 24000, 24000) is x
    assert kaiser_resample(x, 44100, 24000).shape == (24001,)  # ceil(44101 · 80 / 147)
    kernel, width = kaiser_kernel(44100, 24000)
    assert kernel.shape == (80, 1, 2 * width + 147) and width == 125


def test_resampler_passes_a_tone_below_the_cutoff_and_stops_one_above():
    t = np.arange(48000) / 48000
    for frequency, gain in ((1000.0, 1.0), (10500.0, 1.0), (11371.0, 0.5), (12000.0, 0.0)):  # 0.9476 · 12 kHz: half
        x = torch.from_numpy(np.sin(2 * np.pi * frequency * t).astype(np.float32))
        amplitude = float(kaiser_resample(x, 48000, 24000)[2000:-2000].pow(2).mean().sqrt()) * np.sqrt(2)
        assert amplitude == pytest.approx(gain, abs=1e-3), frequency


def test_channels_are_averaged_in_float32_before_resampling():
    left = np.random.RandomState(2).uniform(-0.9, 0.9, 4000)
    right = np.random.RandomState(3).uniform(-0.9, 0.9, 4000)
    clip = ArrayClip(np.stack([left, right], axis=1).astype(np.float32), 24000, "<clip>")
    mean = (left.astype(np.float32) + right.astype(np.float32)) / np.float32(2)
    np.testing.assert_array_equal(converted_pcm16(clip, 24000), to_pcm16(mean))


def test_non_finite_samples_are_refused_with_their_time():
    samples = np.zeros(48000)
    samples[36000] = np.nan
    with pytest.raises(Exception, match=r"<clip>: has NaN or infinite samples \(first at 1\.500 s\)"):
        converted_pcm16(ArrayClip(samples, 24000, "<clip>"), 24000)


def test_pcm16_reads_back_as_int16_over_32768():
    pcm = np.array([-32768, -1, 0, 1, 32767], dtype=np.int16)
    np.testing.assert_array_equal(pcm16_to_float32(pcm), np.float32([-1.0, -1 / 32768, 0.0, 1 / 32768, 32767 / 32768]))


def test_clap_requantisation_moves_each_sample_one_step_towards_zero():
    pcm = np.arange(-32768, 32768, dtype=np.int64).astype(np.int16)
    expected = ((pcm.astype(np.int64) - np.sign(pcm)) / 32767.0).astype(np.float32)
    expected[0] = np.float32(-1.0)  # -32768 clips to -1, then -32767 / 32767
    np.testing.assert_array_equal(clap_requantise(pcm), expected)


def test_clap_windows_start_every_hop_before_the_end_and_are_zero_padded():
    signal = np.arange(1, 26, dtype=np.float32)  # 25 samples, windows of 10 every 4: starts 0, 4, … 24
    windows = fadtk_windows(signal, 10, 4)
    assert windows.shape == (7, 10)
    np.testing.assert_array_equal(windows[1], signal[4:14])
    np.testing.assert_array_equal(windows[-1], [25] + [0] * 9)


def test_float16_rows_give_fadtk_s_online_statistics_exactly():
    """fadtk: per file, NumPy's float16 mean and np.cov's scatter of the float16 embeddings, merged file by file."""
    rng = np.random.RandomState(4)
    files = [torch.from_numpy((rng.standard_normal((n, 6)) * 3 + 7).astype(np.float32)) for n in (5, 40, 2, 17)]
    mu, scatter, count = np.zeros(6), np.zeros((6, 6)), 0
    for embeddings in files:
        stored = embeddings.numpy().astype(np.float16)
        file_mu, n = np.mean(stored, axis=0), stored.shape[0]
        file_scatter = np.cov(stored, rowvar=False) * (n - 1)
        delta = file_mu - mu
        mu = mu + n / (count + n) * delta
        scatter = scatter + file_scatter + np.outer(delta, delta) * count * n / (count + n)
        count += n
    stats = FeatureStats()
    for embeddings in files:
        stats.update(float16_rows(embeddings))
    np.testing.assert_allclose(stats.mean, mu, rtol=1e-14, atol=0)
    np.testing.assert_allclose(stats.cov, scatter / (count - 1), rtol=1e-12, atol=1e-14)
    plain = FeatureStats()
    for embeddings in files:
        plain.update(embeddings.to(torch.float16).double())
    assert np.abs(plain.mean - mu).max() > 1e-4  # the float16 means are what moves
