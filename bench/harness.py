"""Shared pieces of the benchmarks: commands timed in a subprocess, the random Inception weights, and a cheap image
embedder for memory measurements."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from frechet import Embedder
from frechet_inception.network import state_dict_layout

#: The random Inception weights and generated images are test fixtures: benchmarks take them from the tests.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "plugins" / "inception"))
from inception_random_weights import PARITY_SEED, random_state_dict  # noqa: E402

#: The reference environment with pytorch-fid, torch-fidelity and clean-fid (``/work/shared/refenv.sh image``).
REFERENCE_PYTHON = "/tmp/frechet-refenv-image/bin/python"
#: pytorch-fid's file name for the FID Inception weights; torch hub's checkpoints folder is where it looks.
PYTORCH_FID_WEIGHTS = "pt_inception-2015-12-05-6726825d.pth"
BENCH = Path(__file__).resolve().parent

_HELPER = (
    "import json, resource, subprocess, sys, time\n"
    "start = time.perf_counter()\n"
    "done = subprocess.run(sys.argv[1:], capture_output=True, text=True)\n"
    "elapsed = time.perf_counter() - start\n"
    "usage = resource.getrusage(resource.RUSAGE_CHILDREN)\n"
    "print(json.dumps({'seconds': elapsed, 'cpu_seconds': usage.ru_utime + usage.ru_stime,"
    " 'rss_mib': usage.ru_maxrss / 1024, 'code': done.returncode, 'out': done.stdout,"
    " 'err': done.stderr[-2000:]}))\n"
)


@dataclass(frozen=True)
class Measured:
    """One command's wall seconds, CPU seconds of its whole process tree, peak RSS (MiB) of its largest process,
    and its stdout."""

    seconds: float
    cpu_seconds: float
    rss_mib: float
    out: str


def run_measured(command: list[str], env: dict[str, str]) -> Measured:
    """Run ``command`` through a small helper process (so the resource usage is that command's alone)."""
    result = subprocess.run([sys.executable, "-c", _HELPER, *command], env=env, capture_output=True, text=True)
    report = json.loads(result.stdout)
    if report["code"] != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{report['err']}")
    return Measured(report["seconds"], report["cpu_seconds"], report["rss_mib"], report["out"])


def machine_load() -> str:
    """The machine's load averages (1, 5 and 15 minutes), for reports measured on a shared machine."""
    loadavg = Path("/proc/loadavg")
    return " / ".join(loadavg.read_text().split()[:3]) if loadavg.exists() else "unknown"


def publish(text: str, results: dict, out: Path | None) -> None:
    """Print a benchmark's Markdown report and, given ``out``, write it to OUT.md and its results to OUT.json."""
    print(text)
    if out:
        out.with_suffix(".md").write_text(text)
        out.with_suffix(".json").write_text(json.dumps(results, indent=2) + "\n")


def inception_weights(work: Path) -> tuple[Path, dict[str, str]]:
    """The deterministic random Inception weights (the parity seed, canonical layout) saved under pytorch-fid's
    file name in ``work``/torch's hub folder, and an environment in which both tools find them offline."""
    checkpoints = work / "torch" / "hub" / "checkpoints"
    checkpoints.mkdir(parents=True, exist_ok=True)
    weights = checkpoints / PYTORCH_FID_WEIGHTS
    torch.save(random_state_dict(state_dict_layout(), PARITY_SEED), weights)
    env = {**os.environ, "TORCH_HOME": str(work / "torch"), "FRECHET_OFFLINE": "1", "PYTHONWARNINGS": "ignore"}
    return weights, env


class PixelProjection(Embedder):
    """A fixed random projection of an image's raw pixels to ``dims`` features: an image embedder with FID-sized
    statistics (d = 2048 by default) that costs almost nothing, for measuring the pipeline around the network."""

    name = "pixel-projection"
    domain = "image"

    def __init__(self, size: str = "16", dims: str = "2048") -> None:
        super().__init__()
        self.size, self.dims = int(size), int(dims)
        generator = torch.Generator().manual_seed(0)
        self.matrix = torch.randn(3 * self.size * self.size, self.dims, generator=generator) / self.size
        self.outputs = {"features": self.dims}
        self.default_output = "features"

    def transform(self, item: np.ndarray) -> torch.Tensor:
        if item.shape[:2] != (self.size, self.size):
            raise ValueError(f"expected {self.size}x{self.size} images, got {item.shape[1]}x{item.shape[0]}")
        return torch.from_numpy(item.astype(np.float32).reshape(-1) / 255)

    def forward(self, batch: torch.Tensor) -> dict[str, torch.Tensor]:
        return {"features": torch.tanh(batch @ self.matrix)}

    def config(self) -> dict[str, int]:
        return {"size": self.size, "dims": self.dims}
