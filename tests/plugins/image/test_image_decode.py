"""Decoding: the peers' conversion rules (alpha, palettes, CMYK, 16-bit, EXIF), bad files, the pixel limit."""

from __future__ import annotations

import hashlib
import io
import json
import logging
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from frechet.errors import ConfigError, InputError
from frechet_image import decode
from frechet_image.decode import MAX_PIXELS_ENV, decode_image, pixel_limit

GOLDENS = Path(__file__).resolve().parents[2] / "goldens" / "image"


@pytest.fixture(autouse=True)
def _pillow_limit_restored(monkeypatch):
    """Raising frechet's limit raises Pillow's process-wide one; put it back after each test."""
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", Image.MAX_IMAGE_PIXELS)
    monkeypatch.delenv(MAX_PIXELS_ENV, raising=False)


def _png(tmp_path: Path, array: np.ndarray, name: str = "image.png") -> Path:
    path = tmp_path / name
    Image.fromarray(array).save(path)
    return path


def _png_header_only(width: int, height: int) -> bytes:
    """A small PNG that declares width x height 8-bit grayscale but holds (almost) no pixel data."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b"")


def test_decoding_matches_the_peers_on_every_golden_file():
    golden = json.loads((GOLDENS / "preprocess.json").read_text())["files"]
    for name, record in golden.items():
        rgb = decode_image(GOLDENS / "inputs" / name)
        assert rgb.dtype == np.uint8 and list(rgb.shape) == record["decoded"]["shape"], name
        assert hashlib.sha256(rgb.tobytes()).hexdigest() == record["decoded"]["sha256"], name


def test_alpha_is_dropped_not_composited(tmp_path):
    rgba = np.array([[[10, 20, 30, 0], [200, 100, 50, 128]]], dtype=np.uint8)
    assert decode_image(_png(tmp_path, rgba)).tolist() == [[[10, 20, 30], [200, 100, 50]]]


def test_gray_with_alpha_repeats_the_gray_value(tmp_path):
    gray_alpha = np.array([[[7, 0], [250, 255]]], dtype=np.uint8)
    assert decode_image(_png(tmp_path, gray_alpha)).tolist() == [[[7, 7, 7], [250, 250, 250]]]


def test_palette_images_with_transparency_give_their_palette_colours(tmp_path):
    image = Image.new("P", (2, 1))
    image.putpalette([255, 0, 0, 0, 0, 255])
    image.putpixel((1, 0), 1)
    path = tmp_path / "palette.png"
    image.save(path, transparency=0)
    assert decode_image(path).tolist() == [[[255, 0, 0], [0, 0, 255]]]


def test_cmyk_is_converted_without_colour_management(tmp_path):
    # Pillow's plain conversion: R = (255 - C)(255 - K) / 255 rounded, and likewise G from M, B from Y.
    image = Image.new("CMYK", (3, 1))
    for x, ink in enumerate([(0, 0, 0, 0), (255, 0, 0, 0), (0, 100, 0, 55)]):
        image.putpixel((x, 0), ink)
    path = tmp_path / "cmyk.tiff"
    image.save(path)
    assert decode_image(path).tolist() == [[[255, 255, 255], [0, 255, 255], [200, 122, 200]]]


def test_sixteen_bit_values_are_clipped_to_8_bits_like_the_peers_and_said_once(tmp_path, caplog, monkeypatch):
    monkeypatch.setattr(decode, "_warned_wide", False)
    wide = np.array([[0, 100, 255, 256, 1000, 65535]], dtype=np.uint16)
    with caplog.at_level(logging.WARNING, logger="frechet"):
        first = decode_image(_png(tmp_path, wide, "a.png"))
        decode_image(_png(tmp_path, wide, "b.png"))
    assert first[0, :, 0].tolist() == [0, 100, 255, 255, 255, 255]
    assert [record.message for record in caplog.records if "clipped" in record.message] == [
        caplog.records[0].message
    ] and "a.png" in caplog.records[0].message


def test_sixteen_bit_rgb_keeps_the_high_byte_of_each_value():
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    pixels = np.array([0x1234, 0xABCD, 0xFFFF, 0x00FF, 0x0100, 0x8000], dtype=">u2")
    header = struct.pack(">IIBBBBB", 2, 1, 16, 2, 0, 0, 0)  # 2 x 1, 16 bits per channel, RGB
    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\x00" + pixels.tobytes()))
    assert decode_image(png + chunk(b"IEND", b"")).tolist() == [[[0x12, 0xAB, 0xFF], [0x00, 0x01, 0x80]]]


def test_exif_orientation_is_ignored_like_the_peers():
    # The file is stored 64 wide and 40 high with orientation 6 ("rotate to display"); the peers never rotate.
    path = GOLDENS / "inputs" / "exif_rot6_64x40.jpg"
    assert Image.open(path).getexif()[0x0112] == 6
    assert decode_image(path).shape == (40, 64, 3)


def test_a_multi_frame_file_gives_its_first_frame(tmp_path):
    frames = [Image.new("RGB", (2, 2), colour) for colour in ((255, 0, 0), (0, 0, 255))]
    path = tmp_path / "two.gif"
    frames[0].save(path, save_all=True, append_images=frames[1:])
    assert decode_image(path)[0, 0].tolist() == [255, 0, 0]


def test_bytes_decode_like_files_and_are_named_in_errors(tmp_path):
    path = _png(tmp_path, np.full((3, 4, 3), 9, np.uint8))
    np.testing.assert_array_equal(decode_image(path.read_bytes(), name="member.png"), decode_image(path))
    with pytest.raises(InputError, match="^member.png: "):
        decode_image(b"not an image", name="member.png")


def test_a_zero_byte_file_is_an_input_error_naming_it(tmp_path):
    path = tmp_path / "empty.png"
    path.write_bytes(b"")
    with pytest.raises(InputError, match=r"empty\.png: empty file \(0 bytes\)"):
        decode_image(path)


@pytest.mark.parametrize("suffix", [".png", ".jpg"])
def test_a_truncated_file_is_an_input_error_naming_it(tmp_path, suffix):
    rng = np.random.default_rng(0)
    whole = tmp_path / f"whole{suffix}"
    Image.fromarray(rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)).save(whole)
    cut = tmp_path / f"cut{suffix}"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    with pytest.raises(InputError, match=rf"cut\{suffix}: cannot decode this image \(.+\); it is corrupt, truncated"):
        decode_image(cut)


def test_a_file_that_is_not_an_image_is_an_input_error_naming_it(tmp_path):
    path = tmp_path / "notes.png"
    path.write_text("just text")
    with pytest.raises(InputError, match=r"notes\.png: cannot decode this image"):
        decode_image(path)


def test_an_image_above_pillows_limit_is_refused_before_decoding(tmp_path):
    path = tmp_path / "bomb.png"
    path.write_bytes(_png_header_only(20_000, 20_000))
    with pytest.raises(InputError) as error:
        decode_image(path)
    message = str(error.value)
    assert message.startswith(f"{path}: 400,000,000 pixels is above the limit of 89,478,485 pixels")
    assert f"{MAX_PIXELS_ENV}=400000000" in message


def test_the_pixel_limit_is_raised_or_lifted_through_the_environment(tmp_path, monkeypatch):
    path = _png(tmp_path, np.zeros((40, 40, 3), np.uint8))
    monkeypatch.setenv(MAX_PIXELS_ENV, "1000")
    with pytest.raises(InputError, match="1,600 pixels is above the limit of 1,000 pixels"):
        decode_image(path)
    monkeypatch.setenv(MAX_PIXELS_ENV, "1600")
    assert decode_image(path).shape == (40, 40, 3)
    monkeypatch.setenv(MAX_PIXELS_ENV, "0")
    assert pixel_limit() is None
    assert decode_image(path).shape == (40, 40, 3)


def test_raising_the_limit_past_pillows_lets_pillow_open_the_file(tmp_path, monkeypatch):
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)  # Pillow itself refuses above 2 x 100 pixels
    path = _png(tmp_path, np.zeros((30, 30, 3), np.uint8))
    assert decode_image(path, max_pixels=1000).shape == (30, 30, 3)
    with pytest.raises(InputError, match="900 pixels is above the limit of 800"):
        decode_image(path, max_pixels=800)


def test_a_malformed_limit_is_a_config_error(monkeypatch):
    monkeypatch.setenv(MAX_PIXELS_ENV, "lots")
    with pytest.raises(ConfigError, match=f"{MAX_PIXELS_ENV}='lots'"):
        pixel_limit()


def test_decoded_arrays_are_writable(tmp_path):
    assert decode_image(_png(tmp_path, np.zeros((2, 2, 3), np.uint8))).flags.writeable


def test_decoding_reads_the_bytes_it_is_given(tmp_path):
    buffer = io.BytesIO()
    Image.new("L", (5, 3), 77).save(buffer, format="PNG")
    assert decode_image(buffer.getvalue()).tolist() == [[[77] * 3] * 5] * 3
