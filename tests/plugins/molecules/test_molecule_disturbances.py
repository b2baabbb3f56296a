"""Molecule disturbances for ``frechet sanity`` (valid-keeping atom edits and fragment deletions, size-only decoys)
and gallery depictions for ``frechet report``."""

from __future__ import annotations

import pytest

from frechet.plugins import get_registry
from frechet_molecules import gallery
from frechet_molecules.disturb import AtomEdit, Decoys, FragmentDeletion
from frechet_molecules.sources import Molecule

MOLECULES = [Molecule(smiles, 40, f"m{index}") for index, smiles in
             enumerate(["CCOC(=O)c1ccccc1N", "CC(C)Cc1ccc(cc1)C(C)C(=O)O", "CCN(CC)CCOC(=O)c1ccc(N)cc1"])]


def test_molecule_disturbances_are_registered_for_the_molecule_domain() -> None:
    names = {info.name for info in get_registry().disturbances("molecule")}
    assert {"atom-edit", "fragment-deletion", "decoys", "mix"} <= names


@pytest.mark.parametrize("disturbance", [AtomEdit(), FragmentDeletion()])
def test_edits_keep_every_smiles_valid_and_change_each_at_full_strength(disturbance) -> None:
    chem = pytest.importorskip("rdkit.Chem")
    for item in MOLECULES:
        edited = disturbance.apply(item, 1.0, seed=3)
        assert edited.smiles != item.smiles and chem.MolFromSmiles(edited.smiles) is not None
        assert disturbance.apply(item, 1.0, seed=3) == edited  # the same for the same seed
        if isinstance(disturbance, FragmentDeletion):
            before, after = (chem.MolFromSmiles(s).GetNumHeavyAtoms() for s in (item.smiles, edited.smiles))
            assert after < before


def test_the_strength_is_the_fraction_of_molecules_changed() -> None:
    items = [Molecule("C" * (index % 30 + 1) + "O", 40, str(index)) for index in range(400)]
    changed = sum(Decoys().apply(item, 0.25, seed=0) != item for item in items)
    assert 70 <= changed <= 130
    assert Decoys().apply(Molecule("c1ccccc1Cl", 40, "x"), 1.0, seed=0).smiles == "C" * 7


def test_gallery_shows_a_depiction_or_the_escaped_smiles(monkeypatch) -> None:
    pytest.importorskip("rdkit")
    drawn = gallery.depiction(MOLECULES[0], "molecule")
    assert drawn.mime == "image/svg+xml" and b"<svg" in drawn.data
    monkeypatch.setattr(gallery, "has_rdkit", lambda: False)
    text = gallery.depiction(Molecule("C<script>", 10, "x"), "molecule").data.decode()
    assert "C&lt;script&gt;" in text and "<script>" not in text
    assert gallery.depiction(MOLECULES[0], "image") is None


def test_guacamol_reference_sample_is_numpys_seeded_choice_as_guacamol_calls_it() -> None:
    import numpy as np

    from frechet_molecules.guacamol import guacamol_sample, guacamol_score

    train = [f"C{'C' * (index % 17)}N{index}" for index in range(500)]
    state = np.random.get_state()
    np.random.seed(42)
    expected = list(np.random.choice(train, 100, replace=False))  # guacamol.utils.data.get_random_subset's call
    np.random.set_state(state)
    assert guacamol_sample(train, 100) == expected
    assert guacamol_score(0.0) == 1.0 and guacamol_score(5.0) == pytest.approx(np.exp(-1.0))
