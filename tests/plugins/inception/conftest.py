"""Fixtures for the inception tests: the parity goldens, and the random weights and images they were made with,
regenerated from the same seeds (once per test session)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from frechet_image import decode_image
from frechet_inception.network import state_dict_layout
from inception_random_weights import PARITY_SEED, random_state_dict, write_image_set

GOLDENS = Path(__file__).resolve().parents[2] / "goldens" / "inception"


@pytest.fixture(scope="session")
def golden() -> dict:
    """tests/goldens/inception/parity.json (made by scripts/goldens/inception_parity.py)."""
    return json.loads((GOLDENS / "parity.json").read_text())


@pytest.fixture(scope="session")
def golden_features() -> dict[str, np.ndarray]:
    """The references' per-image features, keyed "MODE/OUTPUT", rows = the golden's feature_items."""
    with np.load(GOLDENS / "features.npz") as npz:
        return {key: npz[key] for key in npz.files}


@pytest.fixture(scope="session")
def random_state() -> dict[str, torch.Tensor]:
    """The parity weights: random, deterministic, in the canonical key layout."""
    return random_state_dict(state_dict_layout(), PARITY_SEED)


@pytest.fixture(scope="session")
def weights_file(tmp_path_factory, random_state) -> Path:
    """The parity weights saved as a .pth file (a plain state dict, as torch.save writes it)."""
    path = tmp_path_factory.mktemp("weights") / "random-inception.pth"
    torch.save(random_state, path)
    return path


@pytest.fixture(scope="session")
def parity_images(tmp_path_factory, golden) -> dict[str, Path]:
    """The golden's real/ and fake/ image folders, regenerated; their decoded pixels must be the golden's."""
    root = tmp_path_factory.mktemp("parity-images")
    spec = golden["images"]
    folders = {}
    for side, info in spec["sides"].items():
        paths = write_image_set(root / side, spec["count"], seed=spec["seed"], variant=info["variant"])
        for path, item in zip(paths, info["items"], strict=True):
            assert path.name == item["name"]
            pixels = hashlib.sha256(decode_image(path).tobytes()).hexdigest()
            assert pixels == item["pixels_sha256"], (
                f"{path.name} decodes to other pixels than when the goldens were made (a different Pillow/libjpeg "
                "encoder?); rerun scripts/goldens/inception_parity.py"
            )
        folders[side] = root / side
    return folders
