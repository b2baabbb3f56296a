"""Benchmark: FID on a GPU — ``frechet compute`` end to end on generated JPEGs (decode, resize, Inception,
statistics) against pytorch-fid and torch-fidelity with the same weights, frechet's bare forward pass, the default
(float32, TF32 off) against the opt-in fast paths (TF32, bf16 autocast, torch.compile, GPU JPEG decoding) with each
one's FID drift, ``Scorer`` overhead inside a loop, and peak GPU memory — in one run.

    python bench/gpu.py [--images 10000] [--device cuda] [--weights PATH] [--rounds 1] [--out bench/results/gpu]
    python bench/gpu.py --device cpu --tiny --out DIR/gpu     # a few small images: the test suite's run

Weights: ``--weights``, else the canonical file when frechet's weights folder already holds it, else the tests'
deterministic random weights (the parity seed); the report says which. Inputs: ``--images`` generated 256×256 JPEGs
(quality 90), half ``real`` and half ``fake``. Each end-to-end method is a whole run in a fresh process (start-up,
weights, decoding, resizing, forward pass, statistics, FID), timed from outside: ``frechet compute`` with the cache
off, once per fast path (``--embedder-option tf32=true``, ``--precision bf16``, ``--embedder-option compile=true``);
GPU JPEG decoding (torchvision's nvJPEG decoder, when torchvision is installed) feeds a ``Scorer`` uint8 batches
decoded on the device; pytorch-fid (``calculate_fid_given_paths``, batch 50) and torch-fidelity
(``calculate_metrics``, its weights path option) run in this Python when installed, with one line saying so when not.
The bare forward pass is the network alone on inputs decoded, preprocessed and moved to the device beforehand, in
batches of 64; ``Scorer.update`` on uint8 batches of 64 at 299×299 already on the device is timed against it,
alternating. Methods take turns within each round; medians count. TF32, torch.compile and GPU decoding are skipped
on the CPU (and compile with ``--tiny``: compiling takes minutes there), each with one line. Writes ``OUT.md`` and
``OUT.json``; nothing is written under ``bench/results`` unless ``--out`` says so.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from frechet.errors import WeightsError
from harness import inception_weights, machine_load, publish, run_measured
from inception_random_weights import write_image_set

BATCH = 64
SIZE = 256
TINY = {"images": 8, "size": 64, "batch": 2, "forward_items": 2}
#: Inputs the bare forward pass and the Scorer loop run on (decoded and preprocessed beforehand: memory bound).
FORWARD_ITEMS = 1024
#: One process per end-to-end method: KIND REAL FAKE WEIGHTS DEVICE BATCH OPTIONS-JSON; prints one JSON line.
_RUN = """
import contextlib, io, json, resource, sys, time
import torch
kind, real, fake, weights, device, batch, options = *sys.argv[1:6], int(sys.argv[6]), json.loads(sys.argv[7])
start = time.perf_counter()
if kind == "frechet":
    from frechet.cli import main
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(["compute", real, fake, "--weights", weights, "--device", device, "--batch-size", str(batch),
                     "--no-cache", "--quiet", "--json", *options])
    if code:
        sys.exit(code)
    fid = json.loads(out.getvalue().strip().splitlines()[-1])["fd"]
elif kind == "gpu-decode":
    from pathlib import Path
    import torchvision.io as tio
    import frechet
    scorer = frechet.Scorer(embedder_options={"weights": weights}, device=device, batch_size=batch)
    for side, folder in ((True, real), (False, fake)):
        paths = sorted(Path(folder).iterdir())
        for first in range(0, len(paths), batch):
            data = [tio.read_file(str(path)) for path in paths[first : first + batch]]
            scorer.update(torch.stack(tio.decode_jpeg(data, device=device)), real=side)
    fid = scorer.compute()["fd"]
elif kind == "pytorch-fid":
    from pytorch_fid.fid_score import calculate_fid_given_paths
    fid = calculate_fid_given_paths([real, fake], 50, device, 2048, num_workers=options[0])
elif kind == "torch-fidelity":
    import torch_fidelity
    fid = torch_fidelity.calculate_metrics(input1=real, input2=fake, cuda=device.startswith("cuda"), fid=True,
                                           feature_extractor_weights_path=weights, batch_size=batch, cache=False,
                                           verbose=False)["frechet_inception_distance"]
gpu = torch.cuda.max_memory_allocated() / 2**20 if device.startswith("cuda") else None
print(json.dumps({"seconds": time.perf_counter() - start, "fid": float(fid), "peak_gpu_mib": gpu,
                  "rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def run(images: int, device: str, weights: Path | None, rounds: int, tiny: bool) -> dict:
    """Measure everything; returns the results as a JSON-ready dict."""
    load = machine_load()
    work = Path(tempfile.mkdtemp(prefix="frechet-bench-gpu-"))
    weights, weights_kind, env = _weights(work, weights)
    size, batch = (TINY["size"], TINY["batch"]) if tiny else (SIZE, BATCH)
    folders = {}
    for side, variant in (("real", 0), ("fake", 1)):
        folders[side] = work / side
        write_image_set(folders[side], images // 2, seed=2026, variant=variant, sizes=((size, size),), formats=("jpg",))
    methods, skipped = _methods(device, tiny)
    results: dict[str, list[dict]] = {name: [] for name in methods}
    for round_index in range(rounds):
        names = list(methods)
        for name in names[round_index % len(names):] + names[: round_index % len(names)]:
            kind, options = methods[name]
            command = [sys.executable, "-c", _RUN, kind, str(folders["real"]), str(folders["fake"]), str(weights),
                       device, str(batch), json.dumps(options)]
            measured = json.loads(run_measured(command, env).out.strip().splitlines()[-1])
            results[name].append(measured)
            print(f"round {round_index + 1} {name:<30} {images / measured['seconds']:8.2f} images/s "
                  f"FID {measured['fid']:.6g}", flush=True)
    loop = _forward_and_scorer(folders, weights, device, tiny, rounds, skipped)
    return {
        "device": _device_name(device),
        "torch": torch.__version__,
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "load": {"start": load, "end": machine_load()},
        "weights": weights_kind,
        "images": images,
        "image_size": size,
        "batch_size": batch,
        "rounds": rounds,
        "tiny": tiny,
        "end_to_end": _summarise(results, images),
        "skipped": skipped,
        **loop,
    }


def _weights(work: Path, given: Path | None) -> tuple[Path, str, dict[str, str]]:
    """The weights file, what it is, and an environment where pytorch-fid finds it under its own name offline."""
    random_weights, env = inception_weights(work)  # random weights in pytorch-fid's place, TORCH_HOME set
    if given is None:
        from frechet_inception.weights import resolve_inception_weights

        saved, os.environ["FRECHET_OFFLINE"] = os.environ.get("FRECHET_OFFLINE"), "1"
        try:
            given = resolve_inception_weights()
        except WeightsError:
            return random_weights, "random (the tests' parity seed): the canonical file was not found", env
        finally:
            os.environ.pop("FRECHET_OFFLINE") if saved is None else os.environ.update(FRECHET_OFFLINE=saved)
        kind = f"canonical ({given})"
    else:
        kind = f"given ({given})"
    random_weights.unlink()
    random_weights.symlink_to(Path(given).resolve())
    return random_weights, kind, env


def _methods(device: str, tiny: bool) -> tuple[dict[str, tuple[str, list]], list[str]]:
    """The end-to-end methods that can run here, and one line for each that cannot."""
    cuda = device.startswith("cuda")
    methods: dict[str, tuple[str, list]] = {
        "frechet compute (fp32, TF32 off)": ("frechet", []),
        "frechet compute, bf16 autocast": ("frechet", ["--precision", "bf16"]),
    }
    skipped = []
    if cuda:
        methods["frechet compute, TF32"] = ("frechet", ["--embedder-option", "tf32=true"])
    else:
        skipped.append("TF32: CUDA only")
    if not tiny:
        methods["frechet compute, torch.compile"] = ("frechet", ["--embedder-option", "compile=true"])
    else:
        skipped.append("torch.compile: skipped with --tiny (compiling takes minutes)")
    if cuda and importlib.util.find_spec("torchvision"):
        methods["Scorer, GPU JPEG decoding"] = ("gpu-decode", [])
    else:
        skipped.append("GPU JPEG decoding: needs CUDA and torchvision" + ("" if cuda else " (this run is on the CPU)"))
    for peer, module, options in (("pytorch-fid", "pytorch_fid", [min(8, os.cpu_count() or 1)]),
                                  ("torch-fidelity", "torch_fidelity", [])):
        if importlib.util.find_spec(module):
            methods[peer] = (peer, options)
        else:
            skipped.append(f"{peer}: not installed in this Python (pip install {peer})")
    for line in skipped:
        print(f"skipped: {line}", flush=True)
    return methods, skipped


def _summarise(results: dict[str, list[dict]], images: int) -> dict[str, dict]:
    baseline = statistics.median(result["fid"] for result in results["frechet compute (fp32, TF32 off)"])
    summary = {}
    for name, runs in results.items():
        seconds = statistics.median(result["seconds"] for result in runs)
        fid = statistics.median(result["fid"] for result in runs)
        gpu = [result["peak_gpu_mib"] for result in runs if result["peak_gpu_mib"] is not None]
        summary[name] = {"seconds": [result["seconds"] for result in runs], "images_per_s": images / seconds,
                         "fid": fid, "fid_drift": abs(fid - baseline) / abs(baseline),
                         "peak_gpu_mib": max(gpu) if gpu else None,
                         "peak_rss_mib": max(result["rss_mib"] for result in runs)}
    return summary


def _synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _forward_and_scorer(folders: dict[str, Path], weights: Path, device: str, tiny: bool, rounds: int,
                        skipped: list[str]) -> dict:
    """The bare forward pass per precision path, and Scorer.update against it, in this process."""
    import frechet
    from frechet.precision import autocast
    from frechet_image import decode_image
    from frechet_inception import InceptionEmbedder

    target = torch.device(device)
    batch = TINY["batch"] if tiny else BATCH
    count = TINY["forward_items"] if tiny else FORWARD_ITEMS
    paths = sorted(folders["real"].iterdir()) + sorted(folders["fake"].iterdir())
    paths = (paths * (count // len(paths) + 1))[:count]
    variants = {"fp32, TF32 off": ({}, "fp32"), "bf16 autocast": ({}, "bf16")}
    if target.type == "cuda":
        variants["TF32"] = ({"tf32": True}, "fp32")
    if not tiny:
        variants["torch.compile"] = ({"compile": True}, "fp32")
    embedders = {}
    for name, (options, precision) in variants.items():
        embedders[name] = InceptionEmbedder(weights=weights, **options).set_precision(precision).to(target)
        embedders[name].request_outputs({"pool"})
    inputs = torch.stack([embedders["fp32, TF32 off"].transform(decode_image(path)) for path in paths])
    batches = [inputs[first : first + batch].to(target) for first in range(0, len(inputs), batch)]
    pixels = torch.from_numpy(np.stack([decode_image(path) for path in paths[:batch]])).permute(0, 3, 1, 2)
    pixels = torch.nn.functional.interpolate(pixels.float(), size=(299, 299), mode="nearest").round().to(torch.uint8)
    pixels = pixels.to(target)
    scorer = frechet.Scorer(embedder_options={"weights": str(weights)}, device=device, batch_size=batch,
                            reference=pixels.cpu())

    def forward(name: str) -> float:
        embedder = embedders[name]
        with torch.inference_mode(), autocast(embedder.precision, target):
            _synchronize(target)
            start = time.perf_counter()
            for item in batches:
                embedder.forward(item)
            _synchronize(target)
        return time.perf_counter() - start

    def update() -> float:
        _synchronize(target)
        start = time.perf_counter()
        scorer.update(pixels)
        _synchronize(target)
        return time.perf_counter() - start

    def one_batch() -> float:
        embedder = embedders["fp32, TF32 off"]
        item = embedder.collate([embedder.transform(image) for image in pixels.cpu().permute(0, 2, 3, 1).numpy()])
        item = item.to(target)
        with torch.inference_mode(), autocast("fp32", target):
            _synchronize(target)
            start = time.perf_counter()
            embedder.forward(item)
            _synchronize(target)
        return time.perf_counter() - start

    seconds: dict[str, list[float]] = {name: [] for name in variants}
    memory: dict[str, float | None] = {}
    for name in variants:  # warm-up (and compilation), with each path's peak GPU memory
        if target.type == "cuda":
            torch.cuda.reset_peak_memory_stats(target)
        forward(name)
        memory[name] = torch.cuda.max_memory_allocated(target) / 2**20 if target.type == "cuda" else None
    update(), one_batch()
    loop: dict[str, list[float]] = {"Scorer.update": [], "bare forward pass": []}
    for _ in range(rounds if tiny else max(rounds, 3)):
        for name in variants:
            seconds[name].append(forward(name))
        loop["Scorer.update"].append(update())
        loop["bare forward pass"].append(one_batch())
    median = {name: statistics.median(values) for name, values in loop.items()}
    return {
        "bare_forward": {name: {"images_per_s": count / statistics.median(values), "peak_gpu_mib": memory[name]}
                         for name, values in seconds.items()},
        "forward_items": count,
        "scorer": {"seconds": loop, "overhead": median["Scorer.update"] / median["bare forward pass"] - 1,
                   "batch": batch},
    }


def _device_name(device: str) -> str:
    if device.startswith("cuda"):
        return torch.cuda.get_device_name(torch.device(device))
    return f"CPU ({platform.processor() or platform.machine()}, {os.cpu_count()} cores)"


def report(results: dict) -> str:
    """The results as Markdown."""
    end_to_end, forward = results["end_to_end"], results["bare_forward"]
    fp32 = forward["fp32, TF32 off"]["images_per_s"]
    lines = [
        f"Device: {results['device']}; torch {results['torch']}; {results['machine']}; load (1/5/15 min) "
        f"{results['load']['start']} at the start, {results['load']['end']} at the end.",
        "",
        f"Inputs: {results['images']} generated {results['image_size']}×{results['image_size']} JPEGs (half real, "
        f"half fake), batch {results['batch_size']}; weights: {results['weights']}; median of {results['rounds']} "
        "round(s)." + (" **Tiny CPU run (`--tiny`): a smoke test of the benchmark, not a measurement.**"
                       if results["tiny"] else ""),
        "",
        "| end to end | images/s | vs the bare fp32 forward pass | FID | drift vs fp32 | peak GPU memory |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name, row in end_to_end.items():
        gpu = f"{row['peak_gpu_mib']:.0f} MiB" if row["peak_gpu_mib"] is not None else "–"
        lines.append(f"| {name} | {row['images_per_s']:.2f} | {100 * row['images_per_s'] / fp32:.0f}% | "
                     f"{row['fid']:.6g} | {row['fid_drift']:.1e} | {gpu} |")
    lines += [
        "",
        f"Bare forward pass ({results['forward_items']} inputs preprocessed and on the device beforehand):",
        "",
        "| forward pass | images/s | vs fp32 | peak GPU memory |",
        "|---|---:|---:|---:|",
    ]
    for name, row in forward.items():
        gpu = f"{row['peak_gpu_mib']:.0f} MiB" if row["peak_gpu_mib"] is not None else "–"
        lines.append(f"| {name} | {row['images_per_s']:.2f} | {row['images_per_s'] / fp32:.2f}× | {gpu} |")
    scorer = results["scorer"]
    lines += [
        "",
        f"`Scorer.update` on uint8 batches of {scorer['batch']} at 299×299 on the device, against the bare forward "
        f"pass of the same batch preprocessed: {100 * scorer['overhead']:+.1f}% (medians).",
    ]
    if results["skipped"]:
        lines += ["", "Skipped: " + "; ".join(results["skipped"]) + "."]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, help="JPEGs in all, half per side (default 10000; 8 with --tiny)")
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--weights", type=Path, help="the FID Inception weights (default: the canonical file if "
                                                     "present, else random weights)")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--tiny", action="store_true", help="a few 64×64 images: checks the benchmark runs")
    parser.add_argument("--out", type=Path, help="write OUT.md and OUT.json")
    args = parser.parse_args()
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        parser.error("--device cuda: no CUDA device here; pass --device cpu (with --tiny for a quick check)")
    if args.weights is not None and not args.weights.is_file():
        parser.error(f"--weights {args.weights}: no such file")
    images = args.images or (TINY["images"] if args.tiny else 10000)
    if images < 4:
        parser.error("--images: at least 4 (two per side)")
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
    results = run(images, args.device, args.weights, args.rounds, args.tiny)
    publish(report(results), results, args.out)


if __name__ == "__main__":
    main()
