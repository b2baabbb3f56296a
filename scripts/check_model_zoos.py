"""Run the torchvision:MODEL and timm:MODEL embedders against the real packages, which the test environment lacks.

Run in the image reference venv (torchvision) with pluggy and timm on the path, e.g.
    pip install --no-deps --target /tmp/zoo-extra pluggy timm huggingface_hub safetensors pyyaml filelock fsspec \
        packaging typing_extensions
    PYTHONPATH=.:plugins:/tmp/zoo-extra /tmp/frechet-refenv-image/bin/python scripts/check_model_zoos.py

For a few models with seeded random weights saved to a local file (no downloads), it compares frechet's
``features`` and ``logits`` with the packages' own documented ways of getting them: for torchvision, the model
with its classifier layer (named per model below) replaced by ``nn.Identity``; for timm,
``create_model(name, num_classes=0)``. Inputs are random 8-bit images at the model's input size (so nothing is
resized), normalized with the weights' mean and std by torchvision's own ``normalize``. It also records the
preprocessing defaults frechet read from the packages and the offline error for uncached named weights. Results
go to scripts/check_model_zoos.json.
"""

from __future__ import annotations

import json
import os
import tempfile
from importlib.metadata import version
from pathlib import Path

import numpy as np
import torch

os.environ["FRECHET_OFFLINE"] = "1"
os.environ["TORCH_HOME"] = tempfile.mkdtemp()  # an empty cache: named weights are not there

import timm  # noqa: E402
import torchvision  # noqa: E402
from torchvision.transforms.v2.functional import normalize  # noqa: E402

from frechet.errors import WeightsError  # noqa: E402
from frechet_custom import TimmEmbedder, TorchvisionEmbedder  # noqa: E402

OUT = Path(__file__).with_suffix(".json")
#: torchvision model -> the attribute path of its classifier layer, from each architecture's source.
TORCHVISION = {"resnet18": "fc", "mobilenet_v3_small": "classifier.3", "convnext_tiny": "classifier.2",
               "vit_b_16": "heads.head", "efficientnet_b0": "classifier.1"}
TIMM = ["resnet18", "convnext_atto", "vit_tiny_patch16_224"]


def _images(size: tuple[int, int], count: int = 3) -> np.ndarray:
    return np.random.default_rng(0).integers(0, 256, (count, *size, 3), dtype=np.uint8)


def _unit(images: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(images).permute(0, 3, 1, 2).float() / 255


def _ours(embedder, images):
    batch = embedder.collate([embedder.transform(image) for image in images])
    with torch.inference_mode():
        return embedder.forward(batch)


def _diff(a: torch.Tensor, b: torch.Tensor) -> float:
    """Largest absolute difference relative to the largest magnitude (absolute when b is all zeros)."""
    return float((a - b).abs().max() / b.abs().max().clamp_min(1.0 if not b.any() else 0.0))


def _set_submodule(model: torch.nn.Module, path: str, module: torch.nn.Module) -> None:
    parent, _, name = path.rpartition(".")
    setattr(model.get_submodule(parent) if parent else model, name, module)


def check_torchvision(folder: Path) -> dict:
    results = {}
    for name, head in TORCHVISION.items():
        torch.manual_seed(0)
        model = torchvision.models.get_model(name, weights=None).eval()
        path = folder / f"{name}.pth"
        torch.save(model.state_dict(), path)
        embedder = TorchvisionEmbedder(name, weights=str(path))
        prep = embedder.preprocessing
        images = _images(prep.size)
        got = _ours(embedder, images)
        x = normalize(_unit(images), list(prep.mean), list(prep.std))
        with torch.inference_mode():
            logits = model(x)
            _set_submodule(model, head, torch.nn.Identity())
            features = model(x)
        results[name] = {"defaults": prep.config(), "dims": embedder.outputs,
                         "features_rel_diff": _diff(got["features"], features),
                         "logits_rel_diff": _diff(got["logits"], logits)}
    try:
        TorchvisionEmbedder("resnet18")
        results["offline_error"] = None
    except WeightsError as error:
        results["offline_error"] = str(error)
    return results


def check_timm(folder: Path) -> dict:
    results = {}
    for name in TIMM:
        torch.manual_seed(0)
        model = timm.create_model(name, pretrained=False).eval()
        path = folder / f"timm-{name}.pth"
        torch.save(model.state_dict(), path)
        embedder = TimmEmbedder(name, weights=str(path))
        prep = embedder.preprocessing
        images = _images(prep.size)
        got = _ours(embedder, images)
        headless = timm.create_model(name, pretrained=False, num_classes=0).eval()
        headless.load_state_dict(model.state_dict(), strict=False)
        x = normalize(_unit(images), list(prep.mean), list(prep.std))
        with torch.inference_mode():
            features, logits = headless(x), model(x)
        results[name] = {"defaults": prep.config(), "dims": embedder.outputs,
                         "features_rel_diff": _diff(got["features"], features),
                         "logits_rel_diff": _diff(got["logits"], logits)}
    return results


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        report = {
            "versions": {"torch": torch.__version__, "torchvision": torchvision.__version__,
                         "timm": version("timm")},
            "torchvision": check_torchvision(Path(folder)),
            "timm": check_timm(Path(folder)),
        }
    OUT.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
