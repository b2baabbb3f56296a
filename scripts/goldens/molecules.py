"""Goldens for the molecule domain: ChemNet features and FCDs as the peers compute them, with deterministic random
weights in the published file's layout (checked in CI) and with the real ChemNet_v0.13 weights (checked wherever
the weights are found).

Run in the reference venv (../shared/refenv.sh molecules: fcd 1.2.2, fcd_torch 1.0.7, rdkit, guacamol 0.5.5):

    $(../shared/refenv.sh molecules) scripts/goldens/molecules.py

Writes tests/goldens/molecules/goldens.npz (features of the first rows of each held-out set, per weights and mode)
and goldens.json (FCD per weights and mode on the two held-out sets, bioinf-jku/FCD's own test values recomputed,
the peers' and RDKit's versions). The held-out sets are tests/goldens/molecules/held_out_{a,b}.smi: GuacaMol's
holdout molecules and MOSES test molecules, then MOSES scaffold-test molecules and edge cases (a salt written as two
fragments, Si and Br, stereo centres, a 418-character SMILES written canonically).

Modes, each the peer's own code path: fcd = fcd.get_predictions on the SMILES as given; fcd-torch =
fcd_torch.FCD(canonize=True).get_predictions; guacamol = fcd.get_predictions on fcd.canonical_smiles (what
guacamol's FrechetBenchmark._calculate_distribution_statistics calls). FCD = the peer's calculate_frechet_distance on
np.mean / np.cov of its features.
"""

from __future__ import annotations

import importlib.metadata
import json
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "tests" / "goldens" / "molecules"
sys.path.insert(0, str(ROOT / "tests" / "plugins" / "molecules"))

#: Rows of each set whose features are stored (the FCDs use every row).
STORED_ROWS = 8
MODES = ("fcd", "fcd-torch", "guacamol")


def read_smiles(path: Path) -> list[str]:
    return [line.split()[0] for line in path.read_text().splitlines() if line.strip()]


def features(mode: str, weights: Path, smiles: list[str]) -> np.ndarray:
    import fcd
    import fcd_torch

    if mode == "fcd-torch":
        return fcd_torch.FCD(device="cpu", model_path=str(weights)).get_predictions(smiles)
    model = fcd.load_ref_model(str(weights))
    return fcd.get_predictions(model, fcd.canonical_smiles(smiles, njobs=1) if mode == "guacamol" else smiles,
                               device="cpu")


def fcd_of(first: np.ndarray, second: np.ndarray) -> float:
    import fcd

    return float(fcd.calculate_frechet_distance(np.mean(first, axis=0), np.cov(first.T), np.mean(second, axis=0),
                                                np.cov(second.T)))


def main() -> None:
    import fcd
    import fcd_torch
    from chemnet_random import save_random_chemnet

    torch.set_num_threads(2)
    sets = {name: read_smiles(OUT / f"held_out_{name}.smi") for name in ("a", "b")}
    work = Path(tempfile.mkdtemp(prefix="frechet-molecule-goldens-"))
    weights = {
        "random": save_random_chemnet(work / "random.pt", legacy=True),
        "real": Path(fcd_torch.__file__).parent / "ChemNet_v0.13_pretrained.pt",
    }
    arrays, facts = {}, {"fcd": {}, "n_rows": {name: len(rows) for name, rows in sets.items()}}
    for label, path in weights.items():
        for mode in MODES:
            computed = {name: features(mode, path, rows) for name, rows in sets.items()}
            for name, rows in computed.items():
                arrays[f"{label}/{mode}/{name}"] = rows[:STORED_ROWS].astype(np.float32)
            facts["fcd"][f"{label}/{mode}"] = fcd_of(computed["a"], computed["b"])
            print(label, mode, facts["fcd"][f"{label}/{mode}"], flush=True)
    published = {  # bioinf-jku/FCD test/test_fcd.py: the lists and the values its tests assert
        "random_smiles": (["CNOHF", "NOHFCl", "OHFClP", "HFClPB"], ["ISi#()", "Si#()+", "#()+-", "()+-1"], 8.8086),
        "fcd_torch": (["COc1cccc(NC(=O)Cc2coc3ccc(OC)cc23)c1", "Cc1noc(C)c1CN(C)C(=O)Nc1cc(F)cc(F)c1"],
                      ["Oc1ccccc1-c1cccc2cnccc12", "Cc1noc(C)c1CN(C)C(=O)Nc1cc(F)cc(F)c1"], 47.773486382119444),
    }
    facts["fcd_tests"] = {name: {"first": first, "second": second, "asserted": target,
                                 "fcd_1_2_2": float(fcd.get_fcd(first, second, device="cpu"))}
                          for name, (first, second, target) in published.items()}
    facts["versions"] = {package: importlib.metadata.version(package)
                         for package in ("fcd", "fcd_torch", "guacamol", "rdkit", "torch", "numpy", "scipy")}
    np.savez_compressed(OUT / "goldens.npz", **arrays)
    (OUT / "goldens.json").write_text(json.dumps(facts, indent=1) + "\n")
    print(json.dumps(facts["fcd_tests"], indent=1))


if __name__ == "__main__":
    main()
