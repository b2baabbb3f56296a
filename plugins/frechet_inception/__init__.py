"""frechet's FID Inception-v3 embedder (``inception``): pool3 features for FID, class logits for the Inception Score."""

from __future__ import annotations

from typing import Any

from frechet.hookspecs import hookimpl
from frechet_inception.embedder import InceptionEmbedder

__all__ = ["InceptionEmbedder"]

#: Its inputs are images, read by the image plugin's sources.
frechet_requires = ("image",)


@hookimpl
def frechet_register_embedders(register: Any) -> None:
    register(InceptionEmbedder)
