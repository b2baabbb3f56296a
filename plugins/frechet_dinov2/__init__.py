"""frechet's DINOv2 embedders (``dinov2-vits14``, ``-vitb14``, ``-vitl14`` alias ``dinov2``, ``-vitg14``): FD_DINOv2
with the preprocessing of dgm-eval, EDM2 or torch-fidelity."""

from __future__ import annotations

from typing import Any

from frechet.hookspecs import hookimpl
from frechet_dinov2.embedder import EMBEDDERS, DinoV2Embedder, DinoV2ViTB14, DinoV2ViTG14, DinoV2ViTL14, DinoV2ViTS14

__all__ = ["DinoV2Embedder", "DinoV2ViTB14", "DinoV2ViTG14", "DinoV2ViTL14", "DinoV2ViTS14"]

#: Its inputs are images, read by the image plugin's sources; its resize kernels are the image plugin's.
frechet_requires = ("image",)


@hookimpl
def frechet_register_embedders(register: Any) -> None:
    for embedder in EMBEDDERS:
        register(embedder)
