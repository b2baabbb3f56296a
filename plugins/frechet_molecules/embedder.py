"""The ``chemnet`` embedder: ChemNet's 512-d features of SMILES, prepared as the chosen peer prepares them (FCD).

Modes (``--preprocess``), each reproducing its tool's features with the same weights:

- ``fcd`` — bioinf-jku/FCD 1.2 ``get_fcd``: the SMILES as given, its longest-symbol-first tokeniser, padded to 350
  rows or to the input's longest SMILES plus one;
- ``fcd-torch`` / ``moses`` — insilicomedicine/fcd_torch 1.0 (which MOSES' metrics call): RDKit's canonical SMILES,
  its two-letter tokeniser, truncated to 350 rows;
- ``guacamol`` — BenevolentAI/guacamol's FCD benchmark: RDKit's canonical SMILES read as ``fcd`` reads them.

A SMILES RDKit cannot parse is a bad item in the canonicalising modes (fcd_torch stops on it; MOSES drops such
molecules before scoring: ``--skip-bad`` does the same and counts them). ``fcd`` embeds any string, as fcd does
(its own tests score strings such as "()+-1"): there only text that cannot be a SMILES at all is a bad item
(empty, whitespace, control or non-ASCII characters), unless ``validate`` asks RDKit to parse each one first.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from frechet.embedder import Embedder, Option
from frechet.errors import InputError
from frechet.precision import exact_float32
from frechet_molecules.chemistry import canonical, parse_problem, rdkit_version, text_problem
from frechet_molecules.chemnet import FEATURES, ChemNet
from frechet_molecules.sources import Molecule
from frechet_molecules.tokens import PAD_LENGTH, fcd_indices, fcd_torch_indices, one_hot
from frechet_molecules.weights import WEIGHTS, load_chemnet, resolve_chemnet_weights, weights_digest

#: Mode -> (canonical SMILES by default, tokeniser).
MODES = {"fcd": (False, "fcd"), "fcd-torch": (True, "fcd_torch"), "moses": (True, "fcd_torch"),
         "guacamol": (True, "fcd")}
DEFAULT_MODE = "fcd"


class ChemNetEmbedder(Embedder):
    """ChemNet v0.13 (Preuer et al. 2018): ``features`` (512), its last LSTM state, for the Fréchet ChemNet Distance.

    ``preprocess`` picks whose tokeniser, padding and canonicalisation ("fcd", "fcd-torch", "moses", "guacamol");
    ``canonical`` overrides the mode's canonicalisation; ``weights`` is a local ``ChemNet_v0.13_pretrained.pt``.
    """

    name = "chemnet"
    domain = "molecule"
    description = "ChemNet v0.13 (FCD): 512-d features of SMILES, as fcd, fcd_torch/MOSES or GuacaMol compute them"
    fd_key = "fcd"
    outputs = {"features": FEATURES}
    default_output = "features"
    weights = WEIGHTS
    cacheable = False
    precisions = ("fp32",)
    options = (
        Option("preprocess", choices=tuple(MODES), default=DEFAULT_MODE,
               help="whose preparation: fcd (bioinf-jku/FCD), fcd-torch or moses (fcd_torch), guacamol"),
        Option("canonical", bool, help="RDKit-canonicalise the SMILES first (default: as the mode's tool does)"),
        Option("validate", bool, default=False,
               help="make a SMILES RDKit cannot parse a bad item in the modes that do not canonicalise"),
        Option("weights", Path, help="a local ChemNet_v0.13_pretrained.pt instead of an installed or cached copy"),
    )

    def __init__(self, preprocess: str = DEFAULT_MODE, canonical: bool | None = None, validate: bool = False,
                 weights: Path | None = None) -> None:
        super().__init__()
        self.preprocess = preprocess
        self.canonical = MODES[preprocess][0] if canonical is None else canonical
        self.validate = validate and not self.canonical
        self.tokeniser = MODES[preprocess][1]
        self.weights_path = resolve_chemnet_weights(weights)
        self.rdkit = rdkit_version() if self.canonical or self.validate else None
        self._network: ChemNet | None = None

    def transform(self, item: Molecule) -> torch.Tensor:
        return torch.from_numpy(self.prepare(item).T.copy())

    def prepare(self, item: Molecule) -> np.ndarray:
        """The (rows, 35) scaled one-hot matrix of one molecule."""
        smiles = item.smiles
        if self.canonical:
            smiles = canonical(smiles)
            if smiles is None:
                raise InputError(f"{item.name}: RDKit {self.rdkit} cannot parse {_shown(item.smiles)}; fix or drop "
                                 "this line (--skip-bad skips and counts such molecules, as MOSES drops them)")
        else:
            problem = text_problem(smiles) or (parse_problem(smiles) if self.validate else None)
            if problem is not None:
                raise InputError(f"{item.name}: {problem} ({_shown(smiles)}); fix or drop this line, or pass "
                                 "--skip-bad")
        if self.tokeniser == "fcd_torch":
            return one_hot(fcd_torch_indices(smiles), PAD_LENGTH)
        return one_hot(fcd_indices(smiles), max(PAD_LENGTH, item.longest + 1, len(smiles) + 1))

    def collate(self, examples: list[torch.Tensor]) -> torch.Tensor:
        """Stack, zero-padding to the batch's longest (only canonical SMILES longer than their input's longest
        SMILES as given are longer than the rest)."""
        length = max(example.shape[1] for example in examples)
        return torch.stack([torch.nn.functional.pad(example, (0, length - example.shape[1])) for example in examples])

    def forward(self, batch: torch.Tensor) -> dict[str, torch.Tensor]:
        with exact_float32(batch.device):
            return {"features": self.network()(batch)}

    def network(self) -> ChemNet:
        """The loaded network (on first use)."""
        if self._network is None:
            self._network = load_chemnet(self.weights_path).to(self.device)
        return self._network

    def config(self) -> dict[str, Any]:
        config: dict[str, Any] = {"weights": weights_digest(self.weights_path), "preprocess": self.preprocess}
        if self.canonical != MODES[self.preprocess][0]:
            config["canonical"] = self.canonical
        if self.canonical:
            config["rdkit"] = self.rdkit
        return config

    def __getstate__(self) -> dict[str, Any]:
        # DataLoader workers receive the embedder for ``transform`` only: never the network.
        return {**self.__dict__, "_network": None}


def _shown(smiles: str) -> str:
    return repr(smiles) if len(smiles) <= 60 else f"{smiles[:57]!r}…"
