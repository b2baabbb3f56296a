"""RDKit, optional (``frechet[molecules]``): canonical SMILES, validity, and the version that made them.

Canonical SMILES change between RDKit releases, so every result and saved statistic that used them names the
version. Without RDKit, a SMILES is still checked for what any parser would refuse (an empty string, whitespace or
non-ASCII characters, unbalanced brackets or parentheses, an unclosed ring bond), so that modes that read the
string as given never embed text that is not a SMILES at all.
"""

from __future__ import annotations

import functools
import re
from types import ModuleType

from frechet.optional import import_optional, install_extra

_INSTALL = install_extra("molecules", "rdkit")
#: A ring-closure bond label outside brackets: a digit, or '%' and two digits.
_RING_LABEL = re.compile(r"%\d\d|\d")


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


def syntax_problem(smiles: str) -> str | None:
    """Why ``smiles`` cannot be a SMILES whatever the parser, or None (a check, not a parser: RDKit finds more)."""
    if not smiles:
        return "empty SMILES"
    if not smiles.isascii() or not smiles.isprintable() or any(char.isspace() for char in smiles):
        bad = next(char for char in smiles if not char.isascii() or not char.isprintable() or char.isspace())
        return f"character {bad!r} cannot be part of a SMILES"
    depth, open_rings = 0, set[str]()
    for part in re.split(r"(\[[^\[\]]*\])", smiles):
        if part.startswith("["):
            continue
        if "[" in part or "]" in part:
            return "unbalanced square brackets"
        for char in part:
            depth += {"(": 1, ")": -1}.get(char, 0)
            if depth < 0:
                return "a ')' without its '('"
        for label in _RING_LABEL.findall(part):
            open_rings ^= {label}
    if depth:
        return "a '(' without its ')'"
    if open_rings:
        return f"ring bond {sorted(open_rings)[0]} is opened but never closed"
    return None
