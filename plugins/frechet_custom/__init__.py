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

#: Its model-file embedders read images through the image plugin's sources.
frechet_requires = ("image",)


@hookimpl
def frechet_register_embedders(register: Any) -> None:
    for embedder in (TorchScriptEmbedder, OnnxEmbedder, PythonFactoryEmbedder, TorchvisionEmbedder, TimmEmbedder):
        register(embedder)
