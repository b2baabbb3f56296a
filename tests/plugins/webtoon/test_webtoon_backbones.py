"""Every built-in image backbone reads ``webtoon:EPISODES/`` as it reads the folder of PNG panels that ``frechet
webtoon panels`` writes: the same statistics (random weights, reduced where the embedder reads a reduced file).
Also the example generator's ``--blur``: the same episodes, softer."""

from __future__ import annotations

import dataclasses
import json
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import frechet
from frechet.cli import main
from frechet_clip.network import VIT_B_32
from frechet_dinov2.network import ARCHITECTURES as DINOV2, state_dict_layout as dinov2_layout
from frechet_inception.network import state_dict_layout as inception_layout
from frechet_webtoon.tagger_network import ARCHITECTURES as TAGGERS, build_network
from tagger_fixtures import TINY_CLASSES, random_state, write_safetensors
from webtoon_helpers import TEST_SEED, load_generator

TESTS = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(TESTS / "inception"), str(TESTS / "dinov2"), str(TESTS / "clip")]
from clip_random_weights import random_clip_state  # noqa: E402
from dinov2_random_weights import random_state_dict as dinov2_random  # noqa: E402
from inception_random_weights import random_state_dict as inception_random  # noqa: E402

#: The slices of the test set's first episode that are embedded: 4 items, one of them across a slice boundary and
#: two tiles of a tall panel (a few items keep the full-size networks fast).
SLICES = ("1.jpg", "2.jpg", "3.jpg")


def _inception(folder: Path) -> Path:
    path = folder / "inception.pth"
    torch.save(inception_random(inception_layout()), path)
    return path


def _dinov2(folder: Path) -> Path:
    path = folder / "dinov2-vits14.pth"
    torch.save(dinov2_random(dinov2_layout(DINOV2["vits14"], 1)), path)
    return path


def _clip(folder: Path) -> Path:
    path = folder / "clip-vitb32.pt"
    torch.save(random_clip_state(dataclasses.replace(VIT_B_32, layers=1)), path)
    return path


def _tagger(folder: Path) -> Path:
    arch = dataclasses.replace(TAGGERS["vit"], depth=1, classes=TINY_CLASSES)
    with torch.device("meta"):
        shapes = {key: tuple(value.shape) for key, value in build_network(arch).state_dict().items()}
    path = folder / "wd-vit-tagger-v3.safetensors"
    write_safetensors(path, random_state(shapes, 3))
    return path


WEIGHTS = {"inception": _inception, "dinov2-vits14": _dinov2, "clip-vitb32": _clip, "wd-vit-tagger-v3": _tagger}


@pytest.fixture(scope="module")
def cut(episodes, tmp_path_factory) -> tuple[Path, Path]:
    """An episode (the first slices of the test set's first one), and the folder of PNG panels ``frechet webtoon
    panels`` writes for it."""
    root = tmp_path_factory.mktemp("backbones")
    episode, out = root / "episode", root / "panels"
    episode.mkdir()
    for name in SLICES:
        shutil.copy(episodes[0] / "episode-01" / name, episode / name)
    assert main(["webtoon", "panels", str(episode), "-o", str(out), "--quiet"]) == 0
    return episode, out


@pytest.mark.parametrize("name", sorted(WEIGHTS))
def test_each_backbone_gives_the_input_and_the_panel_folder_the_same_statistics(name, cut, tmp_path):
    episode, panels = cut
    settings = {"embedder": name, "embedder_options": {"weights": str(WEIGHTS[name](tmp_path))}, "workers": 0,
                "cache": False}
    ours = frechet.compute_stats(f"webtoon:{episode}", **settings)
    folder = frechet.compute_stats(str(panels), **settings)
    files = sorted(panels.rglob("*.png"))
    assert ours.n == folder.n == len(files) == 4
    scale = float(np.abs(folder.cov).max())
    np.testing.assert_allclose(ours.mean, folder.mean, rtol=1e-5, atol=1e-6 * float(np.abs(folder.mean).max()))
    np.testing.assert_allclose(ours.cov, folder.cov, rtol=1e-5, atol=1e-6 * scale)
    assert scale > 0  # the features vary from panel to panel: the comparison has something to compare


def test_blur_draws_the_same_episodes_softer(tmp_path):
    generator = load_generator()
    sharp, soft = tmp_path / "sharp", tmp_path / "soft"
    generator.main([str(sharp), "--episodes", "1", "--seed", str(TEST_SEED), "--width", "160", "--quality", "0"])
    generator.main([str(soft), "--episodes", "1", "--seed", str(TEST_SEED), "--width", "160", "--quality", "0",
                    "--blur", "1.5"])
    truths = [json.loads((root / "truth.json").read_text()) for root in (sharp, soft)]
    assert truths[0]["episode-01"]["panels"] == truths[1]["episode-01"]["panels"]
    assert (truths[0]["episode-01"]["blur"], truths[1]["episode-01"]["blur"]) == (0.0, 1.5)
    strips = [np.concatenate([np.asarray(Image.open(path).convert("L"), np.float64)
                              for path in sorted((root / "episode-01").glob("*.png"), key=lambda p: int(p.stem))])
              for root in (sharp, soft)]
    assert strips[0].shape == strips[1].shape
    detail = [float(np.abs(np.diff(strip, axis=1)).mean()) for strip in strips]
    assert detail[1] < 0.8 * detail[0]  # neighbouring pixels closer: line art and tones softened
