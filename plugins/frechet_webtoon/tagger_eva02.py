"""The WD EVA02-Large tagger backbone in plain torch, with the key layout of timm's ``Eva``
(``eva02_large_patch14_448`` built with ``img_size=448, ref_feat_shape=(32, 32)``, global average pooling, as the
published ``config.json`` says), returning the pooled features the tag head reads.

EVA02 in brief: a ViT with 14×14 patches, a class token and learnt absolute positions, whose attention also rotates
each head's queries and keys of the patch tokens by 2-D rotary position embeddings (RoPE: half of each head's
frequency pairs follow the row, half the column; frequencies 10000^(−k/n)); separate q/k/v projections (k without
bias); a SwiGLU MLP with a LayerNorm before its output projection; pre-norm blocks without layer scale. The pooled
output is the LayerNorm (``fc_norm``) of the mean patch token; the class token is left out of the mean. The
published reference grid (32×32) equals the 448/14 patch grid, so RoPE positions are the plain row and column
indices.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F
from torch import nn

if TYPE_CHECKING:
    from frechet_webtoon.tagger_network import TaggerArchitecture

#: timm's EVA LayerNorms use this epsilon.
_EPS = 1e-6
#: RoPE temperature (timm's default).
_ROPE_TEMPERATURE = 10000.0


def rope_table(grid: int, head_dim: int) -> torch.Tensor:
    """(grid², 2·head_dim) sines then cosines of each patch token's RoPE angles: per axis (rows, then columns)
    head_dim/4 frequencies, each repeated for the pair of channels it rotates."""
    bands = head_dim // 4
    frequencies = 1.0 / (_ROPE_TEMPERATURE ** (torch.arange(bands, dtype=torch.float32) / bands))
    steps = torch.arange(grid, dtype=torch.float32)
    positions = torch.stack(torch.meshgrid(steps, steps, indexing="ij"), dim=-1)
    angles = (positions.unsqueeze(-1) * frequencies).flatten(-2).flatten(0, -2)
    return torch.cat([angles.sin().repeat_interleave(2, -1), angles.cos().repeat_interleave(2, -1)], dim=-1)


def _rotate(x: torch.Tensor, table: torch.Tensor) -> torch.Tensor:
    """``x`` (…, tokens, head_dim) with each channel pair (2i, 2i+1) rotated by its angle."""
    sin, cos = table.chunk(2, -1)
    turned = torch.stack([-x[..., 1::2], x[..., ::2]], -1).reshape(x.shape)
    return (x * cos + turned * sin).to(x.dtype)


class _Attention(nn.Module):
    """Multi-head attention with separate q/k/v projections (k without bias) and RoPE on the patch tokens."""

    def __init__(self, width: int, heads: int) -> None:
        super().__init__()
        self.heads = heads
        self.q_proj, self.k_proj = nn.Linear(width, width), nn.Linear(width, width, bias=False)
        self.v_proj, self.proj = nn.Linear(width, width), nn.Linear(width, width)

    def forward(self, x: torch.Tensor, rope: torch.Tensor) -> torch.Tensor:
        batch, tokens, width = x.shape
        q, k, v = (proj(x).reshape(batch, tokens, self.heads, -1).transpose(1, 2)
                   for proj in (self.q_proj, self.k_proj, self.v_proj))
        q = torch.cat([q[:, :, :1], _rotate(q[:, :, 1:], rope)], dim=2).type_as(v)
        k = torch.cat([k[:, :, :1], _rotate(k[:, :, 1:], rope)], dim=2).type_as(v)
        out = F.scaled_dot_product_attention(q, k, v)
        return self.proj(out.transpose(1, 2).reshape(batch, tokens, width))


class _SwiGLU(nn.Module):
    """``fc2(norm(silu(fc1_g(x)) · fc1_x(x)))`` (timm's ``SwiGLU`` with its inner LayerNorm)."""

    def __init__(self, width: int, hidden: int) -> None:
        super().__init__()
        self.fc1_g, self.fc1_x = nn.Linear(width, hidden), nn.Linear(width, hidden)
        self.norm = nn.LayerNorm(hidden, eps=_EPS)
        self.fc2 = nn.Linear(hidden, width)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.norm(F.silu(self.fc1_g(x)) * self.fc1_x(x)))


class _Block(nn.Module):
    def __init__(self, width: int, heads: int, hidden: int) -> None:
        super().__init__()
        self.norm1, self.norm2 = nn.LayerNorm(width, eps=_EPS), nn.LayerNorm(width, eps=_EPS)
        self.attn, self.mlp = _Attention(width, heads), _SwiGLU(width, hidden)

    def forward(self, x: torch.Tensor, rope: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.norm1(x), rope)
        return x + self.mlp(self.norm2(x))


class _PatchEmbed(nn.Module):
    def __init__(self, width: int, patch: int) -> None:
        super().__init__()
        self.proj = nn.Conv2d(3, width, patch, patch)


class TaggerEva02(nn.Module):
    """timm's Eva (EVA02) at a fixed input side; ``head`` (the tag logits) is kept for the key layout and never
    run."""

    def __init__(self, arch: TaggerArchitecture) -> None:
        super().__init__()
        self.arch = arch
        grid = arch.image_size // arch.patch
        self.patch_embed = _PatchEmbed(arch.width, arch.patch)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, arch.width))
        self.pos_embed = nn.Parameter(torch.zeros(1, 1 + grid * grid, arch.width))
        hidden = int(arch.width * (4 * 2 / 3))  # timm's mlp_ratio for EVA02 with SwiGLU
        self.blocks = nn.ModuleList(_Block(arch.width, arch.heads, hidden) for _ in range(arch.depth))
        self.fc_norm = nn.LayerNorm(arch.width, eps=_EPS)
        self.head = nn.Linear(arch.width, arch.classes)
        self.register_buffer("rope", rope_table(grid, arch.width // arch.heads), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, 3, S, S) BGR network input -> (B, width) pooled features."""
        tokens = self.patch_embed.proj(x).flatten(2).transpose(1, 2)
        x = torch.cat([self.cls_token.expand(tokens.shape[0], -1, -1), tokens], dim=1) + self.pos_embed
        for block in self.blocks:
            x = block(x, self.rope)
        return self.fc_norm(x[:, 1:].mean(dim=1))
