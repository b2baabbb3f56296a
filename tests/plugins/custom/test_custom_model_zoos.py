"""torchvision:MODEL and timm:MODEL — adapters tested against stand-in packages with the same API (the real packages
do not import with the CPU torch of the test environment; scripts/check_model_zoos.py runs the real ones), and the
one-line errors when a package is missing or broken."""

from __future__ import annotations

import enum
import sys
import textwrap
import types
from pathlib import Path

import numpy as np
import pytest
import torch
from custom_helpers import run_cli

from frechet.errors import ConfigError, WeightsError
from frechet.plugins import get_registry

TINY_URL = "https://download.example.org/models/tinynet-0123abcd.pth"


class TinyNet(torch.nn.Module):
    """Shaped like a torchvision classifier: features, pool, then a linear classifier (the last nn.Linear)."""

    def __init__(self) -> None:
        super().__init__()
        self.features = torch.nn.Sequential(torch.nn.Conv2d(3, 5, 3, stride=2), torch.nn.ReLU())
        self.pool = torch.nn.AdaptiveAvgPool2d(1)
        self.fc = torch.nn.Linear(5, 4)

    def pooled(self, x: torch.Tensor) -> torch.Tensor:
        return self.pool(self.features(x)).flatten(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.pooled(x))


def _seeded_state(seed: int) -> dict[str, torch.Tensor]:
    torch.manual_seed(seed)
    return TinyNet().state_dict()


class TinyWeights(enum.Enum):
    """Stand-in for a torchvision weights enum: members with a URL and ImageClassification-like transforms."""

    IMAGENET1K_V1 = TINY_URL
    DEFAULT = TINY_URL

    @property
    def url(self) -> str:
        return self.value

    def transforms(self) -> types.SimpleNamespace:
        return types.SimpleNamespace(crop_size=[28], resize_size=[32], mean=[0.4, 0.5, 0.6], std=[0.2, 0.25, 0.3],
                                     interpolation=types.SimpleNamespace(value="bicubic"))


def _fake_torchvision() -> types.ModuleType:
    """torchvision.models' lookup API; named weights load from torch hub's checkpoints folder, as torchvision does."""

    def builder(weights=None):
        model = TinyNet()
        if weights is not None:
            cached = Path(torch.hub.get_dir()) / "checkpoints" / weights.url.rsplit("/", 1)[-1]
            model.load_state_dict(torch.load(cached, weights_only=True))
        return model

    models = types.SimpleNamespace(
        list_models=lambda module=None: ["tinynet"],
        get_model_builder=lambda name: builder,
        get_model_weights=lambda name: TinyWeights,
    )
    package = types.ModuleType("torchvision")
    package.models = models
    return package


class TimmTiny(TinyNet):
    """Stand-in for a timm model: forward_features, then forward_head with or without pre_logits."""

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(x)

    def forward_head(self, x: torch.Tensor, pre_logits: bool = False) -> torch.Tensor:
        pooled = self.pool(x).flatten(1)
        return pooled if pre_logits else self.fc(pooled)


def _fake_timm(pretrained_state: dict[str, torch.Tensor] | None) -> types.ModuleType:
    def create_model(name, pretrained=False):
        model = TimmTiny()
        if pretrained:
            if pretrained_state is None:
                raise OSError("We couldn't connect to 'https://huggingface.co' to load the files")
            model.load_state_dict(pretrained_state)
        return model

    package = types.ModuleType("timm")
    package.is_model = lambda name: name == "tiny.in1k"
    package.create_model = create_model
    package.data = types.SimpleNamespace(resolve_data_config=lambda args, model=None: {
        "input_size": (3, 24, 20), "interpolation": "box", "mean": (0.5, 0.5, 0.5), "std": (0.5, 0.5, 0.5),
        "crop_pct": 0.9})
    return package


@pytest.fixture
def torchvision(monkeypatch):
    monkeypatch.setitem(sys.modules, "torchvision", _fake_torchvision())


@pytest.fixture
def cached_weights():
    """The stand-in's IMAGENET1K_V1 weights in torch hub's cache (under this test's TORCH_HOME), where torchvision
    keeps its downloads."""
    folder = Path(torch.hub.get_dir()) / "checkpoints"
    folder.mkdir(parents=True)
    path = folder / "tinynet-0123abcd.pth"
    torch.save(_seeded_state(0), path)
    return path


def _images(count=6, height=30, width=26):
    return np.random.default_rng(0).integers(0, 256, (count, height, width, 3), dtype=np.uint8)


def _run(embedder, images):
    return embedder.forward(embedder.collate([embedder.transform(image) for image in images]))


def _assert_outputs_match_the_model(embedder, state):
    """The embedder's features and logits equal TinyNet's pooled features and logits on its own preprocessing."""
    images = _images()
    got = _run(embedder, images)
    model = TinyNet().eval()
    model.load_state_dict(state)
    batch = torch.stack([embedder.preprocessing(image) for image in images])
    with torch.no_grad():
        torch.testing.assert_close(got["features"], model.pooled(batch))
        torch.testing.assert_close(got["logits"], model(batch))


def test_torchvision_features_are_the_input_of_the_last_linear_layer_and_logits_its_output(torchvision, cached_weights):
    embedder = get_registry().create_embedder("torchvision:tinynet")
    assert embedder.outputs == {"features": 5, "logits": 4} and embedder.default_output == "features"
    preprocessing = embedder.preprocessing
    assert (preprocessing.size, preprocessing.method) == ((28, 28), "bicubic")
    assert (preprocessing.mean, preprocessing.std) == ((0.4, 0.5, 0.6), (0.2, 0.25, 0.3))
    _assert_outputs_match_the_model(embedder, _seeded_state(0))


def test_torchvision_weights_from_a_local_file_give_the_same_id_as_the_same_weights_from_the_cache(
    torchvision, cached_weights, tmp_path
):
    local = tmp_path / "mine.pth"
    torch.save(_seeded_state(0), local)
    other = tmp_path / "finetuned.pth"
    torch.save(_seeded_state(1), other)
    from_cache = get_registry().create_embedder("torchvision:tinynet").id()
    assert get_registry().create_embedder("torchvision:tinynet", weights=str(local)).id() == from_cache
    assert get_registry().create_embedder("torchvision:tinynet", weights=str(other)).id() != from_cache
    assert get_registry().create_embedder("torchvision:tinynet", size="32").id() != from_cache


def test_torchvision_weights_missing_offline_say_what_to_download_where(torchvision, tmp_path, capsys):
    folder = tmp_path / "images"
    folder.mkdir()
    code, _, err = run_cli(capsys, "stats", str(folder), "-o", str(tmp_path / "s.npz"), "--embedder",
                           "torchvision:tinynet")
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "FRECHET_OFFLINE is set: download " + TINY_URL in err and "tinynet-0123abcd.pth" in err


@pytest.mark.parametrize(
    ("name", "options", "error", "message"),
    [
        ("torchvision:resnet9000", {}, ConfigError, "torchvision has no classification model 'resnet9000'"),
        ("torchvision:tinynet", {"weights": "IMAGENET22K"}, ConfigError,
         "weights='IMAGENET22K' is neither a file nor one of its weights (DEFAULT, IMAGENET1K_V1)"),
        ("torchvision:tinynet", {"preprocess": "tf"}, ConfigError, "has no option 'preprocess'; it takes size, resize"),
    ],
)
def test_torchvision_bad_names_are_errors(torchvision, name, options, error, message):
    with pytest.raises(error) as raised:
        get_registry().create_embedder(name, **options)
    assert message in str(raised.value)


def test_a_weights_file_of_another_model_is_refused(torchvision, tmp_path):
    wrong = tmp_path / "wrong.pth"
    torch.save({"fc.weight": torch.zeros(2, 2)}, wrong)
    with pytest.raises(WeightsError, match="wrong.pth does not fit this model"):
        get_registry().create_embedder("torchvision:tinynet", weights=str(wrong))


def test_timm_outputs_are_its_pre_logits_and_logits_with_defaults_from_its_data_config(monkeypatch):
    monkeypatch.setitem(sys.modules, "timm", _fake_timm(_seeded_state(2)))
    embedder = get_registry().create_embedder("timm:tiny.in1k")
    preprocessing = embedder.preprocessing
    assert (preprocessing.size, preprocessing.method, preprocessing.mean) == ((24, 20), "area", (0.5, 0.5, 0.5))
    _assert_outputs_match_the_model(embedder, _seeded_state(2))


def test_timm_local_weights_are_used_and_named_in_the_id(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "timm", _fake_timm(_seeded_state(2)))
    local = tmp_path / "ckpt.pth"
    torch.save(_seeded_state(3), local)
    ids = {get_registry().create_embedder("timm:tiny.in1k", **options).id()
           for options in ({}, {"weights": str(local)}, {"weights": str(local), "resize": "bilinear"})}
    assert len(ids) == 3


def test_timm_weights_it_cannot_fetch_are_a_one_line_error(monkeypatch, tmp_path, capsys):
    monkeypatch.setitem(sys.modules, "timm", _fake_timm(None))
    with pytest.raises(WeightsError) as raised:
        get_registry().create_embedder("timm:tiny.in1k")
    message = str(raised.value)
    assert "cannot load timm's pretrained weights (OSError: We couldn't connect" in message
    assert "--weights PATH" in message and "\n" not in message
    with pytest.raises(ConfigError, match="timm has no model 'vit_huge'"):
        get_registry().create_embedder("timm:vit_huge")


@pytest.mark.parametrize("package", ["torchvision", "timm"])
def test_a_missing_package_is_a_one_line_error_saying_what_to_install(package, monkeypatch, tmp_path, capsys):
    monkeypatch.setitem(sys.modules, package, None)  # what an interpreter without the package sees
    folder = tmp_path / "images"
    folder.mkdir()
    code, _, err = run_cli(capsys, "stats", str(folder), "-o", str(tmp_path / "s.npz"), "--embedder", f"{package}:x")
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert f"{package}:x: needs the optional package '{package}', which is not installed" in err


def test_a_package_that_fails_to_import_is_reported_with_the_reason(monkeypatch, tmp_path, capsys):
    broken = tmp_path / "site" / "torchvision"
    broken.mkdir(parents=True)
    (broken / "__init__.py").write_text(textwrap.dedent("""
        raise RuntimeError("operator torchvision::nms does not exist")
    """))
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    monkeypatch.delitem(sys.modules, "torchvision", raising=False)
    folder = tmp_path / "images"
    folder.mkdir()
    code, _, err = run_cli(capsys, "stats", str(folder), "-o", str(tmp_path / "s.npz"), "--embedder",
                           "torchvision:resnet50")
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "the package 'torchvision' is installed but cannot be loaded" in err
    assert "RuntimeError: operator torchvision::nms does not exist" in err and torch.__version__ in err


def test_safetensors_weights_are_read_with_safetensors(torchvision, monkeypatch, tmp_path):
    local = tmp_path / "mine.safetensors"
    local.write_bytes(b"stand-in")
    read = []
    stand_in = types.ModuleType("safetensors.torch")
    stand_in.load_file = lambda path: read.append(path) or _seeded_state(1)
    monkeypatch.setitem(sys.modules, "safetensors", types.ModuleType("safetensors"))
    monkeypatch.setitem(sys.modules, "safetensors.torch", stand_in)
    from_file = get_registry().create_embedder("torchvision:tinynet", weights=str(local))
    monkeypatch.setitem(sys.modules, "safetensors.torch", None)
    with pytest.raises(WeightsError, match="needs the package 'safetensors'"):
        get_registry().create_embedder("torchvision:tinynet", weights=str(local))
    pth = tmp_path / "same.pth"
    torch.save(_seeded_state(1), pth)
    assert read == [str(local)]
    assert from_file.id() == get_registry().create_embedder("torchvision:tinynet", weights=str(pth)).id()
