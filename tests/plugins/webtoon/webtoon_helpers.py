"""Helpers of the webtoon tests and benchmarks: the example generator (examples/make_webtoons.py), loaded as a
module, and writing a strip as slices."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
from PIL import Image

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "make_webtoons.py"
#: Seed of the episodes the tests cut (the cutter's settings were chosen on others; bench/ uses others again).
TEST_SEED = 11


def load_generator() -> ModuleType:
    """examples/make_webtoons.py as the module ``make_webtoons``."""
    if "make_webtoons" not in sys.modules:
        spec = importlib.util.spec_from_file_location("make_webtoons", EXAMPLE)
        module = importlib.util.module_from_spec(spec)
        sys.modules["make_webtoons"] = module
        spec.loader.exec_module(module)
    return sys.modules["make_webtoons"]


def save_slices(folder: Path, strip: np.ndarray, cuts: list[int], suffix: str = ".png") -> list[Path]:
    """Write ``strip`` as slices 1, 2, … cut at rows ``cuts``."""
    folder.mkdir(parents=True, exist_ok=True)
    edges = [0, *cuts, strip.shape[0]]
    paths = []
    for number, (start, stop) in enumerate(zip(edges[:-1], edges[1:]), start=1):
        paths.append(folder / f"{number}{suffix}")
        Image.fromarray(strip[start:stop]).save(paths[-1])
    return paths
