"""Fixtures for the metric suite: the committed feature fixtures and the peers' goldens on them."""

import json
from pathlib import Path

import numpy as np
import pytest

GOLDENS = Path(__file__).resolve().parents[1] / "goldens" / "metrics"


@pytest.fixture(scope="session")
def goldens():
    """torch-fidelity's KID and precision/recall and the prdc package's numbers (scripts/goldens/metrics.py)."""
    return json.loads((GOLDENS / "metrics.json").read_text())


@pytest.fixture(scope="session")
def kid_features():
    """(real, fake) float32 features, 1100 × 64 and 1000 × 64, for KID's default 100 subsets of 1000."""
    return np.load(GOLDENS / "kid_real.npy"), np.load(GOLDENS / "kid_fake.npy")


@pytest.fixture(scope="session")
def knn_features():
    """(real, fake) float32 features, 300 × 64 and 250 × 64, free of distance/radius near-ties."""
    return np.load(GOLDENS / "knn_real.npy"), np.load(GOLDENS / "knn_fake.npy")


@pytest.fixture
def small_blocks(monkeypatch):
    """Blocks of 64 rows, so the fixtures exercise the multi-block paths (upper triangle, mirrored blocks)."""
    monkeypatch.setattr("frechet.metrics._pairwise.BLOCK_ROWS", 64)


@pytest.fixture(scope="session")
def mind_vendi_goldens():
    """torch-fidelity master's MIND and the vendi-score package's scores (scripts/goldens/mind_vendi.py)."""
    return json.loads((GOLDENS / "mind_vendi.json").read_text())


@pytest.fixture(scope="session")
def mind_features():
    """(real, fake) float32 features, 700 × 32 each, of different distributions."""
    return np.load(GOLDENS / "mind_real.npy"), np.load(GOLDENS / "mind_fake.npy")


@pytest.fixture(scope="session")
def vendi_features():
    """600 × 48 float32 features in six clusters of different spread."""
    return np.load(GOLDENS / "vendi_features.npy")
