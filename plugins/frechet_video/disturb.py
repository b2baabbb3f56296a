"""Video disturbances for ``frechet sanity``: spatial damage of every frame (noise, blur) and temporal damage of
the frame order (shuffle, freeze, reverse, drop).

A disturbed video is a :class:`~frechet_video.video.Video` like any other: frames are damaged as a clip reads them,
so clip sampling sees the damaged video as a whole. Spatial randomness comes from each frame's content and
position, the strength and the seed; temporal randomness from the frame count, the strength and the seed
(:func:`frechet.disturbance.content_rng`), so equal videos are damaged equally. Strengths are linear in the level
t in (0, 1]; each class's ``unit`` says what they measure.
"""

from __future__ import annotations

from abc import abstractmethod

import numpy as np
from scipy import ndimage

from frechet.disturbance import ItemDisturbance, content_rng
from frechet_video.video import Video


class _DamagedVideo(Video):
    """A video whose frame i is the inner video's frame ``order[i]``, each frame passed through ``damage``."""

    def __init__(self, inner: Video, order: np.ndarray, disturbance: _SpatialDisturbance | None, strength: float,
                 seed: int) -> None:
        self.inner, self.order = inner, order
        self.disturbance, self.strength, self.seed = disturbance, strength, seed
        super().__init__(inner.name, len(order))

    def _read(self, indices: list[int]) -> np.ndarray:
        frames = self.inner.read(self.order[indices].tolist())
        if self.disturbance is None:
            return frames
        return np.stack([self.disturbance.damage(frame, index, self.strength, self.seed)
                         for frame, index in zip(frames, indices)])


class _SpatialDisturbance(ItemDisturbance):
    """Damage of each frame on its own."""

    domain = "video"

    def apply(self, item: Video, strength: float, seed: int) -> Video:
        return _DamagedVideo(item, np.arange(item.num_frames), self, strength, seed)

    @abstractmethod
    def damage(self, frame: np.ndarray, index: int, strength: float, seed: int) -> np.ndarray:
        """The damaged copy of frame ``index``, (H, W, 3) of its dtype (uint8, or float32 in [0, 1])."""


class _TemporalDisturbance(ItemDisturbance):
    """A change of which frame is shown when: ``order(T, strength, rng)`` maps each new frame to an old one."""

    domain = "video"

    def apply(self, item: Video, strength: float, seed: int) -> Video:
        rng = content_rng(seed, strength, f"{self.name}:{item.num_frames}")
        return _DamagedVideo(item, self.order(item.num_frames, strength, rng), None, strength, seed)

    @abstractmethod
    def order(self, frames: int, strength: float, rng: np.random.Generator) -> np.ndarray:
        """For each frame of the damaged video, the frame of the original shown there."""


def _levels(frame: np.ndarray) -> float:
    """Value of one 8-bit level in the frame's scale."""
    return 1.0 if frame.dtype == np.uint8 else 1.0 / 255.0


def _as_dtype(values: np.ndarray, like: np.ndarray) -> np.ndarray:
    if like.dtype == np.uint8:
        return np.clip(np.rint(values), 0, 255).astype(np.uint8)
    return np.clip(values, 0.0, 1.0).astype(like.dtype)


def _count(fraction: float, frames: int) -> int:
    return int(np.floor(fraction * frames + 0.5))


def _run(frames: int, fraction: float, rng: np.random.Generator) -> slice:
    """round(fraction · frames) consecutive frames starting at a random place."""
    length = _count(fraction, frames)
    start = int(rng.integers(0, frames - length + 1))
    return slice(start, start + length)


class FrameNoise(_SpatialDisturbance):
    """Additive Gaussian noise on every channel of every frame, drawn afresh for each frame."""

    name = "noise"
    description = "additive Gaussian noise on every frame (spatial)"
    unit = "noise σ in 8-bit levels, on every frame"

    def strength(self, t: float) -> float:
        return 64.0 * t

    def damage(self, frame: np.ndarray, index: int, strength: float, seed: int) -> np.ndarray:
        noise = content_rng(seed, strength, frame, str(index)).standard_normal(frame.shape)
        return _as_dtype(frame + strength * _levels(frame) * noise, frame)


class FrameBlur(_SpatialDisturbance):
    """Gaussian blur of each channel of every frame (edges mirrored, the kernel cut at 4 σ)."""

    name = "blur"
    description = "Gaussian blur of every frame (spatial)"
    unit = "blur σ in pixels, on every frame"

    def strength(self, t: float) -> float:
        return 4.0 * t

    def damage(self, frame: np.ndarray, index: int, strength: float, seed: int) -> np.ndarray:
        blurred = ndimage.gaussian_filter(frame.astype(np.float64), sigma=(strength, strength, 0.0), mode="reflect")
        return _as_dtype(blurred, frame)


class ShuffleFrames(_TemporalDisturbance):
    """round(fraction · T) frames, drawn at random, permuted among themselves at random (the rest stay in place)."""

    name = "shuffle"
    description = "a fraction of the frames permuted among themselves (temporal)"
    unit = "fraction of the frames permuted among themselves"

    def strength(self, t: float) -> float:
        return 1.0 * t

    def order(self, frames: int, strength: float, rng: np.random.Generator) -> np.ndarray:
        order = np.arange(frames)
        chosen = rng.choice(frames, _count(strength, frames), replace=False)
        order[chosen] = rng.permutation(chosen)
        return order


class FreezeFrames(_TemporalDisturbance):
    """A run of round(fraction · T) frames, at a random place, all showing the run's first frame."""

    name = "freeze"
    description = "a run of frames frozen on its first frame (temporal)"
    unit = "fraction of the frames in one run frozen on the run's first frame"

    def strength(self, t: float) -> float:
        return 1.0 * t

    def order(self, frames: int, strength: float, rng: np.random.Generator) -> np.ndarray:
        order = np.arange(frames)
        run = _run(frames, strength, rng)
        order[run] = run.start
        return order


class ReverseFrames(_TemporalDisturbance):
    """A run of round(fraction · T) frames, at a random place, played backwards (all of the video at 1)."""

    name = "reverse"
    description = "a run of frames played backwards (temporal)"
    unit = "fraction of the frames in one run played backwards"

    def strength(self, t: float) -> float:
        return 1.0 * t

    def order(self, frames: int, strength: float, rng: np.random.Generator) -> np.ndarray:
        order = np.arange(frames)
        run = _run(frames, strength, rng)
        order[run] = order[run][::-1]
        return order


class DropFrames(_TemporalDisturbance):
    """round(fraction · (T − 1)) frames after the first, drawn at random, dropped as a player drops them: each
    dropped frame shows the last frame kept before it, so the video keeps its length and timing."""

    name = "drop"
    description = "frames dropped, the last kept frame shown in their place (temporal)"
    unit = "fraction of the frames after the first dropped (each showing the last kept frame)"

    def strength(self, t: float) -> float:
        return 0.75 * t

    def order(self, frames: int, strength: float, rng: np.random.Generator) -> np.ndarray:
        kept = np.ones(frames, bool)
        kept[1 + rng.choice(frames - 1, _count(strength, frames - 1), replace=False)] = False
        return np.maximum.accumulate(np.where(kept, np.arange(frames), 0))


DISTURBANCES = (FrameNoise, FrameBlur, ShuffleFrames, FreezeFrames, ReverseFrames, DropFrames)
