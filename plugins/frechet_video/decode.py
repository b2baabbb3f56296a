"""Video files decoded through PyAV (FFmpeg), with one pinned conversion to RGB.

The conversion, whatever PyAV's own defaults of the day: FFmpeg's swscale, bilinear chroma upsampling at its default
precision (the flags PyAV's ``to_rgb()`` gives it), with the YUV matrix and range the stream declares — BT.709,
BT.2020, SMPTE 240M or FCC when declared, BT.601 otherwise; full range when declared (``yuvj`` formats too), limited
range otherwise. That is what ``frame.to_rgb()`` does from PyAV 12 on (cd-fvd's loader, through ``torchvision.io.read_video`` or
TorchCodec, and the ffmpeg command line StyleGAN-V converts videos with give the same frames); PyAV before 12
ignored the declaration and always used BT.601 limited range. RGB and palette streams
(GIF, PNG in a container, ``libx264rgb``) are converted without a matrix; GIF's alpha is dropped.

Opening a video counts its frames from the container's packets without decoding them; ``read`` decodes from the
first frame up to the last one asked for and converts only those asked for.
"""

from __future__ import annotations

import os
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from frechet.errors import InputError
from frechet.io import check_regular_file
from frechet.optional import import_optional, install_extra
from frechet_image.decode import MAX_PIXELS_ENV, pixel_limit
from frechet_video.video import Video


#: Suffixes read as video files (matched case-insensitively).
VIDEO_SUFFIXES = (".avi", ".gif", ".m4v", ".mkv", ".mov", ".mp4", ".webm")
#: Declared colour spaces (FFmpeg's AVColorSpace) -> swscale's matrix (SWS_CS_*): BT.709, FCC, SMPTE 240M, BT.2020
#: (non-constant and constant luminance); anything else, "unspecified" included, is BT.601 (SWS_CS_ITU601 = 5).
_DECLARED_MATRIX = {1: 1, 4: 4, 7: 7, 9: 9, 10: 9}
_BT601 = 5
_FULL_RANGE = 2  # AVCOL_RANGE_JPEG


def pyav() -> ModuleType:
    """The ``av`` module, or one line saying to install ``frechet[video]``."""
    return import_optional("av", "reading video files", install_extra("video", "av"))


class FileVideo(Video):
    """A video file read through PyAV; its first video stream is the video."""

    def __init__(self, path: str | Path, *, max_pixels: int | None = None) -> None:
        self.path = Path(path)
        check_regular_file(self.path)
        av = pyav()
        if os.path.getsize(self.path) == 0:
            raise InputError(f"{self.path}: empty file (0 bytes); remove it or regenerate it")
        try:
            with av.open(str(self.path)) as container:
                stream = _video_stream(container, self.path)
                _check_pixels(stream.codec_context.width, stream.codec_context.height, self.path, max_pixels)
                count, end = _count_packets(container, stream)
                if count:
                    _check_complete(container, stream, count, end, self.path)
        except av.error.EOFError:
            raise InputError(f"{self.path}: ends before its first frame: it holds no frames, or is cut short; "
                             "re-encode or remove it") from None
        except av.error.FFmpegError as error:
            raise _unreadable(self.path, error) from None
        super().__init__(str(self.path), count)

    def _read(self, indices: list[int]) -> np.ndarray:
        av = pyav()
        wanted = set(indices)
        last = max(indices)
        frames: dict[int, np.ndarray] = {}
        decoded = 0
        try:
            with av.open(str(self.path)) as container:
                stream = _video_stream(container, self.path)
                for frame in container.decode(stream):
                    if decoded in wanted:
                        frames[decoded] = to_rgb(frame)
                    decoded += 1
                    if decoded > last:
                        break
        except av.error.FFmpegError as error:
            raise _unreadable(self.path, error, decoded) from None
        if decoded <= last:
            raise InputError(f"{self.path}: only {decoded} of its {self.num_frames} frames could be decoded (frame "
                             f"{last} was asked for); the file is truncated or corrupt — re-encode or remove it")
        shapes = {image.shape for image in frames.values()}
        if len(shapes) > 1:
            raise InputError(f"{self.path}: its frames change size ({' and '.join(map(str, sorted(shapes)[:2]))}); "
                             "re-encode it at one size")
        return np.stack([frames[index] for index in indices])


def to_rgb(frame: Any) -> np.ndarray:
    """One decoded PyAV frame as (H, W, 3) uint8 RGB, by the pinned conversion (see the module docstring)."""
    descriptor = frame.format
    if descriptor.is_rgb or descriptor.name in ("pal8", "gray", "gray8"):
        return frame.to_ndarray(format="rgb24")
    colorspace = int(frame.colorspace)
    matrix = _DECLARED_MATRIX.get(colorspace, _BT601)
    full = int(frame.color_range) == _FULL_RANGE or descriptor.name.startswith("yuvj")
    return frame.reformat(
        format="rgb24",
        src_colorspace=matrix,
        dst_colorspace=matrix,
        interpolation="BILINEAR",
        src_color_range="JPEG" if full else "MPEG",
    ).to_ndarray()


def _count_packets(container: Any, stream: Any) -> tuple[int, float]:
    """How many frames the stream's packets hold, and when the last one ends (seconds from the stream's start)."""
    count, end = 0, 0
    for packet in container.demux(stream):
        if packet.size > 0:
            count += 1
            if packet.pts is not None:
                end = max(end, packet.pts + (packet.duration or 0))
    start = stream.start_time or 0
    return count, float((end - start) * stream.time_base) if stream.time_base else 0.0


def _check_complete(container: Any, stream: Any, count: int, end: float, path: Path) -> None:
    """Refuse a file whose packets stop before what its header declares: a frame count, or a duration (the
    stream's, or the container's when the video is its only stream) longer by more than a frame."""
    if stream.frames and count < stream.frames:
        raise InputError(f"{path}: declares {stream.frames} frames but holds {count}; the file is cut short — "
                         "re-encode or remove it")
    if stream.duration and stream.time_base:
        declared = float(stream.duration * stream.time_base)
    elif container.duration and len(container.streams) == 1:
        declared = container.duration / 1_000_000
    else:
        return
    if end + 0.5 * end / count + 1e-3 < declared:  # half a frame of slack for rounding
        raise InputError(f"{path}: declares {declared:.3g} s but its frames stop at {end:.3g} s; the file is cut "
                         "short — re-encode or remove it")


def _video_stream(container: Any, path: Path) -> Any:
    if not container.streams.video:
        raise InputError(f"{path}: holds no video stream; give a video file (mp4, webm, avi, mkv, gif)")
    return container.streams.video[0]


def _check_pixels(width: int, height: int, path: Path, max_pixels: int | None) -> None:
    """Refuse frames larger than the image pixel limit before any is decoded (a small file can declare huge ones)."""
    limit = pixel_limit() if max_pixels is None else (max_pixels or None)
    if width <= 0 or height <= 0:
        raise InputError(f"{path}: declares no frame size; the file is corrupt")
    if limit is not None and width * height > limit:
        raise InputError(f"{path}: frames of {width}×{height} exceed the {limit:,}-pixel limit; if you trust the file, "
                         f"raise it with {MAX_PIXELS_ENV}={width * height} (0: no limit)")


def _unreadable(path: Path, error: Exception, decoded: int | None = None) -> InputError:
    where = "" if decoded is None else f" after {decoded} frames"
    reason = getattr(error, "strerror", None) or type(error).__name__
    return InputError(f"{path}: not a readable video{where} ({reason}); the file is truncated, corrupt or not a "
                      "video — re-encode or remove it")
