"""The video domain of frechet: video files, frame folders, (N, T, H, W, 3) arrays and in-memory videos, read as
:class:`frechet_video.video.Video` items whose frames are decoded only where a clip takes them, the ``i3d``
embedder that computes FVD in each tool's protocol (:mod:`frechet_video.i3d_modes`), and the ``videomae-v2-g``
embedder of cd-fvd's content-debiased FVD.

Decoding video files needs the optional extra ``frechet[video]`` (PyAV).
"""

from __future__ import annotations

from typing import Any

from frechet.hookspecs import hookimpl
from frechet_video.decode import VIDEO_SUFFIXES
from frechet_video.disturb import DISTURBANCES
from frechet_video.i3d_embedder import I3DEmbedder
from frechet_video.sources import (
    is_video_batch,
    open_video_arrays,
    open_video_batch,
    open_video_file,
    open_video_folder,
)
from frechet_video.thumbnails import animated_thumbnail
from frechet_video.video import ArrayVideo, Video
from frechet_video.videomae_embedder import VideoMAEEmbedder

__all__ = ["ArrayVideo", "I3DEmbedder", "Video", "VideoMAEEmbedder"]


@hookimpl
def frechet_register_embedders(register: Any) -> None:
    register(I3DEmbedder)
    register(VideoMAEEmbedder)


@hookimpl
def frechet_register_sources(register: Any) -> None:
    register(
        "video-folder",
        open_video_folder,
        domain="video",
        directories=True,
        description="folder of video files (recursive, sorted), or of frame folders (one folder of numbered images "
        "per video, natural order)",
    )
    register(
        "video-file",
        open_video_file,
        domain="video",
        suffixes=VIDEO_SUFFIXES,
        description="one video file (mp4, webm, avi, mkv, mov, gif; decoded through PyAV: frechet[video])",
    )
    register(
        "video-array",
        open_video_arrays,
        domain="video",
        suffixes=(".npy", ".npz"),
        description=".npy/.npz holding a (videos, frames, height, width, 3) array, uint8 or float in [0, 1]",
    )
    register(
        "video-batch",
        open_video_batch,
        domain="video",
        accepts=is_video_batch,
        description="(N, T, H, W, 3) numpy array or torch tensor, or a list of (T, H, W, 3) ones, uint8 or float in "
        "[0, 1] (Python API)",
    )


@hookimpl
def frechet_register_disturbances(register: Any) -> None:
    for disturbance in DISTURBANCES:
        register(disturbance)


@hookimpl
def frechet_report_item(item: Any, domain: str) -> Any:
    return animated_thumbnail(item, domain)
