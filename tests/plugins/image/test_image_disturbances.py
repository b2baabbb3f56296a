"""The image disturbances of `frechet sanity` do what their units say, reproducibly, and swirl is scikit-image's."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from frechet_image.disturb import (
    BlackRectangles,
    GaussianBlur,
    GaussianNoise,
    SaltAndPepper,
    Swirl,
    rectangle_mask,
    swirl,
)

GOLDENS = Path(__file__).resolve().parents[2] / "goldens" / "report"


def grey(height: int = 64, width: int = 96) -> np.ndarray:
    return np.full((height, width, 3), 128, np.uint8)


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return 10.0 * np.log10(255.0**2 / mse)


@pytest.mark.parametrize("sigma", [4.0, 8.0, 16.0, 32.0])
def test_noise_sigma_in_8_bit_levels_gives_the_psnr_it_implies(sigma):
    image = grey(128, 128)
    noisy = GaussianNoise().apply(image, sigma, seed=1)
    expected = 20.0 * np.log10(255.0 / np.sqrt(sigma**2 + 1.0 / 12.0))  # rounding to 8 bits adds 1/12 level²
    assert abs(psnr(image, noisy) - expected) < 0.1


def test_blur_sigma_is_in_pixels():
    image = np.zeros((41, 61, 3), np.uint8)
    image[:, 30] = 255  # a vertical line: its blurred profile is a Gaussian of the stated σ
    profile = GaussianBlur().apply(image, 3.0, seed=0)[20, :, 0].astype(np.float64)
    position = np.arange(profile.size)
    mean = (profile * position).sum() / profile.sum()
    assert np.sqrt((profile * (position - mean) ** 2).sum() / profile.sum()) == pytest.approx(3.0, rel=0.03)


@pytest.mark.parametrize("fraction", [0.05, 0.1, 0.25, 0.5])
def test_rectangles_cover_the_stated_area_to_within_one_row(fraction):
    for seed in range(5):
        damaged = BlackRectangles().apply(grey(), fraction, seed)
        covered = np.all(damaged == 0, axis=2).sum()
        target = np.ceil(fraction * 64 * 96)
        assert target <= covered < target + 96 // 2  # the last rectangle overshoots by less than one of its rows
        assert set(np.unique(damaged)) <= {0, 128}


def test_rectangle_mask_is_made_of_rectangles_of_the_stated_sizes():
    mask = rectangle_mask((200, 300), 0.02, np.random.default_rng(3))  # small enough for one rectangle
    rows, columns = np.nonzero(mask)
    height, width = rows.max() - rows.min() + 1, columns.max() - columns.min() + 1
    assert mask.sum() <= height * width and 0.1 * 300 - 1 <= width <= 0.5 * 300 + 1


@pytest.mark.parametrize("fraction", [0.01, 0.05, 0.25])
def test_salt_and_pepper_sets_exactly_the_stated_fraction_of_pixels(fraction):
    damaged = SaltAndPepper().apply(grey(), fraction, seed=4)
    changed = np.any(damaged != 128, axis=2)
    assert changed.sum() == round(fraction * 64 * 96)
    values = damaged[changed]
    assert set(np.unique(values)) == {0, 255} and np.all(values == values[:, :1])  # whole pixels, black or white


def test_swirl_matches_scikit_image():
    facts = json.loads((GOLDENS / "swirl.json").read_text())
    with np.load(GOLDENS / "swirl.npz") as goldens:
        for number, shape in enumerate(facts["shapes"]):
            for strength in facts["strengths"]:
                key = f"image{number}_strength{strength:g}"
                ours = swirl(goldens[f"image{number}"], strength, min(shape) / 2.0)
                np.testing.assert_allclose(ours, goldens[key], rtol=0, atol=1e-12)
                assert facts["max_abs_change"][key]["centre_off_by_half_pixel"] > 1e-3  # the tolerance tells them apart


def test_swirl_disturbance_keeps_the_image_outside_its_radius_and_twists_the_centre():
    image = np.zeros((64, 64, 3), np.uint8)
    image[:, 28:36] = 255
    twisted = Swirl().apply(image, 5.0, seed=0).astype(int)
    y, x = np.indices((64, 64))
    outside = np.hypot(x - 32, y - 32) > 1.2 * 32  # beyond the radius (half the shorter side) it fades out
    assert np.abs(twisted - image)[outside].max() <= 1
    assert np.abs(twisted - image)[24:40, 24:40].mean() > 50


@pytest.mark.parametrize(("disturbance", "strength"),
                         [(GaussianNoise(), 10.0), (BlackRectangles(), 0.2), (SaltAndPepper(), 0.2)])
def test_random_damage_follows_the_content_strength_and_seed_only(disturbance, strength):
    image, other = grey(), grey()
    other[0, 0] = 1
    first = disturbance.apply(image, strength, seed=1)
    assert np.array_equal(first, disturbance.apply(image.copy(), strength, seed=1))
    assert not np.array_equal(first, disturbance.apply(image, strength, seed=2))
    assert not np.array_equal(first[1:], disturbance.apply(other, strength, seed=1)[1:])  # other content


def test_strengths_grow_linearly_to_the_documented_strongest():
    assert GaussianNoise().strengths(4) == [16.0, 32.0, 48.0, 64.0]
    assert GaussianBlur().strengths(5)[-1] == 4.0 and BlackRectangles().strengths(5)[-1] == 0.5
    assert Swirl().strengths(5)[-1] == 5.0 and SaltAndPepper().strengths(5)[-1] == 0.25
