"""The MOSES-size FCD: a 30,000-molecule sample of MOSES' training set against MOSES' test statistics, as fcd_torch
computes it (MOSES' FCD/Test) and as frechet does, with time and peak memory.

    $(../shared/refenv.sh molecules) bench/moses_size.py peer [N]   # fcd_torch 1.0.7 + molsets 0.3.1's statistics
    .venv/bin/python bench/moses_size.py frechet [N]                 # ref:moses-test, --preprocess moses

The sample: ``numpy.random.default_rng(0).choice(len(train), N, replace=False)``, sorted, of the SMILES in molsets
0.3.1's ``moses/dataset/data/train.csv.gz`` (N = 30,000 unless given). Each part writes
bench/results/moses_size_<part>_<N>.json; the fcd_torch run is the oracle (the ≈0.048 of a 30k sample), frechet's
must equal it to 1e-4 relative.
"""

from __future__ import annotations

import gzip
import importlib.metadata
import importlib.util
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
SAMPLE_SIZE = 30_000


def moses_file(name: str) -> Path:
    """A data file of the installed molsets package, found without importing it."""
    spec = importlib.util.find_spec("moses")
    if spec is None or not spec.submodule_search_locations:
        sys.exit("install molsets (pip install --no-deps molsets==0.3.1) for MOSES' data files")
    return Path(spec.submodule_search_locations[0]) / "dataset" / "data" / name


def sample(size: int) -> list[str]:
    with gzip.open(moses_file("train.csv.gz"), "rt") as handle:
        train = handle.read().splitlines()[1:]
    chosen = np.sort(np.random.default_rng(0).choice(len(train), size, replace=False))
    return [train[index].split(",")[0] for index in chosen]


def peer(smiles: list[str]) -> dict:
    import fcd_torch
    import torch

    stats = np.load(moses_file("test_stats.npz"), allow_pickle=True)["stats"].item()["FCD"]  # the oracle's own way
    metric = fcd_torch.FCD(device="cpu", n_jobs=1, batch_size=512)
    start = time.perf_counter()
    value = metric(gen=smiles, pref=stats)
    return {"tool": f"fcd_torch {importlib.metadata.version('fcd_torch')}", "torch": torch.__version__,
            "fcd": float(value), "seconds": time.perf_counter() - start}


def frechet_run(smiles: list[str]) -> dict:
    import frechet

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "moses_sample.smi"
        path.write_text("\n".join(smiles) + "\n")
        start = time.perf_counter()
        result = frechet.compute("ref:moses-test", path, embedder="chemnet", embedder_options={"preprocess": "moses"},
                                 cache=False, progress=False)
        seconds = time.perf_counter() - start
    return {"tool": f"frechet {frechet.__version__}", "embedder": result["embedder"], "fcd": result["fcd"],
            "seconds": seconds}


def main() -> None:
    import torch

    part = sys.argv[1] if len(sys.argv) > 1 else "frechet"
    threads = int(os.environ.get("BENCH_THREADS", "1"))
    torch.set_num_threads(threads)
    smiles = sample(int(sys.argv[2]) if len(sys.argv) > 2 else SAMPLE_SIZE)
    record = peer(smiles) if part == "peer" else frechet_run(smiles)
    record.update(n=len(smiles), threads=threads, peak_rss_mib=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"moses_size_{part}_{len(smiles)}.json").write_text(json.dumps(record, indent=1) + "\n")
    print(json.dumps(record, indent=1))


if __name__ == "__main__":
    main()
