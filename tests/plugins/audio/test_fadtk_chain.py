"""fadtk's reading chain: the 16-bit files it converts every input to, CLAP's requantisation and windows, and the
float16 statistics; checked against fadtk 1.1.0's own converted files (scripts/goldens/fadtk_encodec.py), which
tests/plugins/audio/fadtk_converted.py rebuilds on any CPU."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile
import torch

from fadtk_converted import STEPS, digest, fadtk_pcm16, key
from frechet.stats import FeatureStats
from frechet_audio.clips import ArrayClip
from frechet_audio.fadtk import (
    clap_requantise,
    converted_pcm16,
    fadtk_windows,
    float16_rows,
    kaiser_kernel,
    kaiser_resample,
    mono_float32,
    pcm16_to_float32,
    to_pcm16,
)
from frechet_audio.files import FileClip

GOLDENS = Path(__file__).resolve().parents[2] / "goldens" / "fadtk_encodec"


@pytest.fixture(scope="module")
def fadtk_facts() -> dict:
    return json.loads((GOLDENS / "goldens.json").read_text())


@pytest.fixture(scope="module")
def fadtk_files(corpus, fadtk_facts) -> dict[str, tuple[FileClip, int, np.ndarray]]:
    """{"rate/group/name": (clip, rate, fadtk's converted samples)} for all 30 clips at 24 and 48 kHz, rebuilt from the
    float64 resampling and the committed corrections."""
    files, mono = {}, {}
    with np.load(STEPS) as steps:
        for name in fadtk_facts["converted"]:
            rate, clip_key = name.split("/", 1)
            clip = FileClip(corpus[clip_key])
            signal = mono.setdefault(clip_key, mono_float32(clip))
            files[name] = clip, int(rate), fadtk_pcm16(signal, clip.sample_rate, int(rate), steps[key(name)])
    return files


def _steps_apart(ours: np.ndarray, fadtk: np.ndarray) -> tuple[int, int]:
    """The largest difference between two 16-bit signals, in steps, and how many samples differ."""
    difference = np.abs(ours.astype(np.int32) - fadtk)
    return int(difference.max(initial=0)), int(np.count_nonzero(difference))


def test_fadtk_s_converted_files_are_rebuilt_exactly_from_their_digests(corpus, fadtk_facts, fadtk_files):
    """The oracle below: on any CPU, the rebuilt samples are fadtk's files (sha256 as fadtk wrote them)."""
    assert len(fadtk_files) == 2 * len(corpus) == 60
    for name, (_, _, samples) in fadtk_files.items():
        assert digest(samples) == fadtk_facts["converted"][name], name


def test_every_converted_file_is_within_one_step_of_fadtk_s(fadtk_files):
    """All 30 clips (16/22.05/44.1/48/8 kHz, mono to 6 channels, PCM, float, FLAC, Ogg) at 24 and 48 kHz.

    The float32 convolution is fadtk's own call, so on the CPU that ran fadtk the files are identical; on another
    its last bits (and fadtk's own files) move, and a sample next to a 16-bit step can land one step over. A fault in
    the chain — gain, filter, channel mix, rounding rule — moves many samples or moves them further."""
    worst, moved, total = 0, 0, 0
    for name, (clip, rate, fadtk) in fadtk_files.items():
        samples = converted_pcm16(clip, rate)
        assert samples.shape == fadtk.shape, name
        largest, count = _steps_apart(samples, fadtk)
        worst, moved, total = max(worst, largest), moved + count, total + samples.size
    assert worst <= 1 and moved <= total // 100, (worst, moved, total)


def test_the_one_step_bound_catches_a_small_gain_error_or_another_rounding(fadtk_files):
    """Power check of the test above on two clips: a gain off by 1e-4 (-0.0009 dB) or truncating instead of
    libsndfile's rounding breaks the bound."""
    for name in ("48000/eval44k/tone523", "24000/background/speech_a"):
        clip, rate, fadtk = fadtk_files[name]
        resampled = kaiser_resample(mono_float32(clip), clip.sample_rate, rate).double().numpy()
        assert _steps_apart(to_pcm16(resampled), fadtk)[0] <= 1
        assert _steps_apart(to_pcm16(resampled * (1 + 1e-4)), fadtk)[0] >= 2, name
        truncated = np.clip(np.trunc(resampled * 32768), -32768, 32767).astype(np.int16)
        assert _steps_apart(truncated, fadtk)[1] > fadtk.size // 100, name


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
