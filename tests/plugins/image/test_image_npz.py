"""Image batches in an .npz (the ADM evaluator's format): read in place, the same statistics as the same images in a
folder, refused with the fix when they cannot be images, never mistaken for a feature file."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

import frechet
from frechet.errors import InputError
from frechet.features import is_feature_input
from frechet.plugins import get_registry
from frechet.runner import _infer_embedder
from frechet_image.npz import NpzImageSource


def _batch(count: int = 12, size: int = 20, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (count, size, size, 3), dtype=np.uint8)


@pytest.mark.parametrize("save", [np.savez, np.savez_compressed])
def test_an_npz_of_images_gives_exactly_the_statistics_of_the_same_images_in_a_folder(tmp_path, mean_colour, save):
    images = _batch()
    save(tmp_path / "batch.npz", arr_0=images)
    folder = tmp_path / "folder"
    folder.mkdir()
    for index, image in enumerate(images):
        Image.fromarray(image).save(folder / f"{index:03d}.png")
    from_npz = frechet.compute_stats(tmp_path / "batch.npz", embedder=mean_colour, progress=False, cache=False)
    from_folder = frechet.compute_stats(folder, embedder=mean_colour, progress=False, cache=False)
    assert np.array_equal(from_npz.mean, from_folder.mean) and np.array_equal(from_npz.cov, from_folder.cov)
    assert from_npz.n == from_folder.n == len(images)


def test_an_uncompressed_batch_is_read_in_place_and_names_its_items(tmp_path):
    images = _batch(5)
    np.savez(tmp_path / "samples.npz", arr_0=images)
    source = get_registry().open_source(tmp_path / "samples.npz", "image")
    assert isinstance(source, NpzImageSource) and len(source) == 5
    assert np.array_equal(source.load(3), images[3]) and source.item_name(3).endswith("samples.npz[3]")
    assert source.item_digest(3) != source.item_digest(4) and source.stored_stats() == {}
    assert source._array is None  # each image read from its place in the file, the batch never held in memory


def test_a_batch_is_cached_by_content_and_a_rerun_reads_the_cache(tmp_path, mean_colour):
    np.savez(tmp_path / "samples.npz", arr_0=_batch())
    first = frechet.compute_stats(tmp_path / "samples.npz", embedder=mean_colour, progress=False)
    again = frechet.compute_stats(tmp_path / "samples.npz", embedder=mean_colour, progress=False)
    assert np.array_equal(first.cov, again.cov)


@pytest.mark.parametrize(
    ("arrays", "message"),
    [
        ({"arr_0": np.zeros((2, 8, 8, 3), np.float32)}, "float32 array .* uint8 \\(N, H, W, 3\\)"),
        ({"arr_0": np.zeros((2, 8, 8, 4), np.uint8)}, "uint8 \\(N, H, W, 3\\)"),
        ({"labels": np.zeros(3), "other": np.zeros(3)}, "no image batch found .* np.savez\\(path, arr_0=images\\)"),
        ({"arr_0": np.zeros((0, 8, 8, 3), np.uint8)}, "holds no images"),
    ],
)
def test_arrays_that_cannot_be_an_image_batch_are_refused_with_the_fix(tmp_path, arrays, message):
    np.savez(tmp_path / "bad.npz", **arrays)
    with pytest.raises(InputError, match=message):
        NpzImageSource(tmp_path / "bad.npz")


def test_an_image_batch_is_not_a_feature_file_but_a_feature_matrix_still_is(tmp_path):
    np.savez(tmp_path / "samples.npz", arr_0=_batch(3))
    np.savez(tmp_path / "features.npz", features=np.zeros((3, 4)))
    assert not is_feature_input(tmp_path / "samples.npz") and is_feature_input(tmp_path / "features.npz")
    assert _infer_embedder([tmp_path / "samples.npz"], []) == "inception"
    assert _infer_embedder([tmp_path / "features.npz"], []) == "features"
