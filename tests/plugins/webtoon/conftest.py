"""Fixtures of the webtoon plugin's tests: reduced-size WD tagger networks with the goldens' random weights."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

GOLDENS = Path(__file__).resolve().parents[2] / "goldens" / "wd_tagger"


@pytest.fixture(scope="module")
def golden() -> dict:
    return json.loads((GOLDENS / "parity.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def golden_features() -> dict[str, np.ndarray]:
    with np.load(GOLDENS / "features.npz") as data:
        return {key: data[key] for key in data.files}
