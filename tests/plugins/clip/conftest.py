"""Fixtures for the CLIP tests: the parity goldens, and the reduced random towers and images they were made with,
regenerated from the same seeds (once per test session)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "inception"))  # the shared synthetic images
from clip_random_weights import IMAGE_COUNTS, IMAGE_SEED, IMAGE_SIZES, SMALL_SHAPES, random_clip_state  # noqa: E402
from clip_random_weights import state_sha256  # noqa: E402
from inception_random_weights import write_image_set  # noqa: E402

GOLDENS = Path(__file__).resolve().parents[2] / "goldens" / "clip"


@pytest.fixture(scope="session")
def golden() -> dict:
    """tests/goldens/clip/parity.json (scripts/goldens/clip_parity.py)."""
    return json.loads((GOLDENS / "parity.json").read_text())


@pytest.fixture(scope="session")
def cmmd_golden() -> dict:
    """tests/goldens/clip/cmmd.json (scripts/goldens/cmmd_parity.py)."""
    return json.loads((GOLDENS / "cmmd.json").read_text())


@pytest.fixture(scope="session")
def golden_features() -> dict[str, np.ndarray]:
    """The references' features, keyed "TOOL/MODEL/SIDE", and CMMD's kept embeddings as "cmmd/clip-vitl14-336/SIDE"."""
    with np.load(GOLDENS / "features.npz") as npz:
        found = {key: npz[key] for key in npz.files}
    with np.load(GOLDENS / "cmmd_embeddings.npz") as npz:
        found.update({f"cmmd/clip-vitl14-336/{side}": npz[side] for side in npz.files})
    return found


@pytest.fixture(scope="session")
def clip_states(golden) -> dict[str, dict[str, torch.Tensor]]:
    """The parity weights per model: full OpenAI-layout CLIP state dicts, float16, as the goldens used."""
    states = {name: random_clip_state(shape) for name, shape in SMALL_SHAPES.items()}
    for name, state in states.items():
        assert state_sha256(state) == golden["weights"][name]["tensors_sha256"], name
    return states


@pytest.fixture(scope="session")
def clip_weights(tmp_path_factory, clip_states) -> dict[str, Path]:
    """The parity weights saved as plain state dicts (torch.save)."""
    folder = tmp_path_factory.mktemp("clip-weights")
    paths = {}
    for name, state in clip_states.items():
        paths[name] = folder / f"{name}.pt"
        torch.save(state, paths[name])
    return paths


@pytest.fixture(scope="session")
def clip_images(tmp_path_factory) -> dict[str, Path]:
    """The golden's real/ and fake/ folders, regenerated."""
    root = tmp_path_factory.mktemp("clip-images")
    for variant, (side, count) in enumerate(IMAGE_COUNTS.items()):
        write_image_set(root / side, count, seed=IMAGE_SEED, variant=variant, sizes=IMAGE_SIZES)
    return {side: root / side for side in IMAGE_COUNTS}
