"""The log-mel front end torchlibrosa builds for PANN CNN14 and CLAP's HTS-AT, in plain torch with its parameter names.

An n_fft-point STFT as two Conv1d layers (real and imaginary DFT rows times a periodic Hann window, stride ``hop``)
over the signal reflect-padded by n_fft/2 samples at each end; power spectrum; a Slaney mel filterbank (librosa's
``filters.mel`` with its defaults, float32); 10·log10(max(mel, 1e-10)). The defaults are PANN's 16 kHz checkpoint
(512 points, hop 160, 64 bands from 50 to 8000 Hz). The weights are computed here for a fresh model; loading a
checkpoint replaces them with the checkpoint's own copies.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

SAMPLE_RATE = 16000
FFT_LENGTH = 512
HOP = 160
MEL_BANDS = 64
MEL_LOW_HZ = 50.0
MEL_HIGH_HZ = 8000.0
AMIN = 1e-10


def dft_kernels(n_fft: int = FFT_LENGTH) -> tuple[np.ndarray, np.ndarray]:
    """Real and imaginary Conv1d kernels, float32 (n_fft/2 + 1, 1, n_fft): windowed rows of exp(-2πi·nk/n_fft)."""
    n = np.arange(n_fft)
    k = np.arange(n_fft // 2 + 1)
    angle = 2 * np.pi * ((k[:, None] * n[None, :]) % n_fft) / n_fft
    window = 0.5 - 0.5 * np.cos(2 * np.pi * n / n_fft)  # periodic Hann
    real = (np.cos(angle) * window).astype(np.float32)[:, None]
    imag = (-np.sin(angle) * window).astype(np.float32)[:, None]
    return real, imag


_SLANEY_STEP_HZ = 200.0 / 3  # linear part: one mel per 66.7 Hz
_SLANEY_BREAK_HZ = 1000.0
_SLANEY_BREAK_MEL = _SLANEY_BREAK_HZ / _SLANEY_STEP_HZ
_SLANEY_LOG_STEP = np.log(6.4) / 27.0  # logarithmic part: 27 mels per factor 6.4


def slaney_hz_to_mel(hertz: np.ndarray) -> np.ndarray:
    """Slaney's mel scale (librosa's default): linear below 1 kHz, logarithmic above, same arithmetic as librosa."""
    hertz = np.asarray(hertz, dtype=np.float64)
    mels = hertz / _SLANEY_STEP_HZ
    above = hertz >= _SLANEY_BREAK_HZ
    mels[above] = _SLANEY_BREAK_MEL + np.log(hertz[above] / _SLANEY_BREAK_HZ) / _SLANEY_LOG_STEP
    return mels


def slaney_mel_to_hz(mels: np.ndarray) -> np.ndarray:
    """Inverse of :func:`slaney_hz_to_mel`."""
    mels = np.asarray(mels, dtype=np.float64)
    hertz = _SLANEY_STEP_HZ * mels
    above = mels >= _SLANEY_BREAK_MEL
    hertz[above] = _SLANEY_BREAK_HZ * np.exp(_SLANEY_LOG_STEP * (mels[above] - _SLANEY_BREAK_MEL))
    return hertz


def mel_filterbank(
    rate: int = SAMPLE_RATE, n_fft: int = FFT_LENGTH, bands: int = MEL_BANDS, low: float = MEL_LOW_HZ,
    high: float = MEL_HIGH_HZ,
) -> np.ndarray:
    """(n_fft/2 + 1, bands) float32 Slaney-normalised triangular filters, as librosa's ``filters.mel(...).T``."""
    bin_hz = np.fft.rfftfreq(n_fft, 1.0 / rate)
    low_mel, high_mel = slaney_hz_to_mel(np.array([low, high]))
    edges = slaney_mel_to_hz(np.linspace(low_mel, high_mel, bands + 2))
    widths = np.diff(edges)
    ramps = edges[:, None] - bin_hz[None, :]
    rising = -ramps[:-2] / widths[:-1, None]
    falling = ramps[2:] / widths[1:, None]
    triangles = np.maximum(0.0, np.minimum(rising, falling)).astype(np.float32)
    area = 2.0 / (edges[2:] - edges[:-2])  # equal-area ("slaney") normalisation, applied in float32 like librosa
    return (triangles * area[:, None]).astype(np.float32).T.copy()


class _STFT(nn.Module):
    def __init__(self, n_fft: int, hop: int) -> None:
        super().__init__()
        bins = n_fft // 2 + 1
        self.conv_real = nn.Conv1d(1, bins, n_fft, stride=hop, bias=False)
        self.conv_imag = nn.Conv1d(1, bins, n_fft, stride=hop, bias=False)
        real, imag = dft_kernels(n_fft)
        with torch.no_grad():
            self.conv_real.weight.copy_(torch.from_numpy(real))
            self.conv_imag.weight.copy_(torch.from_numpy(imag))


class Spectrogram(nn.Module):
    """Waveforms (B, samples) -> power spectrogram (B, 1, frames, n_fft/2 + 1), frames centred on every hop-th
    sample."""

    def __init__(self, n_fft: int = FFT_LENGTH, hop: int = HOP) -> None:
        super().__init__()
        self.n_fft = n_fft
        self.stft = _STFT(n_fft, hop)

    def forward(self, waveforms: torch.Tensor) -> torch.Tensor:
        padded = F.pad(waveforms[:, None, :], (self.n_fft // 2, self.n_fft // 2), mode="reflect")
        real = self.stft.conv_real(padded)[:, None].transpose(2, 3)
        imag = self.stft.conv_imag(padded)[:, None].transpose(2, 3)
        return real**2 + imag**2


class LogMel(nn.Module):
    """Power spectrogram (..., n_fft/2 + 1) -> log-mel in dB (..., bands); arguments as :func:`mel_filterbank`."""

    def __init__(
        self, rate: int = SAMPLE_RATE, n_fft: int = FFT_LENGTH, bands: int = MEL_BANDS, low: float = MEL_LOW_HZ,
        high: float = MEL_HIGH_HZ,
    ) -> None:
        super().__init__()
        self.melW = nn.Parameter(torch.from_numpy(mel_filterbank(rate, n_fft, bands, low, high)), requires_grad=False)

    def forward(self, power: torch.Tensor) -> torch.Tensor:
        return 10.0 * torch.log10(torch.clamp(torch.matmul(power, self.melW), min=AMIN))
