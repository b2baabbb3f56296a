"""The DINOv2 vision transformers (ViT-S/14, B/14, L/14, g/14) in plain torch, with the key layout of Meta's hub
checkpoints (``dinov2_vit{s,b,l,g}14_pretrain.pth``), returning the class token after the final norm."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from frechet.weights import layout_mismatch

#: Side of the square patches, in pixels.
PATCH = 14
#: The hub models are built for 518×518 inputs: their positional embeddings form a 37×37 grid (plus the class token).
CHECKPOINT_GRID = 37
#: What the hub code adds to the target grid before it turns it into a scale factor for the bicubic interpolation of
#: the positional embeddings (``interpolate_offset``, 0.1 for the checkpoints without registers; "a historical
#: kludge" kept for backward compatibility). The interpolation is not antialiased (``interpolate_antialias=False``).
INTERPOLATE_OFFSET = 0.1
_LAYER_NORM_EPS = 1e-6
_MLP_RATIO = 4


@dataclass(frozen=True)
class Architecture:
    """One DINOv2 backbone: its short name, width (= feature dimension), depth, heads and feed-forward kind."""

    name: str
    title: str
    width: int
    depth: int
    heads: int
    swiglu: bool = False

    @property
    def hidden(self) -> int:
        """Hidden width of the feed-forward layer: 4× the width, or for SwiGLU two thirds of it rounded up to 8."""
        hidden = _MLP_RATIO * self.width
        return (int(hidden * 2 / 3) + 7) // 8 * 8 if self.swiglu else hidden


ARCHITECTURES = {
    arch.name: arch
    for arch in (
        Architecture("vits14", "ViT-S/14", 384, 12, 6),
        Architecture("vitb14", "ViT-B/14", 768, 12, 12),
        Architecture("vitl14", "ViT-L/14", 1024, 24, 16),
        Architecture("vitg14", "ViT-g/14", 1536, 40, 24, swiglu=True),
    )
}


class _LayerScale(nn.Module):
    def __init__(self, width: int) -> None:
        super().__init__()
        self.gamma = nn.Parameter(torch.ones(width))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.gamma


class _Attention(nn.Module):
    def __init__(self, width: int, heads: int) -> None:
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(width, 3 * width)
        self.proj = nn.Linear(width, width)

    def forward(self, x: torch.Tensor, queries: int | None = None) -> torch.Tensor:
        """Self-attention of all tokens, or of the first ``queries`` tokens over all of them."""
        batch, tokens, width = x.shape
        q, k, v = self.qkv(x).view(batch, tokens, 3, self.heads, width // self.heads).unbind(2)
        if queries is not None:
            q = q[:, :queries]
        q, k, v = q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2)
        out = F.scaled_dot_product_attention(q, k, v)
        return self.proj(out.transpose(1, 2).reshape(batch, q.shape[2], width))


class _Mlp(nn.Module):
    def __init__(self, width: int, hidden: int) -> None:
        super().__init__()
        self.fc1 = nn.Linear(width, hidden)
        self.fc2 = nn.Linear(hidden, width)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(F.gelu(self.fc1(x)))


class _SwiGLU(nn.Module):
    def __init__(self, width: int, hidden: int) -> None:
        super().__init__()
        self.w12 = nn.Linear(width, 2 * hidden)
        self.w3 = nn.Linear(hidden, width)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        gate, value = self.w12(x).chunk(2, dim=-1)
        return self.w3(F.silu(gate) * value)


class _Block(nn.Module):
    def __init__(self, arch: Architecture) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(arch.width, eps=_LAYER_NORM_EPS)
        self.attn = _Attention(arch.width, arch.heads)
        self.ls1 = _LayerScale(arch.width)
        self.norm2 = nn.LayerNorm(arch.width, eps=_LAYER_NORM_EPS)
        self.mlp = (_SwiGLU if arch.swiglu else _Mlp)(arch.width, arch.hidden)
        self.ls2 = _LayerScale(arch.width)

    def forward(self, x: torch.Tensor, queries: int | None = None) -> torch.Tensor:
        """The block's output for every token, or for the first ``queries`` tokens only (attending to all)."""
        residual = x if queries is None else x[:, :queries]
        x = residual + self.ls1(self.attn(self.norm1(x), queries))
        return x + self.ls2(self.mlp(self.norm2(x)))


class _PatchEmbed(nn.Module):
    def __init__(self, width: int) -> None:
        super().__init__()
        self.proj = nn.Conv2d(3, width, kernel_size=PATCH, stride=PATCH)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.proj(x).flatten(2).transpose(1, 2)


class DinoV2(nn.Module):
    """A DINOv2 backbone: (B, 3, H, W) normalised images (H, W multiples of 14) -> (B, width) class tokens after the
    final layer norm, as the hub model's ``forward`` returns them. ``depth`` below the architecture's builds a
    shallower network in the same key layout (for tests)."""

    def __init__(self, arch: Architecture, depth: int | None = None) -> None:
        super().__init__()
        self.arch = arch
        width = arch.width
        self.cls_token = nn.Parameter(torch.zeros(1, 1, width))
        self.pos_embed = nn.Parameter(torch.zeros(1, 1 + CHECKPOINT_GRID**2, width))
        self.mask_token = nn.Parameter(torch.zeros(1, width))  # used in training only; part of the checkpoints
        self.patch_embed = _PatchEmbed(width)
        self.blocks = nn.ModuleList(_Block(arch) for _ in range(arch.depth if depth is None else depth))
        self.norm = nn.LayerNorm(width, eps=_LAYER_NORM_EPS)
        self._positions: tuple[tuple, torch.Tensor] | None = None  # (what they were computed from, embeddings)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        rows, cols = x.shape[2] // PATCH, x.shape[3] // PATCH
        tokens = self.patch_embed(x)
        tokens = torch.cat((self.cls_token.expand(len(tokens), -1, -1), tokens), dim=1)
        tokens = tokens + self.positions(rows, cols).to(tokens.dtype)
        for block in self.blocks[:-1]:
            tokens = block(tokens)
        cls = self.blocks[-1](tokens, queries=1)  # only the class token's output is read
        return self.norm(cls[:, 0])

    def positions(self, rows: int, cols: int) -> torch.Tensor:
        """Positional embeddings for a ``rows`` × ``cols`` patch grid, as the hub code interpolates them; computed
        again only when the grid changes or the stored embeddings move (the weights are not changed after loading)."""
        pos = self.pos_embed
        key = (rows, cols, pos.device, pos.dtype, pos.data_ptr())
        if self._positions is None or self._positions[0] != key:
            self._positions = (key, interpolate_positions(pos.detach(), rows, cols))
        return self._positions[1]


def interpolate_positions(pos_embed: torch.Tensor, rows: int, cols: int) -> torch.Tensor:
    """The hub code's positional embeddings for a ``rows`` × ``cols`` grid: the checkpoint's grid unchanged when it
    is that grid, else its patch part resized bicubically (no antialiasing, in float32) by the scale factors
    ``(rows + 0.1) / 37`` and ``(cols + 0.1) / 37`` — a scale, not a target size, so the sampling positions are
    those of 37 / 16.1 (for 224×224 inputs), not 37 / 16 — and the class token's embedding put back in front."""
    grid = pos_embed.shape[1] - 1
    side = math.isqrt(grid)
    if side * side != grid:
        raise ValueError(f"positional embeddings of {grid} patches do not form a square grid")
    if (rows, cols) == (side, side):
        return pos_embed
    width = pos_embed.shape[2]
    pos = pos_embed.float()
    patches = pos[:, 1:].reshape(1, side, side, width).permute(0, 3, 1, 2)
    scale = (float(rows + INTERPOLATE_OFFSET) / side, float(cols + INTERPOLATE_OFFSET) / side)
    patches = F.interpolate(patches, scale_factor=scale, mode="bicubic", antialias=False)
    if patches.shape[2:] != (rows, cols):
        raise ValueError(f"interpolated positional embeddings have grid {tuple(patches.shape[2:])}, not {rows}×{cols}")
    patches = patches.permute(0, 2, 3, 1).reshape(1, rows * cols, width)
    return torch.cat((pos[:, :1], patches), dim=1)


def state_dict_layout(arch: Architecture, depth: int | None = None) -> dict[str, tuple[tuple[int, ...], torch.dtype]]:
    """Key -> (shape, dtype) of the hub checkpoint of ``arch`` (or of a ``depth``-block variant), in its order."""
    with torch.device("meta"):
        model = DinoV2(arch, depth)
    return {key: (tuple(value.shape), value.dtype) for key, value in model.state_dict().items()}


def checkpoint_depth(state: Mapping[str, torch.Tensor]) -> int:
    """Number of transformer blocks in a checkpoint (``blocks.<i>.`` keys)."""
    indices = {int(key.split(".")[1]) for key in state if key.startswith("blocks.") and key.split(".")[1].isdigit()}
    return max(indices) + 1 if indices else 0


def load_network_state(state: Mapping[str, torch.Tensor], arch: Architecture, source: str) -> DinoV2:
    """A network holding ``state`` (all its blocks: a shallower file in the same layout gives a shallower network),
    checked strictly first: a mismatch raises ValueError naming the missing, unexpected or misshaped keys."""
    depth = checkpoint_depth(state)
    if depth == 0:
        raise ValueError(f"{source} holds no transformer blocks ('blocks.0.…' keys); it is not a DINOv2 checkpoint")
    with torch.device("meta"):  # no time spent initialising weights that are replaced next
        model = DinoV2(arch, depth)
    expected = model.state_dict()
    mismatch = layout_mismatch(state, expected)
    if mismatch:
        raise ValueError(f"{source} is not a DINOv2 {arch.title} state dict ({mismatch})")
    model.load_state_dict({key: state[key].float() for key in expected}, strict=True, assign=True)
    return model
