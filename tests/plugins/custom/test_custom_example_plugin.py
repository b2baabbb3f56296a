"""The example third-party plugin (plugins/frechet-webtoon-example) installs as its own distribution, is discovered
through its entry point, is listed, and runs a full `frechet compute` that tiles tall panels."""

from __future__ import annotations

import importlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from custom_helpers import oracle_fd, run_cli
from PIL import Image, ImageDraw

from frechet.plugins import get_plugins, get_registry, reset_plugins

EXAMPLE = Path(__file__).resolve().parents[3] / "plugins" / "frechet-webtoon-example"
TILE = 16


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """pip-install a copy of the example (building writes next to the sources) into a fresh folder, offline: no
    dependencies, the build backend already here."""
    source = shutil.copytree(EXAMPLE, tmp_path_factory.mktemp("source") / EXAMPLE.name)
    target = tmp_path_factory.mktemp("site")
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation", "--no-index",
         "--target", str(target), str(source)],
        check=True, capture_output=True,
    )
    return target


@pytest.fixture
def on_path(installed, monkeypatch):
    monkeypatch.syspath_prepend(str(installed))
    monkeypatch.delitem(sys.modules, "frechet_webtoon_example", raising=False)
    importlib.invalidate_caches()
    reset_plugins()
    return installed


@pytest.fixture(scope="module")
def panels(tmp_path_factory) -> tuple[Path, Path]:
    """Tall strips TILE wide and 16 to 70 high (1 to 5 tiles): ellipses for real, rectangles for fake."""
    root = tmp_path_factory.mktemp("panels")
    rng = np.random.default_rng(11)
    for side, shape in (("real", "ellipse"), ("fake", "rectangle")):
        (root / side).mkdir()
        for index in range(14):
            height = int(rng.integers(TILE, 71))
            image = Image.new("RGB", (TILE, height), tuple(int(v) for v in rng.integers(0, 256, 3)))
            top = int(rng.integers(0, height - 8))
            getattr(ImageDraw.Draw(image), shape)((2, top, TILE - 2, top + 8), fill=tuple(int(v) for v in rng.integers(0, 256, 3)))
            image.save(root / side / f"{index:02d}.png")
    return root / "real", root / "fake"


@pytest.fixture
def checkpoint(on_path, tmp_path) -> Path:
    from frechet_webtoon_example import PanelNet

    torch.manual_seed(4)
    path = tmp_path / "panelnet.pth"
    torch.save(PanelNet(dims=5).state_dict(), path)
    return path


def _panel_features(folder: Path, checkpoint: Path) -> np.ndarray:
    """Oracle: every TILE-row window from the top in steps of TILE, plus one flush with the bottom; mean embedding."""
    from frechet_webtoon_example import PanelNet

    model = PanelNet(dims=5).eval()
    model.load_state_dict(torch.load(checkpoint, weights_only=True))
    rows = []
    for path in sorted(folder.glob("*.png")):
        pixels = torch.from_numpy(np.array(Image.open(path).convert("RGB"))).permute(2, 0, 1).float() / 255
        height = pixels.shape[1]
        tops = list(range(0, height - TILE, TILE))
        if height - TILE not in tops:
            tops.append(height - TILE)
        with torch.no_grad():
            rows.append(model(torch.stack([pixels[:, top : top + TILE] for top in tops])).mean(0).double().numpy())
    return np.stack(rows)


def test_the_example_is_discovered_through_its_entry_point_and_listed(on_path, capsys):
    record = next(r for r in get_plugins().records if r.name == "webtoon-example")
    assert (record.status, record.distribution, record.module) == ("loaded", "frechet-webtoon-example",
                                                                    "frechet_webtoon_example")
    assert get_registry().embedder_info("webtoon-panels")[0].plugin == "webtoon-example"
    _, plugins, _ = run_cli(capsys, "plugins")
    assert {"name": "webtoon-example", "status": "loaded"}.items() <= next(
        row for row in plugins["plugins"] if row["name"] == "webtoon-example").items()
    _, embedders, _ = run_cli(capsys, "embedders")
    listed = next(row for row in embedders["embedders"] if row["name"] == "webtoon-panels")
    assert (listed["domain"], listed["plugin"], list(listed["outputs"])) == ("image", "webtoon-example", ["panel"])


def test_a_full_compute_in_a_fresh_process_tiles_panels_and_averages_their_tiles(on_path, panels, checkpoint):
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join([str(on_path), os.environ.get("PYTHONPATH", "")])}
    completed = subprocess.run(
        [sys.executable, "-m", "frechet", "compute", *map(str, panels), "--embedder", "webtoon-panels",
         "--weights", str(checkpoint), "--embedder-option", f"tile={TILE}", "--batch-size", "5", "--json"],
        capture_output=True, text=True, env=environment, timeout=120,
    )
    assert completed.returncode == 0, completed.stderr
    result = json.loads(completed.stdout.strip().splitlines()[-1])
    expected = oracle_fd(*(_panel_features(folder, checkpoint) for folder in panels))
    assert result["fd"] == pytest.approx(expected, rel=1e-6)
    assert (result["n_real"], result["n_fake"]) == (14, 14)
    assert result["embedder"].startswith("webtoon-panels(checkpoint=") and f"tile={TILE}" in result["embedder"]


def test_without_a_checkpoint_the_example_says_what_to_pass(on_path, panels, capsys):
    code, _, err = run_cli(capsys, "compute", *map(str, panels), "--embedder", "webtoon-panels")
    assert code == 2 and "give your PanelNet checkpoint with --weights PATH" in err


@pytest.mark.parametrize(
    ("option", "message"),
    [("tiles=256", "embedder 'webtoon-panels' has no option 'tiles' (did you mean 'tile'?); it takes weights, tile"),
     ("tile=abc", "embedder 'webtoon-panels': --embedder-option tile=abc is not valid (not a whole number")],
)
def test_a_misspelt_or_malformed_option_is_one_line_naming_what_the_example_takes(
    on_path, panels, checkpoint, capsys, option, message
):
    code, _, err = run_cli(capsys, "compute", *map(str, panels), "--embedder", "webtoon-panels", "--weights",
                           str(checkpoint), "--embedder-option", option)
    assert code == 2 and len(err.strip().splitlines()) == 1 and message in err
