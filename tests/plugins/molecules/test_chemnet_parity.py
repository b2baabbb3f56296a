"""The chemnet embedder against the peers (goldens from scripts/goldens/molecules.py: fcd 1.2.2, fcd_torch 1.0.7,
guacamol 0.5.5's code path): features <= 1e-5 and FCD <= 1e-4 relative in each mode, on deterministic random
weights in the published layout here, and on the real ChemNet weights wherever they are found."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import frechet
from frechet_molecules.embedder import ChemNetEmbedder
from frechet_molecules.sources import open_smiles_file

MODES = ("fcd", "fcd-torch", "guacamol")
pytest.importorskip("rdkit")


def _features(mode: str, weights: Path, path: Path, rows: int) -> np.ndarray:
    embedder = ChemNetEmbedder(preprocess=mode, weights=weights)
    source = open_smiles_file(path)
    batch = embedder.collate([embedder.transform(source.load(index)) for index in range(rows)])
    return embedder.forward(batch)["features"].numpy()


@pytest.mark.parametrize("mode", MODES)
def test_features_and_fcd_match_the_peer_on_random_weights(mode: str, random_weights: dict[str, Path],
                                                           held_out: dict[str, Path], goldens: dict,
                                                           golden_facts: dict) -> None:
    weights = random_weights["legacy" if mode == "fcd-torch" else "zip"]
    for name in ("a", "b"):
        expected = goldens[f"random/{mode}/{name}"]
        np.testing.assert_allclose(_features(mode, weights, held_out[name], len(expected)), expected, atol=1e-5)
    result = frechet.compute(held_out["a"], held_out["b"], embedder="chemnet",
                             embedder_options={"preprocess": mode, "weights": weights}, cache=False, progress=False)
    assert result["fcd"] == pytest.approx(golden_facts["fcd"][f"random/{mode}"], rel=1e-4)


@pytest.mark.parametrize("mode", MODES)
def test_fcd_matches_the_peer_on_the_real_weights(mode: str, real_weights: Path, held_out: dict[str, Path],
                                                  goldens: dict, golden_facts: dict) -> None:
    expected = goldens[f"real/{mode}/a"]
    np.testing.assert_allclose(_features(mode, real_weights, held_out["a"], len(expected)), expected, atol=1e-5)
    result = frechet.compute(held_out["a"], held_out["b"], embedder="chemnet",
                             embedder_options={"preprocess": mode, "weights": real_weights}, cache=False,
                             progress=False)
    assert result["fcd"] == pytest.approx(golden_facts["fcd"][f"real/{mode}"], rel=1e-4)


@pytest.mark.parametrize("test", ["random_smiles", "fcd_torch"])
def test_bioinf_jku_fcd_own_test_values_are_reproduced(test: str, real_weights: Path, golden_facts: dict) -> None:
    case = golden_facts["fcd_tests"][test]
    result = frechet.compute(case["first"], case["second"], embedder="chemnet",
                             embedder_options={"preprocess": "fcd", "weights": real_weights}, progress=False)
    assert result["fcd"] == pytest.approx(case["fcd_1_2_2"], rel=1e-4)
    assert result["fcd"] == pytest.approx(case["asserted"], abs=5e-4)


def test_guacamol_score_is_reported_next_to_the_fcd_never_in_its_place(random_weights: dict[str, Path],
                                                                      held_out: dict[str, Path]) -> None:
    result = frechet.compute(held_out["a"], held_out["b"], embedder="chemnet", metrics=["fd", "guacamol"],
                             embedder_options={"preprocess": "guacamol", "weights": random_weights["zip"]},
                             cache=False, progress=False)
    assert result["fcd"] == result["fd"] == pytest.approx(result["guacamol_fcd"], rel=1e-12)
    assert result["guacamol_fcd_score"] == pytest.approx(np.exp(-0.2 * result["fcd"]), rel=1e-12)
