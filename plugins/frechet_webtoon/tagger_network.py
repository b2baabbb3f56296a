"""The WD tagger v3 backbones (SmilingWolf's Danbooru-trained ViT, ConvNeXt, SwinV2 and EVA02 taggers) in plain
torch, with the key layout of timm's ``model.safetensors``, returning the pooled features the tag head reads (timm's
``forward_head(..., pre_logits=True)``).

The architectures are timm's ``vit_base_patch16_224`` / ``vit_large_patch16_224`` built with the published
``config.json`` arguments (448×448 input, no class token, the patch tokens averaged, no norm after the pooling,
tanh-approximated GELU), ``convnext_base`` with tanh-approximated GELU, ``swinv2_base_window8_256`` at 448 with
14×14 windows (:mod:`frechet_webtoon.tagger_swinv2`) and ``eva02_large_patch14_448``
(:mod:`frechet_webtoon.tagger_eva02`); the pooled output is the mean patch token after the final norm (ViT), the
LayerNorm of the spatially averaged last stage (ConvNeXt), the spatial mean after the final norm (SwinV2) or the
LayerNorm of the mean patch token (EVA02).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from frechet.weights import layout_mismatch
from frechet_webtoon.tagger_layers import Mlp
from frechet_webtoon.tagger_eva02 import TaggerEva02
from frechet_webtoon.tagger_swinv2 import TaggerSwinV2

#: timm's ViT and ConvNeXt build their LayerNorms with this epsilon.
_EPS = 1e-6


@dataclass(frozen=True)
class TaggerArchitecture:
    """One tagger backbone: ``kind`` ("vit", "convnext", "swinv2" or "eva02"), its input side, and its sizes (ViT
    and EVA02: ``width``, ``depth``, ``heads``, ``patch``; ConvNeXt: ``depths`` and ``dims`` per stage; SwinV2:
    those, its ``patch``, ``stage_heads`` and attention ``window``); ``classes`` is the tag head's size, read to check a
    file's layout."""

    name: str
    kind: str
    image_size: int = 448
    width: int = 0
    depth: int = 0
    heads: int = 0
    patch: int = 16
    depths: tuple[int, ...] = ()
    dims: tuple[int, ...] = ()
    stage_heads: tuple[int, ...] = ()
    window: int = 0
    classes: int = 10861

    @property
    def features(self) -> int:
        """Dimension of the pooled features."""
        return self.dims[-1] if self.dims else self.width


ARCHITECTURES = {
    arch.name: arch
    for arch in (
        TaggerArchitecture("vit", "vit", width=768, depth=12, heads=12),
        TaggerArchitecture("vit-large", "vit", width=1024, depth=24, heads=16),
        TaggerArchitecture("convnext", "convnext", depths=(3, 3, 27, 3), dims=(128, 256, 512, 1024)),
        TaggerArchitecture("swinv2", "swinv2", patch=4, depths=(2, 2, 18, 2), dims=(128, 256, 512, 1024),
                           stage_heads=(4, 8, 16, 32), window=14),
        TaggerArchitecture("eva02-large", "eva02", width=1024, depth=24, heads=16, patch=14),
    )
}


class _Attention(nn.Module):
    def __init__(self, width: int, heads: int) -> None:
        super().__init__()
        self.heads = heads
        self.qkv, self.proj = nn.Linear(width, 3 * width), nn.Linear(width, width)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, tokens, width = x.shape
        q, k, v = self.qkv(x).reshape(batch, tokens, 3, self.heads, width // self.heads).permute(2, 0, 3, 1, 4)
        out = F.scaled_dot_product_attention(q, k, v)
        return self.proj(out.transpose(1, 2).reshape(batch, tokens, width))


class _ViTBlock(nn.Module):
    def __init__(self, width: int, heads: int) -> None:
        super().__init__()
        self.norm1, self.norm2 = nn.LayerNorm(width, eps=_EPS), nn.LayerNorm(width, eps=_EPS)
        self.attn, self.mlp = _Attention(width, heads), Mlp(width, 4 * width)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class _PatchEmbed(nn.Module):
    def __init__(self, width: int, patch: int) -> None:
        super().__init__()
        self.proj = nn.Conv2d(3, width, patch, patch)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.proj(x).flatten(2).transpose(1, 2)


class TaggerViT(nn.Module):
    """timm's VisionTransformer without a class token: patch tokens plus learnt positions, pre-norm blocks, a final
    LayerNorm, the tokens averaged. ``head`` (the tag logits) is kept for the key layout and never run."""

    def __init__(self, arch: TaggerArchitecture) -> None:
        super().__init__()
        self.arch = arch
        grid = arch.image_size // arch.patch
        self.patch_embed = _PatchEmbed(arch.width, arch.patch)
        self.pos_embed = nn.Parameter(torch.zeros(1, grid * grid, arch.width))
        self.blocks = nn.Sequential(*(_ViTBlock(arch.width, arch.heads) for _ in range(arch.depth)))
        self.norm = nn.LayerNorm(arch.width, eps=_EPS)
        self.head = nn.Linear(arch.width, arch.classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, 3, S, S) BGR network input -> (B, width) pooled features."""
        tokens = self.patch_embed(x) + self.pos_embed
        return self.norm(self.blocks(tokens)).mean(dim=1)


class _LayerNorm2d(nn.LayerNorm):
    """LayerNorm over the channels of an NCHW tensor (timm's LayerNorm2d)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)


class _ConvNeXtBlock(nn.Module):
    def __init__(self, dim: int) -> None:
        super().__init__()
        self.conv_dw = nn.Conv2d(dim, dim, 7, padding=3, groups=dim)
        self.norm = nn.LayerNorm(dim, eps=_EPS)
        self.mlp = Mlp(dim, 4 * dim)
        self.gamma = nn.Parameter(torch.ones(dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.mlp(self.norm(self.conv_dw(x).permute(0, 2, 3, 1))).permute(0, 3, 1, 2)
        return x + y.mul(self.gamma.reshape(1, -1, 1, 1))


class _ConvNeXtStage(nn.Module):
    def __init__(self, in_dim: int, dim: int, depth: int, first: bool) -> None:
        super().__init__()
        self.downsample = (nn.Identity() if first
                           else nn.Sequential(_LayerNorm2d(in_dim, eps=_EPS), nn.Conv2d(in_dim, dim, 2, 2)))
        self.blocks = nn.Sequential(*(_ConvNeXtBlock(dim) for _ in range(depth)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.blocks(self.downsample(x))


class _NormHead(nn.Module):
    def __init__(self, dim: int, classes: int) -> None:
        super().__init__()
        self.norm = _LayerNorm2d(dim, eps=_EPS)
        self.fc = nn.Linear(dim, classes)


class TaggerConvNeXt(nn.Module):
    """timm's ConvNeXt: a 4×4 patchify stem, four stages of depthwise-7×7 blocks with layer scale, then the head's
    LayerNorm of the spatial mean (``head.fc``, the tag logits, is kept for the key layout and never run)."""

    def __init__(self, arch: TaggerArchitecture) -> None:
        super().__init__()
        self.arch = arch
        self.stem = nn.Sequential(nn.Conv2d(3, arch.dims[0], 4, 4), _LayerNorm2d(arch.dims[0], eps=_EPS))
        ins = (arch.dims[0], *arch.dims[:-1])
        self.stages = nn.Sequential(*(
            _ConvNeXtStage(ins[i], arch.dims[i], arch.depths[i], first=i == 0) for i in range(len(arch.dims))
        ))
        self.head = _NormHead(arch.dims[-1], arch.classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, 3, S, S) BGR network input -> (B, dims[-1]) pooled features."""
        pooled = self.stages(self.stem(x)).mean(dim=(2, 3), keepdim=True)
        return self.head.norm(pooled).flatten(1)


_NETWORKS = {"vit": TaggerViT, "convnext": TaggerConvNeXt, "swinv2": TaggerSwinV2, "eva02": TaggerEva02}
#: Where each kind keeps its blocks (per stage, for the staged kinds) and its tag head, in timm's key layout.
_STAGES = {"convnext": "stages", "swinv2": "layers"}
_HEAD = {"vit": "head.weight", "convnext": "head.fc.weight", "swinv2": "head.fc.weight", "eva02": "head.weight"}


def build_network(arch: TaggerArchitecture) -> nn.Module:
    """An uninitialised network of ``arch``."""
    return _NETWORKS[arch.kind](arch)


def depth_of(state: Mapping[str, torch.Tensor], arch: TaggerArchitecture) -> TaggerArchitecture:
    """``arch`` with the number of blocks (per stage, for ConvNeXt and SwinV2) and of tags a file holds: a
    reduced-depth copy of the backbone (as tests and examples use) loads like the published one."""
    if arch.kind not in _STAGES:
        found = {int(match[1]) for key in state if (match := re.match(r"blocks\.(\d+)\.", key))}
        changes = {"depth": max(found) + 1} if found else {}
    else:
        prefix = _STAGES[arch.kind]
        per_stage = [
            {int(m[1]) for key in state if (m := re.match(rf"{prefix}\.{stage}\.blocks\.(\d+)\.", key))}
            for stage in range(len(arch.dims))
        ]
        changes = {"depths": tuple(max(blocks) + 1 for blocks in per_stage)} if all(per_stage) else {}
    head = state.get(_HEAD[arch.kind])
    if head is not None and head.dim() == 2:
        changes["classes"] = int(head.shape[0])
    return dataclasses.replace(arch, **changes)


def load_network_state(
    state: Mapping[str, torch.Tensor], arch: TaggerArchitecture, source: str, *, exact: bool = True
) -> nn.Module:
    """The ``arch`` network holding ``state`` (timm's key layout, float32); ValueError naming ``source`` and what
    does not fit when the keys or shapes are not that architecture's. ``exact=False`` takes the depth and the tag
    count from the file (:func:`depth_of`); the widths stay the architecture's."""
    model = build_network(arch if exact else depth_of(state, arch))
    problem = layout_mismatch(state, model.state_dict())
    if problem is not None:
        raise ValueError(f"{source}: not the timm layout of the WD tagger {arch.name} backbone ({problem})")
    model.load_state_dict({key: value.float() for key, value in state.items()})
    return model.eval().requires_grad_(False)
