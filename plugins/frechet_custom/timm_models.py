"""``timm:MODEL``: a timm model, its pretrained weights through timm's own cache or from a local file.

Outputs: ``features`` (timm's pre-logits embedding, ``forward_head(..., pre_logits=True)``) and ``logits``.
Preprocessing defaults come from the model's pretrained data config (input size, interpolation, mean, std); the
whole image is resized to that size, never cropped.
"""

from __future__ import annotations

from typing import Any

import torch

from frechet.errors import ConfigError, WeightsError, one_line
from frechet_custom.backbone import ImageModelEmbedder
from frechet_custom.module_weights import load_local_weights, weights_digest
from frechet.optional import import_optional, matching_build
from frechet_custom.preprocessing import image_preprocessing, zoo_options

_INSTALL = "pip install timm (it needs a torchvision that matches your torch)"
_RESIZE_NAMES = {"bilinear": "bilinear", "bicubic": "bicubic", "nearest": "nearest", "box": "area"}


class TimmEmbedder(ImageModelEmbedder):
    """timm model; weights from timm's cache or weights=PATH, preprocessing defaults from its config.

    ``timm:convnext_tiny.fb_in1k``: ``weights`` is a local state dict file (default: timm's pretrained weights)."""

    name = "timm"
    family = True
    outputs = {"features": None, "logits": None}
    options = zoo_options("a local state dict file (default: timm's pretrained weights)")

    def __init__(self, target: str, weights: str | None = None, output: str | None = None, **preprocessing: Any) -> None:
        label = f"timm:{target}"
        timm = import_optional("timm", label, _INSTALL, repair=matching_build("timm"))
        self.module, defaults = build_timm_model(timm, target, weights, label)
        steps = image_preprocessing(label, **preprocessing, **defaults)
        super().__init__(label, steps, {"model": target, "weights": weights_digest(self.module)}, output)

    def _run(self, batch: torch.Tensor) -> dict[str, torch.Tensor]:
        features = self.module.forward_features(batch)
        return {
            "features": self.module.forward_head(features, pre_logits=True),
            "logits": self.module.forward_head(features),
        }

def build_timm_model(timm: Any, name: str, weights: str | None, label: str) -> tuple[torch.nn.Module, dict[str, Any]]:
    """The timm model ``name`` with its weights loaded, and preprocessing defaults from its data config."""
    if not timm.is_model(name):
        raise ConfigError(f"{label}: timm has no model '{name}' (see timm.list_models())")
    if weights is None:
        try:
            module = timm.create_model(name, pretrained=True)
        except Exception as error:  # timm's download or cache lookup failed
            raise WeightsError(
                f"{label}: cannot load timm's pretrained weights ({one_line(error)}); run once with network access "
                "so timm caches them, or pass --weights PATH"
            ) from None
    else:
        module = timm.create_model(name, pretrained=False)
        load_local_weights(module, weights, label)
    config = timm.data.resolve_data_config({}, model=module)
    defaults = {
        "default_size": tuple(config["input_size"][1:]),
        "default_method": _RESIZE_NAMES.get(config["interpolation"], "bilinear"),
        "default_mean": tuple(config["mean"]),
        "default_std": tuple(config["std"]),
    }
    return module.eval(), defaults
