"""``torchvision:MODEL``: a torchvision classification model, its named weights from torch hub's cache or a local file.

Outputs: ``features``, the input of the model's last linear layer (its pre-logits embedding), and ``logits``.
Preprocessing defaults come from the weights' own transforms (size = their crop size, mean, std, interpolation);
the whole image is resized to that size, never cropped.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from frechet.errors import ConfigError, WeightsError, one_line
from frechet.weights import is_offline
from frechet_custom.backbone import ImageModelEmbedder
from frechet_custom.module_weights import load_local_weights, weights_digest
from frechet.optional import import_optional, install_extra, matching_build
from frechet_custom.preprocessing import image_preprocessing, zoo_options

_INSTALL = f"{install_extra('vision', 'torchvision')}, the build that matches your torch"
_RESIZE_NAMES = {"bilinear": "bilinear", "bicubic": "bicubic", "nearest": "nearest", "nearest-exact": "nearest"}


class TorchvisionEmbedder(ImageModelEmbedder):
    """torchvision classification model; weights=NAME|PATH, preprocessing defaults from the weights.

    ``torchvision:resnet50``: ``weights`` is a weights name of that model (default ``DEFAULT``) or a local state
    dict file."""

    name = "torchvision"
    family = True
    outputs = {"features": None, "logits": None}
    options = zoo_options("a weights name of the model (default DEFAULT) or a local state dict file")

    def __init__(self, target: str, weights: str | None = None, output: str | None = None, **preprocessing: Any) -> None:
        label = f"torchvision:{target}"
        models = import_optional("torchvision", label, _INSTALL, repair=matching_build("torchvision")).models
        self.module, defaults = build_torchvision_model(models, target, weights, label)
        self._head = last_linear(self.module)
        self._captured: dict[str, torch.Tensor] = {}
        if self._head is not None:
            self._head.register_forward_hook(self._capture)
        steps = image_preprocessing(label, **preprocessing, **defaults)
        super().__init__(label, steps, {"model": target, "weights": weights_digest(self.module)}, output)

    def _capture(self, _module: torch.nn.Module, args: tuple[Any, ...], _result: Any) -> None:
        self._captured["features"] = args[0].flatten(1)

    def _run(self, batch: torch.Tensor) -> dict[str, torch.Tensor]:
        logits = self.module(batch)
        if self._head is None:
            return {"logits": logits}
        return {"features": self._captured.pop("features"), "logits": logits}

def build_torchvision_model(
    models: Any, name: str, weights: str | None, label: str
) -> tuple[torch.nn.Module, dict[str, Any]]:
    """The model ``name`` from ``torchvision.models`` with its weights loaded, and preprocessing defaults."""
    if name not in models.list_models(module=models):
        raise ConfigError(f"{label}: torchvision has no classification model '{name}' (see torchvision.models.list_models())")
    builder = models.get_model_builder(name)
    choices = models.get_model_weights(name)
    named = weights is None or not Path(weights).expanduser().is_file()
    member = _weights_member(choices, weights or "DEFAULT", label) if named else choices["DEFAULT"]
    if named:
        _check_cached(member, label)
        try:
            module = builder(weights=member)
        except Exception as error:  # torchvision's download or load failed
            raise WeightsError(
                f"{label}: cannot load the {member.name} weights ({one_line(error)}); download {member.url} into "
                f"{_hub_checkpoints()} or pass --weights PATH"
            ) from None
    else:
        module = builder(weights=None)
        load_local_weights(module, weights, label)
    return module.eval(), _defaults(member.transforms())


def last_linear(module: torch.nn.Module) -> torch.nn.Linear | None:
    """The model's last ``nn.Linear`` (its classifier), whose input is the pre-logits embedding; None if it has none."""
    linears = [child for child in module.modules() if isinstance(child, torch.nn.Linear)]
    return linears[-1] if linears else None


def _weights_member(choices: Any, name: str, label: str) -> Any:
    try:
        return choices[name]
    except KeyError:
        known = ", ".join(["DEFAULT", *(member.name for member in choices)])
        raise ConfigError(f"{label}: weights={name!r} is neither a file nor one of its weights ({known})") from None


def _check_cached(member: Any, label: str) -> None:
    cached = _hub_checkpoints() / member.url.rsplit("/", 1)[-1]
    if is_offline() and not cached.is_file():
        raise WeightsError(
            f"{label}: the {member.name} weights are not cached and FRECHET_OFFLINE is set: download {member.url} "
            f"and save it as {cached} (or pass --weights PATH)"
        )


def _hub_checkpoints() -> Path:
    return Path(torch.hub.get_dir()) / "checkpoints"


def _defaults(transforms: Any) -> dict[str, Any]:
    """Preprocessing defaults from torchvision's ImageClassification transforms of the weights."""
    crop = list(transforms.crop_size)
    interpolation = getattr(transforms.interpolation, "value", str(transforms.interpolation))
    return {
        "default_size": (crop[0], crop[-1]),
        "default_method": _RESIZE_NAMES.get(interpolation, "bilinear"),
        "default_mean": tuple(transforms.mean),
        "default_std": tuple(transforms.std),
    }
