"""Goldens for the videomae-v2-g embedder: cd-fvd 0.1.1's own VideoMAE-v2 code (scripts/goldens/videomae_peers.py,
in the video reference environment) against frechet, with the same random weights on the same videos.

Run:  bash /work/shared/refenv.sh video            (cd-fvd 0.1.1)
      python scripts/goldens/videomae_parity.py REFENV_PYTHON [--workdir DIR] [--full]
Writes tests/goldens/video/videomae_parity.json (the peer's FVD, frechet's end to end through frechet.compute, their
relative difference, and the largest differences of network input and features; the same for the input after
cd-fvd's video-file loader step, for both backbones) and videomae_parity.npz (the peer's features of every clip, and
its network inputs of the first real clip on a coarse pixel grid), which tests/plugins/video/test_videomae_parity.py
checks link by link without the reference environment.

The committed goldens use a reduced network (tests' videomae_random_weights.TINY: two blocks of two 88-wide heads)
on 4 real and 4 fake uint8 clips of 16 frames at 64x80 (i3d_random_weights.parity_clips, seeds 1 and 2), so the
input is resized. ``--full`` runs the published ViT-g/14 size (40 blocks of width 1408, 16 heads, 6144 MLP units;
4 GB of random weights) through cd-fvd's own load_videomae_model on 2 + 2 clips of --full-frames frames, and writes
videomae_parity_full.json beside them (not checked by the tests: the record of that run). There frechet's network
runs once per clip and frechet's distance takes its features, where the reduced run goes end to end through
frechet.compute.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[2]
HELPERS = ROOT / "tests" / "plugins" / "video"
OUT = ROOT / "tests" / "goldens" / "video"
HEIGHT, WIDTH = 64, 80
CROP = 48  # the loader step's resolution in the crop check: shorter side 64 -> 48, then the crop
GRID = 8  # the saved network inputs keep every GRID-th pixel row and column
FULL = {"width": 1408, "depth": 40, "heads": 16, "hidden": 6144}


def _load(name: str):
    spec = importlib.util.spec_from_file_location(name, HELPERS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _run(python: str, work: Path, size: dict, count: int, frames: int, crop: int) -> dict:
    """Peer and frechet on ``count`` + ``count`` clips of ``frames`` frames with a network of ``size``."""
    import frechet
    from frechet_video.i3d_modes import MODES as I3D_MODES
    from frechet_video.i3d_modes import network_input as i3d_input
    from frechet_video.videomae_input import network_input
    from frechet_video.videomae_weights import load_videomae

    clips_helper, weights_helper = _load("i3d_random_weights"), _load("videomae_random_weights")
    work.mkdir(parents=True, exist_ok=True)
    videos = {label: clips_helper.parity_clips(count, frames, HEIGHT, WIDTH, seed=seed)
              for label, seed in (("real", 1), ("fake", 2))}
    for label, clips in videos.items():
        np.save(work / f"{label}.npy", clips)
    full = size == FULL
    (work / "config.json").write_text(json.dumps({**size, "crop": crop, "full": full}))
    weights = work / "weights.pth"
    if not weights.exists():
        state = weights_helper.random_state(size["width"], size["depth"], size["hidden"])
        torch.save(weights_helper.checkpoint(state), weights)
        del state
    if not (work / "peers.npz").exists():  # the network's part is long: kept in the work folder
        start = time.perf_counter()
        subprocess.run([python, str(ROOT / "scripts" / "goldens" / "videomae_peers.py"), str(work)], check=True)
        print(f"peer: {time.perf_counter() - start:.1f} s", flush=True)
    peers = dict(np.load(work / "peers.npz"))
    peer_fvd = float(peers["fvd"])
    inputs = {label: network_input(clips) for label, clips in videos.items()}
    start = time.perf_counter()
    network = load_videomae(weights)
    with torch.inference_mode():
        ours = {label: torch.cat([network(inputs[label][i:i + 1]) for i in range(count)]).numpy() for label in videos}
    record: dict = {"peer_fvd": peer_fvd, "frechet_seconds_per_clip": round((time.perf_counter() - start) / 2 / count, 1)}
    if full:  # the features once, and frechet's distance of them with the mode's options
        fd = frechet.compute(ours["real"].astype(np.float64), ours["fake"].astype(np.float64),
                             metric_options=I3D_MODES["cd-fvd"].fd_options())["fd"]
        record.update(frechet_fd_of_frechets_features=fd)
    else:
        fd = frechet.compute(videos["real"], videos["fake"], embedder="videomae-v2-g", metrics="fd", cache=False,
                             embedder_options={"weights": str(weights), "frames": frames})["fd_videomae"]
        record.update(frechet_fd_videomae=fd)
    record["relative_difference"] = abs(fd - peer_fvd) / abs(peer_fvd)
    record["max_abs_input_difference"] = max(
        float(np.abs(inputs[label].numpy() - peers[f"input_{label}"]).max()) for label in videos)
    record["max_abs_feature_difference"] = max(
        float(np.abs(ours[label] - peers[f"features_{label}"]).max()) for label in videos)
    record["max_abs_feature"] = max(float(np.abs(peers[f"features_{label}"]).max()) for label in videos)
    if crop:
        first = videos["real"][:1]
        record["crop"] = crop
        record["crop_max_abs_input_difference"] = {
            "videomae": float(np.abs(network_input(first, crop).numpy() - peers["crop_input_videomae"]).max()),
            "i3d": float(np.abs(i3d_input(first, I3D_MODES["cd-fvd"], crop).numpy() - peers["crop_input_i3d"]).max()),
        }
    record["videos"] = {"count": count, "frames": frames, "height": HEIGHT, "width": WIDTH, "seeds": [1, 2],
                        "weights_seed": weights_helper.SEED, "network": size, "grid": GRID}
    return {"record": record, "peers": peers}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("python", help="the video reference environment's python")
    parser.add_argument("--workdir", type=Path)
    parser.add_argument("--full", action="store_true", help="also run the published ViT-g/14 size (slow)")
    parser.add_argument("--full-frames", type=int, default=16)
    args = parser.parse_args()
    work = args.workdir or Path(tempfile.mkdtemp(prefix="videomae-parity-"))
    tiny = _load("videomae_random_weights").TINY
    run = _run(args.python, work / "tiny", tiny, count=4, frames=16, crop=CROP)
    peers = run["peers"]
    arrays = {f"features_{label}": peers[f"features_{label}"].astype(np.float32) for label in ("real", "fake")}
    arrays["input_real0"] = peers["input_real"][0, :, :, ::GRID, ::GRID]
    for backbone in ("videomae", "i3d"):
        arrays[f"crop_input_{backbone}"] = peers[f"crop_input_{backbone}"][0, :, :, ::GRID, ::GRID]
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "videomae_parity.json").write_text(json.dumps(run["record"], indent=2) + "\n")
    np.savez_compressed(OUT / "videomae_parity.npz", **arrays)
    print(json.dumps(run["record"], indent=2), flush=True)
    if args.full:
        full = _run(args.python, work / "full", FULL, count=2, frames=args.full_frames, crop=0)["record"]
        (OUT / "videomae_parity_full.json").write_text(json.dumps(full, indent=2) + "\n")
        print(json.dumps(full, indent=2))


if __name__ == "__main__":
    sys.exit(main())
