"""Benchmark: images/s of frechet's image backbones against the reference tools' own modules, same random weights,
same inputs, timed in turn in one process.

    flock /tmp/frechet-heavy.lock /tmp/frechet-refenv-backbones/bin/python bench/backbones.py \
        [--batch 4] [--rounds 3] [--only clip-vitl14-336] [--out bench/results/backbones]

Runs in the reference environment (``/work/shared/refenv.sh backbones``, with ``pluggy`` added so frechet imports
from this checkout). Each case builds frechet's network and the reference's module from one full-size
deterministic random state dict, checks that they agree on a batch of random normalised images (largest absolute
difference of the features), then times the forward pass of each (float32, CPU, inference mode, one warm-up
call). Rounds alternate between the two and the best round counts, so background load hits both alike.

Cases (one builder each; add a backbone by adding one to CASES):
- ``clip-vitl14-336`` (the bar: at least 1.0x), ``clip-vitl14``, ``clip-vitb32``: frechet's CLIP tower vs OpenAI's
  ``clip.model.VisionTransformer`` (what ``clip.load`` builds and ``encode_image`` runs), float32 as on the CPU.

A second table gives each CLIP preprocessing mode's CPU time per image (decoded 512x384 image to network input).
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "bench"), str(ROOT), str(ROOT / "plugins"), str(ROOT / "tests" / "plugins" / "clip")]

from harness import publish  # noqa: E402

Forward = Callable[[torch.Tensor], torch.Tensor]


def _clip(shape_name: str) -> tuple[Forward, Forward, tuple[int, ...]]:
    """frechet's tower and OpenAI's ``clip`` VisionTransformer holding the same full-size random weights."""
    import clip.model
    from frechet_clip import network
    from frechet_clip.network import build_tower
    from clip_random_weights import random_clip_state, visual_part

    shape = getattr(network, shape_name)
    tower = visual_part(random_clip_state(shape))
    ours = build_tower(tower)
    theirs = clip.model.VisionTransformer(shape.resolution, shape.patch, shape.width, shape.layers, shape.heads,
                                          shape.output_dim)
    theirs.load_state_dict({key: value.float() for key, value in tower.items()})
    return ours, theirs.eval(), (3, shape.resolution, shape.resolution)


_OPENAI = "OpenAI clip (clip-anytorch) VisionTransformer"
CASES = {
    "clip-vitl14-336": (lambda: _clip("VIT_L_14_336"), _OPENAI),
    "clip-vitl14": (lambda: _clip("VIT_L_14"), _OPENAI),
    "clip-vitb32": (lambda: _clip("VIT_B_32"), _OPENAI),
}


def _seconds(model: Forward, batch: torch.Tensor) -> float:
    start = time.perf_counter()
    model(batch)
    return time.perf_counter() - start


def measure(name: str, batch_size: int, rounds: int) -> dict:
    build, reference = CASES[name]
    ours, theirs, input_shape = build()
    batch = torch.randn(batch_size, *input_shape, generator=torch.Generator().manual_seed(0))
    with torch.inference_mode():
        difference = float((ours(batch) - theirs(batch)).abs().max())
        best = {"frechet": float("inf"), "reference": float("inf")}
        for _ in range(rounds):
            best["frechet"] = min(best["frechet"], _seconds(ours, batch))
            best["reference"] = min(best["reference"], _seconds(theirs, batch))
    rates = {side: batch_size / seconds for side, seconds in best.items()}
    return {"reference": reference, "batch": batch_size, "rounds": rounds, "max_abs_feature_diff": difference,
            "images_per_s": rates, "ratio": rates["frechet"] / rates["reference"]}


def preprocessing_ms() -> dict[str, float]:
    """Milliseconds per image of each CLIP preprocessing mode on a decoded 512x384 image (best of 20)."""
    from frechet_clip.preprocess import MODES, clip_input
    from inception_random_weights import synthetic_image

    image = synthetic_image(0, 0, 384, 512)
    timings = {}
    for mode in MODES:
        for resolution in (224, 336):
            best = float("inf")
            for _ in range(20):
                start = time.perf_counter()
                clip_input(image, mode, resolution)
                best = min(best, time.perf_counter() - start)
            timings[f"{mode} @{resolution}"] = 1000 * best
    return timings


def report(results: dict, preprocessing: dict[str, float]) -> str:
    lines = [
        "# Backbones: forward-pass images/s against the reference modules",
        "",
        f"`bench/backbones.py`, {platform.processor() or platform.machine()}, {torch.get_num_threads()} threads, "
        f"torch {torch.__version__}; float32 on the CPU, same random weights, best of the rounds.",
        "",
        "| backbone | reference module | batch | frechet img/s | reference img/s | ratio | max abs feature diff |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for name, row in results.items():
        rates = row["images_per_s"]
        lines.append(f"| {name} | {row['reference']} | {row['batch']} | {rates['frechet']:.3f} | "
                     f"{rates['reference']:.3f} | {row['ratio']:.2f}x | {row['max_abs_feature_diff']:.1e} |")
    lines += ["", "| preprocessing (512x384 image) | ms per image |", "| --- | --- |"]
    lines += [f"| {mode} | {ms:.2f} |" for mode, ms in preprocessing.items()]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--only", choices=tuple(CASES), action="append")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    results = {name: measure(name, args.batch, args.rounds) for name in args.only or CASES}
    preprocessing = preprocessing_ms()
    publish(report(results, preprocessing), {"forward": results, "preprocessing_ms": preprocessing}, args.out)


if __name__ == "__main__":
    main()
