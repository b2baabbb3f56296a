"""Benchmark: image backbones beyond Inception, in one run -- frechet's forward pass against the peer's own module
with the same weights, and several embedders in one pass against one run each.

    python bench/backbones.py --dinov2 CHECKOUT [--batch 16] [--repeats 3] [--images 48] [--rounds 2]
                              [--out bench/results/backbones]

Forward pass: for each backbone of ``BACKBONES``, frechet's embedder (``forward`` on a ready batch, under
``torch.inference_mode`` as the runner calls it) and the peer's module (as the peers call it, under
``torch.no_grad``; run in the reference environment, ``/work/shared/refenv.sh backbones``) each load the same
deterministic random full-size weights (``tests/plugins/<name>/*_random_weights.py``) in a fresh process, run one
warm-up batch, then time ``--repeats`` batches of the same ``--batch`` random inputs; the best batch counts. The two
processes also save their outputs, and the report gives their largest difference (same numbers, not only the same
speed). DINOv2-L/14's peer module is the hub model of a checkout of facebookresearch/dinov2 (``--dinov2``), built
from its code (``torch.hub.load(CHECKOUT, "dinov2_vitl14", source="local", pretrained=False)``) with the random
state dict loaded strictly: the module dgm-eval, EDM2 and torch-fidelity all run.

Cost per image: frechet's DINOv2 forward pass at each size (ViT-S/14, B/14, L/14, g/14; freshly initialised, no
weights file: values do not change the cost), each in a fresh process, and each preprocessing mode on a 512×384
image, in this process.

One pass: ``frechet stats IMAGES -o OUT.npz --embedder A,B`` (one decode of each image feeds both networks) against
``frechet stats`` once per embedder, whole commands (start-up, weights, decoding, resizing, forward, statistics),
``--images`` generated 256×256 PNGs, no feature cache. Both ways must give the same statistics. Methods take turns
within each round; the best round counts.

Another backbone is one more ``Backbone`` entry: its frechet embedder, the peer's module as a Python snippet for the
reference environment, and a function writing random weights in the peer's layout. Writes ``OUT.md`` and
``OUT.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from frechet_dinov2.network import ARCHITECTURES, state_dict_layout
from harness import BENCH, inception_weights, publish, run_measured

TESTS = BENCH.parent / "tests" / "plugins"
#: The reference environment with the backbones' peers (torch-fidelity 0.4, clean-fid, clip, timm, transformers).
REFERENCE_PYTHON = "/tmp/frechet-refenv-backbones/bin/python"
BAR = 1.0  # frechet's forward pass against the peer's module, images/s

_OUR_FORWARD = """
import json, sys, time, numpy as np, torch
from frechet.plugins import get_registry
name, weights, inputs, out, repeats = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
embedder = get_registry().create_embedder(name, weights=weights)
batch, times = torch.load(inputs), []
with torch.inference_mode():
    embedder.forward(batch[:2])
    for _ in range(repeats):
        start = time.perf_counter(); found = embedder.forward(batch)[embedder.default_output]
        times.append(time.perf_counter() - start)
np.save(out, found.numpy()); print(json.dumps(min(times)))
"""

_DINOV2_HUB_FORWARD = """
import json, os, sys, time, warnings, numpy as np, torch
os.environ["XFORMERS_DISABLED"] = "1"; warnings.filterwarnings("ignore")
checkout, weights, inputs, out, repeats = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
model = torch.hub.load(checkout, "dinov2_vitl14", source="local", pretrained=False).eval()
model.load_state_dict(torch.load(weights, map_location="cpu"), strict=True)
batch, times = torch.load(inputs), []
with torch.no_grad():
    model(batch[:2])
    for _ in range(repeats):
        start = time.perf_counter(); found = model(batch); times.append(time.perf_counter() - start)
np.save(out, found.numpy()); print(json.dumps(min(times)))
"""


_SIZE_FORWARD = """
import json, sys, time, torch
from frechet_dinov2.network import ARCHITECTURES, DinoV2
model, batch = DinoV2(ARCHITECTURES[sys.argv[1]]).eval(), torch.randn(int(sys.argv[2]), 3, 224, 224)
times = []
with torch.inference_mode():
    model(batch[:1])
    for _ in range(int(sys.argv[3])):
        start = time.perf_counter(); model(batch); times.append(time.perf_counter() - start)
print(json.dumps(min(times)))
"""


def _load_fixture(folder: str, module: str):
    sys.path.insert(0, str(TESTS / folder))
    return __import__(module)


def _dinov2_weights(work: Path) -> Path:
    fixtures = _load_fixture("dinov2", "dinov2_random_weights")
    path = work / "dinov2_vitl14_pretrain.pth"
    torch.save(fixtures.random_state_dict(state_dict_layout(ARCHITECTURES["vitl14"])), path)
    return path


@dataclass(frozen=True)
class Backbone:
    """One forward-pass comparison: frechet's embedder against the peer's own module, same weights and inputs."""

    embedder: str
    peer: str
    size: int
    write_weights: Callable[[Path], Path]
    peer_forward: str  # run in the reference environment: argv = CHECKOUT WEIGHTS INPUTS OUT.npy REPEATS
    checkout: str  # the command-line option naming the peer's checkout ("" if the peer is a pip package)


BACKBONES = (
    Backbone("dinov2-vitl14", "DINOv2 hub model (dgm-eval, EDM2, torch-fidelity)", 224, _dinov2_weights,
             _DINOV2_HUB_FORWARD, "dinov2"),
)


def forward_pass(backbone: Backbone, args: argparse.Namespace, work: Path, env: dict[str, str]) -> dict:
    """Best seconds per batch of frechet and of the peer, over the rounds, and their outputs' largest difference."""
    weights = backbone.write_weights(work)
    inputs = work / f"{backbone.embedder}-inputs.pt"
    generator = torch.Generator().manual_seed(0)
    torch.save(torch.randn(args.batch, 3, backbone.size, backbone.size, generator=generator), inputs)
    checkout = str(getattr(args, backbone.checkout)) if backbone.checkout else ""
    best = {"frechet": float("inf"), "peer": float("inf")}
    for round_index in range(args.rounds):
        for who in ("peer", "frechet"):
            out = work / f"{backbone.embedder}-{who}.npy"
            command = ([sys.executable, "-c", _OUR_FORWARD, backbone.embedder] if who == "frechet"
                       else [args.reference_python, "-c", backbone.peer_forward, checkout])
            seconds = json.loads(run_measured([*command, str(weights), str(inputs), str(out), str(args.repeats)],
                                              env).out)
            best[who] = min(best[who], seconds)
            print(f"round {round_index + 1} {backbone.embedder} forward, {who}: {args.batch / seconds:.2f} images/s",
                  flush=True)
    ours, theirs = (np.load(work / f"{backbone.embedder}-{who}.npy") for who in ("frechet", "peer"))
    weights.unlink()
    return {"batch": args.batch, "frechet_seconds": best["frechet"], "peer_seconds": best["peer"],
            "max_abs_diff": float(np.abs(ours - theirs).max()), "output_abs_max": float(np.abs(theirs).max())}


def cost_per_image(args: argparse.Namespace, env: dict[str, str]) -> dict:
    """Seconds per image of frechet's DINOv2 forward pass at each size, and of each preprocessing mode."""
    from frechet_dinov2.preprocess import PREPROCESS_MODES, to_dinov2_input

    forward = {}
    for name in args.sizes.split(","):
        batch = max(1, args.batch // 4) if name == "vitg14" else args.batch
        seconds = json.loads(run_measured([sys.executable, "-c", _SIZE_FORWARD, name, str(batch),
                                           str(args.repeats)], env).out)
        forward[name] = seconds / batch
        print(f"{name} forward: {1000 * forward[name]:.0f} ms/image", flush=True)
    image = _load_fixture("dinov2", "dinov2_random_weights").synthetic_image(3, 0, 384, 512)
    preprocess = {}
    for mode in PREPROCESS_MODES:
        to_dinov2_input(image, mode)
        start = time.perf_counter()
        for _ in range(20):
            to_dinov2_input(image, mode)
        preprocess[mode] = (time.perf_counter() - start) / 20
    return {"forward": forward, "preprocess_512x384": preprocess}


def one_pass(embedders: list[str], weights: dict[str, Path], args: argparse.Namespace, work: Path,
             env: dict[str, str]) -> dict:
    """Seconds of one ``frechet stats`` with every embedder against one command per embedder (best rounds)."""
    images = work / "images"
    fixtures = _load_fixture("dinov2", "dinov2_random_weights")
    fixtures.write_image_set(images, args.images, seed=21, variant=1, sizes=((256, 256),))
    base = [sys.executable, "-m", "frechet", "stats", str(images), "--device", "cpu", "--no-cache", "--quiet",
            "--batch-size", str(args.batch)]
    together = [*base, "-o", str(work / "together.npz"), "--embedder", ",".join(embedders),
                *[arg for name in embedders for arg in ("--embedder-option", f"{name}.weights={weights[name]}")]]
    alone = {name: [*base, "-o", str(work / f"alone-{name}.npz"), "--embedder", name, "--weights", str(weights[name])]
             for name in embedders}
    best = {"together": float("inf"), **{name: float("inf") for name in embedders}}
    for round_index in range(args.rounds):
        for label, command in {"together": together, **alone}.items():
            seconds = run_measured(command, env).seconds
            best[label] = min(best[label], seconds)
            print(f"round {round_index + 1} one pass, {label}: {seconds:.1f} s", flush=True)
    differences = {}
    for name in embedders:
        with np.load(work / f"together.{name}.npz") as a, np.load(work / f"alone-{name}.npz") as b:
            differences[name] = float(np.abs(a["mu"] - b["mu"]).max())
    return {"images": args.images, "embedders": embedders, "seconds": best, "max_abs_mu_diff": differences}


def run(args: argparse.Namespace) -> dict:
    work = Path(tempfile.mkdtemp(prefix="frechet-bench-backbones-"))
    inception, env = inception_weights(work)
    forward = {backbone.embedder: forward_pass(backbone, args, work, env) for backbone in BACKBONES}
    cost = cost_per_image(args, env)
    dinov2 = _dinov2_weights(work)
    passes = one_pass(["inception", "dinov2-vitl14"], {"inception": inception, "dinov2-vitl14": dinov2}, args,
                      work, env)
    return {"machine": f"{platform.machine()}, {os.cpu_count()} cores; torch {torch.__version__}",
            "forward": forward, "cost": cost, "one_pass": passes}


def report(results: dict) -> str:
    """The Markdown tables of the results."""
    lines = [
        f"Machine: {results['machine']}; random full-size weights, the same for both sides; best of the rounds.",
        "",
        "| backbone | peer module | batch | frechet images/s | peer images/s | frechet vs peer | bar | "
        "max abs difference of the outputs |",
        "|---|---|---:|---:|---:|---:|---|---:|",
    ]
    for backbone in BACKBONES:
        found = results["forward"][backbone.embedder]
        ratio = found["peer_seconds"] / found["frechet_seconds"]
        lines.append(
            f"| {backbone.embedder} | {backbone.peer} | {found['batch']} | "
            f"{found['batch'] / found['frechet_seconds']:.2f} | {found['batch'] / found['peer_seconds']:.2f} | "
            f"{ratio:.2f}× | ≥ {BAR:.1f}×: "
            f"{'met' if ratio >= BAR else 'not met'} | {found['max_abs_diff']:.1e} (outputs up to "
            f"{found['output_abs_max']:.1f}) |"
        )
    cost = results["cost"]
    lines += [
        "",
        "Cost per image, frechet, fp32 (forward pass in batches; preprocessing of one 512×384 image):",
        "",
        "| | " + " | ".join(ARCHITECTURES[name].title for name in cost["forward"]) + " |",
        "|---|" + "---:|" * len(cost["forward"]),
        "| forward pass, ms/image | " + " | ".join(f"{1000 * value:.0f}" for value in cost["forward"].values())
        + " |",
        "",
        "| preprocessing mode | " + " | ".join(f"`{mode}`" for mode in cost["preprocess_512x384"]) + " |",
        "|---|" + "---:|" * len(cost["preprocess_512x384"]),
        "| ms/image | " + " | ".join(f"{1000 * value:.1f}" for value in cost["preprocess_512x384"].values()) + " |",
    ]
    passes = results["one_pass"]
    seconds, names = passes["seconds"], passes["embedders"]
    separate = sum(seconds[name] for name in names)
    lines += [
        "",
        f"One pass over {passes['images']} 256×256 PNGs (`frechet stats`, whole commands, no feature cache):",
        "",
        "| run | seconds | images/s |",
        "|---|---:|---:|",
        f"| `--embedder {','.join(names)}` (one pass) | {seconds['together']:.1f} | "
        f"{passes['images'] / seconds['together']:.2f} |",
        *[f"| `--embedder {name}` alone | {seconds[name]:.1f} | {passes['images'] / seconds[name]:.2f} |"
          for name in names],
        f"| the separate runs together | {separate:.1f} | {passes['images'] / separate:.2f} |",
        "",
        f"One pass against separate runs: {separate / seconds['together']:.2f}× faster. Same statistics: max |Δμ| "
        + ", ".join(f"{name} {value:.1e}" for name, value in passes["max_abs_mu_diff"].items()) + ".",
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dinov2", type=Path, required=True, help="a checkout of facebookresearch/dinov2")
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--images", type=int, default=48)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--sizes", default=",".join(ARCHITECTURES), help="DINOv2 sizes whose cost to measure")
    parser.add_argument("--reference-python", default=REFERENCE_PYTHON)
    parser.add_argument("--out", type=Path, help="write OUT.md and OUT.json")
    args = parser.parse_args()
    results = run(args)
    publish(report(results), results, args.out)


if __name__ == "__main__":
    main()
