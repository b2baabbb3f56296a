"""Test and benchmark fixtures (not shipped with frechet): deterministic random weights in the FID Inception-v3
layout, and synthetic images.

Weights: every tensor is drawn from its own PCG64 stream seeded by (seed, key name), from the generator's raw
64-bit output (whose stream NumPy keeps stable), so the same seed gives bit-identical weights in any process, key
order and NumPy or torch version. Scales follow He initialisation with near-identity batch norms, which keeps
activations of order one through all 94 units; the classifier is scaled so logits spread over several units.
Images: smooth colour gradients, shapes, stripes and noise, computed with integer arithmetic only, so their pixels
are identical everywhere. Imports only numpy, torch (and Pillow to write files), so reference scripts can load this
file by path."""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import torch

#: The seed the parity goldens and the benchmark use.
PARITY_SEED = 20151205
_LOGIT_SCALE = 12.0


def random_state_dict(
    layout: Mapping[str, tuple[tuple[int, ...], torch.dtype]], seed: int = PARITY_SEED
) -> dict[str, torch.Tensor]:
    """A state dict with ``layout``'s keys, shapes and dtypes (see ``network.state_dict_layout()``)."""
    return {key: _tensor(key, shape, dtype, seed) for key, (shape, dtype) in layout.items()}


def state_sha256(state: Mapping[str, torch.Tensor]) -> str:
    """Fingerprint of a state dict's content: sha256 over each key, dtype, shape and the tensor's bytes, in order
    (independent of how the file was written)."""
    digest = hashlib.sha256()
    for key, value in state.items():
        digest.update(f"{key}:{value.dtype}:{tuple(value.shape)}".encode())
        digest.update(value.contiguous().numpy().tobytes())
    return digest.hexdigest()


def _tensor(key: str, shape: tuple[int, ...], dtype: torch.dtype, seed: int) -> torch.Tensor:
    if key.endswith("num_batches_tracked"):
        return torch.zeros(shape, dtype=dtype)
    count = math.prod(shape)
    if key.endswith("conv.weight"):
        fan_in = math.prod(shape[1:])
        low, high = -math.sqrt(6 / fan_in), math.sqrt(6 / fan_in)  # He: variance 2 / fan_in
    elif key.endswith("bn.weight") or key.endswith("running_var"):
        low, high = 0.8, 1.2
    elif key.endswith("bn.bias") or key.endswith("running_mean"):
        low, high = -0.1, 0.1
    elif key == "fc.weight":
        bound = _LOGIT_SCALE * math.sqrt(3 / shape[1])
        low, high = -bound, bound
    elif key == "fc.bias":
        low, high = -1.0, 1.0
    else:
        raise ValueError(f"no random initialisation rule for weights key '{key}'")
    values = low + (high - low) * _uniform(seed, key, count)
    return torch.from_numpy(values.reshape(shape)).to(dtype)


def _uniform(seed: int, key: str, count: int) -> np.ndarray:
    """``count`` float64 values in [0, 1) from the raw output of a PCG64 stream named by (seed, key)."""
    stream = np.random.PCG64(np.random.SeedSequence([seed, *key.encode()]))
    raw = stream.random_raw(count)
    return (raw >> np.uint64(11)).astype(np.float64) * 2.0**-53


def synthetic_image(seed: int, index: int, height: int, width: int, variant: int = 0) -> np.ndarray:
    """A uint8 (height, width, 3) RGB image, a pure function of its arguments; ``variant`` changes the distribution
    (variant 1 has more stripes and noise than variant 0), so two sets of different variants have a clear FID."""
    draw = _Draws(np.random.PCG64(np.random.SeedSequence([seed, variant, index, height, width])))
    y, x = np.mgrid[0:height, 0:width].astype(np.int64)
    corners = draw.ints(0, 256, 12).reshape(4, 3)
    h1, w1 = max(height - 1, 1), max(width - 1, 1)
    weights = [(w1 - x) * (h1 - y), x * (h1 - y), (w1 - x) * y, x * y]
    image = sum(w[..., None] * c for w, c in zip(weights, corners)) // (w1 * h1)
    for _ in range(int(draw.ints(2, 6, 1)[0])):
        colour = draw.ints(0, 256, 3)
        cy, cx = draw.ints(0, height, 1)[0], draw.ints(0, width, 1)[0]
        ry, rx = draw.ints(1, max(height // 3, 2), 1)[0], draw.ints(1, max(width // 3, 2), 1)[0]
        if draw.ints(0, 2, 1)[0]:
            mask = (np.abs(y - cy) <= ry) & (np.abs(x - cx) <= rx)
        else:
            mask = (y - cy) ** 2 * rx * rx + (x - cx) ** 2 * ry * ry <= (rx * ry) ** 2
        image[mask] = colour
    if variant == 1 or draw.ints(0, 3, 1)[0] == 0:
        period = int(draw.ints(2, 9, 1)[0])
        ky, kx = draw.ints(0, 4, 2)
        stripes = ((y * ky + x * (kx + 1)) // period) % 2 == 1
        image[stripes] = image[stripes] // 2 + draw.ints(0, 128, 3)
    amplitude = int(draw.ints(0, 12 + 24 * variant, 1)[0])
    image = image + draw.ints(-amplitude, amplitude + 1, height * width * 3).reshape(height, width, 3)
    return np.clip(image, 0, 255).astype(np.uint8)


class _Draws:
    """Integers from a PCG64 stream's raw output (NumPy keeps the raw stream stable across versions)."""

    def __init__(self, stream: np.random.PCG64) -> None:
        self.stream = stream

    def ints(self, low: int, high: int, count: int) -> np.ndarray:
        """``count`` int64 values in [low, high) (modulo reduction; its tiny bias does not matter here)."""
        raw = self.stream.random_raw(count)
        return (raw % np.uint64(high - low)).astype(np.int64) + low


#: Image sizes (height, width) of the parity image sets: no resize, up-scales, down-scales and odd aspect ratios.
PARITY_SIZES = (
    (299, 299), (32, 32), (48, 64), (64, 48), (100, 75), (128, 128), (150, 200), (256, 256), (333, 517), (400, 300),
)
_JPEG_QUALITY = 90


def write_image_set(
    folder: str | Path,
    count: int,
    *,
    seed: int,
    variant: int,
    sizes: Sequence[tuple[int, int]] = PARITY_SIZES,
    formats: Sequence[str] = ("png", "jpg"),
) -> list[Path]:
    """Write ``count`` synthetic images to ``folder`` as 000.png, 001.jpg, … (sizes and formats taken in turn;
    JPEG at quality 90) and return their paths, sorted."""
    from PIL import Image

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for index in range(count):
        height, width = sizes[index % len(sizes)]
        suffix = formats[index % len(formats)]
        path = folder / f"{index:03d}.{suffix}"
        pixels = synthetic_image(seed, index, height, width, variant)
        options = {"quality": _JPEG_QUALITY} if suffix in ("jpg", "jpeg") else {}
        Image.fromarray(pixels).save(path, **options)
        paths.append(path)
    return paths
