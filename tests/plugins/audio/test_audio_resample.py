"""Resampling: scipy's resample_poly, and the block-by-block resampler that must reproduce it sample for sample."""

from __future__ import annotations

import numpy as np
import pytest
from frechet_audio.resample import StreamResampler, rational_factors, resample
from frechet_audio.stream import Windows

RATES = [44100, 48000, 22050, 32000, 8000, 11025, 96000, 16000]


@pytest.mark.parametrize("rate", RATES)
def test_resampling_keeps_an_in_band_tone_and_removes_one_above_the_new_nyquist(rate):
    seconds = np.arange(2 * rate) / rate
    out = resample(np.sin(2 * np.pi * 1000 * seconds), rate, 16000)
    assert out.size == 2 * 16000
    middle = slice(1000, -1000)  # away from the filter's edge effects
    expected = np.sin(2 * np.pi * 1000 * np.arange(2 * 16000) / 16000)
    assert np.abs(out[middle] - expected[middle]).max() < 2e-3  # the 1 kHz tone, same phase and amplitude
    if rate > 18000:  # a 9 kHz tone cannot be represented at 16 kHz: the anti-aliasing filter removes it
        assert np.abs(resample(np.sin(2 * np.pi * 9000 * seconds), rate, 16000)[middle]).max() < 0.05


def test_rational_factors_are_in_lowest_terms_and_exact():
    for rate in RATES:
        up, down = rational_factors(rate, 16000)
        assert rate * up == 16000 * down and np.gcd(up, down) == 1


@pytest.mark.parametrize("rate", RATES)
@pytest.mark.parametrize("block", [1, 333, 4096, 10**6])
def test_streaming_resampler_output_is_bit_identical_to_resampling_the_whole_signal(rate, block):
    length = 2 * rate + 1231 if block > 1 else 3001
    x = np.random.RandomState(block).standard_normal(length)
    stream = StreamResampler(rate, 16000)
    pieces = [stream.push(x[start : start + block]) for start in range(0, length, block)]
    pieces.append(stream.finish())
    np.testing.assert_array_equal(np.concatenate(pieces), resample(x, rate, 16000))


@pytest.mark.parametrize("length", [0, 1, 2, 50])
def test_streaming_resampler_handles_signals_shorter_than_its_filter(length):
    x = np.linspace(-1, 1, length)
    stream = StreamResampler(44100, 16000)
    out = np.concatenate([stream.push(x), stream.finish()])
    np.testing.assert_array_equal(out, resample(x, 44100, 16000))
    assert out.size == -(-length * 160 // 441)


def test_windows_cut_overlapping_windows_across_block_boundaries():
    x = np.arange(100.0)
    windows = Windows(length=10, hop=7)
    cut = np.concatenate([windows.push(x[i : i + 13]) for i in range(0, 100, 13)])
    expected = np.stack([x[j * 7 : j * 7 + 10] for j in range((100 - 10) // 7 + 1)])
    np.testing.assert_array_equal(cut, expected)
    rest = x[len(expected) * 7 :]  # 9 samples after the 13th window
    np.testing.assert_array_equal(windows.padded_rest()[0], np.r_[rest, np.zeros(10 - rest.size)])
