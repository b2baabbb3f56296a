"""Benchmark: molecules embedded per second by frechet's ChemNet against fcd_torch's, with the same weights and
molecules, in one process.

    .venv/bin/python bench/molecules.py [--molecules 1000] [--rounds 2] [--threads 1] [--out bench/results/molecules.md]

Both sides prepare the SMILES as MOSES does (RDKit-canonical, fcd_torch's tokeniser, 350 rows) and run ChemNet on the
CPU with the real weights (the installed fcd_torch wheel's file; fcd_torch is in the test extra): fcd_torch through
``FCD(canonize=True, batch_size=512, n_jobs=1).get_predictions``, frechet through ``compute_stats`` with the
``chemnet`` embedder in ``moses`` mode (its default data pipeline, batch size and workers). Timed: from the SMILES list
to the features or statistics, model loading excluded (each side is warmed up on 64 molecules first). The molecules
are MOSES test molecules (molsets' ``test.csv.gz``, the first N). Rounds alternate between the sides and each time is
the best of them, so background load hits both; the ratio is fcd_torch's time over frechet's.
"""

from __future__ import annotations

import argparse
import gzip
import importlib.util
import platform
import time
from pathlib import Path

import torch

import frechet
from frechet_molecules.weights import installed_copy

RESULTS = Path(__file__).resolve().parent / "results"


def moses_test(count: int) -> list[str]:
    spec = importlib.util.find_spec("moses")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("install molsets (pip install --no-deps molsets==0.3.1) for MOSES' test molecules")
    with gzip.open(Path(spec.submodule_search_locations[0]) / "dataset" / "data" / "test.csv.gz", "rt") as handle:
        return handle.read().splitlines()[1:count + 1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--molecules", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", type=Path, default=RESULTS / "molecules.md")
    args = parser.parse_args()
    import fcd_torch

    torch.set_num_threads(args.threads)
    weights = installed_copy()
    smiles = moses_test(args.molecules)
    peer = fcd_torch.FCD(device="cpu", n_jobs=1, batch_size=512, model_path=str(weights))
    options = {"embedder": "chemnet", "embedder_options": {"preprocess": "moses", "weights": weights},
               "cache": False, "progress": False}
    sides = {
        "fcd_torch": lambda items: peer.get_predictions(items),
        "frechet": lambda items: frechet.compute_stats(items, **options),
    }
    for run in sides.values():
        run(smiles[:64])
    best = {name: float("inf") for name in sides}
    for _ in range(args.rounds):
        for name, run in sides.items():
            start = time.perf_counter()
            run(smiles)
            best[name] = min(best[name], time.perf_counter() - start)
    rate = {name: len(smiles) / seconds for name, seconds in best.items()}
    lines = [
        "# ChemNet throughput: frechet vs fcd_torch (same weights, MOSES preparation)", "",
        f"{len(smiles)} MOSES test molecules, CPU, torch {torch.__version__}, {args.threads} thread(s), "
        f"best of {args.rounds} alternating rounds; {platform.processor() or platform.machine()}.", "",
        "| side | seconds | molecules/s |", "|---|---:|---:|",
        *[f"| {name} | {best[name]:.2f} | {rate[name]:.1f} |" for name in sides],
        "", f"frechet / fcd_torch: **{rate['frechet'] / rate['fcd_torch']:.2f}x**",
        "", "Made by `bench/molecules.py " + f"--molecules {args.molecules} --rounds {args.rounds} "
        f"--threads {args.threads}`.",
    ]
    args.out.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
