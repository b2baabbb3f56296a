"""FCD's sample-size bias at MOSES' scale: MOSES training-set samples of growing size N against ref:moses-test, and
the line FCD(N) = FCD∞ + c/N fitted through them (Chong & Forsyth 2020), read at N = 30,000.

    .venv/bin/python bench/moses_bias.py [--sizes 1000,2000,4000] [--out bench/results/moses_bias.md]

Needs molsets (its train.csv.gz; pip install --no-deps molsets==0.3.1), RDKit and the ChemNet weights (fcd_torch's
wheel). Each N is a fresh sample (``numpy.random.default_rng(N)``, without replacement) embedded in ``moses`` mode on
one CPU thread; the statistics of ref:moses-test are fcd_torch's, as MOSES publishes them.
"""

from __future__ import annotations

import argparse
import gzip
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

import frechet
from frechet import references
from moses_size import moses_file

RESULTS = Path(__file__).resolve().parent / "results"
MOSES_SAMPLE = 30_000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,2000,4000")
    parser.add_argument("--out", type=Path, default=RESULTS / "moses_bias.md")
    args = parser.parse_args()
    torch.set_num_threads(1)
    with gzip.open(moses_file("train.csv.gz"), "rt") as handle:
        train = handle.read().splitlines()[1:]
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        reference = Path(folder) / "moses-test.npz"  # read (and its pickle checked) once, not at every size
        references.load(references.lookup("moses-test")).save(reference)
        for size in (int(value) for value in args.sizes.split(",")):
            chosen = np.sort(np.random.default_rng(size).choice(len(train), size, replace=False))
            path = Path(folder) / f"train_{size}.smi"
            path.write_text("\n".join(train[index] for index in chosen) + "\n")
            start = time.perf_counter()
            result = frechet.compute(reference, path, embedder="chemnet", embedder_options={"preprocess": "moses"},
                                     cache=False, progress=False)
            rows.append({"n": size, "fcd": result["fcd"], "seconds": time.perf_counter() - start})
            print(rows[-1], flush=True)
    inverse = np.array([1.0 / row["n"] for row in rows])
    slope, intercept = np.polyfit(inverse, np.array([row["fcd"] for row in rows]), 1)
    at_moses = intercept + slope / MOSES_SAMPLE
    record = {"rows": rows, "fcd_infinity": float(intercept), "c": float(slope), "fcd_at_30000": float(at_moses)}
    (args.out.with_suffix(".json")).write_text(json.dumps(record, indent=1) + "\n")
    lines = [
        "# FCD's sample-size bias against ref:moses-test (MOSES training-set samples, moses mode)", "",
        "| N | FCD | seconds |", "|---:|---:|---:|",
        *[f"| {row['n']:,} | {row['fcd']:.4f} | {row['seconds']:.0f} |" for row in rows],
        "", f"Fitted FCD(N) = FCD∞ + c/N: FCD∞ = {intercept:.4f}, c = {slope:.1f}; at N = 30,000: {at_moses:.4f}.",
        "", f"Made by `bench/moses_bias.py --sizes {args.sizes}` (one CPU thread, torch {torch.__version__}).",
    ]
    args.out.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
