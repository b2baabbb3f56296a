"""Molecules in the galleries of ``frechet report``: an RDKit depiction as SVG when RDKit is installed and can parse
the SMILES, else the SMILES itself set as text in an SVG (escaped, shortened past 80 characters)."""

from __future__ import annotations

from typing import Any
from xml.sax.saxutils import escape

from frechet.report import Media
from frechet_molecules.chemistry import has_rdkit, rdkit
from frechet_molecules.sources import Molecule

WIDTH, HEIGHT = 200, 150
_LONGEST_TEXT = 80


def depiction(item: Any, domain: str) -> Media | None:
    """An SVG of a molecule item; None for anything else."""
    if domain != "molecule" or not isinstance(item, Molecule):
        return None
    drawing = _rdkit_svg(item.smiles) if has_rdkit() else None
    return Media("image/svg+xml", (drawing or _text_svg(item.smiles)).encode(), WIDTH, HEIGHT)


def _rdkit_svg(smiles: str) -> str | None:
    chem = rdkit("molecule depictions")
    from rdkit.Chem.Draw import rdMolDraw2D

    molecule = chem.MolFromSmiles(smiles)
    if molecule is None:
        return None
    drawer = rdMolDraw2D.MolDraw2DSVG(WIDTH, HEIGHT)
    drawer.DrawMolecule(molecule)
    drawer.FinishDrawing()
    return drawer.GetDrawingText()


def _text_svg(smiles: str) -> str:
    shown = smiles if len(smiles) <= _LONGEST_TEXT else smiles[: _LONGEST_TEXT - 1] + "…"
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}">'
            f'<text x="4" y="{HEIGHT // 2}" font-family="monospace" font-size="9">{escape(shown)}</text></svg>')
