"""frechet's image inputs: decoding, image sources, and the resize/normalize kernels image embedders share.

Registered as the ``image`` plugin; embedders of domain "image" (such as ``inception``) read these sources.
"""

from __future__ import annotations

from typing import Any

from frechet.hookspecs import hookimpl
from frechet_image.decode import MAX_PIXELS_ENV, decode_image
from frechet_image.npz import open_image_npz
from frechet_image.preprocess import DEFAULT_PREPROCESS, PREPROCESS_MODES, resize_float, to_model_input
from frechet_image.sources import (
    IMAGE_SUFFIXES,
    ImageGenerator,
    accepts_generator,
    is_image_batch,
    open_image_array,
    open_image_file,
    open_image_folder,
    open_image_generator,
    open_image_zip,
)

__all__ = [
    "DEFAULT_PREPROCESS",
    "IMAGE_SUFFIXES",
    "MAX_PIXELS_ENV",
    "PREPROCESS_MODES",
    "ImageGenerator",
    "decode_image",
    "resize_float",
    "to_model_input",
]


@hookimpl
def frechet_register_sources(register: Any) -> None:
    register(
        "image-folder",
        open_image_folder,
        domain="image",
        directories=True,
        description="folder of image files (recursive, sorted, hidden files skipped)",
    )
    register(
        "image-file",
        open_image_file,
        domain="image",
        suffixes=IMAGE_SUFFIXES,
        description="a single image file",
    )
    register(
        "image-zip",
        open_image_zip,
        domain="image",
        suffixes=(".zip",),
        description=".zip archive of image files, read in place, members sorted",
    )
    register(
        "image-npz",
        open_image_npz,
        domain="image",
        suffixes=(".npz",),
        description="images in an .npz (the ADM evaluator's batches: arr_0, N×H×W×3 uint8), read in place; a "
        "reference batch's stored statistics are used as given",
    )
    register(
        "image-array",
        open_image_array,
        domain="image",
        accepts=is_image_batch,
        description="(N, H, W, 3) numpy array or (N, 3, H, W) torch tensor, uint8 or float in [0, 1] (Python API)",
    )
    register(
        "image-generator",
        open_image_generator,
        domain="image",
        accepts=accepts_generator,
        description="frechet_image.ImageGenerator(fn, num_samples): images drawn from fn(batch_size) (Python API)",
    )
