"""Benchmark: what the ``webtoon:`` input costs — cutting throughput and its share of an Inception run, memory on a
300-megapixel episode — and its statistics against those of the PNG panels ``frechet webtoon panels`` writes, for
each built-in image backbone (random weights) and a TorchScript model, all in one pass.

    python bench/webtoon.py [--episodes 6] [--out bench/results/webtoon]

Episodes come from examples/make_webtoons.py at 720 px wide (webtoon viewers' width), JPEG quality 85. Cutting
(reading each episode once to find its panels) and loading every item are timed in this process, best of
``--rounds``; the Inception run is ``frechet stats webtoon:SET`` with the random parity weights, timed as a whole in
a subprocess, so the cut's share is cut seconds / run seconds. Memory: the peak RSS of a fresh process cutting a
30-MP and a 300-MP episode (slices of 800 x 1250): its peak reset after the imports, against its RSS then.
"""

from __future__ import annotations

import argparse
import io
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "tests" / "plugins" / "webtoon"))
sys.path.insert(0, str(ROOT / "tests" / "plugins" / "dinov2"))
sys.path.insert(0, str(ROOT / "tests" / "plugins" / "clip"))
from harness import inception_weights, publish, run_measured  # noqa: E402
from webtoon_helpers import load_generator  # noqa: E402

import frechet  # noqa: E402
from frechet_webtoon.command import write_panels  # noqa: E402
from frechet_webtoon.cutter import CutSettings  # noqa: E402
from frechet_webtoon.source import PanelSource, cut_input  # noqa: E402

_MEMORY = (
    "import sys\n"
    "from pathlib import Path\n"
    "from frechet_webtoon.source import cut_input\n"
    "def status(key):\n"
    "    line = next(l for l in Path('/proc/self/status').read_text().splitlines() if l.startswith(key))\n"
    "    return int(line.split()[1]) / 1024\n"
    "Path('/proc/self/clear_refs').write_text('5')  # the peak (VmHWM) restarts from the present RSS\n"
    "before = status('VmRSS:')\n"
    "episodes = cut_input(sys.argv[1])\n"
    "print(before, status('VmHWM:'), len(episodes[0].cut.panels), episodes[0].episode.height)\n"
)


def write_set(root: Path, episodes: int, width: int, quality: int, seed: int) -> float:
    """Generated episodes under ``root``; their megapixels."""
    generator = load_generator()
    rng = np.random.default_rng(seed)
    pixels = 0
    for number in range(episodes):
        episode = generator.make_episode(rng, width=width, slice_height=(width, 2 * width))
        generator.write_episode(episode, root / f"episode-{number + 1:02d}", quality=quality)
        pixels += episode.strip.shape[0] * width
    return pixels / 1e6


def best_seconds(function, rounds: int) -> float:
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return min(times)


def throughput(work: Path, episodes: int, rounds: int) -> dict:
    folder = work / "set"
    megapixels = write_set(folder, episodes, 720, 85, seed=4242)
    cut_seconds = best_seconds(lambda: cut_input(folder), rounds)
    source = PanelSource(cut_input(folder), "set", CutSettings())
    item_megapixels = sum(piece.bottom - piece.top + 1 for _, piece in source.items) * 720 / 1e6
    load_seconds = best_seconds(lambda: [source.load(i) for i in range(len(source))], rounds)
    weights, env = inception_weights(work)
    run = run_measured([sys.executable, "-m", "frechet", "stats", f"webtoon:{folder}", "--embedder", "inception",
                        "--weights", str(weights), "--no-cache", "--quiet", "-o", str(work / "set.npz")], env)
    return {"episodes": episodes, "megapixels": megapixels, "items": len(source), "item_megapixels": item_megapixels,
            "cut_seconds": cut_seconds, "load_seconds": load_seconds, "inception_run_seconds": run.seconds,
            "inception_run_rss_mib": run.rss_mib}


def long_episode(folder: Path, slices: int) -> None:
    """An episode of ``slices`` 800 x 1250 JPEG slices (1 MP each): panels of flat colour with line art between
    white gutters, every slice the same file's bytes (decoding, not drawing, is what is measured)."""
    rng = np.random.default_rng(7)
    strip = np.full((1250, 800, 3), 255, np.uint8)
    for top in range(40, 1250, 420):
        strip[top:top + 340, 20:780] = rng.integers(40, 220, 3)
        strip[top + 20:top + 320:7, 60:740] = 0
    buffer = io.BytesIO()
    Image.fromarray(strip).save(buffer, format="JPEG", quality=90)
    folder.mkdir(parents=True)
    for number in range(1, slices + 1):
        (folder / f"{number}.jpg").write_bytes(buffer.getvalue())


def memory(work: Path) -> list[dict]:
    rows = []
    for slices in (30, 300):
        folder = work / f"long-{slices}"
        long_episode(folder, slices)
        start = time.perf_counter()
        done = subprocess.run([sys.executable, "-c", _MEMORY, str(folder)], capture_output=True, text=True,
                              check=True)
        seconds = time.perf_counter() - start
        before, after, panels, height = done.stdout.split()
        rows.append({"megapixels": slices * 1.0, "height": int(height), "panels": int(panels),
                     "rss_before_mib": float(before), "rss_peak_mib": float(after), "seconds": seconds,
                     "strip_mib": slices * 1250 * 800 * 3 / 2**20})
        shutil.rmtree(folder)
    return rows


def parity(work: Path) -> list[dict]:
    """Statistics of webtoon:SET and of its PNG panel folder, per backbone (random weights), in one pass each."""
    from clip_random_weights import SMALL_SHAPES, random_clip_state
    from dinov2_random_weights import PARITY_SEED, random_state_dict
    from frechet_dinov2.network import ARCHITECTURES, state_dict_layout

    folder, panels = work / "parity", work / "parity-panels"
    write_set(folder, 3, 320, 80, seed=99)
    episodes = cut_input(folder)
    write_panels(PanelSource(episodes, "parity", CutSettings()), episodes, panels,
                 work / "parity-contact")
    weights = {"inception": inception_weights(work)[0], "dinov2-vits14": work / "dinov2.pth",
               "clip-vitb32": work / "clip.pt"}
    torch.save(random_state_dict(state_dict_layout(ARCHITECTURES["vits14"]), PARITY_SEED), weights["dinov2-vits14"])
    torch.save(random_clip_state(SMALL_SHAPES["clip-vitb32"]), weights["clip-vitb32"])
    torch.manual_seed(0)
    network = torch.nn.Sequential(torch.nn.Conv2d(3, 16, 7, stride=4), torch.nn.ReLU(), torch.nn.AdaptiveAvgPool2d(2),
                                  torch.nn.Flatten())
    script = work / "tiny.pt"
    torch.jit.trace(network, torch.zeros(1, 3, 64, 64)).save(script)
    names = [*weights, f"torchscript:{script}"]
    options = {f"{name}.weights": str(path) for name, path in weights.items()}
    options[f"torchscript:{script}.size"] = 64
    ours = frechet.compute_stats(f"webtoon:{folder}", embedder=names, embedder_options=options, cache=False)
    theirs = frechet.compute_stats(panels, embedder=names, embedder_options=options, cache=False)
    rows = []
    for name in ours:
        a, b = ours[name], theirs[name]
        rows.append({"embedder": name.split(":")[0], "n": a.n, "dim": a.dim,
                     "mean_rel": float(np.abs(a.mean - b.mean).max() / np.abs(b.mean).max()),
                     "cov_rel": float(np.abs(a.cov - b.cov).max() / np.abs(b.cov).max())})
    return rows


def run(args: argparse.Namespace) -> dict:
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as work:
        return {"throughput": throughput(Path(work), args.episodes, args.rounds), "memory": memory(Path(work)),
                "parity": parity(Path(work)), "torch": torch.__version__, "python": platform.python_version(),
                "cpu": platform.processor() or platform.machine(), "cores": os.cpu_count(),
                "load": [load, os.getloadavg()[0]]}


def report(results: dict) -> str:
    t = results["throughput"]
    lines = [
        "# The webtoon input: cost, memory, and statistics against the PNG panels",
        "",
        f"`python bench/webtoon.py --episodes {t['episodes']}`; torch {results['torch']}, Python "
        f"{results['python']}, CPU only ({results['cpu']}, {results['cores']} cores), on a shared machine: load "
        f"average {results['load'][0]:.0f} at the start, {results['load'][1]:.0f} at the end, so the seconds are "
        "several times an idle machine's; the ratios compare steps timed under the same load.",
        "",
        "## Cutting throughput and its share of an Inception run",
        "",
        f"{t['episodes']} generated episodes, 720 px wide, JPEG quality 85: {t['megapixels']:.1f} MP of strips, cut "
        f"into {t['items']} items ({t['item_megapixels']:.1f} MP).",
        "",
        "| step | seconds | MP/s |",
        "|---|---|---|",
        f"| cutting (every slice decoded once, rows reduced, panels found) | {t['cut_seconds']:.2f} | "
        f"{t['megapixels'] / t['cut_seconds']:.0f} |",
        f"| loading every item (the slices it crosses decoded again) | {t['load_seconds']:.2f} | "
        f"{t['item_megapixels'] / t['load_seconds']:.0f} |",
        f"| `frechet stats webtoon:SET --embedder inception` (whole run, random weights) | "
        f"{t['inception_run_seconds']:.2f} | {t['megapixels'] / t['inception_run_seconds']:.1f} |",
        "",
        f"Cutting is {t['cut_seconds'] / t['inception_run_seconds']:.1%} of the Inception run's time (loading the "
        f"items another {t['load_seconds'] / t['inception_run_seconds']:.1%}, part of any image input's run).",
        "",
        "## Memory: cutting while streaming slices",
        "",
        "| episode | rows | panels | strip if stitched (MiB) | RSS before cutting (MiB) | peak RSS (MiB) | seconds |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in results["memory"]:
        lines.append(f"| {row['megapixels']:.0f} MP | {row['height']:,} | {row['panels']} | {row['strip_mib']:.0f} "
                     f"| {row['rss_before_mib']:.0f} | {row['rss_peak_mib']:.0f} | {row['seconds']:.1f} |")
    lines += [
        "",
        "## Statistics of `webtoon:SET` against the PNG panel folder",
        "",
        "Three generated episodes (320 px, JPEG quality 80); each backbone with deterministic random weights in its "
        "published layout (Inception: FID Inception-v3; DINOv2 ViT-S/14; CLIP ViT-B/32 tower reduced to 2 blocks of "
        "width 128; a small TorchScript CNN), all four in one pass over each input. Largest difference relative to "
        "the largest entry:",
        "",
        "| embedder | items | dim | mean | covariance |",
        "|---|---|---|---|---|",
    ]
    for row in results["parity"]:
        lines.append(f"| {row['embedder']} | {row['n']} | {row['dim']} | {row['mean_rel']:.1e} | "
                     f"{row['cov_rel']:.1e} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=6)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--out", type=Path, help="write OUT.md and OUT.json")
    args = parser.parse_args()
    results = run(args)
    publish(report(results), results, args.out)


if __name__ == "__main__":
    main()
