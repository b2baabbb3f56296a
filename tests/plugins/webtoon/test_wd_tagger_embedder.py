"""The wd-*-tagger-v3 embedders: registered by name, canonical weights at a fixed revision pinned at first download,
a wrong file refused in one line, and the preprocessing of the reference code."""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch
from PIL import Image

from frechet.errors import WeightsError
from frechet.plugins import get_registry
from frechet_webtoon.tagger_embedder import EMBEDDERS, TaggerViT
import dataclasses

from frechet_webtoon.tagger_network import ARCHITECTURES, build_network, depth_of
from frechet_webtoon.tagger_preprocess import pad_square, tagger_input
from frechet_webtoon.tagger_weights import WEIGHTS
from tagger_fixtures import panel, random_state, write_safetensors


@pytest.mark.parametrize(("name", "dims"), [("wd-vit-tagger-v3", 768), ("wd-vit-large-tagger-v3", 1024),
                                            ("wd-convnext-tagger-v3", 1024), ("wd-swinv2-tagger-v3", 1024),
                                            ("wd-eva02-large-tagger-v3", 1024)])
def test_each_tagger_is_registered_for_images_with_its_pooled_features(name, dims):
    info, _ = get_registry().embedder_info(name)
    assert info.domain == "image" and dict(info.outputs) == {"pooled": dims}
    embedder = get_registry().create_embedder(name)
    assert (embedder.name, embedder.default_output, embedder.fd_key) == (name, "pooled", "fd_wd")


def test_canonical_weights_are_smilingwolfs_safetensors_at_a_revision_and_pinned():
    for spec in WEIGHTS.values():
        assert spec.url.startswith("https://huggingface.co/SmilingWolf/wd-") and spec.url.endswith("/model.safetensors")
        assert spec.pin and spec.expected_hash is None
        assert re.search(r"/resolve/[0-9a-f]{40}/", spec.url), f"{spec.url} is not at a fixed revision"
    assert "/resolve/7f6b584d0bd3f55c4531f14ba3d4761b2bccdc0f/" in WEIGHTS["vit"].url
    assert "/wd-swinv2-tagger-v3/resolve/805ca9892b4fdfbe3f06f9de3f0a07b3da8637ed/" in WEIGHTS["swinv2"].url
    assert "/wd-eva02-large-tagger-v3/resolve/fa2b83fd2d68b3d994e22fed5859d7cc99e1cdb0/" in WEIGHTS["eva02-large"].url


def test_a_download_that_is_not_the_tagger_is_refused_and_nothing_is_pinned(tmp_path, monkeypatch):
    mirror, cache = tmp_path / "mirror", tmp_path / "cache"
    mirror.mkdir()
    write_safetensors(mirror / WEIGHTS["vit"].file_name, {"head.weight": np.zeros((2, 2), np.float32)})
    monkeypatch.setenv("FRECHET_MIRROR", str(mirror))
    monkeypatch.setenv("FRECHET_WEIGHTS_DIR", str(cache))
    monkeypatch.delenv("FRECHET_OFFLINE", raising=False)
    with pytest.raises(WeightsError, match="not the timm layout of the WD tagger vit backbone"):
        TaggerViT().network()
    assert not (cache / "frechet-pins.json").exists() and not (cache / WEIGHTS["vit"].file_name).exists()


def test_a_file_of_another_architecture_is_refused_naming_the_file(tmp_path):
    shapes = {"stem.0.weight": (8, 3, 4, 4)}
    path = tmp_path / "other.safetensors"
    write_safetensors(path, random_state(shapes, 0))
    with pytest.raises(WeightsError, match=r"other\.safetensors: not the timm layout .*missing"):
        TaggerViT(weights=path).network()


def test_the_id_names_the_users_weights_file_and_the_mode(tmp_path):
    path = tmp_path / "mine.safetensors"
    write_safetensors(path, {"x": np.zeros(1, np.float32)})
    embedder = TaggerViT(weights=path)
    assert "preprocess=wdv3-timm" in embedder.id() and "weights=sha256:" in embedder.id()


def test_padding_is_white_and_centred_with_offsets_rounded_down_like_pillow_paste():
    image = panel(1, 5, 8)
    square = pad_square(image)
    canvas = Image.new("RGB", (8, 8), (255, 255, 255))
    canvas.paste(Image.fromarray(image), (0, (8 - 5) // 2))
    assert np.array_equal(square, np.asarray(canvas))


def test_input_is_bgr_in_minus_one_to_one_at_448():
    image = np.zeros((448, 448, 3), np.uint8)
    image[..., 0] = 255  # pure red
    x = tagger_input(image, 448)
    assert x.shape == (3, 448, 448) and x.dtype == torch.float32
    assert torch.all(x[2] == 1.0) and torch.all(x[0] == -1.0) and torch.all(x[1] == -1.0)


def test_the_embedder_reaches_workers_without_its_network(tmp_path):
    import pickle

    embedder = EMBEDDERS[0]()
    embedder._network = torch.nn.Linear(1, 1)
    assert pickle.loads(pickle.dumps(embedder))._network is None
    assert ARCHITECTURES["vit"].features == 768


@pytest.mark.parametrize(("name", "reduced"), [("vit", {"depth": 2}), ("convnext", {"depths": (1, 2, 1, 1)}),
                                               ("swinv2", {"depths": (2, 1, 3, 2)}), ("eva02-large", {"depth": 3})])
def test_a_users_file_with_fewer_blocks_or_tags_is_read_as_such(name, reduced):
    arch = dataclasses.replace(ARCHITECTURES[name], classes=5, **reduced)
    with torch.device("meta"):
        state = build_network(arch).state_dict()
    assert depth_of(state, ARCHITECTURES[name]) == arch
