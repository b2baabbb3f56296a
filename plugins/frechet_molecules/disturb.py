"""Molecule disturbances for ``frechet sanity``: atom edits and fragment deletions that keep each SMILES valid, and
decoys that keep only a molecule's size.

At level t in (0, 1] the strength is t, the fraction of molecules changed (each chosen by a draw from its SMILES, the
strength and the seed: :func:`frechet.disturbance.content_rng`); a changed molecule is written as RDKit's canonical
SMILES. Atom edits and fragment deletion need RDKit (``frechet[molecules]``); decoys are plain text. Mixing another
input in is the core's ``mix:OTHER``.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from frechet.disturbance import ItemDisturbance, content_rng
from frechet_molecules.chemistry import rdkit
from frechet_molecules.sources import Molecule

#: Elements an atom edit may put in a carbon's place, and how many times an edit is tried before a molecule is kept.
_REPLACEMENTS = ("N", "O", "S")
_TRIES = 10
_UNIT = "fraction of molecules changed"


class _FractionDisturbance(ItemDisturbance):
    """Changes the chosen fraction of molecules with ``change(smiles, rng)`` (None: keep it as it is)."""

    domain = "molecule"
    unit = _UNIT

    def strength(self, t: float) -> float:
        return t

    def apply(self, item: Molecule, strength: float, seed: int) -> Molecule:
        rng = content_rng(seed, strength, item.smiles, self.name)
        if rng.random() >= strength:
            return item
        changed = self.change(item.smiles, rng)
        return item if changed is None else dataclasses.replace(item, smiles=changed)

    def change(self, smiles: str, rng: np.random.Generator) -> str | None:
        raise NotImplementedError


class AtomEdit(_FractionDisturbance):
    """One carbon atom turned into N, O or S where the valences still hold (RDKit sanitises the result)."""

    name = "atom-edit"
    description = "one carbon per molecule turned into N, O or S, keeping the SMILES valid (RDKit)"

    def change(self, smiles: str, rng: np.random.Generator) -> str | None:
        chem = rdkit("the atom-edit disturbance")
        molecule = chem.MolFromSmiles(smiles)
        carbons = [] if molecule is None else [atom.GetIdx() for atom in molecule.GetAtoms()
                                               if atom.GetSymbol() == "C" and not atom.GetIsAromatic()]
        for _ in range(min(_TRIES, len(carbons))):
            edited = chem.RWMol(molecule)
            atom = edited.GetAtomWithIdx(int(rng.choice(carbons)))
            atom.SetAtomicNum(chem.GetPeriodicTable().GetAtomicNumber(str(rng.choice(_REPLACEMENTS))))
            atom.SetNoImplicit(False)
            if chem.SanitizeMol(edited, catchErrors=True) == chem.SanitizeFlags.SANITIZE_NONE:
                return chem.MolToSmiles(edited)
        return None


class FragmentDeletion(_FractionDisturbance):
    """A single bond outside rings cut, and the smaller side deleted (RDKit)."""

    name = "fragment-deletion"
    description = "a side chain cut off at a single non-ring bond, keeping the larger part (RDKit)"

    def change(self, smiles: str, rng: np.random.Generator) -> str | None:
        chem = rdkit("the fragment-deletion disturbance")
        molecule = chem.MolFromSmiles(smiles)
        bonds = [] if molecule is None else [bond.GetIdx() for bond in molecule.GetBonds()
                                             if bond.GetBondType() == chem.BondType.SINGLE and not bond.IsInRing()]
        if not bonds:
            return None
        pieces = chem.GetMolFrags(chem.FragmentOnBonds(molecule, [int(rng.choice(bonds))], addDummies=False),
                                  asMols=True, sanitizeFrags=True)
        return chem.MolToSmiles(max(pieces, key=lambda piece: piece.GetNumHeavyAtoms()))


class Decoys(_FractionDisturbance):
    """The molecule replaced by a chain of as many carbons as its SMILES has atom symbols: its size, nothing else."""

    name = "decoys"
    description = "molecules replaced by carbon chains of the same size (decoys that keep only the size)"

    def change(self, smiles: str, rng: np.random.Generator) -> str | None:
        atoms = sum(char.isalpha() and char.isupper() for char in smiles) + sum(char in "cnos" for char in smiles)
        return "C" * max(atoms, 1)


DISTURBANCES = (AtomEdit, FragmentDeletion, Decoys)
