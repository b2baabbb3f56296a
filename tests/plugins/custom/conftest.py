"""Fixtures for the custom-backbone tests (helpers live in custom_helpers.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from custom_helpers import draw_images


@pytest.fixture(scope="module")
def shapes(tmp_path_factory) -> tuple[Path, Path]:
    """Two folders of 24 generated 32x32 images: ellipses (real) and rectangles (fake)."""
    root = tmp_path_factory.mktemp("shapes")
    return draw_images(root / "real", 24, "ellipse", seed=1), draw_images(root / "fake", 24, "rectangle", seed=2)
