"""frechet's webtoon plugin: the WD tagger v3 backbones (``wd-vit-tagger-v3``, ``wd-vit-large-tagger-v3``,
``wd-convnext-tagger-v3``), trained on drawn art, and the webtoon disturbances of ``frechet sanity``."""

from __future__ import annotations

from typing import Any

from frechet.hookspecs import hookimpl
from frechet_webtoon.disturb import DISTURBANCES
from frechet_webtoon.tagger_embedder import EMBEDDERS

#: Its inputs are images, read by the image plugin's sources; its resize is the image plugin's.
frechet_requires = ("image",)


@hookimpl
def frechet_register_embedders(register: Any) -> None:
    for embedder in EMBEDDERS:
        register(embedder)


@hookimpl
def frechet_register_disturbances(register: Any) -> None:
    for disturbance in DISTURBANCES:
        register(disturbance)
