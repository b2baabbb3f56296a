"""The input options every custom image backbone shares: ``size``, ``resize``, ``mean`` and ``std``.

They turn a decoded uint8 (H, W, 3) RGB image into the float32 (3, h, w) tensor the model gets: resized to ``size``
with ``resize`` (no resampling when the image already has that size), scaled to [0, 1], then (x − mean) / std.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from frechet.caller import spell_embedder_option
from frechet.embedder import Option
from frechet.errors import ConfigError
from frechet_image import resize_float
from frechet_image.preprocess import RESIZE_METHODS

#: Resize method when ``resize`` is not given: what torchvision's classification transforms use.
DEFAULT_RESIZE = "bilinear"


def parse_size(value: Any) -> tuple[int, int]:
    """N or HxW (height x width), e.g. 224 or 256x192"""
    if isinstance(value, str):
        parts: Sequence[Any] = value.lower().replace(",", "x").split("x")
    elif isinstance(value, int) and not isinstance(value, bool):
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
        raise ValueError("use N for N x N, or HxW such as 256x192")
    return sides[0], sides[1]


def parse_channels(value: Any) -> tuple[float, float, float]:
    """one number or three (R,G,B), e.g. 0.5,0.5,0.5"""
    parts = value.split(",") if isinstance(value, str) else (list(value) if isinstance(value, Sequence) else [value])
    try:
        numbers = [float(part) for part in parts]
    except (TypeError, ValueError):
        numbers = []
    if len(numbers) == 1:
        numbers *= 3
    if len(numbers) != 3 or not all(np.isfinite(numbers)):
        raise ValueError("give one number or three, e.g. 0.5,0.5,0.5")
    return numbers[0], numbers[1], numbers[2]


def parse_positive_channels(value: Any) -> tuple[float, float, float]:
    """one positive number or three (R,G,B), e.g. 0.229,0.224,0.225"""
    channels = parse_channels(value)
    if any(number <= 0 for number in channels):
        raise ValueError("every channel must be positive")
    return channels


#: The options :func:`image_preprocessing` reads, declared for every embedder that uses it.
PREPROCESSING_OPTIONS = (
    Option("size", parse_size, help="the model's input size; images are resized to it (not when they have it)"),
    Option("resize", choices=tuple(RESIZE_METHODS), help=f"resize filter (default {DEFAULT_RESIZE})"),
    Option("mean", parse_channels, help="per-channel mean subtracted from [0, 1] values (default 0)"),
    Option("std", parse_positive_channels, help="per-channel divisor after the mean (default 1)"),
)
#: ``output``: which of a model's outputs the Fréchet distance uses.
OUTPUT_OPTION = Option("output", help="which of the model's outputs FD uses (default: its first)")


def zoo_options(weights_help: str) -> tuple[Option, ...]:
    """The options of a model taken from a model zoo by name: preprocessing, its weights, the output."""
    return (*PREPROCESSING_OPTIONS, Option("weights", help=weights_help), OUTPUT_OPTION)


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
    label: str,
    *,
    size: tuple[int, int] | None = None,
    resize: str | None = None,
    mean: tuple[float, float, float] | None = None,
    std: tuple[float, float, float] | None = None,
    default_size: tuple[int, int] | None = None,
    default_method: str = DEFAULT_RESIZE,
    default_mean: Sequence[float] = (0.0, 0.0, 0.0),
    default_std: Sequence[float] = (1.0, 1.0, 1.0),
) -> ImagePreprocessing:
    """The preprocessing from the parsed options, each falling back on the model's default where it has one.

    ``label`` names the embedder in errors. Without ``size`` and without a ``default_size`` (from the model or its
    weights) the size is an error: frechet cannot guess the resolution a model was trained at.
    """
    size = size or default_size
    if size is None:
        raise ConfigError(
            f"{label}: give the model's input size with {spell_embedder_option('size', 'N')} (or HxW); images are "
            "resized to it (not at all when they already have that size)"
        )
    return ImagePreprocessing(size, resize or default_method, _triple(mean or default_mean), _triple(std or default_std))


def _triple(values: Sequence[float]) -> tuple[float, float, float]:
    return float(values[0]), float(values[1]), float(values[2])


def _float_list(values: Sequence[float]) -> str:
    return ",".join(repr(float(value)) for value in values)
