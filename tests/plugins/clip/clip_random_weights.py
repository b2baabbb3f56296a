"""Test and benchmark fixtures (not shipped with frechet): random weights in OpenAI's full CLIP layout.

Every tensor is drawn from its own PCG64 stream seeded by (seed, key name), from the generator's raw 64-bit output
(which NumPy keeps stable), so the same seed gives bit-identical weights in any process or version. Values are
stored in float16, as in OpenAI's published checkpoints, so every reader (OpenAI's ``clip``, torch-fidelity, which
rounds weights to float16 on load, and JAX ports) sees the same numbers. Scales keep activations of order one and
make the image features depend strongly on the input, so preprocessing modes give clearly different features. A
small text tower is included because the reference tools build the whole CLIP model from one state dict.
Imports only numpy, torch and ``frechet_clip/network.py`` (by path when frechet is not installed).
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping

import numpy as np
import torch

try:
    from frechet_clip.network import TowerShape, state_dict_layout
except ImportError:  # loaded by path from a reference environment
    from network import TowerShape, state_dict_layout  # type: ignore[no-redef]

#: The seed the parity goldens, tests and benchmark use.
PARITY_SEED = 20210226
#: Reduced towers in the exact key layout and at the real patch size and resolution of each published model.
SMALL_SHAPES = {
    "clip-vitb32": TowerShape(width=128, layers=2, patch=32, resolution=224, output_dim=32),
    "clip-vitl14": TowerShape(width=128, layers=2, patch=14, resolution=224, output_dim=32),
    "clip-vitl14-336": TowerShape(width=128, layers=2, patch=14, resolution=336, output_dim=32),
}
_TEXT_WIDTH, _TEXT_LAYERS, _CONTEXT, _VOCAB = 64, 1, 77, 16
#: Image sizes (height, width) of the parity sets: the towers' own sizes, up- and down-scales, odd aspect ratios,
#: and sizes whose centre crops fall on a half pixel (rounded to even by torchvision, down by CMMD).
IMAGE_SIZES = (
    (224, 224), (336, 336), (32, 32), (48, 64), (64, 48), (200, 201), (201, 200), (150, 200), (333, 517),
    (400, 300), (256, 256), (500, 375), (17, 301),
)
#: Seed and image counts of the parity sets (neither a multiple of 32, so CMMD's reference drops some of each).
IMAGE_SEED = 15
IMAGE_COUNTS = {"real": 40, "fake": 37}


def clip_layout(shape: TowerShape) -> dict[str, tuple[int, ...]]:
    """Key -> shape of a full OpenAI CLIP state dict: ``visual.*`` for ``shape`` and a one-block text tower."""
    layout = {"positional_embedding": (_CONTEXT, _TEXT_WIDTH), "text_projection": (_TEXT_WIDTH, shape.output_dim),
              "logit_scale": ()}
    layout.update({f"visual.{key}": value for key, value in state_dict_layout(shape).items()})
    text = state_dict_layout(TowerShape(_TEXT_WIDTH, _TEXT_LAYERS, 1, 1, 1))
    layout.update({key: value for key, value in text.items() if key.startswith("transformer.")})
    layout.update({"token_embedding.weight": (_VOCAB, _TEXT_WIDTH), "ln_final.weight": (_TEXT_WIDTH,),
                   "ln_final.bias": (_TEXT_WIDTH,)})
    return layout


def random_clip_state(shape: TowerShape, seed: int = PARITY_SEED) -> dict[str, torch.Tensor]:
    """A full OpenAI-layout CLIP state dict of float16 tensors for the vision tower ``shape``."""
    return {key: _tensor(key, dims, shape, seed) for key, dims in clip_layout(shape).items()}


def visual_part(state: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The ``visual.*`` entries of a full CLIP state dict, without the prefix."""
    return {key[len("visual."):]: value for key, value in state.items() if key.startswith("visual.")}


def state_sha256(state: Mapping[str, torch.Tensor]) -> str:
    """sha256 over each key, dtype, shape and the tensor's bytes, in order (independent of the file format)."""
    digest = hashlib.sha256()
    for key, value in state.items():
        digest.update(f"{key}:{value.dtype}:{tuple(value.shape)}".encode())
        digest.update(value.contiguous().numpy().tobytes())
    return digest.hexdigest()


def _tensor(key: str, dims: tuple[int, ...], shape: TowerShape, seed: int) -> torch.Tensor:
    if key == "logit_scale":
        return torch.tensor(math.log(100.0), dtype=torch.float16)
    name = key.rsplit(".", 1)[-1]
    centre = 0.0
    if ".ln_" in f".{key}":
        centre, spread = (1.0, 0.2) if name == "weight" else (0.0, 0.2)
    elif name in ("class_embedding", "positional_embedding"):
        spread = 1.0
    elif name in ("proj", "text_projection"):
        spread = math.sqrt(3.0 / dims[0])
    elif name == "bias" or name == "in_proj_bias":
        spread = 0.05
    elif key.endswith("conv1.weight"):
        spread = math.sqrt(3.0 / math.prod(dims[1:])) * 2.0  # unit-variance patch embeddings from [-1, 1] pixels
    else:  # linear and attention weights, token embeddings: variance 1 / fan_in, x 2 for sharper attention
        spread = math.sqrt(3.0 / dims[-1]) * (2.0 if "in_proj" in key else 1.0)
    values = centre + spread * (2.0 * _uniform(seed, key, math.prod(dims)) - 1.0)
    return torch.from_numpy(values.reshape(dims)).to(torch.float16)


def _uniform(seed: int, key: str, count: int) -> np.ndarray:
    """``count`` float64 values in [0, 1) from the raw output of a PCG64 stream named by (seed, key)."""
    stream = np.random.PCG64(np.random.SeedSequence([seed, *key.encode()]))
    raw = stream.random_raw(count)
    return (raw >> np.uint64(11)).astype(np.float64) * 2.0**-53
