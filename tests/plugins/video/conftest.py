"""Fixtures for the video-plugin tests: a tiny test-only video embedder (the videos come from video_files.py)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from frechet.embedder import Embedder
from frechet.plugins import get_registry
from frechet_video.video import Video


class MeanMotion(Embedder):
    """Test-only embedder: the mean colour of a video's first 4 frames and their mean absolute frame difference."""

    name = "mean-motion"
    domain = "video"

    def __init__(self) -> None:
        super().__init__()
        self.outputs = {"motion": 4}
        self.default_output = "motion"

    def transform(self, item: Video) -> torch.Tensor:
        frames = torch.from_numpy(item.read(range(min(4, item.num_frames)))).double()
        return torch.cat([frames.mean(dim=(0, 1, 2)), (frames[1:] - frames[:-1]).abs().mean().reshape(1)])

    def forward(self, batch: torch.Tensor) -> dict[str, torch.Tensor]:
        return {"motion": batch}


@pytest.fixture
def mean_motion() -> str:
    """Register MeanMotion in this test's registry (plugins are reloaded for every test)."""
    get_registry().add_embedder(MeanMotion.name, MeanMotion, domain="video", outputs={"motion": 4},
                                description="test: mean colour and motion")
    return MeanMotion.name
