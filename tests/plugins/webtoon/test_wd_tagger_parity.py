"""The WD tagger backbones against the reference inference code (wdv3_timm.py with timm) with the same random
weights in the published layout: network input bit for bit, features within 1e-5 of their scale, FD within 1e-4
relative (goldens from scripts/goldens/wd_tagger_parity.py)."""

from __future__ import annotations

import dataclasses
import hashlib

import numpy as np
import pytest
import torch

from frechet.distance import frechet_distance
from frechet.stats import FeatureStats
from frechet_webtoon.tagger_network import ARCHITECTURES, TaggerArchitecture, build_network, load_network_state
from frechet_webtoon.tagger_preprocess import tagger_input
from tagger_fixtures import (TINY_CLASSES, TINY_CONVNEXT, TINY_EVA02, TINY_SWINV2, TINY_VIT, layout_sha256, panel_set,
                             random_state)

TINY = {
    "vit": TaggerArchitecture("vit", "vit", classes=TINY_CLASSES, **TINY_VIT),
    "convnext": TaggerArchitecture("convnext", "convnext", classes=TINY_CLASSES, **TINY_CONVNEXT),
    "swinv2": dataclasses.replace(ARCHITECTURES["swinv2"], classes=TINY_CLASSES, **TINY_SWINV2),
    "eva02-large": dataclasses.replace(ARCHITECTURES["eva02-large"], classes=TINY_CLASSES, **TINY_EVA02),
}


def shapes(model: torch.nn.Module) -> dict[str, tuple[int, ...]]:
    return {key: tuple(value.shape) for key, value in model.state_dict().items()}


@pytest.fixture(scope="module")
def panels(golden) -> dict[str, list[np.ndarray]]:
    setup = golden["panels"]
    return {"real": panel_set(setup["real_seed"], setup["count"]), "fake": panel_set(setup["fake_seed"], setup["count"])}


@pytest.fixture(scope="module")
def inputs(panels) -> dict[str, torch.Tensor]:
    return {which: torch.stack([tagger_input(image, 448) for image in images]) for which, images in panels.items()}


@pytest.fixture(scope="module", params=sorted(TINY))
def tiny(request, golden, inputs):
    name = request.param
    model = build_network(TINY[name])
    state = random_state(shapes(model), golden[name]["seed"])
    network = load_network_state({key: torch.from_numpy(value) for key, value in state.items()}, TINY[name], name)
    with torch.no_grad():
        features = {which: network(batch).double().numpy() for which, batch in inputs.items()}
    return name, state, features


def test_network_input_is_bit_identical_to_wdv3_timm(golden, inputs):
    for which, batch in inputs.items():
        digests = [hashlib.sha256(x.numpy().tobytes()).hexdigest() for x in batch]
        assert digests == golden["vit"]["input_sha256"][which]


def test_random_weights_are_the_ones_timm_loaded_strictly(tiny, golden):
    name, state, _ = tiny
    digest = hashlib.sha256(b"".join(state[key].tobytes() for key in sorted(state))).hexdigest()
    assert digest == golden[name]["tensors_sha256"]


@pytest.mark.parametrize("name", sorted(TINY))
def test_full_size_key_layout_is_timms(name, golden):
    with torch.device("meta"):
        model = build_network(ARCHITECTURES[name])
    assert layout_sha256(shapes(model)) == golden[name]["full_size"]["layout_sha256"]


def test_pooled_features_match_the_reference_within_1e_5(tiny, golden_features):
    """Within 1e-5 of the feature scale (max |f|), the bar every parity test uses: float32 kernels of other CPUs
    (AVX2, AVX-512, AMX) move single features by about that much in absolute terms."""
    name, _, features = tiny
    for which in ("real", "fake"):
        reference = golden_features[f"{name}/{which}"]
        assert np.abs(features[which] - reference).max() <= 1e-5 * np.abs(reference).max()


def test_fd_matches_the_reference_within_1e_4_relative(tiny, golden):
    name, _, features = tiny
    real, fake = (FeatureStats.from_features(features[which]) for which in ("real", "fake"))
    fd = frechet_distance(real, fake)
    assert abs(fd - golden[name]["fd"]) <= 1e-4 * golden[name]["fd"]


def test_full_size_networks_agreed_with_timm_in_the_goldens_run(golden):
    for name in TINY:
        agreement = golden[name]["full_size"]["frechet"]
        assert agreement["same_tensors"] and agreement["inputs_identical"] and agreement["max_abs_diff"] < 1e-5
