"""Helpers for the image-plugin tests: small image files, and a tiny test-only image embedder."""

from __future__ import annotations

import zlib
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from frechet.embedder import Embedder
from frechet.plugins import get_registry
from frechet_image import resize_float


class MeanColour(Embedder):
    """Test-only embedder: each image's mean colour after an 8x8 area resize (3 features)."""

    name = "mean-colour"
    domain = "image"

    def __init__(self) -> None:
        super().__init__()
        self.outputs = {"mean": 3}
        self.default_output = "mean"

    def transform(self, item: np.ndarray) -> torch.Tensor:
        return resize_float(item, 8, "area")

    def forward(self, batch: torch.Tensor) -> dict[str, torch.Tensor]:
        return {"mean": batch.mean(dim=(2, 3))}


@pytest.fixture
def mean_colour() -> str:
    """Register the MeanColour embedder in this test's registry (plugins are reloaded for every test)."""
    get_registry().add_embedder(
        MeanColour.name, MeanColour, domain="image", outputs={"mean": 3}, description="test: mean colour"
    )
    return MeanColour.name


def write_image(path: Path, colour: tuple[int, int, int], size: tuple[int, int] = (12, 9)) -> Path:
    """An RGB file of ``size`` (width, height): ``colour`` plus a little seeded noise, saved by suffix."""
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng([zlib.crc32(path.name.encode()), *colour])
    pixels = np.clip(np.array(colour) + rng.integers(-20, 21, (size[1], size[0], 3)), 0, 255).astype(np.uint8)
    Image.fromarray(pixels).save(path)
    return path
