"""frechet's CLIP plugin: OpenAI CLIP image towers (``clip-vitb32``, ``clip-vitl14``, ``clip-vitl14-336``) with
clean-fid, torch-fidelity and CMMD preprocessing, and the ``cmmd`` metric."""

from __future__ import annotations

from typing import Any

from frechet.hookspecs import hookimpl
from frechet_clip.cmmd import CMMDMetric
from frechet_clip.embedder import ClipVitB32, ClipVitL14, ClipVitL14At336

__all__ = ["CMMDMetric", "ClipVitB32", "ClipVitL14", "ClipVitL14At336"]

#: Its inputs are images, read by the image plugin's sources.
frechet_requires = ("image",)


@hookimpl
def frechet_register_embedders(register: Any) -> None:
    register(ClipVitB32)
    register(ClipVitL14)
    register(ClipVitL14At336)


@hookimpl
def frechet_register_metrics(register: Any) -> None:
    register(
        "cmmd",
        CMMDMetric,
        description="CMMD: RBF MMD² × 1000 (σ=10) of CLIP embeddings; CMMD's own CLIP unless --embedder is given",
    )
