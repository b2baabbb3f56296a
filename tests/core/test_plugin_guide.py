"""The whole plugin in docs/plugins.md, exactly as written there, works by name as a third-party plugin: its
pyproject.toml installs it, it is listed with its options, isolated with FRECHET_PLUGINS (its image requirement loads
with it), and its option errors are checked."""

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import frechet
from frechet.distance import frechet_distance
from frechet.errors import ConfigError
from frechet.plugins import get_plugins, reset_plugins
from frechet.stats import FeatureStats

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "plugins.md"


def _section() -> str:
    return GUIDE.read_text().split("## A whole plugin: one module and its pyproject.toml", 1)[1].split("\n## ", 1)[0]


def _documented_plugin() -> str:
    return re.search(r"```python\n(.*?)```", _section(), re.DOTALL).group(1)


def test_the_documented_pyproject_installs_the_plugin_under_its_name(tmp_path):
    source = tmp_path / "source"
    source.mkdir()
    (source / "frechet_mean_colour.py").write_text(_documented_plugin())
    (source / "pyproject.toml").write_text(re.search(r"```toml\n(.*?)```", _section(), re.DOTALL).group(1))
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation", "--no-index",
                    "--target", str(tmp_path / "site"), str(source)], check=True, capture_output=True, timeout=300)
    done = subprocess.run([sys.executable, "-m", "frechet", "embedders", "mean-colour"], capture_output=True,
                          text=True, timeout=120, check=False,
                          env={**os.environ, "PYTHONPATH": str(tmp_path / "site"), "FRECHET_PLUGINS": "mean-colour"})
    assert done.returncode == 0, done.stderr
    assert "mean-colour" in done.stdout and "scale" in done.stdout


@pytest.fixture
def mean_colour(install_plugin, monkeypatch):
    site = install_plugin("mean-colour", _documented_plugin(), module="frechet_mean_colour")
    monkeypatch.setenv("FRECHET_PLUGINS", "mean-colour")  # alone: the image plugin must come with it
    reset_plugins()
    return site


@pytest.fixture
def images(tmp_path):
    rng = np.random.default_rng(2)
    folders = []
    for side, bright in (("real", 60), ("fake", 140)):
        folder = tmp_path / side
        folder.mkdir()
        for index in range(12):
            pixels = np.clip(rng.normal(bright, 40, (20 + index, 24, 3)), 0, 255).astype(np.uint8)
            Image.fromarray(pixels).save(folder / f"{index}.png")
        folders.append(folder)
    return folders


def _oracle(folder: Path, scale: float) -> FeatureStats:
    rows = []
    for path in sorted(folder.glob("*.png")):
        pixels = torch.from_numpy(np.array(Image.open(path).convert("RGB"))).float().reshape(-1, 3) / 255
        rows.append(torch.cat([pixels.mean(0), pixels.std(0)]) * scale)
    return FeatureStats.from_features(torch.stack(rows))


def test_the_documented_plugin_loads_alone_with_the_image_plugin_it_requires(mean_colour):
    records = {record.name: record.status for record in get_plugins().records}
    assert records["mean-colour"] == "loaded" and records["image"] == "loaded"
    assert records["inception"] == "disabled"


def test_the_documented_plugin_computes_by_name_with_its_declared_option(mean_colour, images):
    result = frechet.compute(*images, embedder="mean-colour", embedder_options={"scale": "2"}, progress=False)
    assert result["embedder"] == "mean-colour(scale=2.0)"
    assert result["fd"] == pytest.approx(frechet_distance(*(_oracle(f, 2.0) for f in images)), rel=1e-6)


def test_the_documented_plugin_gets_one_line_option_errors_from_the_core(mean_colour, images):
    with pytest.raises(ConfigError, match=r"has no option 'scal' \(did you mean 'scale'\?\); it takes scale"):
        frechet.compute(*images, embedder="mean-colour", embedder_options={"scal": "2"})
    done = subprocess.run(
        [sys.executable, "-m", "frechet", "compute", *map(str, images), "--embedder", "mean-colour",
         "--embedder-option", "scale=big"],
        capture_output=True, text=True, timeout=120, env={**__import__("os").environ, "PYTHONPATH": str(mean_colour)},
    )
    assert done.returncode == 2 and done.stderr.count("\n") == 1
    assert "--embedder-option scale=big is not valid (not a number; scale is number)" in done.stderr
