"""Test and benchmark fixtures (not shipped with frechet): deterministic random weights in the DINOv2 hub layout, and
synthetic PNG images.

Weights: every tensor is drawn from its own PCG64 stream seeded by (seed, key name), from the generator's raw 64-bit
output (whose stream NumPy keeps stable), so the same seed gives bit-identical weights in any process, key order and
NumPy or torch version. Scales keep every token of order one through any depth (unit-variance embeddings, fan-in
scaled projections, layer scales of 0.2-0.6), with two exceptions that make the modes tell apart: the query/key
projections are scaled up so attention is nearly hard (logits of spread ~25), and the patch embedding by 6 so a
token is mostly its pixels. Then the class token follows small changes of the pixels and of the positions, and a
resize or positional-embedding interpolation other than the peer's moves FD by 30x the parity tolerance or more
(scripts/goldens/dinov2_parity.py measures it).
Images: gradients, blocks, stripes and noise from integer arithmetic only, written as PNG, so their pixels are the
same everywhere. Imports only numpy and torch (and Pillow to write files): reference scripts load it by path."""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import torch

#: The seed the parity goldens, the tests and the benchmark use.
PARITY_SEED = 20230414
#: Standard deviation of a query or key component (unit-variance inputs): attention logits of spread ~ this squared.
_ATTENTION_SHARPNESS = 5.0
#: Gain of the patch embedding over a fan-in-scaled projection, against unit-variance positional embeddings.
_PATCH_GAIN = 6.0


def random_state_dict(
    layout: Mapping[str, tuple[tuple[int, ...], torch.dtype]], seed: int = PARITY_SEED
) -> dict[str, torch.Tensor]:
    """A state dict with ``layout``'s keys, shapes and dtypes (see ``network.state_dict_layout()``)."""
    return {key: _tensor(key, shape, dtype, seed) for key, (shape, dtype) in layout.items()}


def state_sha256(state: Mapping[str, torch.Tensor]) -> str:
    """Fingerprint of a state dict's content: sha256 over each key, dtype, shape and the tensor's bytes, in order."""
    digest = hashlib.sha256()
    for key, value in state.items():
        digest.update(f"{key}:{value.dtype}:{tuple(value.shape)}".encode())
        digest.update(value.contiguous().numpy().tobytes())
    return digest.hexdigest()


def _tensor(key: str, shape: tuple[int, ...], dtype: torch.dtype, seed: int) -> torch.Tensor:
    count = math.prod(shape)
    if key in ("cls_token", "pos_embed", "mask_token"):
        std = 1.0
    elif key.endswith(".gamma"):
        return _uniform_tensor(seed, key, shape, 0.2, 0.6, dtype)
    elif "norm" in key and key.endswith(".weight"):
        return _uniform_tensor(seed, key, shape, 0.8, 1.2, dtype)
    elif key.endswith(".bias"):
        return _uniform_tensor(seed, key, shape, -0.1, 0.1, dtype)
    elif key.endswith("qkv.weight"):
        width = shape[1]
        values = _uniform(seed, key, count).reshape(shape) * 2 - 1
        values[: 2 * width] *= math.sqrt(3) * _ATTENTION_SHARPNESS / math.sqrt(width)  # queries and keys
        values[2 * width :] *= math.sqrt(3) / math.sqrt(width)  # values
        return torch.from_numpy(values).to(dtype)
    elif key == "patch_embed.proj.weight":
        std = _PATCH_GAIN / math.sqrt(math.prod(shape[1:]))
    elif key.endswith(".weight"):
        std = 1.0 / math.sqrt(math.prod(shape[1:]))
    else:
        raise ValueError(f"no random initialisation rule for weights key '{key}'")
    bound = math.sqrt(3) * std
    return _uniform_tensor(seed, key, shape, -bound, bound, dtype)


def _uniform_tensor(seed: int, key: str, shape: tuple[int, ...], low: float, high: float, dtype) -> torch.Tensor:
    values = low + (high - low) * _uniform(seed, key, math.prod(shape))
    return torch.from_numpy(values.reshape(shape)).to(dtype)


def _uniform(seed: int, key: str, count: int) -> np.ndarray:
    """``count`` float64 values in [0, 1) from the raw output of a PCG64 stream named by (seed, key)."""
    stream = np.random.PCG64(np.random.SeedSequence([seed, *key.encode()]))
    raw = stream.random_raw(count)
    return (raw >> np.uint64(11)).astype(np.float64) * 2.0**-53


def synthetic_image(seed: int, index: int, height: int, width: int, variant: int = 0) -> np.ndarray:
    """A uint8 (height, width, 3) RGB image, a pure function of its arguments; ``variant`` 1 has more stripes and
    noise than variant 0, so two sets of different variants are clearly apart."""
    stream = np.random.PCG64(np.random.SeedSequence([seed, variant, index, height, width]))

    def ints(low: int, high: int, count: int) -> np.ndarray:
        return (stream.random_raw(count) % np.uint64(high - low)).astype(np.int64) + low

    y, x = np.mgrid[0:height, 0:width].astype(np.int64)
    corners = ints(0, 256, 12).reshape(4, 3)
    h1, w1 = max(height - 1, 1), max(width - 1, 1)
    weights = [(w1 - x) * (h1 - y), x * (h1 - y), (w1 - x) * y, x * y]
    image = sum(w[..., None] * c for w, c in zip(weights, corners)) // (w1 * h1)
    for _ in range(int(ints(2, 6, 1)[0])):
        y0, x0 = ints(0, height, 1)[0], ints(0, width, 1)[0]
        image[y0 : y0 + max(height // 4, 1), x0 : x0 + max(width // 5, 1)] = ints(0, 256, 3)
    if variant == 1 or ints(0, 3, 1)[0] == 0:
        period = int(ints(2, 9, 1)[0])
        stripes = ((y * int(ints(0, 4, 1)[0]) + x) // period) % 2 == 1
        image[stripes] = image[stripes] // 2 + ints(0, 128, 3)
    amplitude = int(ints(0, 12 + 24 * variant, 1)[0])
    image = image + ints(-amplitude, amplitude + 1, height * width * 3).reshape(height, width, 3)
    return np.clip(image, 0, 255).astype(np.uint8)


#: (height, width) of the parity images: the model's own 224×224, up-scales, down-scales and odd aspect ratios.
PARITY_SIZES = ((224, 224), (32, 32), (64, 48), (100, 75), (150, 200), (256, 256), (333, 517), (400, 300))


def write_image_set(
    folder: str | Path, count: int, *, seed: int, variant: int, sizes: Sequence[tuple[int, int]] = PARITY_SIZES
) -> list[Path]:
    """Write ``count`` synthetic PNG images to ``folder`` as 000.png, 001.png, … (sizes taken in turn) and return
    their paths."""
    from PIL import Image

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for index in range(count):
        height, width = sizes[index % len(sizes)]
        path = folder / f"{index:03d}.png"
        Image.fromarray(synthetic_image(seed, index, height, width, variant)).save(path)
        paths.append(path)
    return paths


def random_input(seed: int, height: int, width: int, count: int = 1) -> torch.Tensor:
    """A float32 (count, 3, height, width) batch of values in [-2, 2) (the range of ImageNet-normalised pixels)."""
    stream = np.random.PCG64(np.random.SeedSequence([seed, count, height, width]))
    values = (stream.random_raw(count * 3 * height * width) >> np.uint64(11)).astype(np.float64) * 2.0**-53
    return torch.from_numpy((4 * values - 2).reshape(count, 3, height, width).astype(np.float32))
