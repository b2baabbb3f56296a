"""Time and peak memory of PRDC and KID at N = 10k and 50k samples per side, d = 2048, against the peers.

    .venv/bin/python bench/metrics.py [--peer-python /tmp/frechet-refenv-image/bin/python] [--sizes 10000 50000]
                                      [--metrics prdc kid]

Every measurement runs in a fresh process that loads the features (float32, as an embedder produces them) and then
computes one metric; it reports wall time and its peak resident set size (ru_maxrss), and the RSS with only the
features loaded, so the metric's own working memory is the difference. frechet computes in float64 on the CPU.
Peers (in the reference venv, measured in the same run): the prdc package (sklearn distances, N × N matrices),
torch-fidelity's precision/recall (torch.cdist, N × N) and KID (float32 numpy). A peer whose N × N float32 matrices
alone would exceed the machine's memory is not run, and says so. Rows of bench/results/metrics.json are replaced
per (case, N), each with the time it was measured and the frechet commit; a table with the ratios peer / frechet
(same N, measured in the same run) is printed.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

DIM = 2048
RESULTS = Path(__file__).resolve().parent / "results"

_MEASURE = """
import json, resource, sys, time
import numpy as np
{setup}
real, fake = np.load(sys.argv[1]), np.load(sys.argv[2])
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
start = time.perf_counter()
{body}
seconds = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({{"seconds": seconds, "peak_rss_mib": peak / 1024, "features_rss_mib": before / 1024,
                  "values": values}}))
"""

#: case -> (whose, which metric, imports done before the baseline RSS is read, the measured statement).
CASES = {
    "frechet prdc": ("ours", "prdc", "from frechet.metrics.prdc import prdc", "values = prdc(real, fake)"),
    "prdc package": ("peer", "prdc", "import contextlib, io; from prdc import compute_prdc", """
with contextlib.redirect_stdout(io.StringIO()):
    values = {k: float(v) for k, v in compute_prdc(real_features=real, fake_features=fake, nearest_k=5).items()}
"""),
    "torch-fidelity precision/recall": ("peer", "prdc", """
import torch
from torch_fidelity.metric_prc import prc_features_to_metric
""", """
values = prc_features_to_metric(torch.from_numpy(fake), torch.from_numpy(real), prc_neighborhood=3,
                                prc_batch_size=10000, save_cpu_ram=False, verbose=False)
"""),
    "frechet kid": ("ours", "kid", "from frechet.metrics.kid import kid",
                    'values = dict(zip(("kid", "kid_std"), kid(real, fake)))'),
    "torch-fidelity kid": ("peer", "kid", """
import torch
from torch_fidelity.metric_kid import kid_features_to_metric
""", """
values = kid_features_to_metric(torch.from_numpy(fake), torch.from_numpy(real), kid_subsets=100,
                                kid_subset_size=1000, rng_seed=2020, verbose=False)
"""),
}


def make_features(n: int, seed: int, shift: float) -> np.ndarray:
    """Non-negative features near a 64-d manifold, like pooled CNN activations, float32, made in chunks."""
    rng = np.random.default_rng(seed)
    basis = np.random.default_rng(0).standard_normal((64, DIM)).astype(np.float32) / 8
    chunks = []
    for start in range(0, n, 5000):
        rows = min(5000, n - start)
        latent = rng.standard_normal((rows, 64), dtype=np.float32) + shift
        chunks.append(np.maximum(latent @ basis + 0.2 * rng.standard_normal((rows, DIM), dtype=np.float32), 0))
    return np.concatenate(chunks)


def _memory_bytes() -> int:
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def _peer_fits(case: str, n: int) -> bool:
    """Whether the peer's N × N float32 matrices (3 for prdc / torch-fidelity P/R) fit in 80 % of memory."""
    matrices = 3 if CASES[case][1] == "prdc" else 0
    return matrices * n * n * 4 < 0.8 * _memory_bytes()


def run_case(case: str, python: str, real: Path, fake: Path) -> dict:
    code = _MEASURE.format(setup=CASES[case][2], body=CASES[case][3])
    done = subprocess.run([python, "-c", code, str(real), str(fake)], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        return {"error": done.stderr.strip().splitlines()[-1] if done.stderr.strip() else f"exit {done.returncode}"}
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--peer-python", help="python of the reference venv with prdc and torch-fidelity")
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 50_000])
    parser.add_argument("--metrics", nargs="+", choices=["prdc", "kid"], default=["prdc", "kid"])
    args = parser.parse_args()
    stamp = {"measured": time.strftime("%Y-%m-%dT%H:%M:%S"), "commit": _commit()}
    report = {"machine": {"cpus": os.cpu_count(), "memory_gib": round(_memory_bytes() / 2**30, 1),
                          "python": platform.python_version(), "note": "shared machine; ratios are what to compare"},
              "dim": DIM, "runs": []}
    with tempfile.TemporaryDirectory() as folder:
        for n in args.sizes:
            real, fake = Path(folder) / f"real{n}.npy", Path(folder) / f"fake{n}.npy"
            np.save(real, make_features(n, 1, 0.0))
            np.save(fake, make_features(n, 2, 0.15))
            for case, (who, metric, *_) in CASES.items():
                if metric not in args.metrics or (who == "peer" and not args.peer_python):
                    continue
                if who == "peer" and not _peer_fits(case, n):
                    result = {"skipped": f"its N × N float32 matrices need {3 * n * n * 4 / 2**30:.0f} GiB"}
                else:
                    result = run_case(case, sys.executable if who == "ours" else args.peer_python, real, fake)
                report["runs"].append({"case": case, "n": n, **stamp, **result})
                print(json.dumps(report["runs"][-1]), flush=True)
            real.unlink()
            fake.unlink()
    report["runs"] = _merged(report["runs"])
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "metrics.json").write_text(json.dumps(report, indent=2) + "\n")
    print(_table(report))


def _merged(runs: list[dict]) -> list[dict]:
    """This run's rows plus the earlier ones (from the results file) that it did not measure again."""
    path = RESULTS / "metrics.json"
    earlier = json.loads(path.read_text())["runs"] if path.exists() else []
    fresh = {(run["case"], run["n"]) for run in runs}
    kept = [run for run in earlier if (run["case"], run["n"]) not in fresh]
    order = list(CASES)
    return sorted(kept + runs, key=lambda run: (run["n"], order.index(run["case"])))


def _commit() -> str:
    done = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False,
                          cwd=Path(__file__).resolve().parent)
    return done.stdout.strip() or "unknown"


def _table(report: dict) -> str:
    ours = {(run["n"], CASES[run["case"]][1]): run for run in report["runs"] if CASES[run["case"]][0] == "ours"}
    lines = [f"{'case':<34} {'N':>6} {'seconds':>9} {'peak MiB':>9} {'metric MiB':>10} {'time ratio':>10}"]
    for run in report["runs"]:
        if "seconds" not in run:
            lines.append(f"{run['case']:<34} {run['n']:>6}  {run.get('skipped') or run.get('error')}")
            continue
        base = ours.get((run["n"], CASES[run["case"]][1]))
        ratio = run["seconds"] / base["seconds"] if base and "seconds" in base else float("nan")
        lines.append(f"{run['case']:<34} {run['n']:>6} {run['seconds']:>9.1f} {run['peak_rss_mib']:>9.0f} "
                     f"{run['peak_rss_mib'] - run['features_rss_mib']:>10.0f} {ratio:>10.2f}")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
