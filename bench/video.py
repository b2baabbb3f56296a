"""Benchmark: video decoding, frames per second, frechet's video sources against the loaders the peers use, in one
process on the same files.

    python bench/video.py --decode [--videos 8] [--frames 64] [--size 256] [--rounds 3] \
        [--out bench/results/video_decode.md]
    python bench/video.py --forward TATS/tats/fvd/pytorch_i3d.py [--clips 4] [--clip-frames 16] [--rounds 3]
        (the I3D forward pass against TATS's module with the same weights: bench/video_forward.py)

Inputs are generated: H.264 yuv420p .mp4 files (PyAV's libx264 defaults), the same frames as folders of PNGs and as
one (N, T, H, W, 3) uint8 .npy. Timed, per input kind, from the file to uint8 RGB frames in memory:

- frechet: the registered source opened as a run opens it, each video's item loaded (frame count from the packets)
  and read — a 16-frame clip from the start, and every frame;
- the peers' loaders on the same files: PyAV's ``frame.to_rgb().to_ndarray()`` over every frame (what
  torchvision's ``read_video`` did for cd-fvd), and PIL ``np.array(Image.open(path))`` per frame (StyleGAN-V's frame
  folders).

Rounds alternate between the readers, each going first in turn, and each time is the best of them, so background
load hits all of them.
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
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "plugins" / "video"))
CLIP = 16


def _timed(function: Callable[[], int]) -> tuple[float, int]:
    """(seconds, frames decoded) of one call."""
    start = time.perf_counter()
    frames = function()
    return time.perf_counter() - start, frames


def _write_inputs(folder: Path, videos: int, frames: int, size: int) -> dict[str, Path]:
    from PIL import Image
    from video_files import moving_frames, write_video

    paths = {"mp4": folder / "mp4", "png": folder / "png", "npy": folder / "videos.npy"}
    stack = []
    for index in range(videos):
        video = moving_frames(frames, size, size, phase=17 * index)
        stack.append(video)
        write_video(paths["mp4"] / f"video{index:03d}.mp4", video)
        (paths["png"] / f"video{index:03d}").mkdir(parents=True)
        for t, frame in enumerate(video):
            Image.fromarray(frame).save(paths["png"] / f"video{index:03d}" / f"{t:06d}.png")
    np.save(paths["npy"], np.stack(stack))
    return paths


def _ours(path: Path, clip: bool) -> Callable[[], int]:
    from frechet.plugins import get_registry

    def run() -> int:
        source = get_registry().open_source(path, "video")
        count = 0
        for index in range(len(source)):
            video = source.load(index)
            count += len(video.read(range(min(CLIP, video.num_frames))) if clip else video.frames())
        return count

    return run


def _pyav_to_rgb(folder: Path) -> int:
    import av

    count = 0
    for path in sorted(folder.glob("*.mp4")):
        with av.open(str(path)) as container:
            count += len([frame.to_rgb().to_ndarray() for frame in container.decode(video=0)])
    return count


def _pil_frames(folder: Path) -> int:
    from PIL import Image

    return sum(len([np.array(Image.open(path)) for path in sorted(video.iterdir())])
               for video in sorted(folder.iterdir()))


def decode_throughput(videos: int, frames: int, size: int, rounds: int) -> dict:
    """Frames per second decoded by frechet's video sources and by the peers' loaders, per input kind."""
    from frechet.plugins import get_registry

    get_registry()  # plugins load once, before any timing
    with tempfile.TemporaryDirectory() as scratch:
        paths = _write_inputs(Path(scratch), videos, frames, size)
        rows = []
        for kind, peer, name in (("mp4", lambda: _pyav_to_rgb(paths["mp4"]), "PyAV to_rgb() loop"),
                                 ("png", lambda: _pil_frames(paths["png"]), "PIL per frame"),
                                 ("npy", None, None)):
            timings = {}
            readers = [("frechet, every frame", _ours(paths[kind], clip=False)),
                       (f"frechet, {CLIP}-frame clip", _ours(paths[kind], clip=True)),
                       *(((f"peer: {name}", peer),) if peer else ())]
            for round_ in range(rounds):  # alternate, each reader first in turn, keeping the best of each
                for label, run in readers[round_ % len(readers):] + readers[: round_ % len(readers)]:
                    seconds, count = _timed(run)
                    best = timings.get(label, (float("inf"), count))
                    timings[label] = (min(best[0], seconds), count)
            for label, (seconds, count) in timings.items():
                rows.append({"input": kind, "reader": label, "frames": count, "seconds": round(seconds, 4),
                             "frames_per_s": round(count / seconds, 1)})
    return {"videos": videos, "frames": frames, "size": size, "rounds": rounds, "rows": rows,
            "machine": platform.processor() or platform.machine(), "cpus": os.cpu_count(),
            "load_average": round(os.getloadavg()[0], 1)}


def _markdown(result: dict) -> str:
    lines = [f"# Video decoding throughput\n",
             f"{result['videos']} videos × {result['frames']} frames of {result['size']}×{result['size']}, best of "
             f"{result['rounds']} alternating rounds, one process, {result['machine']} with {result['cpus']} CPUs "
             f"under a load average of {result['load_average']}.\n",
             "| input | reader | frames | s | frames/s | vs peer |", "|---|---|---|---|---|---|"]
    peers = {row["input"]: row["frames_per_s"] for row in result["rows"] if row["reader"].startswith("peer")}
    for row in result["rows"]:
        ratio = f"{row['frames_per_s'] / peers[row['input']]:.2f}×" if row["input"] in peers else ""
        lines.append(f"| {row['input']} | {row['reader']} | {row['frames']} | {row['seconds']} | "
                     f"{row['frames_per_s']} | {ratio} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--decode", action="store_true", help="time decoding (frechet's sources vs the peers')")
    parser.add_argument("--videos", type=int, default=8)
    parser.add_argument("--frames", type=int, default=64)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--forward", type=Path, metavar="PYTORCH_I3D_PY",
                        help="time the I3D forward pass against TATS's pytorch_i3d.py (bench/video_forward.py)")
    parser.add_argument("--clips", type=int, default=4, help="--forward: clips per batch")
    parser.add_argument("--clip-frames", type=int, default=16, help="--forward: frames per clip")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    if args.forward:
        from video_forward import forward_benchmark

        record, text = forward_benchmark(args.forward, args.clips, args.clip_frames, args.rounds)
        out = args.out or ROOT / "bench" / "results" / "video_forward.md"
        out.write_text(text)
        out.with_suffix(".json").write_text(json.dumps(record, indent=1) + "\n")
        print(text)
        return
    args.out = args.out or ROOT / "bench" / "results" / "video_decode.md"
    if args.decode:
        result = decode_throughput(args.videos, args.frames, args.size, args.rounds)
        args.out.write_text(_markdown(result))
        args.out.with_suffix(".json").write_text(json.dumps(result, indent=1) + "\n")
        print(_markdown(result))


if __name__ == "__main__":
    main()
