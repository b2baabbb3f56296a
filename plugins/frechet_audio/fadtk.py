"""fadtk's audio reading chain in plain torch and NumPy: what its models see of a file, sample for sample.

Measured in fadtk 1.1.0's code, run with torch/torchaudio 2.8 (torchaudio reads and writes through soundfile, i.e.
libsndfile 1.2.2; from torchaudio 2.9 on, loading goes through torchcodec/FFmpeg instead and the numbers can move).
For every model fadtk first converts each input file once into ``convert/<rate>/<name>.wav`` beside it:

1. the file is decoded to float32 by libsndfile (PCM scaled by 2^-(bits-1));
2. the channels are averaged in float32 (``torch.mean`` over the channel axis);
3. the mono signal is resampled to the model's rate by torchaudio's windowed-sinc resampler with fadtk's settings —
   Kaiser window, β = 14.769656459379492, 64 zero crossings, roll-off 0.9475937167399596; the kernel computed in
   float64 and cached as float32, the convolution in float32 (whose last bits depend on the CPU: the converted
   samples equal fadtk's on the same machine and are within one 16-bit step of them on another) — unless the rate
   already matches;
4. the result is written as 16-bit PCM WAV: libsndfile 1.2.2 rounds x·2³¹ to a 32-bit integer (to nearest, ties to
   even, clipped) and keeps its top 16 bits — floor(32768·x) except within 2⁻³² of a step (-1e-14 gives 0, not -1).

The models then read that file back: EnCodec as int16/32768 in float32 (:func:`pcm16_to_float32`), LAION-CLAP as
int16/32768 in float64 followed by CLAP's own int16 round trip (:func:`clap_requantise`) and 10 s windows every 1 s,
each zero-padded to 10 s (:func:`fadtk_windows`). fadtk stores every embedding in float16 and takes each file's mean
in float16 before merging the files' statistics; :func:`float16_rows` reproduces that.

Typical use in an embedder's ``transform``::

    signal = pcm16_to_float32(converted_pcm16(clip, 24000))            # fadtk's EnCodec input
    windows = fadtk_windows(clap_requantise(converted_pcm16(clip, 48000)), 480000, 48000)   # fadtk's CLAP input

and in its ``forward``, per clip: ``rows = float16_rows(embeddings)`` when ``float16`` is on.
"""

from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np
import torch

from frechet.embedder import Option
from frechet.errors import InputError
from frechet_audio.clips import Clip
from frechet_audio.resample import RESAMPLER
from frechet_audio.stream import BLOCK_FRAMES

#: The versions the chain was measured against; part of the embedder id of every embedder that uses it.
FADTK_CHAIN = "fadtk-1.1.0/torchaudio-2.8-soundfile/libsndfile-1.2.2"
#: torchaudio.transforms.Resample's settings in fadtk's ``load_audio``.
ZERO_CROSSINGS = 64
ROLLOFF = 0.9475937167399596
BETA = 14.769656459379492

#: ``chain=fadtk`` reproduces fadtk's numbers; ``chain=frechet`` reads as frechet's other audio embedders do
#: (float64 samples, channels averaged in float64, scipy's resample_poly, no 16-bit rounding).
CHAIN = Option(
    "chain",
    choices=("fadtk", "frechet"),
    default="fadtk",
    help="fadtk: fadtk 1.1.0's reading, resampling and 16-bit rounding; frechet: float64 reading, resample_poly",
)
#: fadtk's float16 storage of embeddings and of each file's mean; None follows the chain (on for fadtk).
FLOAT16 = Option(
    "float16",
    bool,
    help="round embeddings and each clip's mean to float16 as fadtk stores them (default: on with chain=fadtk)",
)



def chain_config(chain: str, weights_id: str, float16: bool) -> dict[str, Any]:
    """The id fields of an embedder that reads through either chain: its weights, float16, and how files are read."""
    config: dict[str, Any] = {"weights": weights_id, "float16": float16}
    if chain == "fadtk":
        config["chain"] = FADTK_CHAIN
    else:
        config.update(chain="frechet", resampler=RESAMPLER)
    return config

def read_float32(clip: Clip) -> torch.Tensor:
    """The clip's samples as libsndfile decodes them to float32, shape (channels, frames); InputError on NaN/Inf."""
    blocks = []
    position = 0
    for block in clip.blocks(BLOCK_FRAMES):
        finite = np.isfinite(block).all(axis=1)
        if not finite.all():
            first = position + int(np.argmin(finite))
            raise InputError(
                f"{clip.name}: has NaN or infinite samples (first at {first / clip.sample_rate:.3f} s); "
                "fix or remove the clip"
            )
        position += block.shape[0]
        blocks.append(block.astype(np.float32))  # float64 reads of 8/16/24-bit PCM and float files are exact
    frames = np.concatenate(blocks) if len(blocks) > 1 else blocks[0]
    return torch.from_numpy(frames).t()  # channels first, as a view: the layout torchaudio's loader returns


def mono_float32(clip: Clip) -> torch.Tensor:
    """The clip averaged over its channels in float32, as fadtk does before resampling, shape (frames,)."""
    return torch.mean(read_float32(clip), 0)


@functools.lru_cache(maxsize=16)
def kaiser_kernel(source_rate: int, target_rate: int) -> tuple[torch.Tensor, int]:
    """torchaudio's sinc resampling filter bank for ``source_rate`` -> ``target_rate`` at fadtk's settings:
    (phases, 1, taps) float32 and the half-width in input samples.

    With the rates reduced by their gcd to ``up`` (target) and ``down`` (source), phase j of the filter samples the
    Kaiser-windowed sinc at t = (k/down - j/up)·f_c for k = -width … width+down-1, where f_c = min(up, down)·roll-off
    and width = ceil(64·down/f_c); t is clamped to ±64. As in torchaudio, j/up is a float32 quotient, β and the
    window's normaliser I₀(β) are float32, the rest float64, and the kernel is rounded to float32 at the end.
    """
    common = math.gcd(source_rate, target_rate)
    down, up = source_rate // common, target_rate // common
    cutoff = min(down, up) * ROLLOFF
    width = math.ceil(ZERO_CROSSINGS * down / cutoff)
    offsets = torch.arange(-width, width + down, dtype=torch.float64) / down
    phases = (torch.arange(0, -up, -1, dtype=torch.float32) / up).to(torch.float64)
    t = ((phases[:, None] + offsets[None, :]) * cutoff).clamp(-ZERO_CROSSINGS, ZERO_CROSSINGS)
    beta = torch.tensor(BETA, dtype=torch.float32)
    window = torch.i0(beta.double() * torch.sqrt(1 - (t / ZERO_CROSSINGS) ** 2)) / torch.i0(beta).double()
    t = t * math.pi
    sinc = torch.where(t == 0, torch.ones_like(t), torch.sin(t) / t)
    return (sinc * (window * (cutoff / down))).float()[:, None, :], width


def kaiser_resample(signal: torch.Tensor, source_rate: int, target_rate: int) -> torch.Tensor:
    """A mono float32 signal (frames,) resampled as fadtk does (torchaudio's Resample at fadtk's settings).

    The whole signal is filtered at once: the float32 convolution's results depend on how it is split, and only the
    whole-signal call is fadtk's (identical on the same CPU; the last bits move between CPUs' kernels, fadtk's too).
    Output length: ceil(frames·target/source).
    """
    if source_rate == target_rate:
        return signal
    kernel, width = kaiser_kernel(source_rate, target_rate)
    common = math.gcd(source_rate, target_rate)
    down, up = source_rate // common, target_rate // common
    padded = torch.nn.functional.pad(signal.reshape(1, 1, -1), (width, width + down))
    phases = torch.nn.functional.conv1d(padded, kernel, stride=down)  # (1, up, frames)
    return phases[0].t().reshape(-1)[: math.ceil(up * signal.numel() / down)]


def to_pcm16(signal: torch.Tensor | np.ndarray) -> np.ndarray:
    """A float signal as libsndfile 1.2.2 writes it to a 16-bit PCM file: x·2³¹ rounded to nearest (ties to even)
    and clipped to int32, then shifted right by 16 bits."""
    samples = np.asarray(signal, dtype=np.float64)
    wide = np.clip(np.rint(samples * 2.0**31), -(2.0**31), 2.0**31 - 1).astype(np.int64)
    return (wide >> 16).astype(np.int16)


def converted_pcm16(clip: Clip, rate: int) -> np.ndarray:
    """The samples of the 16-bit mono WAV fadtk converts ``clip`` to for a model at ``rate`` Hz (int16)."""
    return to_pcm16(kaiser_resample(mono_float32(clip), clip.sample_rate, rate))


def pcm16_to_float32(pcm: np.ndarray) -> np.ndarray:
    """16-bit samples as torchaudio.load (soundfile) returns them: int16 / 32768 in float32."""
    return pcm.astype(np.float32) / np.float32(32768.0)


def clap_requantise(pcm: np.ndarray) -> np.ndarray:
    """What fadtk feeds LAION-CLAP from a converted file: int16 / 32768 (float64, fadtk's ``load_wav``), then CLAP's
    round trip — clipped to [-1, 1], times 32767 truncated to int16, divided by 32767 — in float32.

    Every non-zero sample moves one step towards zero (p -> (p - sign p) / 32767).
    """
    return int16_round_trip(pcm.astype(np.float64) / 32768.0)


def int16_round_trip(signal: np.ndarray) -> np.ndarray:
    """CLAP's quantisation of its input, as fadtk's ``CLAPLaionModel`` and laion_clap apply it
    (``int16_to_float32(float32_to_int16(x))``): clipped to [-1, 1], times 32767 truncated towards zero to int16,
    divided by 32767, as float32; the arithmetic in the signal's own precision."""
    quantised = (np.clip(signal, -1.0, 1.0) * 32767.0).astype(np.int16)
    return (quantised / 32767.0).astype(np.float32)


def fadtk_windows(signal: np.ndarray, length: int, hop: int) -> np.ndarray:
    """fadtk's windows for CLAP: one starting at every multiple of ``hop`` before the end of ``signal`` (so
    ceil(frames / hop) of them), each ``length`` samples, zero-padded past the end; shape (windows, length)."""
    starts = range(0, signal.shape[0], hop)
    padded = np.concatenate([signal, np.zeros(length, dtype=signal.dtype)])
    return np.stack([padded[start : start + length] for start in starts])


def float16_rows(embeddings: torch.Tensor) -> torch.Tensor:
    """One clip's embeddings (frames, dims) as fadtk's statistics see them, in float64.

    fadtk stores the embeddings in float16 and, per file, merges NumPy's float16 mean (float32 sums, rounded to
    float16) with the scatter about the exact float64 mean (``np.cov``). The rows returned are the float16
    embeddings shifted by (float16 mean - exact mean): their mean and scatter are exactly those two, so the
    statistics frechet accumulates from them equal fadtk's online merge of the files.
    """
    rounded = embeddings.detach().to(torch.float16).cpu().numpy()
    exact = rounded.astype(np.float64)
    stored_mean = np.mean(rounded, axis=0).astype(np.float64)
    return torch.from_numpy(exact - exact.mean(axis=0) + stored_mean)
