"""SMILES -> ChemNet's input: the token alphabet, the two published tokenisers, and the scaled one-hot matrix.

ChemNet reads a SMILES as one-hot rows over 35 symbols, divided by 35, ended by a '.' row and zero-padded. The two
peers split the string differently: ``fcd`` (bioinf-jku/FCD 1.2) matches 'Br', 'Cl' and 'Si' before single
characters anywhere and reads a '.' inside the string as a symbol; ``fcd_torch`` joins a character with a following
'r', 'i' or 'l' whatever it is ('Ni' is one unknown symbol), stops at the first '.' (so only a multi-fragment SMILES'
first fragment is read) and truncates at its fixed length. Characters outside the alphabet become the unknown
symbol 'X' in both.
"""

from __future__ import annotations

import re

import numpy as np

#: ChemNet's symbols in the order of its input rows (the peers' ``__vocab``).
VOCAB = ("C", "N", "O", "H", "F", "Cl", "P", "B", "Br", "S", "I", "Si", "#", "(", ")", "+", "-", "1", "2", "3", "4",
         "5", "6", "7", "8", "=", "[", "]", "@", "c", "n", "o", "s", "X", ".")
INDEX = {symbol: position for position, symbol in enumerate(VOCAB)}
UNKNOWN = INDEX["X"]
END = INDEX["."]
#: The padded length both peers use by default (``fcd`` pads longer sets to their longest SMILES plus one).
PAD_LENGTH = 350
#: Longest symbols first, then any one character: ``fcd``'s tokeniser.
_LONGEST_FIRST = re.compile("|".join(re.escape(symbol) for symbol in sorted(VOCAB, key=len, reverse=True)) + "|.",
                            re.DOTALL)
_JOINS_PREVIOUS = frozenset("ril")


def fcd_indices(smiles: str) -> list[int]:
    """Symbol indices as ``fcd`` reads ``smiles``, end symbol included."""
    return [INDEX.get(match.group(), UNKNOWN) for match in _LONGEST_FIRST.finditer(smiles + ".")]


def fcd_torch_indices(smiles: str, length: int = PAD_LENGTH) -> list[int]:
    """Symbol indices as ``fcd_torch`` reads ``smiles`` into ``length`` rows, end symbol included (its loop: a
    character followed by 'r', 'i' or 'l' is read with it; reading stops at a '.' or one row before the end)."""
    text = smiles + "."
    indices: list[int] = []
    position = 0
    while True:
        step = 2 if text[position + 1:position + 2] and text[position + 1] in _JOINS_PREVIOUS else 1
        indices.append(INDEX.get(text[position:position + step], UNKNOWN))
        position += step
        if position >= len(text) or text[position] == "." or len(indices) == length - 1:
            return [*indices, END]


def one_hot(indices: list[int], length: int) -> np.ndarray:
    """(length, 35) float32 rows: 1/35 at each symbol, zeros after the end symbol."""
    matrix = np.zeros((length, len(VOCAB)), dtype=np.float32)
    matrix[np.arange(len(indices)), indices] = 1.0 / len(VOCAB)
    return matrix
