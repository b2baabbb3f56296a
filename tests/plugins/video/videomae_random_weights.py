"""Deterministic random VideoMAE-v2 weights in the layout of cd-fvd's checkpoint (``vit_g_hybrid_pt_1200e_ssv2_ft``),
for the tests and, imported by path, scripts/goldens/videomae_parity.py (which loads them into cd-fvd's own model).

Every tensor comes from its own PCG64 stream named by (seed, key), from the generator's raw 64-bit output (a stream
NumPy keeps stable), so a seed gives the same bits in any process and key order. Scales keep tokens of order one:
fan-in scaled projections, a patch embedding with a gain of 6 over the sine-cosine positions (a token is mostly its
pixels), and query/key projections scaled so attention logits spread by ~6 (attention far from uniform). Imports
only numpy and torch.
"""

from __future__ import annotations

import math

import numpy as np
import torch

#: The seed the goldens and the tests use.
SEED = 20230513
#: The reduced network the committed goldens use: two blocks of two 88-wide heads (ViT-g/14's head width).
TINY = {"width": 176, "depth": 2, "heads": 2, "hidden": 768}
#: cd-fvd's classifier head: Something-Something v2's classes.
CLASSES = 174
_PATCH_GAIN = 6.0
_QK_STD = 2.5


def layout(width: int, depth: int, hidden: int, classes: int = CLASSES) -> dict[str, tuple[int, ...]]:
    """The checkpoint's keys and shapes for a network of this size, in the order VideoMAE-v2's model lists them."""
    keys = {"patch_embed.proj.weight": (width, 3, 2, 14, 14), "patch_embed.proj.bias": (width,)}
    for i in range(depth):
        block = f"blocks.{i}"
        keys.update({
            f"{block}.norm1.weight": (width,), f"{block}.norm1.bias": (width,),
            f"{block}.attn.q_bias": (width,), f"{block}.attn.v_bias": (width,),
            f"{block}.attn.qkv.weight": (3 * width, width),
            f"{block}.attn.proj.weight": (width, width), f"{block}.attn.proj.bias": (width,),
            f"{block}.norm2.weight": (width,), f"{block}.norm2.bias": (width,),
            f"{block}.mlp.fc1.weight": (hidden, width), f"{block}.mlp.fc1.bias": (hidden,),
            f"{block}.mlp.fc2.weight": (width, hidden), f"{block}.mlp.fc2.bias": (width,),
        })
    keys.update({"fc_norm.weight": (width,), "fc_norm.bias": (width,), "head.weight": (classes, width),
                 "head.bias": (classes,)})
    return keys


def random_state(width: int = TINY["width"], depth: int = TINY["depth"], hidden: int = TINY["hidden"],
                 seed: int = SEED) -> dict[str, torch.Tensor]:
    """A float32 state dict in the checkpoint's layout for a network of this size."""
    return {key: torch.from_numpy(_values(key, shape, seed)) for key, shape in layout(width, depth, hidden).items()}


def _values(key: str, shape: tuple[int, ...], seed: int) -> np.ndarray:
    if "norm" in key and key.endswith(".weight"):
        return _uniform(seed, key, shape, 0.8, 1.2)
    if key.endswith("bias"):
        return _uniform(seed, key, shape, -0.1, 0.1)
    std = 1.0 / math.sqrt(math.prod(shape[1:]))
    if key == "patch_embed.proj.weight":
        std *= _PATCH_GAIN
    values = _uniform(seed, key, shape, -math.sqrt(3) * std, math.sqrt(3) * std)
    if key.endswith("qkv.weight"):
        width = shape[1]
        values[: 2 * width] *= _QK_STD  # queries and keys of std 2.5: logits of spread 2.5 ** 2
    return values


def _uniform(seed: int, key: str, shape: tuple[int, ...], low: float, high: float) -> np.ndarray:
    """float32 values uniform in [low, high) from the raw output of a PCG64 stream named by (seed, key)."""
    raw = np.random.PCG64(np.random.SeedSequence([seed, *key.encode()])).random_raw(math.prod(shape))
    unit = (raw >> np.uint64(11)).astype(np.float64) * 2.0**-53
    return (low + (high - low) * unit).astype(np.float32).reshape(shape)


def checkpoint(state: dict[str, torch.Tensor]) -> dict[str, dict[str, torch.Tensor]]:
    """``state`` wrapped as a training checkpoint holds it (its ``module`` entry), which cd-fvd unwraps."""
    return {"module": state}
