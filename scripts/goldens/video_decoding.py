"""Goldens for video decoding: the frames the peers' loaders give for small generated videos, beside frechet's.

Run in the reference venv (../shared/refenv.sh video: PyAV, torchvision 0.28, cd-fvd 0.1.1), with the peers' extra
packages in a side folder and StyleGAN-V's source unpacked (nothing of theirs is imported by frechet itself):

    pip install --target /tmp/peerlibs --no-deps moviepy==1.0.3 imageio imageio-ffmpeg decorator proglog omegaconf \
        antlr4-python3-runtime==4.9.3 torchcodec pluggy tqdm   # torchcodec needs FFmpeg's shared libraries
    git clone https://github.com/universome/stylegan-v /tmp/stylegan-v   # commit 3fecd69 was used
    PYTHONPATH=/tmp/peerlibs $(../shared/refenv.sh video) scripts/goldens/video_decoding.py --stylegan-v /tmp/stylegan-v

Writes tests/goldens/video/: the videos themselves (generated once with PyAV: H.264 lossless yuv444p, H.264 yuv420p
undeclared, declared BT.709 and declared full range, a GIF) and a frame folder of PNGs, ``frames.npz`` (each loader's frames, by
``LOADER/FILE``; an array equal to one already stored is named in the JSON's ``same_as`` instead) and ``decoding.json`` (the largest and mean difference of each loader from frechet's frames, and
the versions used). A loader that cannot run here is recorded with the reason instead.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "tests" / "goldens" / "video"
sys.path[:0] = [str(ROOT), str(ROOT / "plugins")]

FRAMES, SIZE = 8, 32  # square frames: cd-fvd's loaders crop to a square, and resize only when the size differs


def source_frames() -> np.ndarray:
    """(FRAMES, SIZE, SIZE, 3) uint8: smooth colour ramps moving by a few pixels a frame, saturated corners."""
    y, x = np.mgrid[0:SIZE, 0:SIZE].astype(np.float64)
    frames = []
    for t in range(FRAMES):
        red = 255 * (0.5 + 0.5 * np.sin((x + 2 * t) / 5))
        green = 255 * (0.5 + 0.5 * np.cos((y - t) / 7))
        blue = 255 * ((x + y + 3 * t) % SIZE) / SIZE
        frames.append(np.stack([red, green, blue], axis=-1))
    return np.clip(np.rint(frames), 0, 255).astype(np.uint8)


def write_inputs(frames: np.ndarray) -> dict[str, Path]:
    """The test videos and the frame folder, written once (later runs keep the committed files)."""
    sys.path.insert(0, str(ROOT / "tests" / "plugins" / "video"))
    from video_files import write_video
    from PIL import Image

    files = {
        "lossless444.mkv": dict(pix_fmt="yuv444p", options={"qp": "0"}),
        "h264_420.mp4": dict(pix_fmt="yuv420p"),
        "h264_420_bt709.mp4": dict(pix_fmt="yuv420p", colorspace=1, color_range=1),
        "h264_420_fullrange.mp4": dict(pix_fmt="yuv420p", color_range=2),
        "rgb8.gif": dict(codec="gif", pix_fmt="rgb8"),
    }
    paths = {}
    for name, settings in files.items():
        paths[name] = OUT / "files" / name
        if not paths[name].exists():
            write_video(paths[name], frames, **settings)
    folder = OUT / "frames" / "video0"
    folder.mkdir(parents=True, exist_ok=True)
    for t, frame in enumerate(frames):
        if not (folder / f"{t:06d}.png").exists():
            Image.fromarray(frame).save(folder / f"{t:06d}.png")
    paths["frames"] = folder
    return paths


def ours(paths: dict[str, Path]) -> dict[str, np.ndarray]:
    from frechet_video.decode import FileVideo
    from frechet_video.frames import FrameFolderVideo, frame_files

    decoded = {name: FileVideo(path).frames() for name, path in paths.items() if name != "frames"}
    decoded["frames"] = FrameFolderVideo(paths["frames"], frame_files(paths["frames"])).frames()
    return decoded


def pyav_to_rgb(path: Path) -> np.ndarray:
    """``frame.to_rgb().to_ndarray()`` in decode order: what torchvision.io.read_video (≤ 0.20) did for cd-fvd's
    VideoDataset, and what torchvision's own loaders did before TorchCodec."""
    import av

    with av.open(str(path)) as container:
        return np.stack([frame.to_rgb().to_ndarray() for frame in container.decode(video=0)])


def pyav_before_12(path: Path) -> np.ndarray:
    """What ``to_rgb()`` computed before PyAV 12 (November 2023), emulated: swscale's default table, BT.601 limited
    range, whatever the stream declares (from PyAV 12 on, ``to_rgb()`` follows the declaration)."""
    import av

    with av.open(str(path)) as container:
        return np.stack([frame.reformat(format="rgb24", src_colorspace=5, dst_colorspace=5, src_color_range="MPEG",
                                        dst_color_range="JPEG").to_ndarray()
                         for frame in container.decode(video=0)])


def cdfvd_video_clips(path: Path) -> np.ndarray:
    """cd-fvd's VideoDataset reads clips with torchvision's VideoClips; from torchvision 0.21 that decodes through
    TorchCodec."""
    from torchvision.datasets.video_utils import VideoClips

    clips = VideoClips([str(path)], clip_length_in_frames=FRAMES, num_workers=0)
    video, _, _, _ = clips.get_clip(0)
    return video.numpy()


def cdfvd_frame_folder(folder: Path) -> np.ndarray:
    """cd-fvd's FrameDataset (sequence_length = all frames, resolution = the frame size: no crop, no resize),
    scaled back to 0-255 as cdfvd.fvd does (``* 255`` then ``.byte()``). Its ``Image.ANTIALIAS`` is gone from
    Pillow 10 on; it is set to LANCZOS, what it named, and unused at the frames' own size."""
    import PIL.Image
    from cdfvd.utils.data_utils import FrameDataset

    PIL.Image.ANTIALIAS = PIL.Image.LANCZOS
    dataset = FrameDataset(str(folder.parent), sequence_length=-1, resolution=SIZE)
    video = dataset[0]["video"]  # C, T, H, W in [0, 1]
    return (video * 255).byte().permute(1, 2, 3, 0).numpy()


def stylegan_v_frame_folder(folder: Path, repo: Path) -> np.ndarray:
    """StyleGAN-V's VideoFramesFolderDataset._load_raw_frames (PIL, sorted names), back to (T, H, W, C)."""
    sys.path.insert(0, str(repo))
    from omegaconf import OmegaConf
    from src.training.dataset import VideoFramesFolderDataset

    dataset = VideoFramesFolderDataset(str(folder.parent), cfg=OmegaConf.create({"max_num_frames": 1024}))
    frames, _ = dataset._load_raw_frames(0, list(range(FRAMES)))
    return frames.transpose(0, 2, 3, 1)


def stylegan_v_moviepy(path: Path, repo: Path) -> np.ndarray:
    """The frames StyleGAN-V's convert_videos_to_frames.py takes from a video, before saving them as JPEG:
    moviepy's ``VideoFileClip(path).iter_frames(fps=clip.fps)``, i.e. the ffmpeg command line's rgb24 output."""
    from moviepy.editor import VideoFileClip

    clip = VideoFileClip(str(path))
    try:
        return np.stack(list(clip.iter_frames(fps=clip.fps)))[:FRAMES]
    finally:
        clip.close()


def compare(name: str, theirs: np.ndarray, mine: np.ndarray) -> dict:
    if theirs.shape != mine.shape:
        return {"shape": list(theirs.shape), "ours_shape": list(mine.shape)}
    difference = np.abs(theirs.astype(np.int64) - mine.astype(np.int64))
    return {"max": int(difference.max()), "mean": round(float(difference.mean()), 4),
            "equal_fraction": round(float((difference == 0).mean()), 4)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stylegan-v", type=Path, required=True, help="unpacked universome/stylegan-v repo")
    args = parser.parse_args()
    frames = source_frames()
    paths = write_inputs(frames)
    mine = ours(paths)
    videos = [name for name in paths if name != "frames"]
    loaders = {
        "pyav_to_rgb": {name: (lambda p=paths[name]: pyav_to_rgb(p)) for name in videos},
        "pyav_before_12_emulated": {name: (lambda p=paths[name]: pyav_before_12(p)) for name in videos},
        "cdfvd_videoclips": {name: (lambda p=paths[name]: cdfvd_video_clips(p)) for name in videos},
        "stylegan_v_moviepy": {name: (lambda p=paths[name]: stylegan_v_moviepy(p, args.stylegan_v)) for name in videos},
        "cdfvd_framedataset": {"frames": lambda: cdfvd_frame_folder(paths["frames"])},
        "stylegan_v_framefolder": {"frames": lambda: stylegan_v_frame_folder(paths["frames"], args.stylegan_v)},
    }
    arrays = {f"frechet/{name}": frames for name, frames in mine.items()}
    arrays["source"] = frames
    report: dict = {"versions": versions(), "ours_vs_source": {name: compare(name, frames, mine[name])
                                                                for name in mine}}
    for loader, runs in loaders.items():
        report[loader] = {}
        for name, run in runs.items():
            try:
                theirs = run()
            except Exception as error:  # a peer that cannot run here: record why
                report[loader][name] = {"not_run": f"{type(error).__name__}: {str(error).splitlines()[0][:200]}"}
                continue
            arrays[f"{loader}/{name}"] = theirs
            report[loader][name] = compare(name, theirs, mine[name])
    stored, report["same_as"] = {}, {}
    for key, array in arrays.items():  # each distinct array once; the others named as equal to it
        twin = next((other for other, kept in stored.items() if np.array_equal(kept, array)), None)
        if twin is None:
            stored[key] = array
        else:
            report["same_as"][key] = twin
    np.savez_compressed(OUT / "frames.npz", **stored)
    (OUT / "decoding.json").write_text(json.dumps(report, indent=1) + "\n")
    print(json.dumps(report, indent=1))


def versions() -> dict[str, str]:
    import importlib.metadata as metadata

    found = {}
    for package in ("av", "torchvision", "torchcodec", "cd-fvd", "moviepy", "imageio-ffmpeg", "pillow"):
        try:
            found[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            found[package] = "not installed"
    return found


if __name__ == "__main__":
    main()
