"""The molecule domain of frechet: the Fréchet ChemNet Distance (FCD) as bioinf-jku/FCD, fcd_torch/MOSES and
GuacaMol compute it, on ChemNet's published weights; SMILES files, CSV tables, MOSES' SMILES sets and lists.

    frechet compute generated.smi reference.smi --embedder chemnet                     # fcd = fd, as fcd 1.2
    frechet compute generated.smi ref:moses-test --embedder chemnet --preprocess moses   # MOSES' FCD/Test
    frechet compute moses:test table.csv --source-option column=canonical_smiles --embedder chemnet
    frechet.compute(["CCO", "c1ccccc1", ...], "reference.csv.gz", embedder="chemnet",
                    embedder_options={"preprocess": "guacamol"}, metrics=["fd", "guacamol"])
"""

from __future__ import annotations

from typing import Any

from frechet.hookspecs import hookimpl
from frechet_molecules.disturb import DISTURBANCES
from frechet_molecules.embedder import ChemNetEmbedder
from frechet_molecules.gallery import depiction
from frechet_molecules.guacamol import GuacaMolScoreMetric
from frechet_molecules.sources import (
    CSV_OPTIONS,
    CSV_SUFFIXES,
    MOSES_SETS,
    SMILES_SUFFIXES,
    Molecule,
    is_smiles_list,
    open_moses,
    open_smiles_csv,
    open_smiles_file,
    open_smiles_list,
)

__all__ = ["ChemNetEmbedder", "Molecule", "open_moses", "open_smiles_csv", "open_smiles_file", "open_smiles_list"]


@hookimpl
def frechet_register_embedders(register: Any) -> None:
    register(ChemNetEmbedder)


@hookimpl
def frechet_register_sources(register: Any) -> None:
    register("smiles-file", open_smiles_file, domain="molecule", suffixes=SMILES_SUFFIXES,
             description="SMILES, one per line (.smi, .smiles, .txt), an optional name after each")
    register("smiles-csv", open_smiles_csv, domain="molecule", suffixes=CSV_SUFFIXES, options=CSV_OPTIONS,
             description="the SMILES column of a CSV table (.csv, .csv.gz)")
    register("moses", open_moses, domain="molecule", named_only=True, names=tuple(MOSES_SETS),
             description="MOSES' SMILES sets by name (moses:test as ref:moses-test), from an installed molsets "
             "package (pip install molsets --no-deps)")
    register("smiles-list", open_smiles_list, domain="molecule", accepts=is_smiles_list,
             description="a Python list of SMILES strings given to the API or a Scorer")


@hookimpl
def frechet_register_metrics(register: Any) -> None:
    register("guacamol", GuacaMolScoreMetric,
             description="GuacaMol's FCD benchmark score exp(-0.2*FCD) (guacamol_fcd_score), next to the FCD")


@hookimpl
def frechet_register_disturbances(register: Any) -> None:
    for disturbance in DISTURBANCES:
        register(disturbance)


@hookimpl
def frechet_report_item(item: Any, domain: str) -> Any:
    return depiction(item, domain)
