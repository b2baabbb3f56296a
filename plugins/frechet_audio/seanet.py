"""EnCodec's SEANet encoder in plain torch, with the parameter names of the official checkpoints' ``encoder.*`` keys.

The encoder maps a waveform (B, channels, T) to its continuous latent (B, 128, ceil(T / 320)) — the 75 Hz (24 kHz
model) or 150 Hz (48 kHz model) frames EnCodec quantises. Layers: a 7-tap convolution to 32 channels; four stages,
each a residual block (ELU, 3-tap conv to half width, ELU, 1-tap conv back, plus a 1-tap conv shortcut) followed by
ELU and a strided convolution (kernel 2·ratio) doubling the width, for ratios 2, 4, 5, 8; a two-layer LSTM with a
skip connection; ELU and a 7-tap convolution to 128. Every convolution pads as EnCodec's ``SConv1d`` does, by
reflection: (kernel - 1)·dilation - (stride - 1) samples — all on the left for the causal 24 kHz model, split with the
extra sample on the left for the 48 kHz one — plus, on the right, as many as make the last window full.

The 24 kHz model's convolutions are weight-normalised (``weight_g``, ``weight_v``): the weight g·v/‖v‖ is computed
once when the checkpoint is loaded. The 48 kHz model's are plain convolutions followed by a one-group GroupNorm over
channels and time (``conv.norm.weight``/``bias``).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

#: Downsampling ratios in the encoder's order (EnCodec lists them reversed, for the decoder).
RATIOS = (2, 4, 5, 8)
HOP = 320
DIMENSION = 128
FILTERS = 32


@dataclass(frozen=True)
class Variant:
    """One EnCodec model's encoder: input channels, causal or centred padding, weight norm or time group norm."""

    sample_rate: int
    channels: int
    causal: bool
    group_norm: bool


ENCODEC_24K = Variant(sample_rate=24000, channels=1, causal=True, group_norm=False)
ENCODEC_48K = Variant(sample_rate=48000, channels=2, causal=False, group_norm=True)


class _Conv1d(nn.Module):
    """nn.Conv1d as ``conv``, optionally followed by GroupNorm(1, out) as ``norm`` (checkpoint names ``conv.conv.*``,
    ``conv.norm.*`` under each padded convolution)."""

    def __init__(self, channels_in: int, channels_out: int, kernel: int, stride: int, dilation: int,
                 group_norm: bool) -> None:
        super().__init__()
        self.conv = nn.Conv1d(channels_in, channels_out, kernel, stride, dilation=dilation)
        self.norm = nn.GroupNorm(1, channels_out) if group_norm else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm(self.conv(x))


class PaddedConv1d(nn.Module):
    """A convolution padded as EnCodec's SConv1d (see the module docstring); its layers live under ``conv``."""

    def __init__(self, channels_in: int, channels_out: int, kernel: int, variant: Variant, stride: int = 1,
                 dilation: int = 1) -> None:
        super().__init__()
        self.conv = _Conv1d(channels_in, channels_out, kernel, stride, dilation, variant.group_norm)
        self.kernel, self.stride, self.dilation, self.causal = kernel, stride, dilation, variant.causal

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        length = x.shape[-1]
        total = (self.kernel - 1) * self.dilation - (self.stride - 1)
        frames = -(-(length - self.kernel + total) // self.stride) + 1  # ceil: the last window is made full
        extra = (frames - 1) * self.stride + self.kernel - total - length
        left = total if self.causal else total - total // 2
        return self.conv(_reflect_pad(x, left, total - left + extra))


class ResidualBlock(nn.Module):
    """ELU, 3-tap conv to half width, ELU, 1-tap conv back (``block.1``, ``block.3``) plus a 1-tap conv
    ``shortcut``."""

    def __init__(self, width: int, variant: Variant) -> None:
        super().__init__()
        hidden = width // 2
        self.block = nn.Sequential(
            nn.ELU(), PaddedConv1d(width, hidden, 3, variant), nn.ELU(), PaddedConv1d(hidden, width, 1, variant)
        )
        self.shortcut = PaddedConv1d(width, width, 1, variant)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.shortcut(x) + self.block(x)


class SkipLSTM(nn.Module):
    """A two-layer LSTM over time with its input added to its output (``lstm.weight_ih_l0`` …)."""

    def __init__(self, width: int) -> None:
        super().__init__()
        self.lstm = nn.LSTM(width, width, num_layers=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        steps = x.permute(2, 0, 1)  # (T, B, C)
        out, _ = self.lstm(steps)
        return (out + steps).permute(1, 2, 0)


class SEANetEncoder(nn.Module):
    """EnCodec's encoder; ``model.<i>`` numbers the layers as the checkpoints do (ELUs included)."""

    def __init__(self, variant: Variant) -> None:
        super().__init__()
        self.variant = variant
        layers: list[nn.Module] = [PaddedConv1d(variant.channels, FILTERS, 7, variant)]
        width = FILTERS
        for ratio in RATIOS:
            layers += [ResidualBlock(width, variant), nn.ELU(),
                       PaddedConv1d(width, 2 * width, 2 * ratio, variant, stride=ratio)]
            width *= 2
        layers += [SkipLSTM(width), nn.ELU(), PaddedConv1d(width, DIMENSION, 7, variant)]
        self.model = nn.Sequential(*layers)

    def forward(self, waveforms: torch.Tensor) -> torch.Tensor:
        """(B, channels, T) -> (B, 128, ceil(T / 320))."""
        return self.model(waveforms)


class EncodecEncoder(nn.Module):
    """The encoder as the checkpoints name it: :class:`SEANetEncoder` under ``encoder``."""

    def __init__(self, variant: Variant) -> None:
        super().__init__()
        self.encoder = SEANetEncoder(variant)

    def forward(self, waveforms: torch.Tensor) -> torch.Tensor:
        """(B, channels, T) -> (B, 128, ceil(T / 320))."""
        return self.encoder(waveforms)


def encoder_state(checkpoint: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The ``encoder.*`` tensors of an EnCodec checkpoint as :class:`EncodecEncoder` parameters: weight-normalised
    pairs (``weight_g``, ``weight_v``) folded into ``weight`` = g·v/‖v‖ (the norm over all but the output channel, in
    float32); the decoder's and quantizer's tensors left out."""
    state: dict[str, torch.Tensor] = {}
    for key, value in checkpoint.items():
        if not key.startswith("encoder.") or key.endswith(".weight_g"):
            continue
        gain = checkpoint.get(key[: -len("_v")] + "_g") if key.endswith(".weight_v") else None
        if gain is None:
            state[key] = value
            continue
        direction = value.float()
        norm = direction.flatten(1).norm(dim=1).reshape(-1, *([1] * (direction.dim() - 1)))
        state[key[: -len("_v")]] = direction * (gain.float() / norm)
    return state


def _reflect_pad(x: torch.Tensor, left: int, right: int) -> torch.Tensor:
    """Reflection padding (the edge sample not repeated). An input no longer than the padding is first extended with
    zeros on the right, enough for the reflection, and those zeros are cut off again afterwards (as EnCodec does)."""
    length = x.shape[-1]
    widest = max(left, right)
    if length <= widest:
        zeros = widest - length + 1
        padded = F.pad(F.pad(x, (0, zeros)), (left, right), mode="reflect")
        return padded[..., : padded.shape[-1] - zeros]
    parts = [x[..., 1 : left + 1].flip(-1)] if left else []
    parts.append(x)
    if right:
        parts.append(x[..., -right - 1 : -1].flip(-1))
    return torch.cat(parts, dim=-1) if len(parts) > 1 else x
