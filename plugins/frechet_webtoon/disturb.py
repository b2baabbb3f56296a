"""Webtoon disturbances for ``frechet sanity``: the damage a webtoon pipeline does to panels, each at a strength in
a stated unit, applied to a uint8 (H, W, 3) RGB panel and giving a new uint8 panel.

Gaussian noise in 8-bit levels (``noise``) and mixing in panels of another set (``mix:OTHER``) are the image
plugin's and the core's; these add JPEG re-compression, line-art blur, colour shift, palette reduction,
downscale-then-upscale and screen tone. Randomness, where there is any, comes from
:func:`frechet.disturbance.content_rng` (the panel's content, the strength and the seed).
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image
from scipy import ndimage

from frechet.disturbance import ItemDisturbance, content_rng
from frechet_image.disturb import _to_uint8

#: A pixel is line art when its luminance (ITU-R BT.601) is at most this many 8-bit levels.
LINE_LUMA = 96
#: Side of a screen-tone cell, in pixels.
TONE_PERIOD = 4


def luma(image: np.ndarray) -> np.ndarray:
    """ITU-R BT.601 luminance (0–255, float64) of a uint8 RGB image."""
    return image.astype(np.float64) @ np.array([0.299, 0.587, 0.114])


class _WebtoonDisturbance(ItemDisturbance):
    """A damage of drawn panels: an image disturbance run by ``frechet sanity`` when named, not on every image input."""

    domain = "image"
    by_default = False


class JpegRecompression(_WebtoonDisturbance):
    """Pillow's JPEG encoder at a quality (4:2:0 chroma subsampling, its standard tables), decoded again."""

    name = "jpeg"
    description = "JPEG re-compression at a falling quality"
    unit = "JPEG quality (Pillow's 1–95 scale; lower is stronger)"

    def strength(self, t: float) -> float:
        return float(round(95 - 85 * t))

    def apply(self, image: np.ndarray, strength: float, seed: int) -> np.ndarray:
        buffer = io.BytesIO()
        Image.fromarray(image).save(buffer, format="JPEG", quality=int(strength))
        with Image.open(buffer) as decoded:
            return np.asarray(decoded.convert("RGB")).copy()


class LineArtBlur(_WebtoonDisturbance):
    """Gaussian blur of the line art only: each channel is blurred (mirrored edges, kernel cut at 4 σ) and the
    blurred values replace the pixels within 2 px (city-block distance) of a dark pixel (luminance ≤ 96), so inked lines soften and the
    flat colours between them stay as they were."""

    name = "line-blur"
    description = "Gaussian blur of the inked lines (pixels near dark ones), flat colours kept"
    unit = "blur σ in pixels, applied within 2 px of line art (luminance ≤ 96)"

    def strength(self, t: float) -> float:
        return 2.0 * t

    def apply(self, image: np.ndarray, strength: float, seed: int) -> np.ndarray:
        near_lines = ndimage.binary_dilation(luma(image) <= LINE_LUMA, iterations=2)
        blurred = ndimage.gaussian_filter(image.astype(np.float64), sigma=(strength, strength, 0.0), mode="reflect")
        damaged = image.copy()
        damaged[near_lines] = _to_uint8(blurred[near_lines])
        return damaged


class ColourShift(_WebtoonDisturbance):
    """A hue rotation: every pixel's colour turned about the grey axis of RGB space (the luminance of greys, and the
    length of each colour's distance from grey, kept), rounded and clipped to 8 bits."""

    name = "colour-shift"
    description = "hue rotation about the grey axis"
    unit = "hue rotation in degrees"

    def strength(self, t: float) -> float:
        return 90.0 * t

    def apply(self, image: np.ndarray, strength: float, seed: int) -> np.ndarray:
        return _to_uint8(image.astype(np.float64) @ hue_rotation(strength).T)


def hue_rotation(degrees: float) -> np.ndarray:
    """The 3×3 rotation of RGB space by ``degrees`` about the grey axis (1, 1, 1) (Rodrigues' formula)."""
    axis = np.ones(3) / np.sqrt(3.0)
    angle = np.deg2rad(degrees)
    cross = np.array([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]])
    return np.cos(angle) * np.eye(3) + np.sin(angle) * cross + (1 - np.cos(angle)) * np.outer(axis, axis)


class PaletteReduction(_WebtoonDisturbance):
    """Each channel quantised to a number of evenly spaced levels (0 and 255 included), each value to the nearest:
    the banding of a reduced palette."""

    name = "palette"
    description = "each channel quantised to fewer evenly spaced levels"
    unit = "levels per channel (256 is the undamaged image; fewer is stronger)"

    def strength(self, t: float) -> float:
        return float(round(2 ** (8 - 6 * t)))

    def apply(self, image: np.ndarray, strength: float, seed: int) -> np.ndarray:
        step = 255.0 / (int(strength) - 1)
        return _to_uint8(np.rint(image / step) * step)


class DownUpscale(_WebtoonDisturbance):
    """Pillow's bicubic resize down to a fraction of each side (rounded, at least 1 px) and back up to the
    original size: the softness of a panel stored small and enlarged."""

    name = "rescale"
    description = "bicubic downscale to a fraction of the size, then back up"
    unit = "downscale factor per side (2 = half the width and height)"

    def strength(self, t: float) -> float:
        return 1.0 + 7.0 * t

    def apply(self, image: np.ndarray, strength: float, seed: int) -> np.ndarray:
        height, width = image.shape[:2]
        small = (max(1, round(width / strength)), max(1, round(height / strength)))
        down = Image.fromarray(image).resize(small, Image.Resampling.BICUBIC)
        return np.asarray(down.resize((width, height), Image.Resampling.BICUBIC)).copy()


class ScreenTone(_WebtoonDisturbance):
    """Halftone dots over the whole panel: a square grid of round black dots every 4 px, each dot's area the
    stated fraction of its cell, at a seeded phase; the dots multiply the panel (ink on paper)."""

    name = "halftone"
    description = "a screen tone of black dots printed over the panel"
    unit = "fraction of the panel's area covered by dots (4-px grid)"

    def strength(self, t: float) -> float:
        return 0.5 * t

    def apply(self, image: np.ndarray, strength: float, seed: int) -> np.ndarray:
        rng = content_rng(seed, strength, image)
        damaged = image.copy()
        damaged[screen_tone(image.shape[:2], strength, TONE_PERIOD, rng.integers(0, TONE_PERIOD, 2))] = 0
        return damaged


def screen_tone(shape: tuple[int, int], coverage: float, period: int, phase: np.ndarray) -> np.ndarray:
    """A (H, W) mask of round dots on a ``period``-pixel grid shifted by ``phase``, each covering ``coverage`` of
    its cell: the pixels of a cell nearest its centre, round(coverage · period²) of them (ties by position)."""
    cell = np.add.outer((np.arange(period) + 0.5 - period / 2) ** 2, (np.arange(period) + 0.5 - period / 2) ** 2)
    order = np.argsort(cell, axis=None, kind="stable")
    dot = np.zeros(period * period, bool)
    dot[order[: int(np.floor(coverage * period * period + 0.5))]] = True
    rows = (np.arange(shape[0]) + phase[0]) % period
    columns = (np.arange(shape[1]) + phase[1]) % period
    return dot.reshape(period, period)[rows[:, None], columns[None, :]]


DISTURBANCES = (JpegRecompression, LineArtBlur, ColourShift, PaletteReduction, DownUpscale, ScreenTone)
