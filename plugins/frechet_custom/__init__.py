"""frechet's custom backbones: any image model by file or name, addressed as ``KIND:TARGET``.

``torchscript:PATH`` and ``onnx:PATH`` run a model file on resized, normalized RGB batches (options ``size``,
``resize``, ``mean``, ``std``, ``output``); ``python:package.module:factory`` builds an Embedder from the user's
own code; ``torchvision:MODEL`` and ``timm:MODEL`` take models from those packages when they are installed.
Registered as the ``custom`` plugin; docs/guide/custom-backbone.md is the user guide.
"""

from __future__ import annotations

from typing import Any

from frechet.hookspecs import hookimpl
from frechet_custom.backbone import ImageModelEmbedder
from frechet_custom.onnx_model import OnnxEmbedder
from frechet_custom.preprocessing import ImagePreprocessing, image_preprocessing
from frechet_custom.python_factory import PythonFactoryEmbedder
from frechet_custom.timm_models import TimmEmbedder
from frechet_custom.torchscript import TorchScriptEmbedder
from frechet_custom.torchvision_models import TorchvisionEmbedder

__all__ = [
    "ImageModelEmbedder",
    "ImagePreprocessing",
    "OnnxEmbedder",
    "PythonFactoryEmbedder",
    "TimmEmbedder",
    "TorchScriptEmbedder",
    "TorchvisionEmbedder",
    "image_preprocessing",
]

_IMAGE_OPTIONS = "options size, resize, mean, std, output"


@hookimpl
def frechet_register_embedders(register: Any) -> None:
    register(
        "torchscript:",
        TorchScriptEmbedder,
        domain="image",
        outputs={},
        description=f"TorchScript model file: RGB in [0, 1] -> (B, D) or a dict of them; {_IMAGE_OPTIONS}",
    )
    register(
        "onnx:",
        OnnxEmbedder,
        domain="image",
        outputs={},
        description=f"ONNX model file (onnxruntime, extra 'onnx'); {_IMAGE_OPTIONS}",
    )
    register(
        "python:",
        PythonFactoryEmbedder,
        domain="any",
        outputs={},
        description="python:package.module:factory -> the Embedder it returns (any domain); options go to the factory",
    )
    register(
        "torchvision:",
        TorchvisionEmbedder,
        domain="image",
        outputs={"features": None, "logits": None},
        description="torchvision classification model; weights=NAME|PATH, defaults from the weights",
    )
    register(
        "timm:",
        TimmEmbedder,
        domain="image",
        outputs={"features": None, "logits": None},
        description="timm model; weights from timm's cache or weights=PATH, defaults from its config",
    )
