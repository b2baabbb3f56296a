"""Goldens for the videomae-v2-g embedder: cd-fvd 0.1.1's own VideoMAE-v2 code (scripts/goldens/videomae_peers.py,
in the video reference environment) against frechet, with the same random weights on the same videos.

Run:  bash /work/shared/refenv.sh video            (cd-fvd 0.1.1)
      python scripts/goldens/videomae_parity.py REFENV_PYTHON [--workdir DIR] [--full [--full-only]
             [--frames F] [--clips N]]
Writes tests/goldens/video/videomae_parity.json (the peer's FVD, frechet's end to end through frechet.compute, their
relative difference, and the largest differences of network input and features; the same for the input after
cd-fvd's video-file loader step, for both backbones) and videomae_parity.npz (the peer's features of every clip, and
its network inputs of the first real clip on a coarse pixel grid), which tests/plugins/video/test_videomae_parity.py
checks link by link without the reference environment.

The committed goldens use a reduced network (tests' videomae_random_weights.TINY: two blocks of two 88-wide heads)
on 4 real and 4 fake uint8 clips of 16 frames at 64x80 (i3d_random_weights.parity_clips, seeds 1 and 2), so the
input is resized. ``--full`` runs the published ViT-g/14 size (40 blocks of width 1408, 16 heads, 6144 MLP units;
4 GB of random weights, seed videomae_random_weights.SEED) through cd-fvd's own load_videomae_model on --clips +
--clips clips (default 2) of --frames frames (default 16, the published clip: 2048 tokens; also --full-frames), and
writes videomae_parity_full_<F>f.json beside them (not checked by the tests: the record of that run); --full-only
leaves the reduced goldens alone. There frechet's network runs once per clip and frechet's distance takes its
features, where the reduced run goes end to end through frechet.compute. The two sides run one after the other
(cd-fvd's in a subprocess, then frechet's; one 4 GB copy of the weights alive at a time besides the file), clip by
clip in the order real 0, fake 0, real 1, ..., each clip's features, network seconds and 1-minute load averages
kept in the work folder: rerunning with the same --workdir, or with more clips, computes only what is missing. The
record holds each side's network seconds per clip (loading apart), the load averages, the largest feature
difference and value, the network inputs' largest difference, and with two clips a side or more the FD of each
(one clip a side has no covariance, so no FD).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
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
    """Peer and frechet on ``count`` + ``count`` clips of ``frames`` frames with the reduced network ``size``, end to
    end through frechet.compute."""
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
    (work / "config.json").write_text(json.dumps({**size, "crop": crop, "full": False}))
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
    seconds = (time.perf_counter() - start) / 2 / count
    record: dict = {"peer_fvd": peer_fvd, "frechet_seconds_per_clip": round(seconds, 1)}
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


def _run_full(python: str, work: Path, count: int, frames: int, size: dict = FULL) -> dict:
    """The published size (or ``size``, reduced, to try the script) on ``count`` + ``count`` clips of ``frames``
    frames, clip by clip and resumable."""
    import frechet
    from frechet_video.i3d_modes import MODES as I3D_MODES
    from frechet_video.videomae_input import network_input
    from frechet_video.videomae_weights import load_videomae

    clips_helper, weights_helper = _load("i3d_random_weights"), _load("videomae_random_weights")
    work.mkdir(parents=True, exist_ok=True)
    videos = {label: clips_helper.parity_clips(count, frames, HEIGHT, WIDTH, seed=seed)
              for label, seed in (("real", 1), ("fake", 2))}
    config = {**size, "crop": 0, "full": size == FULL, "clipwise": True, "frames": frames}
    kept_config = work / "config.json"
    if kept_config.exists() and json.loads(kept_config.read_text()).get("frames") != frames:
        raise SystemExit(f"{work} holds a run of other frames: use another --workdir")
    for label, clips in videos.items():
        np.save(work / f"{label}.npy", clips)
    kept_config.write_text(json.dumps(config))
    weights = work / "weights.pth"
    if not weights.exists():
        state = weights_helper.random_state(size["width"], size["depth"], size["hidden"])
        torch.save(weights_helper.checkpoint(state), weights)
        del state
    (work / "peers.npz").unlink(missing_ok=True)  # the peer's summary of this count; its clips stay kept
    start = time.perf_counter()
    subprocess.run([python, str(ROOT / "scripts" / "goldens" / "videomae_peers.py"), str(work)], check=True)
    print(f"peer: {time.perf_counter() - start:.1f} s", flush=True)
    peers = dict(np.load(work / "peers.npz"))
    inputs = {label: network_input(clips) for label, clips in videos.items()}
    todo = [(i, label) for i in range(count) for label in videos if not (work / f"frechet_{label}{i}.npz").exists()]
    load_seconds = None
    if todo:
        start = time.perf_counter()
        network = load_videomae(weights)
        load_seconds = time.perf_counter() - start
        with torch.inference_mode():
            for i, label in todo:
                load_before, start = os.getloadavg()[0], time.perf_counter()
                features = network(inputs[label][i:i + 1]).numpy()
                seconds = time.perf_counter() - start
                np.savez(work / f"frechet_{label}{i}.npz", features=features, seconds=seconds,
                         load=[load_before, os.getloadavg()[0]])
                print(f"frechet {label} {i}: {seconds:.1f} s", flush=True)
        del network
    kept = {(label, i): dict(np.load(work / f"frechet_{label}{i}.npz")) for i in range(count) for label in videos}
    ours = {label: np.concatenate([kept[label, i]["features"] for i in range(count)]) for label in videos}
    difference = max(float(np.abs(ours[label] - peers[f"features_{label}"]).max()) for label in videos)
    largest = max(float(np.abs(peers[f"features_{label}"]).max()) for label in videos)
    record: dict = {
        "frechet_seconds_per_clip": round(float(np.mean([kept[key]["seconds"] for key in kept])), 1),
        "peer_seconds_per_clip": round(float(np.mean([peers[f"seconds_{label}"] for label in videos])), 1),
        "seconds_per_clip_is": "the network alone (forward of one clip, batch 1), loading apart; the mean over clips",
        "frechet_clip_seconds": {label: [round(float(kept[label, i]["seconds"]), 1) for i in range(count)]
                                 for label in videos},
        "peer_clip_seconds": {label: [round(float(x), 1) for x in peers[f"seconds_{label}"]] for label in videos},
        "load_average": {"what": "1-minute load average before and after each clip, on 2 cores; both sides under "
                                 "nice -n 19 where the run was",
                         "frechet": {label: [[round(float(x), 2) for x in kept[label, i]["load"]]
                                             for i in range(count)] for label in videos},
                         "peer": {label: [[round(float(x), 2) for x in pair] for pair in peers[f"load_{label}"]]
                                  for label in videos}},
        "frechet_load_seconds": None if load_seconds is None else round(load_seconds, 1),
        "peer_load_seconds": round(float(peers["load_seconds"]), 1) if "load_seconds" in peers else None,
        "torch": {"frechet": torch.__version__, "peer": str(peers["torch"])},
        "threads": {"frechet": torch.get_num_threads(), "peer": int(peers["threads"])},
        "niceness": os.nice(0),
        "max_abs_input_difference": max(
            float(np.abs(inputs[label].numpy() - peers[f"input_{label}"]).max()) for label in videos),
        "max_abs_feature_difference": difference,
        "max_abs_feature": largest,
        "relative_feature_difference": difference / largest,
    }
    if count >= 2:
        peer_fvd = float(peers["fvd"])
        fd = frechet.compute(ours["real"].astype(np.float64), ours["fake"].astype(np.float64),
                             metric_options=I3D_MODES["cd-fvd"].fd_options())["fd"]
        record.update(peer_fvd=peer_fvd, frechet_fd_of_frechets_features=fd,
                      relative_difference=abs(fd - peer_fvd) / abs(peer_fvd))
    else:
        record["fd"] = ("not computed: one clip a side has no covariance (N - 1 = 0), so neither cd-fvd's FVD nor "
                        "frechet's FD is defined")
    record["strict_load"] = ("cd-fvd's load_videomae_model loads weights.pth into vit_giant_patch14_224 with "
                             "load_state_dict's default strict=True; frechet's load_videomae checks the layout, then "
                             "load_state_dict(strict=True) of the body (the classifier head unused)")
    record["videos"] = {"count": count, "frames": frames, "height": HEIGHT, "width": WIDTH, "seeds": [1, 2],
                        "weights_seed": weights_helper.SEED, "network": size}
    return record


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("python", help="the video reference environment's python")
    parser.add_argument("--workdir", type=Path)
    parser.add_argument("--full", action="store_true", help="also run the published ViT-g/14 size (slow)")
    parser.add_argument("--frames", "--full-frames", dest="frames", type=int, default=16,
                        help="frames of each clip in the --full run (default 16, the published clip)")
    parser.add_argument("--clips", type=int, default=2, help="clips a side in the --full run (default 2)")
    parser.add_argument("--full-only", action="store_true", help="with --full: leave the reduced goldens alone")
    args = parser.parse_args()
    work = args.workdir or Path(tempfile.mkdtemp(prefix="videomae-parity-"))
    OUT.mkdir(parents=True, exist_ok=True)
    if not (args.full and args.full_only):
        tiny = _load("videomae_random_weights").TINY
        run = _run(args.python, work / "tiny", tiny, count=4, frames=16, crop=CROP)
        peers = run["peers"]
        arrays = {f"features_{label}": peers[f"features_{label}"].astype(np.float32) for label in ("real", "fake")}
        arrays["input_real0"] = peers["input_real"][0, :, :, ::GRID, ::GRID]
        for backbone in ("videomae", "i3d"):
            arrays[f"crop_input_{backbone}"] = peers[f"crop_input_{backbone}"][0, :, :, ::GRID, ::GRID]
        (OUT / "videomae_parity.json").write_text(json.dumps(run["record"], indent=2) + "\n")
        np.savez_compressed(OUT / "videomae_parity.npz", **arrays)
        print(json.dumps(run["record"], indent=2), flush=True)
    if args.full:
        full = _run_full(args.python, work / f"full-{args.frames}f", count=args.clips, frames=args.frames)
        (OUT / f"videomae_parity_full_{args.frames}f.json").write_text(json.dumps(full, indent=2) + "\n")
        print(json.dumps(full, indent=2))


if __name__ == "__main__":
    sys.exit(main())
