"""VideoMAE-v2's ViT-g/14 (Wang et al. 2023) in plain torch, as cd-fvd runs it: the 1408-d mean of the last block's
tokens after ``fc_norm``, the features of content-debiased FVD.

The network is the fine-tuning model of VideoMAE-v2 (``vit_giant_patch14_224``): 16-frame 224x224 clips cut into
tubelets of 2 frames x 14 x 14 pixels (a Conv3d), fixed sine-cosine positional embeddings (not in the checkpoint),
40 pre-norm blocks of width 1408, 16 heads and a GELU MLP of 6144 units (ratio 48/11), LayerNorms with epsilon
1e-6, a query and a value bias but no key bias, and no layer scale. The tokens are averaged and ``fc_norm``-ed; the
SSv2 classifier ``head`` is in the checkpoint but not run. Clips of other lengths get the positional embeddings
stretched in time as VideoMAE-v2's code does (:func:`positions`). The module's state dict is the checkpoint's
layout less ``head``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from frechet.weights import layout_mismatch

#: Frames per tubelet and pixels per patch side.
TUBELET, PATCH = 2, 14
#: Input side in pixels, and the clip length the positional embeddings are laid out for.
SIZE, FRAMES = 224, 16
#: Width of one attention head in ViT-g/14 (1408 / 16); a narrower checkpoint in the same layout keeps it.
HEAD_WIDTH = 88
#: The layout's classifier, present in the checkpoint and left out of the network.
HEAD_KEYS = ("head.weight", "head.bias")
#: What VideoMAE-v2's code adds to the target number of tubelets before turning it into a scale factor.
INTERPOLATE_OFFSET = 0.1
_LAYER_NORM_EPS = 1e-6


@dataclass(frozen=True)
class Architecture:
    """Width (= feature dimension), depth, attention heads and MLP units of one VideoMAE-v2 transformer."""

    width: int = 1408
    depth: int = 40
    heads: int = 16
    hidden: int = 6144


#: The published ViT-g/14.
VIT_G = Architecture()


class _Attention(nn.Module):
    def __init__(self, width: int, heads: int) -> None:
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(width, 3 * width, bias=False)
        self.q_bias = nn.Parameter(torch.zeros(width))
        self.v_bias = nn.Parameter(torch.zeros(width))
        self.proj = nn.Linear(width, width)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, tokens, width = x.shape
        bias = torch.cat((self.q_bias, torch.zeros_like(self.v_bias), self.v_bias))
        q, k, v = F.linear(x, self.qkv.weight, bias).view(batch, tokens, 3, self.heads, -1).permute(2, 0, 3, 1, 4)
        out = F.scaled_dot_product_attention(q, k, v)
        return self.proj(out.transpose(1, 2).reshape(batch, tokens, width))


class _Mlp(nn.Module):
    def __init__(self, width: int, hidden: int) -> None:
        super().__init__()
        self.fc1 = nn.Linear(width, hidden)
        self.fc2 = nn.Linear(hidden, width)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(F.gelu(self.fc1(x)))


class _Block(nn.Module):
    def __init__(self, arch: Architecture) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(arch.width, eps=_LAYER_NORM_EPS)
        self.attn = _Attention(arch.width, arch.heads)
        self.norm2 = nn.LayerNorm(arch.width, eps=_LAYER_NORM_EPS)
        self.mlp = _Mlp(arch.width, arch.hidden)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class _PatchEmbed(nn.Module):
    def __init__(self, width: int) -> None:
        super().__init__()
        self.proj = nn.Conv3d(3, width, kernel_size=(TUBELET, PATCH, PATCH), stride=(TUBELET, PATCH, PATCH))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.proj(x).flatten(2).transpose(1, 2)


class VideoMAE(nn.Module):
    """(B, 3, T, 224, 224) clips in [0, 1] (T >= 2) -> (B, width) features: the mean token after ``fc_norm``."""

    def __init__(self, arch: Architecture = VIT_G) -> None:
        super().__init__()
        self.arch = arch
        self.patch_embed = _PatchEmbed(arch.width)
        self.blocks = nn.ModuleList(_Block(arch) for _ in range(arch.depth))
        self.fc_norm = nn.LayerNorm(arch.width, eps=_LAYER_NORM_EPS)
        self._positions: dict[tuple, torch.Tensor] = {}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        tokens = self.patch_embed(x)
        tokens = tokens + self.positions(x.shape[2], tokens.device).to(tokens.dtype)
        for block in self.blocks:
            tokens = block(tokens)
        return self.fc_norm(tokens.mean(1))

    def positions(self, frames: int, device: torch.device) -> torch.Tensor:
        """The positional embeddings for clips of ``frames`` frames on ``device`` (computed once each)."""
        key = (frames, device)
        if key not in self._positions:
            self._positions[key] = positions(self.arch.width, frames).to(device)
        return self._positions[key]


def sinusoid_table(count: int, width: int) -> torch.Tensor:
    """(1, count, width) float32 sine-cosine embeddings: position / 10000^(2 floor(j / 2) / width), the sine in even
    and the cosine in odd columns, computed in float64."""
    angles = np.arange(count, dtype=np.float64)[:, None] / np.power(10000.0, 2 * (np.arange(width) // 2) / width)
    angles[:, 0::2], angles[:, 1::2] = np.sin(angles[:, 0::2]), np.cos(angles[:, 1::2])
    return torch.from_numpy(angles).float().unsqueeze(0)


def positions(width: int, frames: int) -> torch.Tensor:
    """(1, tokens, width) embeddings for ``frames`` frames: the table of a 16-frame clip (8 x 16 x 16 tubelets), or
    for ``frames // 2`` tubelets other than 8, that table resized in time by trilinear interpolation with the scale
    factor ``(frames // 2 + 0.1) / 8`` (a scale, not a target size, as VideoMAE-v2's ``interpolate_pos_encoding``)."""
    grid, length = SIZE // PATCH, FRAMES // TUBELET
    table = sinusoid_table(length * grid * grid, width)
    target = frames // TUBELET
    if target == length:
        return table
    stretched = F.interpolate(table.permute(0, 2, 1).reshape(1, width, length, grid, grid),
                              scale_factor=((target + INTERPOLATE_OFFSET) / length, 1, 1), mode="trilinear")
    return stretched.reshape(1, width, -1).permute(0, 2, 1)


def check_clip_shape(frames: int, height: int, width: int) -> str | None:
    """Why a clip of this size cannot go through the network (None: it can)."""
    if frames < TUBELET:
        return f"VideoMAE-v2 needs clips of at least {TUBELET} frames (one tubelet), got {frames}"
    if (height, width) != (SIZE, SIZE):
        return f"VideoMAE-v2 needs {SIZE}x{SIZE} frames, got {height}x{width}"
    return None


def checkpoint_architecture(state: Mapping[str, torch.Tensor]) -> Architecture:
    """The architecture a checkpoint in this layout holds: width, depth and MLP units from its tensors, heads of
    :data:`HEAD_WIDTH` (ViT-g/14's, the only published model in this layout; tests use narrower ones)."""
    try:
        width = int(state["patch_embed.proj.weight"].shape[0])
        hidden = int(state["blocks.0.mlp.fc1.weight"].shape[0])
    except (KeyError, IndexError, AttributeError):
        raise ValueError("no 'patch_embed.proj.weight' and 'blocks.0.mlp.fc1.weight' tensors") from None
    if width % HEAD_WIDTH:
        raise ValueError(f"a width of {width} is not a whole number of {HEAD_WIDTH}-wide heads")
    blocks = {key.split(".")[1] for key in state if key.startswith("blocks.")}
    return Architecture(width, len(blocks), width // HEAD_WIDTH, hidden)


def checked_architecture(state: Mapping[str, torch.Tensor], source: str) -> Architecture:
    """The architecture of ``state`` (the checkpoint's tensors, ``head`` included), checked strictly: a mismatch
    raises ValueError naming the missing, unexpected or misshaped keys."""
    try:
        arch = checkpoint_architecture(state)
    except ValueError as error:
        raise ValueError(f"{source} is not a VideoMAE-v2 state dict ({error})") from None
    classes = state["head.bias"].shape[0] if "head.bias" in state else 0
    expected = {**_layout(arch), HEAD_KEYS[0]: (classes, arch.width), HEAD_KEYS[1]: (classes,)}
    mismatch = layout_mismatch(state, {key: torch.empty(shape, device="meta") for key, shape in expected.items()})
    if mismatch:
        raise ValueError(f"{source} is not a VideoMAE-v2 state dict in the layout of vit_g_hybrid_pt_1200e_ssv2_ft "
                         f"({mismatch})")
    return arch


def _layout(arch: Architecture) -> dict[str, tuple[int, ...]]:
    with torch.device("meta"):
        return {key: tuple(value.shape) for key, value in VideoMAE(arch).state_dict().items()}


def load_network_state(state: Mapping[str, torch.Tensor], source: str) -> VideoMAE:
    """A network holding ``state`` (checked by :func:`checked_architecture` first; ``head`` is left out)."""
    arch = checked_architecture(state, source)
    with torch.device("meta"):  # no time spent initialising weights that are replaced next
        model = VideoMAE(arch)
    body = {key: state[key].float() for key in _layout(arch)}
    model.load_state_dict(body, strict=True, assign=True)
    return model
