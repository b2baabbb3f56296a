"""The video domain of frechet: video files, frame folders, (N, T, H, W, C) arrays and in-memory videos, read as
:class:`frechet_video.video.Video` items whose frames are decoded only where a clip takes them.

Decoding video files needs the optional extra ``frechet[video]`` (PyAV).
"""

from __future__ import annotations

from typing import Any

from frechet.hookspecs import hookimpl
from frechet_video.i3d_embedder import I3DEmbedder
from frechet_video.video import ArrayVideo, Video

__all__ = ["ArrayVideo", "I3DEmbedder", "Video"]


@hookimpl
def frechet_register_embedders(register: Any) -> None:
    register(I3DEmbedder)
