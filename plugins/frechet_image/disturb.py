"""Image disturbances for ``frechet sanity``: Gaussian noise, Gaussian blur, black rectangles, swirl, salt and pepper.

Each damages a uint8 (H, W, 3) RGB image at a strength in a stated unit and returns a new uint8 image; randomness
comes from the image's content, the strength and the seed (:func:`frechet.disturbance.content_rng`). The strength at
level t in (0, 1] (t = k / levels) is linear in t, up to the strongest value given in each class's ``strength``.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from frechet.disturbance import ItemDisturbance, content_rng

#: Rectangle sides are drawn uniformly from these fractions of the image's height and width.
RECTANGLE_SIDES = (0.1, 0.5)


def _to_uint8(values: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(values), 0, 255).astype(np.uint8)


class GaussianNoise(ItemDisturbance):
    """Additive Gaussian noise on every channel, rounded and clipped to 0…255."""

    name = "noise"
    domain = "image"
    description = "additive Gaussian noise, rounded and clipped to 8 bits"
    unit = "noise σ in 8-bit levels (PSNR ≈ 20·log10(255/σ) dB before clipping)"

    def strength(self, t: float) -> float:
        return 64.0 * t

    def apply(self, image: np.ndarray, strength: float, seed: int) -> np.ndarray:
        noise = content_rng(seed, strength, image).standard_normal(image.shape)
        return _to_uint8(image + strength * noise)


class GaussianBlur(ItemDisturbance):
    """Gaussian blur of each channel (edges mirrored, the kernel cut at 4 σ), rounded to 8 bits."""

    name = "blur"
    domain = "image"
    description = "Gaussian blur of each channel"
    unit = "blur σ in pixels"

    def strength(self, t: float) -> float:
        return 4.0 * t

    def apply(self, image: np.ndarray, strength: float, seed: int) -> np.ndarray:
        return _to_uint8(ndimage.gaussian_filter(image.astype(np.float64), sigma=(strength, strength, 0.0),
                                                 mode="reflect"))


class BlackRectangles(ItemDisturbance):
    """Black rectangles at random places (sides 10–50 % of the image's), until they cover the stated fraction of
    the image: the last one is cut short by whole rows, so the area covered exceeds it by less than one row."""

    name = "rectangles"
    domain = "image"
    description = "black rectangles at random places covering a fraction of the image"
    unit = "fraction of the image area covered by black rectangles"

    def strength(self, t: float) -> float:
        return 0.5 * t

    def apply(self, image: np.ndarray, strength: float, seed: int) -> np.ndarray:
        mask = rectangle_mask(image.shape[:2], strength, content_rng(seed, strength, image))
        damaged = image.copy()
        damaged[mask] = 0
        return damaged


def rectangle_mask(shape: tuple[int, int], fraction: float, rng: np.random.Generator) -> np.ndarray:
    """A (H, W) mask of random rectangles covering ⌈fraction · H · W⌉ pixels, give or take one row of the last."""
    height, width = shape
    target = int(np.ceil(min(max(fraction, 0.0), 1.0) * height * width))
    mask = np.zeros(shape, bool)
    covered = 0
    low, high = RECTANGLE_SIDES
    while covered < target:
        rows = max(1, int(round(height * rng.uniform(low, high))))
        columns = max(1, int(round(width * rng.uniform(low, high))))
        top, left = int(rng.integers(0, height - rows + 1)), int(rng.integers(0, width - columns + 1))
        window = mask[top : top + rows, left : left + columns]
        gained = np.cumsum((~window).sum(axis=1))
        kept = int(np.searchsorted(gained, target - covered)) + 1  # rows until the target is reached, or all
        window[:kept] = True
        covered += int(gained[min(kept, rows) - 1])
    return mask


class Swirl(ItemDisturbance):
    """scikit-image's swirl (``skimage.transform.swirl`` with its defaults: bilinear, edges mirrored, no rotation),
    centred, with radius half the shorter side; the strength is the rotation at the centre, in radians."""

    name = "swirl"
    domain = "image"
    description = "scikit-image's swirl about the centre"
    unit = "swirl strength (radians of rotation at the centre; radius half the shorter side)"

    def strength(self, t: float) -> float:
        return 5.0 * t

    def apply(self, image: np.ndarray, strength: float, seed: int) -> np.ndarray:
        return _to_uint8(255.0 * swirl(image.astype(np.float64) / 255.0, strength, min(image.shape[:2]) / 2.0))


def swirl(image: np.ndarray, strength: float, radius: float) -> np.ndarray:
    """scikit-image's swirl of a float (H, W, C) image about its centre (W/2, H/2): the output pixel at (x, y) reads
    the input, bilinearly with mirrored edges, at angle θ + strength · exp(−ρ / (radius · ln 2 / 5)) about the centre,
    where (ρ, θ) are its polar coordinates."""
    height, width = image.shape[:2]
    centre_x, centre_y = width / 2.0, height / 2.0
    y, x = np.indices((height, width), dtype=np.float64)
    rho = np.hypot(x - centre_x, y - centre_y)
    theta = strength * np.exp(-rho / (radius / 5.0 * np.log(2.0))) + np.arctan2(y - centre_y, x - centre_x)
    coordinates = np.stack([centre_y + rho * np.sin(theta), centre_x + rho * np.cos(theta)])
    return np.stack([ndimage.map_coordinates(image[..., channel], coordinates, order=1, mode="mirror")
                     for channel in range(image.shape[2])], axis=-1)


class SaltAndPepper(ItemDisturbance):
    """Exactly round(fraction · H · W) pixels, drawn without replacement, set to black or white (even odds)."""

    name = "salt-pepper"
    domain = "image"
    description = "pixels set to black or white"
    unit = "fraction of the pixels set to black or white"

    def strength(self, t: float) -> float:
        return 0.25 * t

    def apply(self, image: np.ndarray, strength: float, seed: int) -> np.ndarray:
        rng = content_rng(seed, strength, image)
        pixels = image.shape[0] * image.shape[1]
        chosen = rng.choice(pixels, int(np.floor(strength * pixels + 0.5)), replace=False)
        damaged = image.reshape(pixels, -1).copy()
        damaged[chosen] = (255 * rng.integers(0, 2, len(chosen), dtype=np.uint8))[:, None]
        return damaged.reshape(image.shape)


DISTURBANCES = (GaussianNoise, GaussianBlur, BlackRectangles, Swirl, SaltAndPepper)
