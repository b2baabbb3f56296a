"""The video domain of frechet: video files, frame folders, (N, T, H, W, C) arrays and in-memory videos, read as
:class:`frechet_video.video.Video` items whose frames are decoded only where a clip takes them.

Decoding video files needs the optional extra ``frechet[video]`` (PyAV).
"""

from __future__ import annotations

from frechet_video.video import ArrayVideo, Video

__all__ = ["ArrayVideo", "Video"]
