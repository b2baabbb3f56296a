"""Fixtures for the webtoon tests: small episodes written by the example generator, from a seed that no cutting
setting was tuned on; the WD tagger goldens."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from webtoon_helpers import TEST_SEED, load_generator  # noqa: E402

GOLDENS = Path(__file__).resolve().parents[2] / "goldens" / "wd_tagger"


@pytest.fixture(scope="session")
def episodes(tmp_path_factory) -> tuple[Path, dict]:
    """Five generated episodes (JPEG quality 60-95, 240 px wide) and their truth.json."""
    root = tmp_path_factory.mktemp("webtoons") / "set"
    load_generator().main([str(root), "--episodes", "5", "--seed", str(TEST_SEED), "--width", "240"])
    return root, json.loads((root / "truth.json").read_text())


@pytest.fixture(scope="module")
def golden() -> dict:
    return json.loads((GOLDENS / "parity.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def golden_features() -> dict[str, np.ndarray]:
    with np.load(GOLDENS / "features.npz") as data:
        return {key: data[key] for key in data.files}
