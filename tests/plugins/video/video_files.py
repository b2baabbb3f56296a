"""Small videos for the video tests and goldens: moving colour ramps, encoded with PyAV (imported only when used)."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def moving_frames(frames: int = 6, height: int = 24, width: int = 32, phase: int = 0) -> np.ndarray:
    """(frames, H, W, 3) uint8 diagonal colour ramps that move a few pixels per frame."""
    y, x = np.mgrid[0:height, 0:width]
    return np.stack([np.stack([(4 * x + 9 * t + phase) % 256, (5 * y + 3 * t) % 256, (3 * (x + y) + 20 * t) % 256],
                              axis=-1) for t in range(frames)]).astype(np.uint8)


def write_video(path: Path, frames: np.ndarray, *, codec: str = "libx264", pix_fmt: str = "yuv420p",
                options: dict[str, str] | None = None, colorspace: int | None = None,
                color_range: int | None = None) -> Path:
    """Encode uint8 RGB ``frames`` with PyAV; ``colorspace`` / ``color_range`` (FFmpeg's numbers) are declared in
    the stream and used to convert the frames to YUV."""
    import av

    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w") as container:
        stream = container.add_stream(codec, rate=8)
        stream.width, stream.height, stream.pix_fmt = frames.shape[2], frames.shape[1], pix_fmt
        stream.options = options or {}
        if colorspace is not None:
            stream.codec_context.colorspace = colorspace
        if color_range is not None:
            stream.codec_context.color_range = color_range
        for frame in frames:
            picture = av.VideoFrame.from_ndarray(frame, format="rgb24")
            if colorspace is not None or color_range is not None:
                picture = picture.reformat(format=pix_fmt, dst_colorspace=colorspace or 5,
                                           dst_color_range=color_range or 1)
            for packet in stream.encode(picture):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def lossless(path: Path, frames: np.ndarray, **declared: int) -> Path:
    """H.264 at qp 0 in yuv444p: the YUV planes decode exactly as encoded."""
    return write_video(path, frames, pix_fmt="yuv444p", options={"qp": "0"}, **declared)
