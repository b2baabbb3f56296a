"""fadtk's converted 16-bit files, rebuilt on any CPU: the float64 resampling's samples plus committed one-step
corrections (tests/goldens/fadtk_encodec/converted_steps.npz, written by scripts/goldens/fadtk_converted_steps.py),
checked against the sha256 digests of fadtk's own files (goldens.json).

fadtk filters in float32, whose last bits depend on the CPU's convolution kernels, so its files are not the same on
every machine; the float64 filter is (its rounding noise, ~1e-16, moves a 16-bit sample with probability ~1e-11).
"""

from __future__ import annotations

import hashlib
import math
from pathlib import Path

import numpy as np
import torch

from frechet_audio.fadtk import kaiser_kernel, to_pcm16

STEPS = Path(__file__).resolve().parents[2] / "goldens" / "fadtk_encodec" / "converted_steps.npz"


def float64_resampled(mono: torch.Tensor, source_rate: int, rate: int) -> np.ndarray:
    """fadtk's resampling of a mono float32 signal with the sums in float64 (same kernel), before rounding."""
    signal = mono.double().numpy()
    if source_rate == rate:
        return signal
    kernel, width = kaiser_kernel(source_rate, rate)
    common = math.gcd(source_rate, rate)
    down, up = source_rate // common, rate // common
    taps = kernel[:, 0, :].double().numpy()
    padded = np.pad(signal, (width, width + down))
    windows = np.lib.stride_tricks.sliding_window_view(padded, taps.shape[1])[::down]  # conv1d's sums as a product
    phases = np.concatenate([windows[start : start + 4096] @ taps.T for start in range(0, len(windows), 4096)])
    return phases.reshape(-1)[: math.ceil(up * signal.size / down)]


def fadtk_pcm16(mono: torch.Tensor, source_rate: int, rate: int, steps: np.ndarray) -> np.ndarray:
    """fadtk's converted samples of a clip whose channels average to ``mono`` (:func:`mono_float32`): the float64
    resampling rounded as fadtk writes files, plus ``steps`` ((2, n) int32: positions, signed steps)."""
    samples = to_pcm16(float64_resampled(mono, source_rate, rate))
    samples[steps[0]] += steps[1].astype(np.int16)
    return samples


def digest(samples: np.ndarray) -> str:
    """sha256 of int16 samples as little-endian bytes, as the goldens store fadtk's files."""
    return hashlib.sha256(np.ascontiguousarray(samples, dtype="<i2").tobytes()).hexdigest()


def key(name: str) -> str:
    """The npz key of a converted file's corrections ("24000/misc/tone_8k" -> "24000.misc.tone_8k")."""
    return name.replace("/", ".")
