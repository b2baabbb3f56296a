"""The WD SwinV2 tagger backbone in plain torch, with the key layout of timm's ``SwinTransformerV2``
(``swinv2_base_window8_256`` built with ``img_size=448, window_size=14, act_layer="gelu_tanh"``, as the published
``config.json`` says), returning the pooled features the tag head reads.

SwinV2 in brief: a 4×4 patchify convolution and LayerNorm; four stages of blocks that attend within square windows
(every other block on windows shifted by half a window, the wrapped-around regions masked apart), with cosine
attention scaled by a learnt per-head temperature and a relative position bias that a small MLP makes from
log-spaced offsets; residual post-norm blocks; 2×2 patch merging between stages; a final LayerNorm and the
spatial mean. A stage whose map is no larger than the window attends to it whole, unshifted.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F
from torch import nn

from frechet_webtoon.tagger_layers import Mlp

if TYPE_CHECKING:
    from frechet_webtoon.tagger_network import TaggerArchitecture

#: timm's SwinV2 uses torch's default LayerNorm epsilon.
_EPS = 1e-5
#: Hidden width of the relative position bias MLP, and the bound of its log-spaced offsets.
_CPB_HIDDEN, _CPB_RANGE = 512, 8.0
#: The largest temperature cosine attention may use (timm clamps the log at log(1/0.01)).
_MAX_LOG_SCALE = math.log(100.0)
#: Added to attention logits between tokens from different regions of a shifted window.
_MASKED = -100.0


def _offset_table(window: int) -> torch.Tensor:
    """(2w−1, 2w−1, 2) relative offsets (dy, dx), scaled to ±8 and log-spaced: sign·log2(1+|8·d/(w−1)|)/3."""
    steps = torch.arange(-(window - 1), window, dtype=torch.float32)
    table = torch.stack(torch.meshgrid(steps, steps, indexing="ij"), dim=-1)
    table = table / max(window - 1, 1) * _CPB_RANGE
    return torch.sign(table) * torch.log2(table.abs() + 1.0) / math.log2(_CPB_RANGE)


def _offset_index(window: int) -> torch.Tensor:
    """(w², w²) index into the flattened offset table of each query/key pair of a window."""
    rows, cols = torch.meshgrid(torch.arange(window), torch.arange(window), indexing="ij")
    rows, cols = rows.flatten(), cols.flatten()
    dy = rows[:, None] - rows[None, :] + window - 1
    dx = cols[:, None] - cols[None, :] + window - 1
    return dy * (2 * window - 1) + dx


def _partition(x: torch.Tensor, window: int) -> torch.Tensor:
    """(B, H, W, C) -> (B·windows, w², C), windows in row-major order within each image."""
    batch, height, width, channels = x.shape
    x = x.view(batch, height // window, window, width // window, window, channels)
    return x.permute(0, 1, 3, 2, 4, 5).reshape(-1, window * window, channels)


def _merge(windows: torch.Tensor, window: int, height: int, width: int) -> torch.Tensor:
    """The inverse of :func:`_partition`."""
    channels = windows.shape[-1]
    x = windows.view(-1, height // window, width // window, window, window, channels)
    return x.permute(0, 1, 3, 2, 4, 5).reshape(-1, height, width, channels)


def _shift_mask(size: int, window: int, shift: int) -> torch.Tensor:
    """(windows, w², w²) additive mask of a map rolled by ``shift``: tokens that came from different regions of the
    unrolled map never attend to each other."""
    region = torch.zeros(size, size)
    bounds = ((0, size - window), (size - window, size - shift), (size - shift, size))
    for row, (top, bottom) in enumerate(bounds):
        for col, (left, right) in enumerate(bounds):
            region[top:bottom, left:right] = 3 * row + col
    labels = _partition(region[None, :, :, None], window).squeeze(-1)
    differ = labels[:, None, :] != labels[:, :, None]
    return torch.zeros(differ.shape).masked_fill(differ, _MASKED)


class _WindowAttention(nn.Module):
    """Cosine attention within a window, with a learnt temperature per head and the MLP-made position bias; q and v
    have biases, k none."""

    def __init__(self, dim: int, heads: int, window: int) -> None:
        super().__init__()
        self.heads = heads
        self.logit_scale = nn.Parameter(torch.zeros(heads, 1, 1))
        self.cpb_mlp = nn.Sequential(nn.Linear(2, _CPB_HIDDEN), nn.ReLU(), nn.Linear(_CPB_HIDDEN, heads, bias=False))
        self.qkv = nn.Linear(dim, 3 * dim, bias=False)
        self.q_bias, self.v_bias = nn.Parameter(torch.zeros(dim)), nn.Parameter(torch.zeros(dim))
        self.proj = nn.Linear(dim, dim)
        self.register_buffer("offset_table", _offset_table(window), persistent=False)
        self.register_buffer("offset_index", _offset_index(window).flatten(), persistent=False)

    def position_bias(self) -> torch.Tensor:
        """(heads, w², w²) bias in (0, 16)."""
        tokens = int(math.isqrt(self.offset_index.numel()))
        table = self.cpb_mlp(self.offset_table).view(-1, self.heads)
        # contiguous, so the sum that follows lays out (and the softmax sums) as the reference does
        bias = table[self.offset_index].view(tokens, tokens, self.heads).permute(2, 0, 1).contiguous()
        return 16 * torch.sigmoid(bias)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        windows, tokens, dim = x.shape
        bias = torch.cat((self.q_bias, torch.zeros_like(self.q_bias), self.v_bias))
        qkv = F.linear(x, self.qkv.weight, bias).reshape(windows, tokens, 3, self.heads, -1).permute(2, 0, 3, 1, 4)
        q, k, v = qkv.unbind(0)
        logits = F.normalize(q, dim=-1) @ F.normalize(k, dim=-1).transpose(-2, -1)
        logits = logits * torch.clamp(self.logit_scale, max=_MAX_LOG_SCALE).exp()
        logits = logits + self.position_bias().unsqueeze(0)
        if mask is not None:
            per_image = mask.shape[0]
            logits = logits.view(-1, per_image, self.heads, tokens, tokens) + mask.unsqueeze(1).unsqueeze(0)
            logits = logits.view(-1, self.heads, tokens, tokens)
        out = logits.softmax(dim=-1) @ v
        return self.proj(out.transpose(1, 2).reshape(windows, tokens, dim))


class _SwinBlock(nn.Module):
    """Window attention and an MLP, each added back after its LayerNorm (residual post-norm)."""

    def __init__(self, dim: int, heads: int, size: int, window: int, shifted: bool) -> None:
        super().__init__()
        self.window = min(window, size)
        self.shift = self.window // 2 if shifted and size > window else 0
        self.attn = _WindowAttention(dim, heads, self.window)
        self.norm1, self.norm2 = nn.LayerNorm(dim, eps=_EPS), nn.LayerNorm(dim, eps=_EPS)
        self.mlp = Mlp(dim, 4 * dim)
        mask = _shift_mask(size, self.window, self.shift) if self.shift else None
        self.register_buffer("attn_mask", mask, persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, height, width, channels = x.shape
        shifted = torch.roll(x, (-self.shift, -self.shift), (1, 2)) if self.shift else x
        attended = _merge(self.attn(_partition(shifted, self.window), self.attn_mask), self.window, height, width)
        if self.shift:
            attended = torch.roll(attended, (self.shift, self.shift), (1, 2))
        x = (x + self.norm1(attended)).reshape(batch, -1, channels)
        return (x + self.norm2(self.mlp(x))).reshape(batch, height, width, channels)


class _PatchMerging(nn.Module):
    """Each 2×2 neighbourhood concatenated (timm's order: (0,0), (1,0), (0,1), (1,1)), projected to ``out_dim`` and
    normalised."""

    def __init__(self, dim: int, out_dim: int) -> None:
        super().__init__()
        self.reduction = nn.Linear(4 * dim, out_dim, bias=False)
        self.norm = nn.LayerNorm(out_dim, eps=_EPS)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, height, width, channels = x.shape
        x = x.reshape(batch, height // 2, 2, width // 2, 2, channels).permute(0, 1, 3, 4, 2, 5).flatten(3)
        return self.norm(self.reduction(x))


class _SwinStage(nn.Module):
    """Patch merging (every stage but the first), then blocks alternating plain and shifted windows."""

    def __init__(self, in_dim: int, dim: int, depth: int, heads: int, size: int, window: int, first: bool) -> None:
        super().__init__()
        self.downsample = nn.Identity() if first else _PatchMerging(in_dim, dim)
        self.blocks = nn.Sequential(*(_SwinBlock(dim, heads, size, window, shifted=i % 2 == 1) for i in range(depth)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.blocks(self.downsample(x))


class _PatchEmbed(nn.Module):
    def __init__(self, dim: int, patch: int) -> None:
        super().__init__()
        self.proj = nn.Conv2d(3, dim, patch, patch)
        self.norm = nn.LayerNorm(dim, eps=_EPS)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm(self.proj(x).permute(0, 2, 3, 1))


class _Head(nn.Module):
    def __init__(self, dim: int, classes: int) -> None:
        super().__init__()
        self.fc = nn.Linear(dim, classes)


class TaggerSwinV2(nn.Module):
    """timm's SwinTransformerV2 at a fixed input side; ``head.fc`` (the tag logits) is kept for the key layout and
    never run."""

    def __init__(self, arch: TaggerArchitecture) -> None:
        super().__init__()
        self.arch = arch
        size = arch.image_size // arch.patch
        self.patch_embed = _PatchEmbed(arch.dims[0], arch.patch)
        stages, in_dim = [], arch.dims[0]
        for index, (dim, depth, heads) in enumerate(zip(arch.dims, arch.depths, arch.stage_heads)):
            size = size if index == 0 else size // 2
            stages.append(_SwinStage(in_dim, dim, depth, heads, size, arch.window, first=index == 0))
            in_dim = dim
        self.layers = nn.Sequential(*stages)
        self.norm = nn.LayerNorm(arch.dims[-1], eps=_EPS)
        self.head = _Head(arch.dims[-1], arch.classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, 3, S, S) BGR network input -> (B, dims[-1]) pooled features."""
        return self.norm(self.layers(self.patch_embed(x))).mean(dim=(1, 2))
