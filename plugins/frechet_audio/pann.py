"""The PANN CNN14 embedder: the 16 kHz AudioSet network in plain torch, one 2048-d embedding per clip.

As frechet-audio-distance's ``model_name="pann"``: each clip is resampled to 16 kHz and run whole through CNN14 (log-mel
front end, six conv blocks, time max + mean pooling); the output is the ReLU of ``fc1`` (``embedding``). The AudioSet
tag probabilities (``clipwise``, 527 sigmoid outputs) are available as a second output. Clips shorter than 4960
samples (0.31 s, 32 frames: the network halves time five times) are refused unless ``pad_short=true``.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from frechet.embedder import Embedder
from frechet.errors import InputError
from frechet_audio.checkpoints import PANN_CNN14_16K, load_checkpoint
from frechet_audio.clips import Clip
from frechet_audio.options import PAD_SHORT, weights_option
from frechet_audio.logmel import HOP, SAMPLE_RATE, LogMel, Spectrogram
from frechet_audio.resample import RESAMPLER
from frechet_audio.stream import mono_signal

EMBEDDING_SIZE = 2048
CLASSES = 527
#: The shortest clip CNN14 accepts: 32 spectrogram frames.
MIN_SAMPLES = 31 * HOP


class ConvBlock(nn.Module):
    """Two 3x3 convolutions with batch norm and ReLU, then average pooling."""

    def __init__(self, channels_in: int, channels_out: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(channels_in, channels_out, kernel_size=3, padding=1, bias=False)
        self.conv2 = nn.Conv2d(channels_out, channels_out, kernel_size=3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(channels_out)
        self.bn2 = nn.BatchNorm2d(channels_out)

    def forward(self, x: torch.Tensor, pool: int) -> torch.Tensor:
        x = F.relu(self.bn1(self.conv1(x)))
        x = F.relu(self.bn2(self.conv2(x)))
        return F.avg_pool2d(x, kernel_size=pool)


class Cnn14(nn.Module):
    """CNN14 with the parameter names of ``Cnn14_16k_mAP=0.438.pth`` (front end, ``bn0``, ``conv_block1..6``, ``fc1``,
    ``fc_audioset``); in eval mode (dropout and SpecAugment are training-only)."""

    def __init__(self) -> None:
        super().__init__()
        self.spectrogram_extractor = Spectrogram()
        self.logmel_extractor = LogMel()
        self.bn0 = nn.BatchNorm2d(64)
        widths = (1, 64, 128, 256, 512, 1024, 2048)
        for index in range(1, 7):
            self.add_module(f"conv_block{index}", ConvBlock(widths[index - 1], widths[index]))
        self.fc1 = nn.Linear(2048, EMBEDDING_SIZE)
        self.fc_audioset = nn.Linear(2048, CLASSES)

    def log_mel(self, waveforms: torch.Tensor) -> torch.Tensor:
        """(B, samples) at 16 kHz -> (B, 1, frames, 64) log-mel in dB."""
        return self.logmel_extractor(self.spectrogram_extractor(waveforms))

    def forward(self, waveforms: torch.Tensor) -> dict[str, torch.Tensor]:
        """(B, samples) at 16 kHz -> {"embedding": (B, 2048), "clipwise": (B, 527)}."""
        x = self.bn0(self.log_mel(waveforms).transpose(1, 3)).transpose(1, 3)  # normalise each mel band
        for index in range(1, 7):
            x = getattr(self, f"conv_block{index}")(x, pool=2 if index < 6 else 1)
        x = x.mean(dim=3)
        x = x.max(dim=2).values + x.mean(dim=2)
        embedding = F.relu(self.fc1(x))
        return {"embedding": embedding, "clipwise": torch.sigmoid(self.fc_audioset(embedding))}


class Waveforms:
    """A batch of clips of different lengths: a list of 1-D float32 tensors that moves to a device as one."""

    def __init__(self, clips: list[torch.Tensor]) -> None:
        self.clips = clips

    def to(self, device: torch.device | str, non_blocking: bool = False) -> Waveforms:
        return Waveforms([clip.to(device, non_blocking=non_blocking) for clip in self.clips])

    def __len__(self) -> int:
        return len(self.clips)


class PannEmbedder(Embedder):
    """PANN CNN14 (AudioSet, 16 kHz) 2048-d embedding of each whole clip"""

    name = "pann"
    domain = "audio"
    aliases = ("pann-cnn14", "cnn14")
    fd_key = "fad"
    outputs = {"embedding": EMBEDDING_SIZE, "clipwise": CLASSES}
    default_output = "embedding"
    sample_rate = SAMPLE_RATE
    weights = (PANN_CNN14_16K,)
    options = (PAD_SHORT, weights_option("PANN CNN14"))

    def __init__(self, pad_short: bool = False, weights: Path | None = None) -> None:
        super().__init__()
        self.pad_short = pad_short
        checkpoint = load_checkpoint(PANN_CNN14_16K, weights)
        self.model = Cnn14().eval()
        wrapped = checkpoint.state.get("model")  # published files hold {"model": state dict, "iteration", "sampler"}
        checkpoint.load_into(self.model, wrapped if isinstance(wrapped, dict) else checkpoint.state)
        self._weights_id = checkpoint.identity

    def transform(self, clip: Clip) -> torch.Tensor:
        """The whole clip at 16 kHz, mono float32; InputError when it is shorter than CNN14 can take."""
        signal = mono_signal(clip, SAMPLE_RATE)
        if signal.size < MIN_SAMPLES:
            if not self.pad_short:
                raise InputError(
                    f"{clip.name}: {clip.seconds:.3f} s is shorter than CNN14 accepts "
                    f"({MIN_SAMPLES / SAMPLE_RATE:.2f} s);"
                    " pass --embedder-option pad_short=true to zero-pad short clips, or --skip-bad to leave them out"
                )
            signal = np.pad(signal, (0, MIN_SAMPLES - signal.size))
        return torch.from_numpy(signal.astype(np.float32))

    def collate(self, examples: list[torch.Tensor]) -> Waveforms:
        return Waveforms(examples)

    def forward(self, batch: Waveforms) -> dict[str, torch.Tensor]:
        """Clips of equal length run together, other lengths separately (padding would change the pooling)."""
        order = sorted(range(len(batch)), key=lambda position: batch.clips[position].shape[0])
        parts: dict[str, list[torch.Tensor]] = defaultdict(list)
        for _, group in itertools.groupby(order, key=lambda position: batch.clips[position].shape[0]):
            outputs = self.model(torch.stack([batch.clips[position] for position in group]))
            for name, values in outputs.items():
                parts[name].append(values)
        restore = torch.empty(len(order), dtype=torch.long)
        restore[order] = torch.arange(len(order))
        return {name: torch.cat(values)[restore.to(values[0].device)] for name, values in parts.items()}

    def config(self) -> dict[str, Any]:
        config = {"weights": self._weights_id, "resampler": RESAMPLER}
        if self.pad_short:
            config["pad_short"] = True
        return config

