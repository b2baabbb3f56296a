"""Deterministic random weights, a safetensors writer and parity panels for the WD tagger tests and for
``scripts/goldens/wd_tagger_parity.py`` (which imports this file in the reference venv: NumPy and Pillow only).

Weights are drawn with NumPy's PCG64 from a key layout alone, in sorted key order, so the same layout gives the same
tensors here and in timm's model, on every platform.
"""

from __future__ import annotations

import hashlib
import json
import struct
from pathlib import Path

import numpy as np

#: Reduced-size architectures of the tests and goldens (arguments of timm's model functions, and ours).
TINY_VIT = {"width": 16, "depth": 2, "heads": 2}
TINY_CONVNEXT = {"depths": (1, 1, 2, 1), "dims": (8, 8, 16, 16)}
#: SwinV2 keeps the published 4×4 patches and 14×14 windows (so its stages attend in 64, 16, 4 and 1 windows, the
#: first three with shifted blocks); only widths (doubling per stage, as timm builds them), depths and heads shrink.
#: The last width stays under the 24 panels of a set, so the goldens' covariances have full rank.
TINY_SWINV2 = {"depths": (2, 2, 2, 2), "dims": (2, 4, 8, 16), "stage_heads": (1, 1, 2, 2)}
#: EVA02 keeps the published 14×14 patches (a 32×32 grid at 448, the published RoPE reference grid); two 8-wide
#: heads give each axis two RoPE frequencies.
TINY_EVA02 = {"width": 16, "depth": 2, "heads": 2}
#: Tags of the reduced-size heads.
TINY_CLASSES = 7
#: Sizes (height, width) of the parity panels: tall, wide, square at the network's size, tiny, large.
PANEL_SIZES = ((300, 200), (120, 500), (448, 448), (37, 61), (900, 700), (256, 256))


def random_state(shapes: dict[str, tuple[int, ...]], seed: int) -> dict[str, np.ndarray]:
    """float32 tensors for a key layout: norms' weights near 1, layer scales near 0.3, biases and positions small,
    other weights scaled by 1/√fan-in, so activations stay of order one through every block."""
    rng = np.random.default_rng(seed)
    state = {}
    for key in sorted(shapes):
        shape = shapes[key]
        draw = rng.standard_normal(shape)
        leaf = key.rsplit(".", 1)[-1]
        if "norm" in key and leaf == "weight":
            values = 1.0 + 0.1 * draw
        elif leaf == "gamma":
            values = 0.3 + 0.05 * draw
        elif leaf == "bias" or leaf == "pos_embed":
            values = 0.05 * draw
        else:
            fan_in = int(np.prod(shape[1:])) if len(shape) > 1 else 1
            values = draw / np.sqrt(fan_in)
        state[key] = values.astype(np.float32)
    return state


def layout_sha256(shapes: dict[str, tuple[int, ...]]) -> str:
    """A digest of a key layout: each key and its shape, in sorted key order."""
    text = "\n".join(f"{key} {tuple(int(side) for side in shapes[key])}" for key in sorted(shapes))
    return hashlib.sha256(text.encode()).hexdigest()


def write_safetensors(path: Path, tensors: dict[str, np.ndarray]) -> None:
    """``tensors`` (float32) as a ``.safetensors`` file: an 8-byte header length, the JSON header, the raw bytes."""
    header, blobs, offset = {}, [], 0
    for name in sorted(tensors):
        blob = np.ascontiguousarray(tensors[name], dtype="<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(tensors[name].shape), "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    encoded = json.dumps(header).encode()
    Path(path).write_bytes(struct.pack("<Q", len(encoded)) + encoded + b"".join(blobs))


def panel(seed: int, height: int, width: int) -> np.ndarray:
    """A webtoon-like uint8 RGB panel: a flat background, flat-coloured rectangles with dark outlines, a few
    dark strokes."""
    rng = np.random.default_rng(seed)
    image = np.empty((height, width, 3), np.uint8)
    image[:] = rng.integers(150, 256, 3)
    for _ in range(4):
        top, left = rng.integers(0, height), rng.integers(0, width)
        bottom, right = min(height, top + rng.integers(4, height // 2 + 5)), min(width, left + rng.integers(4, width // 2 + 5))
        image[top:bottom, left:right] = 20
        image[top + 2 : bottom - 2, left + 2 : right - 2] = rng.integers(0, 256, 3)
    for _ in range(3):
        row = rng.integers(0, height)
        image[row : row + 2, rng.integers(0, width // 2) : rng.integers(width // 2, width + 1)] = 0
    return image


def panel_set(seed: int, count: int) -> list[np.ndarray]:
    """``count`` panels cycling through :data:`PANEL_SIZES`."""
    return [panel(seed * 1000 + index, *PANEL_SIZES[index % len(PANEL_SIZES)]) for index in range(count)]
