"""``webtoon:PATH`` as an input of every command, the API and the Scorer, and ``frechet webtoon panels``: the panels
it writes are the items the input feeds an embedder, pixel for pixel, so statistics on either are the same."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

import frechet
from frechet.cli import main
from frechet.errors import ConfigError, InputError
from frechet_image import decode_image
from frechet_webtoon.command import write_panels
from frechet_webtoon.cutter import CutSettings
from frechet_webtoon.source import PanelSource, cut_input, open_webtoon


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    """Two tiny TorchScript image models (random weights), and their --embedder-option."""
    folder = tmp_path_factory.mktemp("models")
    paths = []
    for seed in (0, 1):
        torch.manual_seed(seed)
        network = torch.nn.Sequential(torch.nn.Conv2d(3, 6, 5, stride=4), torch.nn.AdaptiveAvgPool2d(2),
                                      torch.nn.Flatten())
        paths.append(folder / f"tiny{seed}.pt")
        torch.jit.trace(network, torch.zeros(1, 3, 48, 48)).save(paths[-1])
    return paths


@pytest.fixture(scope="module")
def panels(episodes, tmp_path_factory):
    """What ``frechet webtoon panels`` writes for the generated episodes: the output folder and its --json report."""
    out = tmp_path_factory.mktemp("cut") / "panels"
    episodes_cut = cut_input(episodes[0])
    source = PanelSource(episodes_cut, "set", CutSettings())
    return out, write_panels(source, episodes_cut, out, out.with_name("panels-contact"))


def test_the_command_reports_each_items_file_and_rows(episodes, panels, tmp_path, capsys):
    assert main(["webtoon", "panels", f"webtoon:{episodes[0]}", "-o", str(tmp_path / "out"), "--json"]) == 0
    report = json.loads(capsys.readouterr().out.splitlines()[-1])
    ours = [{**item, "file": item["file"].replace(str(tmp_path / "out"), "")} for episode in report["episodes"]
            for item in episode["items"]]
    theirs = [{**item, "file": item["file"].replace(str(panels[0]), "")} for episode in panels[1]["episodes"]
              for item in episode["items"]]
    assert ours == theirs and ours[0]["file"] == "/episode-01/panel-001.png"


def test_panel_files_are_the_items_pixel_for_pixel_at_their_rows(episodes, panels):
    out, report = panels
    source = open_webtoon(episodes[0])
    items = [item for episode in report["episodes"] for item in episode["items"]]
    assert [item["item"] for item in items] == [source.item_name(i) for i in range(len(source))]
    for index, item in enumerate(items):
        pixels = decode_image(item["file"])
        np.testing.assert_array_equal(pixels, source.load(index))
        assert pixels.shape[0] == item["last_row"] - item["first_row"] + 1
    assert all(item["file"].startswith(str(out)) for item in items)
    assert all(path.suffix == ".png" for path in (out.parent / "panels-contact").iterdir())


def test_stats_of_the_input_equal_stats_of_the_panel_folder(episodes, panels, models):
    embedder = f"torchscript:{models[1]}"
    ours = frechet.compute_stats(f"webtoon:{episodes[0]}", embedder=embedder, embedder_options={"size": 48},
                                 workers=0, cache=False)
    folder = frechet.compute_stats(panels[0], embedder=embedder, embedder_options={"size": 48}, workers=0,
                                   cache=False)
    assert ours.n == folder.n == len(open_webtoon(episodes[0]))
    np.testing.assert_allclose(ours.mean, folder.mean, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(ours.cov, folder.cov, rtol=1e-6, atol=1e-7)


def test_cli_compute_and_scorer_take_the_input(episodes, panels, models, capsys):
    embedder = f"torchscript:{models[0]}"
    code = main(["compute", f"webtoon:{episodes[0]}", str(panels[0]), "--embedder", embedder,
                 "--embedder-option", "size=48", "--workers", "0", "--no-cache", "--json"])
    result = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert code == 0 and abs(result["fd"]) < 1e-6  # the same panels on both sides
    scorer = frechet.Scorer(reference=f"webtoon:{episodes[0]}", embedder=embedder, embedder_options={"size": 48},
                            metrics="fd", workers=0, cache=False)
    scorer.update(np.random.default_rng(0).integers(0, 256, (8, 48, 48, 3), dtype=np.uint8))
    assert np.isfinite(scorer.compute()["fd"]) and scorer.compute()["fd"] > 0


def test_a_plain_folder_keeps_meaning_its_images(episodes, models):
    stats = frechet.compute_stats(episodes[0] / "episode-01", embedder=f"torchscript:{models[0]}",
                                  embedder_options={"size": 48}, workers=0, cache=False)
    assert stats.n == len(list((episodes[0] / "episode-01").glob("*.jpg")))  # the slices, uncut


def test_bad_inputs_and_outputs_are_one_line(episodes, panels, models, tmp_path, capsys):
    with pytest.raises(InputError, match=r"nowhere: no such file or folder"):
        frechet.compute_stats(f"webtoon:{tmp_path / 'nowhere'}", embedder=f"torchscript:{models[0]}")
    with pytest.raises(InputError, match="name a file or folder after 'webtoon:'"):
        frechet.compute_stats("webtoon:", embedder=f"torchscript:{models[0]}", embedder_options={"size": 48})
    refusals = {str(panels[0]): "exists and is not an empty folder; name a new folder",
                str(episodes[0] / "cut"): "would be written inside the input folder",
                str(tmp_path / "out"): "nowhere: no such file or folder"}
    for out, message in refusals.items():
        source = str(tmp_path / "nowhere") if out.endswith("out") else str(episodes[0])
        assert main(["webtoon", "panels", source, "-o", out]) == 2
        error = capsys.readouterr().err
        assert message in error and error.count("\n") == 1
    assert not (episodes[0] / "cut").exists()


def test_items_are_cached_by_the_bytes_of_the_slices_they_cross(episodes, models, tmp_path):
    shutil.copytree(episodes[0] / "episode-02", tmp_path / "episode")
    first = open_webtoon(tmp_path / "episode")
    digests = [first.item_digest(i) for i in range(len(first))]
    assert len(set(digests)) == len(digests) and digests == [open_webtoon(tmp_path / "episode").item_digest(i)
                                                             for i in range(len(first))]
    _, piece = first.items[-1]
    last = [part for part in first.items[-1][0].slices if part.top <= piece.bottom][-1].path
    last.write_bytes(last.read_bytes() + b"\0")  # other bytes, the same pixels
    assert open_webtoon(tmp_path / "episode").item_digest(len(first) - 1) != digests[-1]
    settings = {"embedder": f"torchscript:{models[0]}", "embedder_options": {"size": 48}, "workers": 0}
    cached = [frechet.compute_stats(f"webtoon:{tmp_path / 'episode'}", **settings) for _ in range(2)]
    np.testing.assert_array_equal(cached[0].mean, cached[1].mean)
    assert any((Path(os.environ["FRECHET_CACHE_DIR"])).rglob("*"))


def test_two_embedders_of_one_name_are_refused_not_merged(episodes, models):
    """Results and statistics are filed under the embedder's name: two torchscript: files in one run would collide."""
    names = [f"torchscript:{path}" for path in models]
    with pytest.raises(ConfigError, match="these embedders share the name 'torchscript'.*run them separately"):
        frechet.compute_stats(f"webtoon:{episodes[0]}", embedder=names,
                              embedder_options={f"{name}.size": 48 for name in names})
