"""VGGish's log-mel input, computed as the reference ``vggish_input``/``mel_features`` do, in float64 NumPy.

16 kHz mono; 25 ms (400-sample) frames every 10 ms (160 samples), periodic Hann window, |rfft| with 512 points; a
64-band HTK-mel filterbank from 125 to 7500 Hz (the DC bin excluded); log(mel + 0.01). Examples are 96 consecutive
frames (0.96 s) without overlap, so example j covers samples [15360·j, 15360·j + 15600) and a clip of N samples yields
⌊(N − 15600) / 15360⌋ + 1 examples (none when N < 15600).
"""

from __future__ import annotations

import functools

import numpy as np

SAMPLE_RATE = 16000
FRAME_LENGTH = 400  # round(0.025 s * 16 kHz)
FRAME_HOP = 160  # round(0.010 s * 16 kHz)
FFT_LENGTH = 512  # next power of two above the frame length
MEL_BANDS = 64
MEL_LOW_HZ = 125.0
MEL_HIGH_HZ = 7500.0
LOG_OFFSET = 0.01
EXAMPLE_FRAMES = 96  # 0.96 s of 10 ms frames
EXAMPLE_HOP_FRAMES = 96
#: Samples one example covers, and the distance between consecutive examples' first samples.
EXAMPLE_SAMPLES = (EXAMPLE_FRAMES - 1) * FRAME_HOP + FRAME_LENGTH
EXAMPLE_HOP = EXAMPLE_HOP_FRAMES * FRAME_HOP


def hertz_to_mel(hertz: np.ndarray | float) -> np.ndarray:
    """HTK mel scale: 1127 ln(1 + f / 700)."""
    return 1127.0 * np.log(1.0 + np.asarray(hertz, dtype=np.float64) / 700.0)


@functools.lru_cache(maxsize=1)
def mel_matrix() -> np.ndarray:
    """The (257, 64) matrix taking |STFT| rows to mel bands: triangles evenly spaced in HTK mel, DC bin zeroed."""
    bins = FFT_LENGTH // 2 + 1
    bin_mels = hertz_to_mel(np.linspace(0.0, SAMPLE_RATE / 2, bins))
    edges = np.linspace(hertz_to_mel(MEL_LOW_HZ), hertz_to_mel(MEL_HIGH_HZ), MEL_BANDS + 2)
    lower, centre, upper = edges[:-2], edges[1:-1], edges[2:]
    rising = (bin_mels[:, None] - lower) / (centre - lower)
    falling = (upper - bin_mels[:, None]) / (upper - centre)
    weights = np.maximum(0.0, np.minimum(rising, falling))
    weights[0, :] = 0.0
    weights.flags.writeable = False
    return weights


@functools.lru_cache(maxsize=1)
def periodic_hann() -> np.ndarray:
    """Hann window of period FRAME_LENGTH (the symmetric window without its last zero)."""
    window = 0.5 - 0.5 * np.cos(2 * np.pi / FRAME_LENGTH * np.arange(FRAME_LENGTH))
    window.flags.writeable = False
    return window


def log_mel(signal: np.ndarray) -> np.ndarray:
    """(frames, 64) log-mel spectrogram of a 16 kHz mono signal (frames without padding)."""
    frames = np.lib.stride_tricks.sliding_window_view(np.asarray(signal, dtype=np.float64), FRAME_LENGTH, axis=-1)
    frames = frames[..., ::FRAME_HOP, :]
    spectrum = np.abs(np.fft.rfft(frames * periodic_hann(), FFT_LENGTH))
    return np.log(spectrum @ mel_matrix() + LOG_OFFSET)


def log_mel_examples(windows: np.ndarray) -> np.ndarray:
    """VGGish inputs, float32 (k, 1, 96, 64), for k windows of EXAMPLE_SAMPLES samples each (k, 15600)."""
    examples = log_mel(windows)
    return examples.astype(np.float32)[:, None]
