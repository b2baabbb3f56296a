"""The cutter's settings as source options of ``webtoon:`` and flags of ``frechet webtoon panels``: a changed setting
changes the cut as a strip with known gutters says it must, is recorded with the statistics, and never gets the
feature cache's results of other settings."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import frechet
from frechet.cache import FeatureCache
from frechet.cli import main
from frechet.errors import ConfigError
from frechet.plugins import get_registry

#: The strip: white margins and gutters around three textured panels (first and last row of each); the gutter
#: between the first two is 12 rows tall, the one between the last two 28.
PANELS = ((20, 119), (132, 231), (260, 379))
WIDTH = 160


@pytest.fixture(scope="module")
def episode(tmp_path_factory) -> Path:
    strip = np.full((400, WIDTH, 3), 255, np.uint8)
    rng = np.random.default_rng(3)
    for top, bottom in PANELS:
        strip[top:bottom + 1] = rng.integers(0, 200, (bottom + 1 - top, WIDTH, 3), dtype=np.uint8)
    path = tmp_path_factory.mktemp("strip") / "episode.png"
    Image.fromarray(strip).save(path)
    return path


@pytest.fixture(scope="module")
def model(tmp_path_factory) -> str:
    torch.manual_seed(0)
    network = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 5, stride=4), torch.nn.AdaptiveAvgPool2d(1),
                                  torch.nn.Flatten())
    path = tmp_path_factory.mktemp("model") / "tiny.pt"
    torch.jit.trace(network, torch.zeros(1, 3, 32, 32)).save(path)
    return f"torchscript:{path}"


def _rows(source) -> list[tuple[int, int]]:
    return [(piece.top, piece.bottom) for _, piece in source.items]


def test_min_gutter_decides_which_bands_are_gutters(episode):
    registry = get_registry()
    assert _rows(registry.open_source(f"webtoon:{episode}", "image")) == list(PANELS)
    joined = registry.open_source(f"webtoon:{episode}", "image", {"min_gutter": "16"})
    assert _rows(joined) == [(20, 231), (260, 379)]  # the 12-row gutter is no gutter at 16; the 28-row one is
    assert joined.source_options["min_gutter"] == 16 and joined.source_options["tolerance"] == 32


def test_min_panel_drops_short_panels_and_tile_settings_tile_them(episode):
    registry = get_registry()
    assert _rows(registry.open_source(f"webtoon:{episode}", "image", {"min_panel": 101})) == [(260, 379)]
    tiled = registry.open_source(f"webtoon:{episode}", "image", {"tile_ratio": 0.3125, "overlap": "0.5"})
    first = [(piece.top, piece.bottom) for _, piece in tiled.items if piece.panel == 1]
    # tiles of 0.3125 x 160 = 50 rows, neighbours sharing at least 25: ceil((100 - 50) / 25) + 1 = 3, flush with
    # the panel's ends
    assert first == [(20, 69), (45, 94), (70, 119)]


def test_the_panels_command_takes_the_same_settings_as_flags_or_source_options(episode, tmp_path, capsys):
    runs = {"flag": ["--min-gutter", "16"], "option": ["--source-option", "min-gutter=16"]}
    for name, arguments in runs.items():
        assert main(["webtoon", "panels", str(episode), "-o", str(tmp_path / name), "--json", *arguments]) == 0
        report = json.loads(capsys.readouterr().out.splitlines()[-1])
        items = report["episodes"][0]["items"]
        assert [(item["first_row"], item["last_row"]) for item in items] == [(20, 231), (260, 379)]
        assert report["settings"]["min_gutter"] == 16
    assert main(["webtoon", "panels", str(episode), "-o", str(tmp_path / "both"), "--min-gutter", "16",
                 "--source-option", "min_gutter=12"]) == 2
    assert "--min-gutter and --source-option min_gutter=… both given" in capsys.readouterr().err


def test_bad_settings_are_one_line_naming_the_option_and_what_it_takes(episode, model, tmp_path, capsys):
    cases = {
        ("--source-option", "min_gutter=0"): "--source-option min_gutter=0 is not valid (out of range; min_gutter "
                                             "is a whole number of rows from 1 to 1,048,576)",
        ("--source-option", "overlap=1"): "overlap is a number from 0 up to (not including) 1",
        ("--source-option", "min_guter=3"): "no input of this run takes source option 'min_guter' (did you mean "
                                            "'min_gutter'?)",
        ("--source-option", "column=SMILES"): "it is an option of smiles-csv inputs",
    }
    for arguments, message in cases.items():
        assert main(["stats", f"webtoon:{episode}", "-o", str(tmp_path / "s.npz"), "--embedder", model,
                     "--embedder-option", "size=32", "--workers", "0", "--no-cache", *arguments]) == 2
        error = capsys.readouterr().err
        assert message in error and error.count("\n") == 1, error
    with pytest.raises(SystemExit) as usage:
        main(["webtoon", "panels", str(episode), "-o", str(tmp_path / "p"), "--tolerance", "300"])
    assert usage.value.code == 2
    assert "tolerance is a whole number of levels from 0 to 255" in capsys.readouterr().err
    with pytest.raises(ConfigError, match=r"source_options=\{'tile_ratio': -1\} is not valid"):
        frechet.compute_stats(f"webtoon:{episode}", embedder=model, embedder_options={"size": 32},
                              source_options={"tile_ratio": -1}, workers=0, cache=False)
    assert not (tmp_path / "s.npz").exists()


def test_other_settings_never_reuse_the_cached_features_and_are_saved_with_the_statistics(episode, model, tmp_path):
    registry = get_registry()
    default = registry.open_source(f"webtoon:{episode}", "image")
    same_cut = registry.open_source(f"webtoon:{episode}", "image", {"tolerance": 31})
    assert _rows(same_cut) == _rows(default)  # the same items, pixel for pixel ...
    cache = FeatureCache(tmp_path / "cache")
    keys = [cache.shard_keys(source, ["id"], [(0, len(source))])["id"] for source in (default, same_cut)]
    assert keys[0] != keys[1]  # ... but cut with other settings: other cache entries

    settings = {"embedder": model, "embedder_options": {"size": 32}, "workers": 0, "cache_dir": tmp_path / "cache"}
    first = frechet.compute_stats(f"webtoon:{episode}", save=tmp_path / "default.npz", **settings)
    joined = frechet.compute_stats(f"webtoon:{episode}", save=tmp_path / "joined.npz",
                                   source_options={"min_gutter": 16}, **settings)
    again = frechet.compute_stats(f"webtoon:{episode}", **settings)
    assert (first.n, joined.n, again.n) == (3, 2, 3)
    np.testing.assert_array_equal(first.mean, again.mean)
    saved = frechet.load_stats(tmp_path / "joined.npz").meta
    assert saved["source_options"] == {"min_gutter": 16, "min_panel": 32, "tolerance": 32, "tile_ratio": 2.0,
                                       "overlap": 0.25}
    assert frechet.load_stats(tmp_path / "default.npz").meta["source_options"]["min_gutter"] == 8


def test_a_scorers_reference_is_cut_with_its_source_options(episode, model):
    settings = {"embedder": model, "embedder_options": {"size": 32}, "metrics": "fd", "workers": 0, "cache": False}
    scorer = frechet.Scorer(reference=f"webtoon:{episode}", source_options={"min_gutter": 16}, **settings)
    scorer.update(np.random.default_rng(0).integers(0, 256, (4, 32, 32, 3), dtype=np.uint8))
    assert scorer.compute()["n_real_items"] == 2
    with pytest.raises(ConfigError, match="no input of this run takes source option 'min_gap'"):
        frechet.Scorer(reference=f"webtoon:{episode}", source_options={"min_gap": 16}, **settings)
