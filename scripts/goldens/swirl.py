"""Golden for the image `swirl` disturbance: scikit-image's ``skimage.transform.swirl`` on small generated images.

Run with a Python that has scikit-image (installed into the image reference venv for this):

    /tmp/frechet-refenv-image/bin/python scripts/goldens/swirl.py

Writes tests/goldens/report/swirl.npz (the float images and scikit-image's swirled versions at several strengths,
with its defaults: centre (W/2, H/2), bilinear, mode 'reflect', no rotation; radius half the shorter side, as
frechet's disturbance uses) and swirl.json (versions, and how far a centre off by half a pixel or a nearest-neighbour
interpolation would move the result, so the test's tolerance is shown to tell them apart).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import scipy
import skimage
from skimage.transform import swirl

OUT = Path(__file__).resolve().parents[2] / "tests" / "goldens" / "report"
SHAPES = ((24, 32), (31, 20))
STRENGTHS = (1.0, 3.0, 5.0)


def image(shape: tuple[int, int], seed: int) -> np.ndarray:
    """A smooth colour gradient with a bright square and some noise, float in [0, 1]."""
    rng = np.random.default_rng(seed)
    height, width = shape
    y, x = np.mgrid[0:height, 0:width] / np.array([height, width])[:, None, None]
    picture = np.stack([x, y, 0.5 * (x + y)], axis=-1)
    picture[height // 4 : height // 2, width // 3 : width // 2] = 0.9
    return np.clip(picture + 0.05 * rng.standard_normal(picture.shape), 0.0, 1.0)


def main() -> None:
    arrays, shifts = {}, {}
    for number, shape in enumerate(SHAPES):
        picture = image(shape, number)
        arrays[f"image{number}"] = picture
        radius = min(shape) / 2.0
        for strength in STRENGTHS:
            arrays[f"image{number}_strength{strength:g}"] = swirl(picture, strength=strength, radius=radius)
            centre = np.array(shape)[::-1] / 2.0
            off = swirl(picture, center=centre + 0.5, strength=strength, radius=radius)
            nearest = swirl(picture, strength=strength, radius=radius, order=0)
            reference = arrays[f"image{number}_strength{strength:g}"]
            shifts[f"image{number}_strength{strength:g}"] = {
                "centre_off_by_half_pixel": float(np.abs(off - reference).max()),
                "nearest_neighbour": float(np.abs(nearest - reference).max()),
            }
    OUT.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(OUT / "swirl.npz", **arrays)
    meta = {"scikit-image": skimage.__version__, "scipy": scipy.__version__, "numpy": np.__version__,
            "strengths": list(STRENGTHS), "shapes": [list(shape) for shape in SHAPES], "max_abs_change": shifts}
    (OUT / "swirl.json").write_text(json.dumps(meta, indent=2) + "\n")


if __name__ == "__main__":
    main()
