"""frechet's webtoon plugin: episodes (folders of slices, or tall images) cut into panels at their gutters, named
as inputs ``webtoon:PATH`` and fed to every image embedder; the ``frechet webtoon panels`` command that writes those
panels out; the WD tagger v3 backbones (``wd-vit-tagger-v3``, ``wd-vit-large-tagger-v3``,
``wd-convnext-tagger-v3``, ``wd-swinv2-tagger-v3``, ``wd-eva02-large-tagger-v3``), trained on drawn art; and the
webtoon disturbances of ``frechet sanity``."""

from __future__ import annotations

from typing import Any

from frechet.hookspecs import hookimpl
from frechet_webtoon.cut_options import CUT_OPTIONS
from frechet_webtoon.cutter import CutSettings
from frechet_webtoon.disturb import DISTURBANCES
from frechet_webtoon.source import PanelSource, cut_input, open_webtoon
from frechet_webtoon.tagger_embedder import EMBEDDERS

__all__ = ["CutSettings", "PanelSource", "cut_input", "open_webtoon"]

#: Panels are image items: the image plugin decodes the slices and embeds them; its resize is the image plugin's.
frechet_requires = ("image",)


@hookimpl
def frechet_register_sources(register: Any) -> None:
    register(
        "webtoon",
        open_webtoon,
        domain="image",
        named_only=True,
        options=CUT_OPTIONS,
        description="webtoon:PATH: an episode (folder of slices stitched top to bottom, or one tall image) or a "
        "folder of episodes, cut into panels at its gutters",
    )


@hookimpl
def frechet_register_commands(register: Any) -> None:
    from frechet_webtoon import command

    register("webtoon", command.build, summary=command.SUMMARY, description=command.DESCRIPTION,
             examples=command.EXAMPLES)


@hookimpl
def frechet_register_embedders(register: Any) -> None:
    for embedder in EMBEDDERS:
        register(embedder)


@hookimpl
def frechet_register_disturbances(register: Any) -> None:
    for disturbance in DISTURBANCES:
        register(disturbance)
