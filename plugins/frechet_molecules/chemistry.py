"""RDKit, optional (``frechet[molecules]``): canonical SMILES, validity, and the version that made them.

Canonical SMILES change between RDKit releases, so every result and saved statistic that used them names the
version. Without RDKit, a SMILES is still checked for what any parser would refuse (an empty string, whitespace or
non-ASCII characters), so that modes that read the string as given never embed text that is not a SMILES at all.
"""

from __future__ import annotations

import functools
from types import ModuleType

from frechet.optional import import_optional, install_extra

_INSTALL = install_extra("molecules", "rdkit")


@functools.cache
def rdkit(needed_for: str = "canonical SMILES") -> ModuleType:
    """RDKit's ``Chem`` module with its log quietened (failures are reported by frechet, one line per item)."""
    import_optional("rdkit", needed_for, _INSTALL)
    from rdkit import Chem, RDLogger

    RDLogger.DisableLog("rdApp.*")
    return Chem


def has_rdkit() -> bool:
    """True when RDKit imports."""
    try:
        rdkit()
    except Exception:  # noqa: BLE001 - missing or broken: either way there is none to use
        return False
    return True


def rdkit_version() -> str:
    """The installed RDKit's version (asks for RDKit)."""
    import rdkit as package

    rdkit()
    return str(package.__version__)


def canonical(smiles: str) -> str | None:
    """RDKit's canonical SMILES (``MolToSmiles(MolFromSmiles(smiles))``, as the peers write it), None when RDKit
    cannot parse it."""
    chem = rdkit()
    molecule = chem.MolFromSmiles(smiles)
    return None if molecule is None else chem.MolToSmiles(molecule)


def text_problem(smiles: str) -> str | None:
    """Why ``smiles`` cannot be a SMILES whatever the parser — empty, or holding whitespace, control or non-ASCII
    characters — or None (a check of the text only: RDKit's parser finds chemical errors)."""
    if not smiles:
        return "empty SMILES"
    for char in smiles:
        if not char.isascii() or not char.isprintable() or char.isspace():
            return f"character {char!r} cannot be part of a SMILES"
    return None


def parse_problem(smiles: str) -> str | None:
    """Why RDKit cannot parse ``smiles``, or None."""
    return None if rdkit().MolFromSmiles(smiles) is not None else f"RDKit {rdkit_version()} cannot parse it"
