"""Audio fixtures: the generated corpus, deterministic random weights in the upstream layouts, and the goldens."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

import audio_corpus
import audio_random_weights
import clap_random_weights
from frechet_audio.pann import Cnn14, PannEmbedder
from frechet_audio.vggish import VGGishEmbedder

GOLDENS = Path(__file__).resolve().parents[2] / "goldens" / "audio"


@pytest.fixture(scope="session")
def goldens() -> dict[str, np.ndarray]:
    with np.load(GOLDENS / "goldens.npz") as npz:
        return {key: npz[key] for key in npz.files}


@pytest.fixture(scope="session")
def golden_facts() -> dict:
    return json.loads((GOLDENS / "goldens.json").read_text())


@pytest.fixture(scope="session")
def clap_goldens() -> dict[str, np.ndarray]:
    with np.load(GOLDENS / "clap.npz") as npz:
        return {key: npz[key] for key in npz.files}


@pytest.fixture(scope="session")
def clap_facts() -> dict:
    return json.loads((GOLDENS / "clap.json").read_text())


@pytest.fixture(scope="session")
def corpus(tmp_path_factory) -> dict[str, Path]:
    """{"group/name": path} of the generated audio, under <tmp>/<group>/."""
    return audio_corpus.write_corpus(tmp_path_factory.mktemp("audio-corpus"))


@pytest.fixture(scope="session")
def vggish_state() -> dict[str, torch.Tensor]:
    return audio_random_weights.vggish_state()


@pytest.fixture(scope="session")
def vggish_weights(tmp_path_factory, vggish_state) -> Path:
    path = tmp_path_factory.mktemp("vggish") / "vggish-random.pth"
    torch.save(vggish_state, path)
    return path


@pytest.fixture(scope="session")
def vggish_pca_weights(tmp_path_factory) -> Path:
    """The PCA file as torchvggish publishes it: float64 NumPy arrays."""
    path = tmp_path_factory.mktemp("vggish-pca") / "vggish-pca-random.pth"
    torch.save(audio_random_weights.vggish_pca_arrays(), path)
    return path


@pytest.fixture(scope="session")
def pann_learned_state() -> dict[str, torch.Tensor]:
    return audio_random_weights.pann_learned_state()


@pytest.fixture(scope="session")
def pann_weights(tmp_path_factory, pann_learned_state) -> Path:
    """A checkpoint shaped like the published one, {"model": state dict, …}, whose NumPy sampler state needs the
    NumPy allow-list; the front end is the one frechet computes."""
    fresh = Cnn14().state_dict()
    front_end = {key: fresh[key] for key in audio_random_weights.PANN_FRONT_END_KEYS}
    path = tmp_path_factory.mktemp("pann") / "pann-random.pth"
    sampler = {"indexes": np.arange(8, dtype=np.int64), "random_state": np.float64(0.5)}
    torch.save({"model": {**front_end, **pann_learned_state}, "iteration": 0, "sampler": sampler}, path)
    return path


@pytest.fixture(scope="session")
def vggish(vggish_weights) -> VGGishEmbedder:
    return VGGishEmbedder(weights=str(vggish_weights))


@pytest.fixture(scope="session")
def pann(pann_weights) -> PannEmbedder:
    return PannEmbedder(weights=str(pann_weights))


@pytest.fixture(scope="session")
def clap_weights(tmp_path_factory) -> Path:
    """The reduced HTS-AT tower the suite runs end to end (the goldens' "reduced" model)."""
    path = tmp_path_factory.mktemp("clap") / "clap-reduced.pt"
    torch.save(clap_random_weights.checkpoint(clap_random_weights.REDUCED), path)
    return path
