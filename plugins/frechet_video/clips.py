"""Clip sampling, a declared part of every FVD mode: which frames of a video make the clips the network sees.

A :class:`ClipSpec` says how many frames a clip has, the step between them (subsampling), where the first clip
starts (the video's first frame, or an offset drawn per video from a seed and the video's name, so a run is
repeatable and independent of the order videos come in), how many clips a video gives (consecutive, each
``frames * stride`` frames long), and what happens to a video too short for them: refused (an error naming it,
which ``--skip-bad`` turns into a skipped, counted item) or skipped (the video gives no clip; the result's clip
count ``n_real``/``n_fake`` is then below its video count ``n_real_items``/``n_fake_items``). A video is too short
when its clips do not fit in it, or, with ``whole_steps`` (StyleGAN-V's rule), when it has fewer than
``clips * frames * stride`` frames, although the last clip's final ``stride - 1`` frames are never read.
"""

from __future__ import annotations

import logging
import zlib
from dataclasses import dataclass, replace

import numpy as np

from frechet.errors import ConfigError, InputError
from frechet.options import Option
from frechet_video.video import Video

log = logging.getLogger("frechet")

STARTS = ("first", "random")
SHORT = ("refuse", "skip")
#: The embedder options that override a mode's clip sampling (:meth:`ClipSpec.with_options` applies them).
CLIP_OPTIONS = (
    Option("frames", int, help="frames per clip (default: the mode's, 16)"),
    Option("stride", int, help="take every stride-th frame (default 1)"),
    Option("start", choices=STARTS, help="first clip from the first frame or a seeded random offset"),
    Option("short", choices=SHORT, help="a video shorter than the clip: refuse it, or skip it (counted)"),
    Option("clips", int, help="consecutive clips per video (default 1)"),
    Option("clip_seed", int, help="seed of random clip offsets (default 0)"),
)


@dataclass(frozen=True)
class ClipSpec:
    """Frames per clip, step between frames, first clip's start, what a short video gets, clips per video."""

    frames: int = 16
    stride: int = 1
    start: str = "first"
    short: str = "refuse"
    clips: int = 1
    seed: int = 0
    whole_steps: bool = False

    def __post_init__(self) -> None:
        for name in ("frames", "stride", "clips"):
            if getattr(self, name) < 1:
                raise ConfigError(f"clip option {name} must be at least 1, got {getattr(self, name)}")
        if self.start not in STARTS:
            raise ConfigError(f"clip start must be one of {', '.join(STARTS)}, got {self.start!r}")
        if self.short not in SHORT:
            raise ConfigError(f"short videos must be one of {', '.join(SHORT)}, got {self.short!r}")

    def with_options(self, frames: int | None = None, stride: int | None = None, start: str | None = None,
                     short: str | None = None, clips: int | None = None, clip_seed: int | None = None) -> ClipSpec:
        """This spec with the :data:`CLIP_OPTIONS` that were given (not None) in place of its own values."""
        given = {"frames": frames, "stride": stride, "start": start, "short": short, "clips": clips, "seed": clip_seed}
        return replace(self, **{key: value for key, value in given.items() if value is not None})

    @property
    def span(self) -> int:
        """Frames of the video one clip covers (its first to its last frame, inclusive)."""
        return (self.frames - 1) * self.stride + 1

    @property
    def reach(self) -> int:
        """Frames all the clips cover: each clip takes ``frames * stride`` frames, the last its span."""
        return (self.clips - 1) * self.frames * self.stride + self.span

    @property
    def needed(self) -> int:
        """Frames a video must have not to be short: ``reach``, or ``clips * frames * stride`` with whole_steps."""
        return self.clips * self.frames * self.stride if self.whole_steps else self.reach

    def indices(self, num_frames: int, name: str) -> np.ndarray:
        """(clips, frames) frame indices of a video of ``num_frames`` frames named ``name``; (0, frames) when it is
        too short and short videos are skipped; InputError when it is too short and they are refused."""
        if num_frames < self.needed:
            what = f"{name}: {num_frames} frames, but a clip here needs {self.needed} ({self.describe()})"
            if self.short == "refuse":
                raise InputError(f"{what}; use longer videos, fewer clip frames, or --skip-bad to leave it out")
            log.warning("%s; skipped", what)
            return np.zeros((0, self.frames), dtype=np.int64)
        start = 0
        if self.start == "random":
            rng = np.random.default_rng([self.seed, zlib.crc32(name.encode("utf-8", "surrogatepass"))])
            start = int(rng.integers(0, num_frames - self.reach + 1))
        offsets = np.arange(self.clips)[:, None] * self.frames * self.stride + np.arange(self.frames) * self.stride
        return start + offsets

    def describe(self) -> str:
        """The spec in words, for messages and docs."""
        parts = [f"{self.frames} frames", f"one in {self.stride}" if self.stride > 1 else "consecutive",
                 "from the first frame" if self.start == "first" else f"from a random offset (seed {self.seed})"]
        if self.clips > 1:
            parts.append(f"{self.clips} clips a video")
        if self.whole_steps:
            parts.append(f"a video of under {self.needed} frames is short")
        return ", ".join(parts)

    def config(self) -> dict[str, object]:
        """What ``id()`` names, under the i3d embedder's option names: every field, as the numbers depend on each."""
        return {"frames": self.frames, "stride": self.stride, "start": self.start, "short": self.short,
                "clips": self.clips, **({"clip_seed": self.seed} if self.start == "random" else {}),
                **({"whole_steps": True} if self.whole_steps else {})}


def read_clips(spec: ClipSpec, video: Video) -> np.ndarray | None:
    """The (clips, frames, H, W, 3) frames ``spec`` takes from ``video``; None when the video is skipped as short."""
    indices = spec.indices(video.num_frames, video.name)
    if not len(indices):
        return None
    frames = video.read(indices.ravel())
    return frames.reshape(indices.shape + frames.shape[1:])


def check_raw(frames: np.ndarray, name: str, problem: str | None) -> None:
    """InputError unless ``frames`` may go to a network untouched (``raw=true``): float, and of a size the network
    takes (``problem``: why not, from the network's shape check)."""
    if frames.dtype == np.uint8:
        raise InputError(f"{name}: raw=true feeds frames to the network untouched, but these are uint8 (0-255); pass "
                         "float frames in the network's range, or leave raw off")
    if problem:
        raise InputError(f"{name}: raw=true: {problem}; resize first, or leave raw off")
