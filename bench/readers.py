"""Benchmark: time and peak memory of each file reader on a valid file of realistic size, this tree's readers
against another revision's (by default ``main``), so bounding the readers is seen to cost nothing measurable.

    python bench/readers.py [--base main] [--rounds 5] [--out bench/results/readers.md]

The other revision's ``frechet`` and plugins are extracted with ``git archive`` into a temporary folder and imported
from there. Each measurement is a fresh process that imports the reader, reads the file once (its peak RSS growth
over the RSS before it, with the peak reset after the imports, is the reader's memory), then reads it ``--rounds``
more times (the best time counts). The two revisions alternate, so background load on a shared machine hits both.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
from harness import publish  # noqa: E402

#: reader -> (file it reads, Python statements reading ``path``: one full use of the file)
READERS = {
    "statistics .npz (2048-d)": ("stats.npz", "from frechet.stats import FeatureStats\nFeatureStats.load(path)"),
    "EDM2 .pkl (2048 + 1024-d)": ("edm2.pkl", "from frechet.pickled_stats import read_edm2_stats\n"
                                              "read_edm2_stats(path)"),
    "features .npy (10000 × 2048 float32)": ("features.npy", "from frechet.features import open_feature_file\n"
                                                            "float(open_feature_file(path).matrix.sum())"),
    "ADM batch .npz (2000 × 64 × 64 × 3)": ("batch.npz", "from frechet_image.npz import NpzImageSource\n"
                                                        "source = NpzImageSource(path)\n"
                                                        "for i in range(len(source)): source.load(i)"),
    "cache shard (2048-d)": ("shard.npz", "from frechet.cache import FeatureCache\n"
                                          "from frechet.cache.shard import shard_from_arrays\n"
                                          "from frechet.io import read_npz\n"
                                          "shard_from_arrays(read_npz(path), 'bench', 'k' * 64)"),
    "CLIP TorchScript archive (~67 MB)": ("clip.pt", "from frechet.torchscript_archive import read_script_archive\n"
                                                     "read_script_archive(path)"),
    "CLIP safetensors (~67 MB)": ("clip.safetensors", "from frechet_clip.safetensors_file import read_safetensors\n"
                                                      "read_safetensors(path)"),
    "state dict, torch.save (~67 MB)": ("state.pth", "from frechet.weights import load_state_dict\n"
                                                     "load_state_dict(path)"),
}

_WORKER = """
import json, sys, time
path, rounds = sys.argv[1], int(sys.argv[2])
code = compile(sys.argv[3], "reader", "exec")
import numpy, torch, frechet

def status(field):
    for line in open("/proc/self/status"):
        if line.startswith(field + ":"):
            return int(line.split()[1])

with open("/proc/self/clear_refs", "w") as clear:
    clear.write("5")  # resets the peak RSS (VmHWM) to the current RSS
before = status("VmRSS")
exec(code, {"path": path})
grown = status("VmHWM") - before
best = float("inf")
for _ in range(rounds):
    start = time.perf_counter()
    exec(code, {"path": path})
    best = min(best, time.perf_counter() - start)
print(json.dumps({"seconds": best, "rss_mib": grown / 1024}))
"""


def write_files(folder: Path) -> None:
    """The valid files, each of a realistic size for what it holds."""
    from frechet.cache.shard import Shard, shard_arrays
    from frechet.stats import FeatureStats

    rng = np.random.default_rng(0)
    rows = rng.standard_normal((3000, 2048))
    stats = FeatureStats.from_features(rows)
    stats.save(folder / "stats.npz")
    import pickle

    dino = FeatureStats.from_features(rows[:, :1024])
    (folder / "edm2.pkl").write_bytes(pickle.dumps({
        "num_images": 3000, "fid": {"mu": stats.mean, "sigma": stats.cov},
        "fd_dinov2": {"mu": dino.mean, "sigma": dino.cov}}))
    np.save(folder / "features.npy", rng.standard_normal((10000, 2048)).astype(np.float32))
    np.savez(folder / "batch.npz", arr_0=rng.integers(0, 255, (2000, 64, 64, 3), dtype=np.uint8))
    arrays = shard_arrays(Shard(0, 3000, 3000, stats={"pool": stats.state(rows=False)}), "bench", "k" * 64,
                          label="bench")
    np.savez(folder / "shard.npz", **arrays)
    model = torch.nn.Sequential(*[torch.nn.Linear(2048, 2048) for _ in range(4)])
    torch.jit.script(torch.nn.ModuleDict({"visual": model})).save(str(folder / "clip.pt"))
    state = {f"visual.{key}": value for key, value in model.state_dict().items()}
    torch.save(state, folder / "state.pth")
    _write_safetensors(folder / "clip.safetensors", state)


def _write_safetensors(path: Path, state: dict[str, torch.Tensor]) -> None:
    import struct

    header, blobs, offset = {}, [], 0
    for key, value in state.items():
        raw = value.contiguous().numpy().tobytes()
        header[key] = {"dtype": "F32", "shape": list(value.shape), "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    encoded = json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(encoded)) + encoded + b"".join(blobs))


def extract(revision: str, folder: Path) -> Path:
    """``frechet`` and the plugins of ``revision``, extracted into ``folder``."""
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", revision, "frechet", "plugins"],
                             capture_output=True, check=True).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(folder, filter="data")
    return folder


def measure(tree: Path, path: Path, code: str, rounds: int) -> dict[str, float]:
    env = {**os.environ, "PYTHONPATH": f"{tree}{os.pathsep}{tree / 'plugins'}", "PYTHONWARNINGS": "ignore"}
    done = subprocess.run([sys.executable, "-c", _WORKER, str(path), str(rounds), code], env=env,
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{path.name} in {tree}: {done.stderr[-2000:]}")
    return json.loads(done.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", default="main", help="the revision compared against (main)")
    parser.add_argument("--rounds", type=int, default=5, help="timed reads per process (5)")
    parser.add_argument("--repeats", type=int, default=3, help="processes per reader and revision (3)")
    parser.add_argument("--out", type=Path, help="write OUT.md and OUT.json")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work:
        work = Path(work)
        (work / "files").mkdir()
        write_files(work / "files")
        trees = {"before": extract(args.base, work / "base"), "after": ROOT}
        results = {}
        for name, (file, code) in READERS.items():
            runs: dict[str, list[dict[str, float]]] = {"before": [], "after": []}
            for _ in range(args.repeats):
                for label, tree in trees.items():
                    runs[label].append(measure(tree, work / "files" / file, code, args.rounds))
            results[name] = {label: {"seconds": min(run["seconds"] for run in measured),
                                     "rss_mib": min(run["rss_mib"] for run in measured)}
                             for label, measured in runs.items()}
            print(f"{name}: {results[name]}", file=sys.stderr, flush=True)
    lines = [
        f"Machine: {platform.machine()}, {os.cpu_count()} cores; torch {torch.__version__}, numpy {np.__version__}; "
        f"before = `{args.base}`, after = this tree. Best of {args.repeats} processes × {args.rounds} reads; memory is "
        "the peak RSS growth of the first read in a fresh process (its smallest over the processes).",
        "",
        "| reader | time before | time after | time ratio | memory before | memory after | memory ratio |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, result in results.items():
        before, after = result["before"], result["after"]
        result["time_ratio"] = after["seconds"] / before["seconds"]
        result["memory_ratio"] = (after["rss_mib"] + 1) / (before["rss_mib"] + 1)  # +1 MiB: tiny growths are noise
        lines.append(
            f"| {name} | {before['seconds'] * 1e3:.1f} ms | {after['seconds'] * 1e3:.1f} ms | "
            f"{result['time_ratio']:.2f}× | {before['rss_mib']:.1f} MiB | {after['rss_mib']:.1f} MiB | "
            f"{result['memory_ratio']:.2f}× |"
        )
    publish("\n".join(lines) + "\n", results, args.out)


if __name__ == "__main__":
    main()
