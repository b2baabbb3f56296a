"""Benchmark: DINOv2 -- frechet's forward pass against the hub module with the same weights, the cost per image
at each size, and several embedders in one pass against one run each.

    python bench/dinov2.py --dinov2 CHECKOUT [--batch 16] [--repeats 6] [--images 48] [--rounds 3]
                              [--sizes vits14,vitb14,vitl14,vitg14] [--out bench/results/dinov2]

Forward pass: for each backbone of ``BACKBONES``, one fresh process holds frechet's embedder (``forward`` under
``torch.inference_mode``, as the runner calls it) and the peer's own module (as the peers call it), both loading the
same deterministic random full-size weights (``tests/plugins/<name>/*_random_weights.py``), and times ``--repeats``
batches of the same ``--batch`` random inputs for each, in turn (which goes first alternates), after one warm-up
batch each: background load from other processes hits both alike. The best batch of each counts; the median of the
batch-by-batch ratios is given too, with the largest difference between the two outputs (same numbers, not only
the same speed). DINOv2-L/14's peer module is the hub model of a checkout of facebookresearch/dinov2
(``--dinov2``), built by its own entry point (``torch.hub.load(CHECKOUT, "dinov2_vitl14", source="local",
pretrained=False)``) with the random state dict loaded strictly: the module dgm-eval, EDM2 and torch-fidelity all
run, here under ``torch.no_grad`` as dgm-eval runs it.

Cost per image: frechet's DINOv2 forward pass at each size (ViT-S/14, B/14, L/14, g/14; freshly initialised, no
weights file: values do not change the cost), each in a fresh process, and each preprocessing mode on a 512×384
image (the best of 20 calls), in this process.

One pass: ``frechet stats IMAGES -o OUT.npz --embedder A,B`` (one decode of each image feeds both networks) against
``frechet stats`` once per embedder, whole commands (start-up, weights, decoding, resizing, forward, statistics),
``--images`` generated 256×256 PNGs, no feature cache, as wall time and as CPU time of the whole process tree (steadier
on a shared machine). Both ways must give the same statistics. Methods take turns within each round, in an order
that rotates from round to round; the best round counts.

Another backbone is one more ``Backbone`` entry: its frechet embedder, Python source building the peer's module
beside frechet's, and a function writing random weights in the peer's layout. Writes ``OUT.md`` and ``OUT.json``.
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
BAR = 1.0  # frechet's forward pass against the peer's module, images/s

#: One process holds frechet's embedder and the peer's module and times their batches in turn, so load from other
#: processes hits both alike. argv: EMBEDDER WEIGHTS INPUTS OUT.npz REPEATS CHECKOUT; the backbone's snippet defines
#: ``build_peer(checkout, weights) -> callable(batch) -> features``.
_FORWARD = """
import json, sys, time, numpy as np, torch
from frechet.plugins import get_registry
name, weights, inputs, out, repeats, checkout = sys.argv[1:7]
{build_peer}
embedder = get_registry().create_embedder(name, weights=weights)
peer = build_peer(checkout, weights)

def ours(batch):
    with torch.inference_mode():
        return embedder.forward(batch)[embedder.default_output]

batch, times, found = torch.load(inputs), {{"peer": [], "frechet": []}}, {{}}
ours(batch[:2]), peer(batch[:2])
for index in range(int(repeats)):
    for who, run in sorted({{"peer": peer, "frechet": ours}}.items(), reverse=index % 2 == 1):
        start = time.perf_counter(); found[who] = run(batch).numpy(); times[who].append(time.perf_counter() - start)
np.savez(out, **found); print(json.dumps(times))
"""

#: DINOv2's peer module: the hub model, built by the checkout's own entry point, the random weights loaded strictly,
#: run under ``torch.no_grad`` as dgm-eval does (it needs only torch, so it runs beside frechet's).
_DINOV2_HUB = """
def build_peer(checkout, weights):
    import os, warnings
    os.environ["XFORMERS_DISABLED"] = "1"
    warnings.filterwarnings("ignore", message=".*xFormers.*")
    model = torch.hub.load(checkout, "dinov2_vitl14", source="local", pretrained=False).eval()
    model.load_state_dict(torch.load(weights, map_location="cpu"), strict=True)

    def run(batch):
        with torch.no_grad():
            return model(batch)
    return run
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
    build_peer: str  # Python source defining build_peer(checkout, weights), run beside frechet (see _FORWARD)
    checkout: str  # the command-line option naming the peer's checkout ("" if the peer is an installed package)


BACKBONES = (
    Backbone("dinov2-vitl14", "DINOv2 hub model (dgm-eval, EDM2, torch-fidelity)", 224, _dinov2_weights,
             _DINOV2_HUB, "dinov2"),
)


def forward_pass(backbone: Backbone, args: argparse.Namespace, work: Path, env: dict[str, str]) -> dict:
    """Seconds per batch of frechet and of the peer, batches in turn in one process, and their outputs' largest
    difference."""
    weights = backbone.write_weights(work)
    inputs = work / f"{backbone.embedder}-inputs.pt"
    generator = torch.Generator().manual_seed(0)
    torch.save(torch.randn(args.batch, 3, backbone.size, backbone.size, generator=generator), inputs)
    checkout = str(getattr(args, backbone.checkout)) if backbone.checkout else ""
    out = work / f"{backbone.embedder}-outputs.npz"
    script = _FORWARD.format(build_peer=backbone.build_peer)
    times = json.loads(run_measured([sys.executable, "-c", script, backbone.embedder, str(weights), str(inputs),
                                     str(out), str(args.repeats), checkout], env).out)
    for who, seconds in times.items():
        print(f"{backbone.embedder} forward, {who}: " + ", ".join(f"{args.batch / t:.2f}" for t in seconds)
              + " images/s", flush=True)
    with np.load(out) as found:
        diff, scale = float(np.abs(found["frechet"] - found["peer"]).max()), float(np.abs(found["peer"]).max())
    weights.unlink()
    return {"batch": args.batch, "frechet_seconds": times["frechet"], "peer_seconds": times["peer"],
            "max_abs_diff": diff, "output_abs_max": scale}


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
        times = []
        for _ in range(20):
            start = time.perf_counter()
            to_dinov2_input(image, mode)
            times.append(time.perf_counter() - start)
        preprocess[mode] = min(times)  # the best call: a load spike from another process would swamp a mean
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
    commands = list({"together": together, **alone}.items())
    best = {label: {"seconds": float("inf"), "cpu": float("inf")} for label, _ in commands}
    for round_index in range(args.rounds):
        shift = round_index % len(commands)  # the order rotates, so no method always runs after the same one
        for label, command in commands[shift:] + commands[:shift]:
            measured = run_measured(command, env)
            best[label] = {"seconds": min(best[label]["seconds"], measured.seconds),
                           "cpu": min(best[label]["cpu"], measured.cpu_seconds)}
            print(f"round {round_index + 1} one pass, {label}: {measured.seconds:.1f} s "
                  f"({measured.cpu_seconds:.1f} s CPU)", flush=True)
    differences = {}
    for name in embedders:
        with np.load(work / f"together.{name}.npz") as a, np.load(work / f"alone-{name}.npz") as b:
            differences[name] = float(np.abs(a["mu"] - b["mu"]).max())
    return {"images": args.images, "embedders": embedders, "best": best, "max_abs_mu_diff": differences}


def run(args: argparse.Namespace) -> dict:
    work = Path(tempfile.mkdtemp(prefix="frechet-bench-dinov2-"))
    load_before = os.getloadavg()[0]
    inception, env = inception_weights(work)
    forward = {backbone.embedder: forward_pass(backbone, args, work, env) for backbone in BACKBONES}
    cost = cost_per_image(args, env)
    dinov2 = _dinov2_weights(work)
    passes = one_pass(["inception", "dinov2-vitl14"], {"inception": inception, "dinov2-vitl14": dinov2}, args,
                      work, env)
    return {"machine": f"{platform.machine()}, {os.cpu_count()} cores, shared with other jobs (load average "
                       f"{load_before:.1f} before, {os.getloadavg()[0]:.1f} after); torch {torch.__version__}",
            "rounds": args.rounds, "repeats": args.repeats, "forward": forward, "cost": cost, "one_pass": passes}


def report(results: dict) -> str:
    """The Markdown tables of the results."""
    lines = [
        f"Machine: {results['machine']}; random full-size weights, the same for both sides.",
        "",
        f"Forward pass: {results['repeats']} batches of each, in turn, in one process; the best batch of each.",
        "",
        "| backbone | peer module | batch | frechet images/s | peer images/s | frechet vs peer | bar | "
        "max abs difference of the outputs |",
        "|---|---|---:|---:|---:|---:|---|---:|",
    ]
    for backbone in BACKBONES:
        found = results["forward"][backbone.embedder]
        ours, theirs = min(found["frechet_seconds"]), min(found["peer_seconds"])
        paired = sorted(p / f for p, f in zip(found["peer_seconds"], found["frechet_seconds"]))
        ratio = theirs / ours
        lines.append(
            f"| {backbone.embedder} | {backbone.peer} | {found['batch']} | {found['batch'] / ours:.2f} | "
            f"{found['batch'] / theirs:.2f} | {ratio:.2f}× (batch by batch: median {paired[len(paired) // 2]:.2f}×) "
            f"| ≥ {BAR:.1f}×: {'met' if ratio >= BAR else 'not met'} | {found['max_abs_diff']:.1e} (outputs up "
            f"to {found['output_abs_max']:.1f}) |"
        )
    cost = results["cost"]
    lines += [
        "",
        "Cost per image, frechet, fp32 (forward pass in batches, the best batch; preprocessing of one 512×384 "
        "image, the best of 20 calls):",
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
    best, names, images = passes["best"], passes["embedders"], passes["images"]
    separate = {key: sum(best[name][key] for name in names) for key in ("seconds", "cpu")}
    lines += [
        "",
        f"One pass over {images} 256×256 PNGs (`frechet stats`, whole commands, no feature cache, best of "
        f"{results['rounds']} rounds; CPU time of the whole process tree):",
        "",
        "| run | seconds | images/s | CPU seconds |",
        "|---|---:|---:|---:|",
        f"| `--embedder {','.join(names)}` (one pass) | {best['together']['seconds']:.1f} | "
        f"{images / best['together']['seconds']:.2f} | {best['together']['cpu']:.1f} |",
        *[f"| `--embedder {name}` alone | {best[name]['seconds']:.1f} | {images / best[name]['seconds']:.2f} | "
          f"{best[name]['cpu']:.1f} |" for name in names],
        f"| the separate runs together | {separate['seconds']:.1f} | {images / separate['seconds']:.2f} | "
        f"{separate['cpu']:.1f} |",
        "",
        f"One pass against separate runs: {separate['seconds'] / best['together']['seconds']:.2f}× in wall time, "
        f"{separate['cpu'] / best['together']['cpu']:.2f}× in CPU time. Same statistics: max |Δμ| "
        + ", ".join(f"{name} {value:.1e}" for name, value in passes["max_abs_mu_diff"].items()) + ".",
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dinov2", type=Path, required=True, help="a checkout of facebookresearch/dinov2")
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=6)
    parser.add_argument("--images", type=int, default=48)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--sizes", default=",".join(ARCHITECTURES), help="DINOv2 sizes whose cost to measure")
    parser.add_argument("--out", type=Path, help="write OUT.md and OUT.json")
    args = parser.parse_args()
    results = run(args)
    publish(report(results), results, args.out)


if __name__ == "__main__":
    main()
