"""The webtoon disturbances of `frechet sanity` do what their units say, against independent formulas."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from frechet_webtoon.disturb import (
    DISTURBANCES,
    ColourShift,
    DownUpscale,
    JpegRecompression,
    LineArtBlur,
    PaletteReduction,
    ScreenTone,
    luma,
)
from tagger_fixtures import panel


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    return 10.0 * np.log10(255.0**2 / np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))


@pytest.mark.parametrize("disturbance", DISTURBANCES, ids=lambda cls: cls.name)
def test_each_grows_with_the_level_keeps_the_shape_and_is_reproducible(disturbance):
    image = panel(3, 64, 48)
    damage = disturbance()
    strengths = damage.strengths(5)
    changes = []
    for strength in strengths:
        damaged = damage.apply(image, strength, seed=7)
        assert damaged.shape == image.shape and damaged.dtype == np.uint8
        assert np.array_equal(damaged, damage.apply(image.copy(), strength, seed=7))
        changes.append(np.abs(damaged.astype(int) - image).mean())
    assert changes[-1] > changes[0] > 0 and damage.unit


def test_jpeg_quality_lowers_the_psnr_of_line_art_and_keeps_flat_8x8_blocks():
    image = panel(5, 128, 128)
    jpeg = JpegRecompression()
    assert jpeg.strengths(5) == [78.0, 61.0, 44.0, 27.0, 10.0]
    assert psnr(image, jpeg.apply(image, 95, 0)) > psnr(image, jpeg.apply(image, 50, 0)) > psnr(
        image, jpeg.apply(image, 10, 0))
    flat = np.zeros((64, 64, 3), np.uint8)
    flat[:32], flat[32:] = (255, 255, 255), (40, 40, 40)  # blocks of one grey each: only their DC term survives
    assert np.abs(jpeg.apply(flat, 10, 0).astype(int) - flat).max() <= 2


def test_line_blur_changes_only_pixels_within_2_px_of_line_art_to_the_gaussian_blur():
    image = panel(6, 80, 80)
    sigma = 1.5
    damaged = LineArtBlur().apply(image, sigma, 0)
    dark = luma(image) <= 96
    near = ndimage.distance_transform_cdt(~dark, metric="taxicab") <= 2
    blurred = np.clip(np.rint(ndimage.gaussian_filter(image.astype(float), (sigma, sigma, 0), mode="reflect")), 0, 255)
    assert np.array_equal(damaged[~near], image[~near])
    assert np.array_equal(damaged[near], blurred[near].astype(np.uint8))


def test_colour_shift_of_120_degrees_moves_red_to_green_and_keeps_greys():
    image = np.zeros((2, 2, 3), np.uint8)
    image[0, 0], image[0, 1], image[1, :] = (200, 30, 30), (30, 30, 200), (90, 90, 90)
    shifted = ColourShift().apply(image, 120.0, 0)
    assert tuple(shifted[0, 0]) == (30, 200, 30) and tuple(shifted[0, 1]) == (200, 30, 30)
    assert np.array_equal(shifted[1], image[1])


def test_colour_shift_keeps_each_colours_distance_from_grey():
    image = np.array([[[180, 60, 90], [20, 140, 100]]], np.uint8)
    shifted = ColourShift().apply(image, 45.0, 0).astype(float)
    before, after = image.astype(float), shifted

    def spread(values):
        return np.linalg.norm(values - values.mean(-1, keepdims=True), axis=-1)

    assert np.allclose(spread(before), spread(after), atol=1.0)
    assert np.allclose(before.mean(-1), after.mean(-1), atol=0.7)


@pytest.mark.parametrize("levels", [2, 5, 16, 64])
def test_palette_keeps_at_most_the_stated_levels_per_channel_each_value_the_nearest(levels):
    image = panel(8, 50, 70)
    image[0, :, 0] = np.linspace(0, 255, 70).astype(np.uint8)
    reduced = PaletteReduction().apply(image, float(levels), 0)
    allowed = np.rint(np.arange(levels) * 255.0 / (levels - 1))
    for channel in range(3):
        assert set(np.unique(reduced[..., channel])) <= set(allowed)
    assert np.abs(reduced.astype(float) - image).max() <= 255.0 / (levels - 1) / 2 + 0.5
    assert PaletteReduction().strengths(3) == [64.0, 16.0, 4.0]


def test_rescale_by_one_is_the_identity_and_by_two_erases_one_pixel_detail():
    checker = (np.indices((64, 64)).sum(0) % 2 * 255).astype(np.uint8)[..., None].repeat(3, -1)
    assert np.array_equal(DownUpscale().apply(checker, 1.0, 0), checker)
    assert DownUpscale().apply(checker, 2.0, 0).std() < 0.1 * checker.std()


@pytest.mark.parametrize("coverage", [0.125, 0.25, 0.5])
def test_halftone_covers_the_stated_fraction_of_a_white_panel_with_a_4_px_dot_grid(coverage):
    white = np.full((64, 96, 3), 255, np.uint8)
    toned = ScreenTone().apply(white, coverage, 3)
    black = (toned == 0).all(-1)
    assert black.mean() == pytest.approx(coverage)
    assert np.array_equal(black[4:], black[:-4]) and np.array_equal(black[:, 4:], black[:, :-4])
    assert ((toned == 0) | (toned == 255)).all()


def test_webtoon_disturbances_run_when_named_and_stay_out_of_the_image_defaults():
    from frechet.plugins import get_registry
    from frechet.report.sanity import _names

    registry = get_registry()
    defaults = _names(registry, None, "image")
    webtoon = {cls.name for cls in DISTURBANCES}
    assert defaults and not webtoon & set(defaults)
    assert {"noise", "blur"} <= set(defaults)
    assert _names(registry, ["halftone", "noise"], "image") == ["halftone", "noise"]
    assert registry.create_disturbance("halftone", "image").name == "halftone"
