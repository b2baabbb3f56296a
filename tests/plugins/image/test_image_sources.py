"""Image sources: folders, single files, .zip archives, in-memory arrays and tensors, generator callables."""

from __future__ import annotations

import pickle
import zipfile

import numpy as np
import pytest
import torch
from conftest import write_image

import frechet
from frechet.cache import FeatureCache
from frechet.errors import InputError
from frechet.plugins import get_registry
from frechet_image import ImageGenerator, decode_image
from frechet_image.sources import GeneratorSource, ImageArraySource, ImageFileSource, ZipImageSource


def _open(input):
    return get_registry().open_source(input, "image")


# ---------------------------------------------------------------------------------------------------- folders
def test_a_folder_lists_its_images_recursively_sorted_and_skips_hidden_and_other_files(tmp_path):
    for name in ["b.PNG", "a/c.jpg", "z.JPEG", "a/d/e.webp", "a/.hidden.png", ".git/x.png"]:
        write_image(tmp_path / name, (10, 20, 30))
    (tmp_path / "notes.txt").write_text("not an image")
    (tmp_path / "f.gif").write_bytes(b"GIF89a")
    source = _open(tmp_path)
    assert isinstance(source, ImageFileSource)
    assert [str(path.relative_to(tmp_path)) for path in source.paths] == ["a/c.jpg", "a/d/e.webp", "b.PNG", "z.JPEG"]
    assert source.label == str(tmp_path) and source.item_name(2) == str(tmp_path / "b.PNG")


def test_files_of_other_types_gif_included_are_left_out_as_the_peers_do_and_counted_in_one_line(tmp_path, caplog):
    write_image(tmp_path / "a.png", (10, 20, 30))
    (tmp_path / "one.gif").write_bytes(b"GIF89a")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "two.GIF").write_bytes(b"GIF89a")
    (tmp_path / "notes.txt").write_text("not an image")
    with caplog.at_level("INFO", logger="frechet"):
        source = _open(tmp_path)
    assert len(source) == 1
    assert f"{tmp_path}: 3 files left out, of types not read here (.gif ×2, .txt ×1); read are .bmp" in caplog.text


def test_image_folders_are_keyed_for_the_feature_cache_by_file_bytes_and_pixel_limit(tmp_path, monkeypatch):
    for index in range(3):
        write_image(tmp_path / f"{index}.png", (10 * index, 20, 30))
    cache = FeatureCache(tmp_path / "cache")

    def key():
        return cache.shard_keys(_open(tmp_path), ["some-embedder"], [(0, 3)])["some-embedder"][0]

    first = key()
    assert key() == first and _open(tmp_path).item_path(1) == tmp_path / "1.png"
    monkeypatch.setenv("FRECHET_MAX_IMAGE_PIXELS", "1000")
    assert key() != first
    monkeypatch.delenv("FRECHET_MAX_IMAGE_PIXELS")
    write_image(tmp_path / "1.png", (99, 20, 30))
    assert key() != first


def test_folder_items_are_the_decoded_files(tmp_path):
    path = write_image(tmp_path / "one.png", (200, 100, 50), size=(7, 5))
    item = _open(tmp_path).load(0)
    assert item.dtype == np.uint8 and item.shape == (5, 7, 3)
    np.testing.assert_array_equal(item, decode_image(path))


def test_an_empty_folder_is_an_input_error_saying_what_was_looked_for(tmp_path):
    (tmp_path / "readme.txt").write_text("no images here")
    with pytest.raises(InputError, match=rf"{tmp_path}: no image files found \(looked recursively for .bmp, "):
        _open(tmp_path)


def test_a_single_image_file_is_a_one_item_source(tmp_path):
    path = write_image(tmp_path / "only.jpg", (1, 2, 3))
    source = _open(path)
    assert len(source) == 1 and source.item_name(0) == str(path) and source.load(0).shape == (9, 12, 3)


# ---------------------------------------------------------------------------------------------------- zip
def _zip(path, members: dict[str, bytes]):
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def test_a_zip_is_read_in_place_with_members_sorted_and_hidden_ones_skipped(tmp_path):
    red = write_image(tmp_path / "files" / "red.png", (250, 0, 0)).read_bytes()
    blue = write_image(tmp_path / "files" / "blue.png", (0, 0, 250)).read_bytes()
    archive = _zip(
        tmp_path / "set.zip",
        {"b/red.PNG": red, "a.png": blue, "__MACOSX/._a.png": b"junk", ".hidden.png": red, "c/": b"", "x.txt": b"t"},
    )
    source = _open(archive)
    assert isinstance(source, ZipImageSource) and len(source) == 2
    assert [source.item_name(i) for i in range(2)] == [f"{archive}:a.png", f"{archive}:b/red.PNG"]
    np.testing.assert_array_equal(source.load(1), decode_image(tmp_path / "files" / "red.png"))
    assert not (tmp_path / "a.png").exists() and not (tmp_path / "b").exists()


def test_a_pickled_zip_source_reopens_its_archive(tmp_path):
    data = write_image(tmp_path / "p.png", (5, 6, 7)).read_bytes()
    source = _open(_zip(tmp_path / "set.zip", {"p.png": data}))
    source.load(0)
    copy = pickle.loads(pickle.dumps(source))
    np.testing.assert_array_equal(copy.load(0), source.load(0))


@pytest.mark.parametrize("member", ["../evil.png", "/etc/evil.png", "a/../../evil.png", "C:/evil.png", "..\\evil.png"])
def test_a_zip_with_a_member_escaping_its_root_is_refused(tmp_path, member):
    archive = _zip(tmp_path / "bad.zip", {"fine.png": b"x", member: b"x"})
    with pytest.raises(InputError, match=r"bad\.zip: member name '.*evil\.png' is absolute or climbs out with '\.\.'"):
        _open(archive)


def test_a_file_named_zip_that_is_not_one_is_an_input_error(tmp_path):
    path = tmp_path / "fake.zip"
    path.write_bytes(b"PK but not really")
    with pytest.raises(InputError, match=r"fake\.zip: not a readable \.zip archive"):
        _open(path)


def test_a_zip_without_images_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match=r"docs\.zip: no image members found"):
        _open(_zip(tmp_path / "docs.zip", {"readme.txt": b"hello"}))


def test_bad_zip_members_are_input_errors_naming_archive_and_member(tmp_path):
    archive = _zip(tmp_path / "set.zip", {"empty.png": b"", "junk.png": b"not an image"})
    source = _open(archive)
    with pytest.raises(InputError, match=rf"{archive}:empty\.png: empty file"):
        source.load(0)
    with pytest.raises(InputError, match=rf"{archive}:junk\.png: cannot decode this image"):
        source.load(1)


# ---------------------------------------------------------------------------------------------------- arrays
def test_a_numpy_batch_is_channels_last_uint8():
    images = np.random.default_rng(0).integers(0, 256, (3, 5, 4, 3), dtype=np.uint8)
    source = _open(images)
    assert isinstance(source, ImageArraySource) and len(source) == 3
    np.testing.assert_array_equal(source.load(2), images[2])
    assert source.item_name(1) == "<array (3, 5, 4, 3)>[1]"


def test_a_torch_batch_is_channels_first_uint8():
    images = torch.randint(0, 256, (2, 3, 5, 4), dtype=torch.uint8)
    np.testing.assert_array_equal(_open(images).load(1), images[1].permute(1, 2, 0).numpy())


def test_float_images_in_0_1_are_rounded_to_the_nearest_8_bit_level():
    levels = torch.tensor([0.0, 0.49 / 255, 0.51 / 255, 1.49 / 255, 254.6 / 255, 1.0]).reshape(1, 1, 1, 6)
    images = levels.expand(1, 3, 1, 6).contiguous()
    assert _open(images).load(0)[0, :, 0].tolist() == [0, 0, 1, 1, 255, 255]
    np.testing.assert_array_equal(_open(images.permute(0, 2, 3, 1).numpy()).load(0), _open(images).load(0))


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float32, torch.float64])
def test_every_8_bit_level_survives_a_trip_through_floats(dtype):
    levels = torch.arange(256, dtype=torch.float64).div(255).to(dtype)
    images = levels.reshape(1, 1, 16, 16).expand(1, 3, 16, 16).contiguous()
    assert _open(images).load(0)[:, :, 1].ravel().tolist() == list(range(256))


def test_float_images_outside_0_1_are_refused_naming_the_item():
    images = torch.zeros(2, 3, 4, 4)
    images[1, 0, 0, 0] = 255.0
    source = _open(images)
    source.load(0)
    with pytest.raises(InputError, match=r"<tensor \(2, 3, 4, 4\)>\[1\]: float images must hold values in \[0, 1\]"):
        source.load(1)
    images[1, 0, 0, 0] = float("nan")
    with pytest.raises(InputError, match="must hold values in"):
        source.load(1)


@pytest.mark.parametrize(
    ("images", "message"),
    [
        (torch.zeros(2, 4, 4, 4, dtype=torch.uint8), r"laid out as \(N, H, W, 3\) or \(N, 3, H, W\) with 3 RGB"),
        (np.zeros((2, 1, 4, 4), np.uint8), r"laid out as \(N, H, W, 3\) or \(N, 3, H, W\) .*got shape \(2, 1, 4, 4\)"),
        (np.zeros((2, 4, 4, 3), np.int16), "must be uint8 .* or floating point .*, got int16"),
        (torch.zeros(2, 3, 4, 4, dtype=torch.int32), "got torch.int32"),
        (np.zeros((0, 4, 4, 3), np.uint8), "holds no image pixels"),
    ],
)
def test_batches_that_cannot_be_rgb_images_are_refused_with_the_fix(images, message):
    with pytest.raises(InputError, match=message):
        _open(images)


def test_grey_or_one_dimensional_arrays_are_told_what_an_image_input_is_not_called_audio():
    with pytest.raises(InputError, match=r"a batch of grey \(N, H, W\) images; give them 3 RGB channels first, e\.g\. "
                                         r"np\.repeat\(images\[\.\.\., None\], 3, axis=-1\)"):
        frechet.compute(np.zeros((4, 8, 8)), np.zeros((4, 8, 8)), embedder="inception", progress=False)
    with pytest.raises(InputError) as raised:
        frechet.compute(np.zeros(20), np.zeros(20), embedder="inception", progress=False)
    assert str(raised.value).startswith("<ndarray (20,)>: the embedder reads image inputs, and no installed image "
                                        "source reads this object; in memory, image inputs are: (N, H, W, 3)")
    assert "audio" not in str(raised.value)


# ---------------------------------------------------------------------------------------------------- generators
class _Counter:
    """A generator callable recording the batch sizes it was asked for; image k is filled with the value k."""

    def __init__(self) -> None:
        self.calls: list[int] = []
        self.drawn = 0

    def __call__(self, count: int) -> torch.Tensor:
        assert torch.is_inference_mode_enabled()
        self.calls.append(count)
        values = torch.arange(self.drawn, self.drawn + count, dtype=torch.uint8)
        self.drawn += count
        return values.reshape(count, 1, 1, 1).expand(count, 3, 2, 2).contiguous()


def test_a_generator_is_called_in_batches_until_its_sample_count():
    fn = _Counter()
    source = _open(ImageGenerator(fn, 10, batch_size=4))
    assert isinstance(source, GeneratorSource) and len(source) == 10 and not source.parallel_load
    assert [int(source.load(i)[0, 0, 0]) for i in range(10)] == list(range(10))
    assert fn.calls == [4, 4, 2]


def test_a_generator_source_is_read_in_increasing_order_only():
    source = _open(ImageGenerator(_Counter(), 10, batch_size=4))
    source.load(9)
    with pytest.raises(InputError, match=r"items must be read in order \(asked for 0 out of turn\)"):
        source.load(0)


def test_a_generator_source_skipping_ahead_draws_the_later_batch_fresh():
    # a torchrun rank reads only its own shards: its indices jump over the other ranks' items
    fn = _Counter()
    source = _open(ImageGenerator(fn, 10, batch_size=4))
    assert [int(source.load(i)[0, 0, 0]) for i in (1, 9)] == [1, 5]
    assert fn.calls == [4, 2]


def test_a_bare_callable_is_refused_with_advice_on_giving_the_count():
    advice = r"needs a sample count; pass frechet_image\.ImageGenerator\(fn, num_samples=N\)"
    with pytest.raises(InputError, match=advice):
        _open(_Counter())


@pytest.mark.parametrize(
    ("fn", "message"),
    [
        (lambda count: torch.zeros(count + 1, 3, 2, 2, dtype=torch.uint8), r" returned 5 images for fn\(4\)"),
        (lambda count: torch.zeros(count, 2, 2, 2, dtype=torch.uint8), r": images must be laid out as"),
        (lambda count: [0] * count, r" returned a list; fn\(b\) must return a \(b, 3, H, W\) tensor"),
    ],
)
def test_a_generator_returning_the_wrong_thing_fails_naming_the_call(fn, message):
    source = _open(ImageGenerator(fn, 6, batch_size=4))
    with pytest.raises(InputError, match=r"^<ImageGenerator\(<lambda>, 6\)>: call 1 \(items 0-3\)" + message):
        source.load(0)


@pytest.mark.parametrize(("kwargs", "message"), [({"num_samples": 0}, "num_samples must be a positive"),
                                                 ({"num_samples": 5, "batch_size": 2.5}, "batch_size must be")])
def test_image_generator_checks_its_counts(kwargs, message):
    with pytest.raises(InputError, match=message):
        ImageGenerator(_Counter(), **kwargs)


def test_a_generator_feeds_compute_in_order_even_when_workers_are_asked_for(tmp_path, mean_colour):
    for index in range(4):
        write_image(tmp_path / "real" / f"{index}.png", (40 * index, 80, 120))
    fn = _Counter()
    result = frechet.compute(tmp_path / "real", ImageGenerator(fn, 10, batch_size=3), embedder=mean_colour,
                             workers=2, batch_size=4, progress=False)
    assert fn.calls == [3, 3, 3, 1]
    assert result["n_fake"] == 10 and result["n_real"] == 4 and result["fd"] > 0
