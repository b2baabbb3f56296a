"""OpenAI CLIP's vision transformer (the image tower) in plain torch, keyed like the ``visual.*`` part of OpenAI's
checkpoints: conv1, class_embedding, positional_embedding, ln_pre, transformer.resblocks.N.{ln_1, attn.in_proj_*,
attn.out_proj, ln_2, mlp.c_fc, mlp.c_proj}, ln_post, proj; QuickGELU, pre-norm blocks, LayerNorm eps 1e-5.

The architecture (width, depth, patch size, resolution, output width) is read from the weights, as OpenAI's
``clip.load`` does; heads are width / 64. Only the class token leaves the tower, so the last block computes its
attention query, output and MLP for that token alone (the keys and values still come from every token). This
module imports only torch, so reference scripts can load it by path.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

#: Width of one attention head in every OpenAI CLIP vision transformer.
HEAD_WIDTH = 64
_LN_EPS = 1e-5


@dataclass(frozen=True)
class TowerShape:
    """The shape of a CLIP vision transformer: what its weights determine."""

    width: int
    layers: int
    patch: int
    resolution: int
    output_dim: int

    @property
    def heads(self) -> int:
        """Attention heads (width / 64, as in OpenAI's models)."""
        return self.width // HEAD_WIDTH

    @property
    def tokens(self) -> int:
        """Patches plus the class token."""
        return (self.resolution // self.patch) ** 2 + 1


#: The published towers by frechet's embedder names.
VIT_B_32 = TowerShape(width=768, layers=12, patch=32, resolution=224, output_dim=512)
VIT_L_14 = TowerShape(width=1024, layers=24, patch=14, resolution=224, output_dim=768)
VIT_L_14_336 = TowerShape(width=1024, layers=24, patch=14, resolution=336, output_dim=768)


def state_dict_layout(shape: TowerShape) -> dict[str, tuple[int, ...]]:
    """Key -> tensor shape of a tower's state dict (without the ``visual.`` prefix), in module order."""
    width, hidden = shape.width, 4 * shape.width
    layout: dict[str, tuple[int, ...]] = {
        "class_embedding": (width,),
        "positional_embedding": (shape.tokens, width),
        "proj": (width, shape.output_dim),
        "conv1.weight": (width, 3, shape.patch, shape.patch),
        "ln_pre.weight": (width,),
        "ln_pre.bias": (width,),
    }
    for index in range(shape.layers):
        block = f"transformer.resblocks.{index}."
        layout.update({
            block + "attn.in_proj_weight": (3 * width, width),
            block + "attn.in_proj_bias": (3 * width,),
            block + "attn.out_proj.weight": (width, width),
            block + "attn.out_proj.bias": (width,),
            block + "ln_1.weight": (width,),
            block + "ln_1.bias": (width,),
            block + "mlp.c_fc.weight": (hidden, width),
            block + "mlp.c_fc.bias": (hidden,),
            block + "mlp.c_proj.weight": (width, hidden),
            block + "mlp.c_proj.bias": (width,),
            block + "ln_2.weight": (width,),
            block + "ln_2.bias": (width,),
        })
    layout.update({"ln_post.weight": (width,), "ln_post.bias": (width,)})
    return layout


def tower_shape(state: Mapping[str, torch.Tensor]) -> TowerShape:
    """The tower's shape from its weights (keys without ``visual.``); ValueError naming a missing key otherwise."""
    for key in ("conv1.weight", "positional_embedding", "proj"):
        if key not in state:
            raise ValueError(f"not a CLIP vision transformer: no '{key}'")
    width, patch = state["conv1.weight"].shape[0], state["conv1.weight"].shape[-1]
    grid = round((state["positional_embedding"].shape[0] - 1) ** 0.5)
    layers = sum(1 for key in state if key.startswith("transformer.resblocks.") and key.endswith("attn.in_proj_weight"))
    if width % HEAD_WIDTH or grid * grid + 1 != state["positional_embedding"].shape[0] or layers == 0:
        raise ValueError(f"not a CLIP vision transformer: width {width}, {layers} blocks, "
                         f"{state['positional_embedding'].shape[0]} positions")
    return TowerShape(width, layers, patch, patch * grid, state["proj"].shape[1])


class _Attention(nn.Module):
    """Multi-head self-attention with one packed input projection (``in_proj_weight``), as nn.MultiheadAttention."""

    def __init__(self, width: int, heads: int) -> None:
        super().__init__()
        self.heads = heads
        self.in_proj_weight = nn.Parameter(torch.empty(3 * width, width))
        self.in_proj_bias = nn.Parameter(torch.empty(3 * width))
        self.out_proj = nn.Linear(width, width)

    def forward(self, x: torch.Tensor, queries: int | None = None) -> torch.Tensor:
        """Attention of every token (or of the first ``queries`` tokens only) to all tokens of ``x``."""
        batch, tokens, width = x.shape
        if queries is None:
            qkv = F.linear(x, self.in_proj_weight, self.in_proj_bias)
            q, k, v = self._heads(qkv, 3).unbind(0)
        else:
            q = self._heads(F.linear(x[:, :queries], self.in_proj_weight[:width], self.in_proj_bias[:width]), 1)[0]
            k, v = self._heads(F.linear(x, self.in_proj_weight[width:], self.in_proj_bias[width:]), 2).unbind(0)
        attended = F.scaled_dot_product_attention(q, k, v)
        return self.out_proj(attended.transpose(1, 2).reshape(batch, q.shape[2], width))

    def _heads(self, packed: torch.Tensor, parts: int) -> torch.Tensor:
        """(B, T, parts·W) -> (parts, B, heads, T, W / heads)."""
        batch, tokens, _ = packed.shape
        return packed.view(batch, tokens, parts, self.heads, -1).permute(2, 0, 3, 1, 4)


class _Mlp(nn.Module):
    """c_fc, QuickGELU (x · sigmoid(1.702 x)), c_proj."""

    def __init__(self, width: int) -> None:
        super().__init__()
        self.c_fc = nn.Linear(width, 4 * width)
        self.c_proj = nn.Linear(4 * width, width)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        hidden = self.c_fc(x)
        return self.c_proj(hidden * torch.sigmoid(1.702 * hidden))


class _Block(nn.Module):
    """Pre-norm residual block: x + attn(ln_1(x)), then x + mlp(ln_2(x))."""

    def __init__(self, width: int, heads: int) -> None:
        super().__init__()
        self.attn = _Attention(width, heads)
        self.ln_1 = nn.LayerNorm(width, eps=_LN_EPS)
        self.mlp = _Mlp(width)
        self.ln_2 = nn.LayerNorm(width, eps=_LN_EPS)

    def forward(self, x: torch.Tensor, first_only: bool = False) -> torch.Tensor:
        """The block's output for every token, or (``first_only``) for the class token alone, which attends to all
        tokens but is the only one whose MLP and output are computed."""
        if first_only:
            x = x[:, :1] + self.attn(self.ln_1(x), queries=1)
        else:
            x = x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


class _Transformer(nn.Module):
    def __init__(self, width: int, layers: int, heads: int) -> None:
        super().__init__()
        self.resblocks = nn.Sequential(*(_Block(width, heads) for _ in range(layers)))

    def class_token(self, x: torch.Tensor) -> torch.Tensor:
        """The class token after all blocks, (B, width): the last block computes nothing else."""
        for block in self.resblocks[:-1]:
            x = block(x)
        return self.resblocks[-1](x, first_only=True)[:, 0]


class VisionTransformer(nn.Module):
    """CLIP's image tower: (B, 3, R, R) normalised images -> (B, output_dim) projected class-token embeddings."""

    def __init__(self, shape: TowerShape) -> None:
        super().__init__()
        self.shape = shape
        width = shape.width
        self.conv1 = nn.Conv2d(3, width, kernel_size=shape.patch, stride=shape.patch, bias=False)
        self.class_embedding = nn.Parameter(torch.empty(width))
        self.positional_embedding = nn.Parameter(torch.empty(shape.tokens, width))
        self.ln_pre = nn.LayerNorm(width, eps=_LN_EPS)
        self.transformer = _Transformer(width, shape.layers, shape.heads)
        self.ln_post = nn.LayerNorm(width, eps=_LN_EPS)
        self.proj = nn.Parameter(torch.empty(width, shape.output_dim))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        patches = self.conv1(images).flatten(2).transpose(1, 2)  # (B, grid², width)
        cls = self.class_embedding.to(patches.dtype).expand(patches.shape[0], 1, -1)
        x = torch.cat([cls, patches], dim=1) + self.positional_embedding.to(patches.dtype)
        return self.ln_post(self.transformer.class_token(self.ln_pre(x))) @ self.proj


def build_tower(state: Mapping[str, torch.Tensor]) -> VisionTransformer:
    """A float32 tower in eval mode holding ``state`` (keys without ``visual.``; every key must match)."""
    model = VisionTransformer(tower_shape(state))
    model.load_state_dict({key: value.float() for key, value in state.items()}, strict=True)
    return model.eval().requires_grad_(False)
