"""Fixtures for the report and sanity tests: the tiny embedders, small folders of generated images and sounds."""

from __future__ import annotations

import importlib
import wave
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

PLUGIN_SOURCE = Path(__file__).with_name("tiny_plugin.py")


@pytest.fixture
def tiny(install_plugin):
    """The tiny embedders installed as a plugin; the module (``CALLS``, ``SECTIONS``) is returned."""
    site = install_plugin("tiny", PLUGIN_SOURCE.read_text(), module="frechet_test_tiny")
    module = importlib.import_module("frechet_test_tiny")
    module.site = site
    return module


def scenes(count: int, seed: int, size: int = 24, noise: float = 0.0) -> list[np.ndarray]:
    """Gradients with a bright square at a random place (and Gaussian noise of ``noise`` levels), uint8 RGB."""
    rng = np.random.default_rng(seed)
    images = []
    for _ in range(count):
        ramp = np.linspace(0.0, 1.0, size)[:, None, None]
        top, bottom = rng.uniform(0, 255, 3), rng.uniform(0, 255, 3)
        image = np.broadcast_to(top * (1 - ramp) + bottom * ramp, (size, size, 3)).copy()
        y, x = rng.integers(0, size - 8, 2)
        image[y : y + 8, x : x + 8] = rng.uniform(0, 255, 3)
        image += noise * rng.standard_normal(image.shape)
        images.append(np.clip(np.rint(image), 0, 255).astype(np.uint8))
    return images


def write_images(folder: Path, images: list[np.ndarray]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for index, image in enumerate(images):
        Image.fromarray(image).save(folder / f"{index:03d}.png")
    return folder


@pytest.fixture
def image_sets(tmp_path):
    """``real/`` (30 scenes) and ``fake/`` (30 other scenes with noise, and one exact copy of a real image)."""
    real = scenes(30, seed=1)
    fake = scenes(29, seed=2, noise=12.0) + [real[7]]
    return write_images(tmp_path / "real", real), write_images(tmp_path / "fake", fake)


def write_sounds(folder: Path, seed: int, count: int = 8, noise: float = 0.0) -> Path:
    """``count`` mono 16 kHz WAVs of 1-2 s: a tone of a random pitch and loudness (plus white noise)."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    for index in range(count):
        time = np.arange(int(rng.uniform(1.0, 2.0) * 16000)) / 16000
        signal = rng.uniform(0.1, 0.8) * np.sin(2 * np.pi * rng.uniform(100, 2000) * time)
        signal = np.clip(signal + noise * rng.standard_normal(time.size), -1, 1)
        with wave.open(str(folder / f"{index:02d}.wav"), "wb") as writer:
            writer.setnchannels(1)
            writer.setsampwidth(2)
            writer.setframerate(16000)
            writer.writeframes((signal * 32767).astype("<i2").tobytes())
    return folder


@pytest.fixture
def sound_sets(tmp_path):
    """``real/`` (8 tones) and ``fake/`` (8 noisy tones), WAV files."""
    pytest.importorskip("soundfile")
    return write_sounds(tmp_path / "real", seed=1), write_sounds(tmp_path / "fake", seed=2, noise=0.05)
