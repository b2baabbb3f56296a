"""The input options every custom image backbone shares: ``size``, ``resize``, ``mean`` and ``std``.

They turn a decoded uint8 (H, W, 3) RGB image into the float32 (3, h, w) tensor the model gets: resized to ``size``
with ``resize`` (no resampling when the image already has that size), scaled to [0, 1], then (x − mean) / std.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from frechet.errors import ConfigError
from frechet_image import resize_float
from frechet_image.preprocess import RESIZE_METHODS

#: The options :func:`image_preprocessing` reads.
PREPROCESSING_OPTIONS = ("size", "resize", "mean", "std")
#: Resize method when ``resize`` is not given: what torchvision's classification transforms use.
DEFAULT_RESIZE = "bilinear"


@dataclass(frozen=True)
class ImagePreprocessing:
    """Resize to ``size`` = (height, width) with ``method``, scale to [0, 1], subtract ``mean``, divide by ``std``."""

    size: tuple[int, int]
    method: str
    mean: tuple[float, float, float]
    std: tuple[float, float, float]

    def __call__(self, image: np.ndarray) -> torch.Tensor:
        """One decoded uint8 (H, W, 3) RGB image -> the model's float32 (3, h, w) input."""
        return self.normalize(resize_float(image, self.size, self.method))

    def normalize(self, unit: torch.Tensor) -> torch.Tensor:
        """(…, 3, h, w) values in [0, 1] -> (x − mean) / std per channel (unchanged for mean 0, std 1)."""
        if self.mean == (0.0, 0.0, 0.0) and self.std == (1.0, 1.0, 1.0):
            return unit
        mean = torch.tensor(self.mean, dtype=unit.dtype).view(3, 1, 1)
        std = torch.tensor(self.std, dtype=unit.dtype).view(3, 1, 1)
        return (unit - mean) / std

    def config(self) -> dict[str, str]:
        """The settings as normalized strings, so equal settings give equal embedder ids however they were given."""
        height, width = self.size
        return {
            "size": str(height) if height == width else f"{height}x{width}",
            "resize": self.method,
            "mean": _float_list(self.mean),
            "std": _float_list(self.std),
        }


def image_preprocessing(
    options: Mapping[str, Any],
    label: str,
    *,
    default_size: tuple[int, int] | None = None,
    default_method: str = DEFAULT_RESIZE,
    default_mean: Sequence[float] = (0.0, 0.0, 0.0),
    default_std: Sequence[float] = (1.0, 1.0, 1.0),
) -> ImagePreprocessing:
    """Read ``size``, ``resize``, ``mean`` and ``std`` from ``options`` (CLI strings or Python values).

    ``label`` names the embedder in errors. Without ``size`` and without a ``default_size`` (from the model or its
    weights) the size is an error: frechet cannot guess the resolution a model was trained at.
    """
    if "size" in options:
        size = parse_size(options["size"], label)
    elif default_size is not None:
        size = default_size
    else:
        raise ConfigError(
            f"{label}: give the model's input size with --embedder-option size=N (or size=HxW); images are resized "
            "to it (not at all when they already have that size)"
        )
    method = str(options.get("resize", default_method)).strip().lower()
    if method not in RESIZE_METHODS:
        raise ConfigError(f"{label}: resize={method!r} is not a resize method; choose one of {', '.join(RESIZE_METHODS)}")
    mean = _channels(options.get("mean", default_mean), "mean", label)
    std = _channels(options.get("std", default_std), "std", label)
    if any(value <= 0 for value in std):
        raise ConfigError(f"{label}: std={_float_list(std)} must be positive for every channel")
    return ImagePreprocessing(size, method, mean, std)


def parse_size(value: Any, label: str) -> tuple[int, int]:
    """``224``, ``"224"``, ``"256x192"`` (height x width) or a (height, width) pair -> (height, width)."""
    if isinstance(value, str):
        parts: Sequence[Any] = value.lower().replace(",", "x").split("x")
    elif isinstance(value, int):
        parts = (value,)
    else:
        parts = tuple(value) if isinstance(value, Sequence) else ()
    try:
        sides = tuple(int(str(part).strip()) for part in parts)
    except ValueError:
        sides = ()
    if len(sides) == 1:
        sides = sides * 2
    if len(sides) != 2 or min(sides) < 1:
        raise ConfigError(f"{label}: size={value!r} is not a size; use N for N x N, or HxW (e.g. size=256x192)")
    return sides[0], sides[1]


def check_options(options: Mapping[str, Any], known: Sequence[str], label: str) -> None:
    """Raise ConfigError naming the first option not in ``known`` (and what to use for the core's image flags)."""
    for key in options:
        if key in known:
            continue
        if key == "preprocess":
            raise ConfigError(f"{label}: --preprocess is for the Inception modes; use the options resize=, mean=, std=")
        if key == "weights":
            raise ConfigError(f"{label}: --weights is not used; the model file is the part after the ':'")
        raise ConfigError(f"{label}: unknown option '{key}'; this embedder takes {', '.join(known)}")


def _channels(value: Any, name: str, label: str) -> tuple[float, float, float]:
    parts = value.split(",") if isinstance(value, str) else (list(value) if isinstance(value, Sequence) else [value])
    try:
        numbers = [float(part) for part in parts]
    except (TypeError, ValueError):
        numbers = []
    if len(numbers) == 1:
        numbers *= 3
    if len(numbers) != 3 or not all(np.isfinite(numbers)):
        raise ConfigError(f"{label}: {name}={value!r} must be one number or three (R,G,B), e.g. {name}=0.5,0.5,0.5")
    return numbers[0], numbers[1], numbers[2]


def _float_list(values: Sequence[float]) -> str:
    return ",".join(repr(float(value)) for value in values)
