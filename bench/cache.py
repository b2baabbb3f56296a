"""Benchmark: a statistics run through the feature cache — cold (embeds and writes shards), warm (reads them) — vs
the same run with ``--no-cache``, timed in one process on the same inputs.

    python bench/cache.py [--items 20000] [--dims 2048] [--shard-size 4096] [--out bench/results/cache.md]

The inputs are an (items, dims) float32 ``.npy`` feature file; the embedder is a fixed random two-layer MLP of
width ``dims`` (≈ 4·dims² flops per item), registered for this benchmark only, standing in for a backbone whose
output has ``dims`` dimensions, so shard sizes (float64 M2 of dims² per shard) are those of a real model's. The
configurations take turns over a few rounds, in alternating order; the best time of each is reported, and the
statistics of every run are checked to be identical.
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

import frechet
from frechet import Embedder
from frechet.cache import FeatureCache
from frechet.features import open_feature_file
from frechet.plugins import get_registry


class _MLP(Embedder):
    name = "bench-mlp"
    domain = "features"
    parallel_transform = False

    def __init__(self, dims: str = "2048") -> None:
        super().__init__()
        dims_ = int(dims)
        generator = torch.Generator().manual_seed(0)
        self.layers = [torch.randn(dims_, dims_, generator=generator) / dims_**0.5 for _ in range(2)]
        self.outputs = {"hidden": dims_}
        self.default_output = "hidden"
        self.dims = dims_

    def transform(self, item: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(item.astype(np.float32))

    def forward(self, batch: torch.Tensor) -> dict[str, torch.Tensor]:
        return {"hidden": torch.relu(torch.relu(batch @ self.layers[0]) @ self.layers[1])}

    def config(self) -> dict[str, int]:
        return {"dims": self.dims}


def _run(path: Path, cache_dir: Path, shard_size: int, *, cache: bool) -> tuple[float, frechet.FeatureStats]:
    start = time.perf_counter()
    stats = frechet.compute_stats(
        path, embedder="bench-mlp", embedder_options={"dims": str(np.load(path, mmap_mode="r").shape[1])},
        cache=cache, cache_dir=cache_dir, shard_size=shard_size, batch_size=256, progress=False,
    )
    return time.perf_counter() - start, stats


def _cache_operations(path: Path, folder: Path, shard_size: int) -> dict[str, float]:
    """Time the cache's own work for the whole input: keys (hashing every row), writing and reading every shard."""
    source = open_feature_file(path)
    ranges = [(start, min(start + shard_size, len(source))) for start in range(0, len(source), shard_size)]
    cache, copy = FeatureCache(folder / "cache0"), FeatureCache(folder / "copy")
    embedder_id = next(iter(cache.entries())).embedder
    start = time.perf_counter()
    keys = cache.shard_keys(source, embedder_id, ranges)
    times = {"shard keys (hash every item)": time.perf_counter() - start}
    start = time.perf_counter()
    shards = [cache.read(embedder_id, key) for key in keys]
    times["read every shard"] = time.perf_counter() - start
    start = time.perf_counter()
    for key, shard in zip(keys, shards):
        copy.write(embedder_id, key, shard, label=str(path))
    times["write every shard (background thread in a run)"] = time.perf_counter() - start
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=20000)
    parser.add_argument("--dims", type=int, default=2048)
    parser.add_argument("--shard-size", type=int, default=4096)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    get_registry().add_embedder("bench-mlp", _MLP, domain="features", outputs={"hidden": None},
                                description="benchmark: random two-layer MLP")
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        path = folder / "features.npy"
        np.save(path, np.random.default_rng(0).standard_normal((args.items, args.dims)).astype(np.float32))
        best = {"no cache": float("inf"), "cold cache": float("inf"), "warm cache": float("inf")}
        reference = None
        for round_ in range(args.rounds):
            cache_dir = folder / f"cache{round_}"
            runs = [("no cache", False), ("cold cache", True), ("warm cache", True)]
            if round_ % 2:  # the uncached run goes last every other round, so a load spike hits both alike
                runs = runs[1:] + runs[:1]
            for name, cached in runs:
                elapsed, stats = _run(path, cache_dir, args.shard_size, cache=cached)
                best[name] = min(best[name], elapsed)
                reference = reference or stats
                assert np.array_equal(stats.cov, reference.cov) and np.array_equal(stats.mean, reference.mean)
        size = sum(entry.bytes for entry in FeatureCache(folder / "cache0").entries())
        operations = _cache_operations(path, folder, args.shard_size)
    base = best["no cache"]
    machine = f"Machine: {platform.machine()}, {os.cpu_count()} cores; torch {torch.__version__}, "
    inputs = f"{args.items} items of {args.dims} dims, shards of {args.shard_size}; cache size {size / 2**20:.0f} MiB "
    lines = [
        machine + f"{torch.get_num_threads()} threads.",
        "",
        inputs + f"({size / args.items / 1024:.1f} KiB per item). Statistics identical in every run.",
        "",
        "| run | time | vs no cache |",
        "|---|---:|---:|",
        *(f"| {name} | {seconds:.2f} s | {base / seconds:.2f}× |" for name, seconds in best.items()),
        "",
        "What the cache itself costs, timed alone (the wall-clock times above also carry this shared machine's load):",
        "",
        "| operation | time | share of the uncached run |",
        "|---|---:|---:|",
        *(f"| {name} | {seconds:.3f} s | {100 * seconds / base:.1f}% |" for name, seconds in operations.items()),
    ]
    text = "\n".join(lines)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()
