"""Fixtures for the dinov2 tests: the parity goldens, and the random weights and images they were made with,
regenerated from the same seeds (once per test session)."""

from __future__ import annotations

import functools
import hashlib
import json
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch

from frechet_dinov2.network import ARCHITECTURES, state_dict_layout
from frechet_image import decode_image

sys.path.insert(0, str(Path(__file__).resolve().parent))
from dinov2_random_weights import PARITY_SEED, random_state_dict, write_image_set  # noqa: E402

GOLDENS = Path(__file__).resolve().parents[2] / "goldens" / "dinov2"


@pytest.fixture(scope="session")
def golden() -> dict:
    """tests/goldens/dinov2/parity.json (made by scripts/goldens/dinov2_parity.py)."""
    return json.loads((GOLDENS / "parity.json").read_text())


@pytest.fixture(scope="session")
def golden_features() -> dict[str, np.ndarray]:
    """The peers' class tokens: "MODE/cls" rows = the golden's feature_items; "network/SIZE/HxW" = the hub model's
    output on the fixed random inputs."""
    with np.load(GOLDENS / "features.npz") as npz:
        return {key: npz[key] for key in npz.files}


@functools.lru_cache(maxsize=None)
def _random_weights(arch: str, depth: int) -> dict[str, torch.Tensor]:
    return random_state_dict(state_dict_layout(ARCHITECTURES[arch], depth), PARITY_SEED)


@pytest.fixture(scope="session")
def random_weights() -> Callable[[str, int], dict[str, torch.Tensor]]:
    """``random_weights(arch, depth)``: the parity weights of ``arch`` with ``depth`` blocks, random, deterministic,
    in the hub's key layout; made once per session (a copy is returned, free to modify)."""
    return lambda arch, depth: dict(_random_weights(arch, depth))


@pytest.fixture(scope="session")
def fd_weights_file(tmp_path_factory, golden, random_weights) -> Path:
    """The weights the FD goldens were made with (ViT-L/14 layout, fewer blocks), saved as a .pth state dict."""
    spec = golden["fd_weights"]
    path = tmp_path_factory.mktemp("weights") / f"dinov2_{spec['arch']}_depth{spec['depth']}.pth"
    torch.save(random_weights(spec["arch"], spec["depth"]), path)
    return path


@pytest.fixture(scope="session")
def parity_images(tmp_path_factory, golden) -> dict[str, Path]:
    """The golden's real/ and fake/ image folders, regenerated; their decoded pixels must be the golden's."""
    root = tmp_path_factory.mktemp("dinov2-parity-images")
    spec = golden["images"]
    folders = {}
    for side, info in spec["sides"].items():
        paths = write_image_set(root / side, spec["count"], seed=spec["seed"], variant=info["variant"])
        for path, item in zip(paths, info["items"], strict=True):
            assert path.name == item["name"]
            assert hashlib.sha256(decode_image(path).tobytes()).hexdigest() == item["pixels_sha256"], (
                f"{path.name} decodes to other pixels than when the goldens were made; rerun "
                "scripts/goldens/dinov2_parity.py"
            )
        folders[side] = root / side
    return folders
