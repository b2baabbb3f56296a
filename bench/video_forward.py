"""The forward part of bench/video.py: I3D clips per second through frechet's network against TATS's pytorch-i3d
module (the network TATS and cd-fvd run) with the same weights, on the CPU, and peak memory of an FVD run as the
number of videos grows.

    python bench/video.py --forward TATS/tats/fvd/pytorch_i3d.py [--clips 4] [--clip-frames 16] [--rounds 3] \
        [--out bench/results/video_forward.md]

Both networks get the same random weights (tests' i3d_random_weights, TATS's state-dict layout; the speed does not
depend on their values) and the same (clips, 3, frames, 224, 224) batch; timed: the forward pass alone, best of the
rounds, the rounds alternating between the two so background load hits both; the logits of the two are compared too.
Memory: ``frechet compute`` on 4 and on 16 uint8 videos (10 frames, 64x80, tats mode) in fresh processes, each one's
peak resident memory (statistics stream: no clip is kept once embedded).
"""

from __future__ import annotations

import importlib.util
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch


def _peer(path: Path, state: dict) -> torch.nn.Module:
    spec = importlib.util.spec_from_file_location("tats_pytorch_i3d", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    network = module.InceptionI3d(400, in_channels=3)
    network.load_state_dict(state)
    return network.eval()


def _best(network: torch.nn.Module, batch: torch.Tensor, times: list[float]) -> torch.Tensor:
    with torch.inference_mode():
        start = time.perf_counter()
        out = network(batch)
        times.append(time.perf_counter() - start)
    return out


def _peak_rss(videos: int, weights: Path, work: Path) -> float:
    from i3d_random_weights import parity_clips

    for label, seed in (("real", 1), ("fake", 2)):
        np.save(work / f"{label}{videos}.npy", parity_clips(videos, 10, 64, 80, seed=seed))
    code = ("import resource, sys; from frechet.cli import main; main(sys.argv[1:]); "
            "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)")
    done = subprocess.run([sys.executable, "-c", code, "compute", str(work / f"real{videos}.npy"),
                           str(work / f"fake{videos}.npy"), "--embedder", "i3d", "--preprocess", "tats", "--weights",
                           str(weights), "--embedder-option", "frames=10", "--batch-size", "2", "--no-cache",
                           "--quiet", "--json"], capture_output=True, text=True, check=True)
    return float(done.stdout.strip().splitlines()[-1])


def forward_benchmark(peer: Path, clips: int, frames: int, rounds: int) -> tuple[dict, str]:
    """The measurements (JSON-serialisable) and their markdown report."""
    from frechet_video.i3d_weights import load_i3d
    from i3d_random_weights import piergiaj_state, write_piergiaj

    work = Path(tempfile.mkdtemp(prefix="i3d-bench-"))
    weights = write_piergiaj(work / "i3d_pretrained_400.pt")
    ours, theirs = load_i3d(weights), _peer(peer, piergiaj_state())
    batch = torch.rand(clips, 3, frames, 224, 224, generator=torch.Generator().manual_seed(0)) * 2 - 1
    times: dict[str, list[float]] = {"frechet": [], "tats": []}
    for _ in range(rounds):
        out_ours = _best(ours, batch, times["frechet"])
        out_theirs = _best(theirs, batch, times["tats"])
    rates = {name: clips / min(values) for name, values in times.items()}
    memory = {videos: _peak_rss(videos, weights, work) for videos in (4, 16)}
    record = {
        "clips_per_second": rates, "ratio": rates["frechet"] / rates["tats"],
        "max_abs_logit_difference": float((out_ours - out_theirs).abs().max()),
        "batch": [clips, 3, frames, 224, 224], "rounds": rounds,
        "peak_rss_mib_by_videos": memory, "threads": torch.get_num_threads(), "torch": torch.__version__,
        "cpu": platform.processor() or platform.machine(), "cores": os.cpu_count(),
        "load_average": os.getloadavg(),
    }
    lines = [
        "# I3D forward: frechet vs TATS's pytorch-i3d (CPU)", "",
        f"`python bench/video.py --forward TATS/tats/fvd/pytorch_i3d.py --clips {clips} --clip-frames {frames} "
        f"--rounds {rounds}`; torch {torch.__version__}, {torch.get_num_threads()} threads, {os.cpu_count()} cores, "
        f"load average {os.getloadavg()[0]:.1f} at the end (the machine was shared).", "",
        "| network | clips/s | ratio |", "|---|---|---|",
        f"| frechet | {rates['frechet']:.3f} | {record['ratio']:.2f}x |",
        f"| TATS pytorch-i3d | {rates['tats']:.3f} | 1.00x |", "",
        f"Largest logit difference between the two: {record['max_abs_logit_difference']:.2e}.", "",
        "Peak resident memory of `frechet compute` (tats mode, 10-frame clips, batch 2): " + ", ".join(
            f"{videos} + {videos} videos: {mib:.0f} MiB" for videos, mib in memory.items()) + ".",
    ]
    return record, "\n".join(lines) + "\n"
