"""The ``videomae-v2-g`` embedder: VideoMAE-v2 ViT-g/14 features of video clips, the backbone of cd-fvd's
content-debiased FVD, taken and preprocessed as cd-fvd does.

One mode, ``cd-fvd`` (songweige/content-debiased-fvd 0.1.1, ``cdfvd(model='videomae')``): frames in [0, 1] without
normalisation, bilinear to 224 (:mod:`frechet_video.videomae_input`); its clips (one 16-frame clip per video from a
seeded random offset) and distance (covariance divided by N) are those of its I3D path, the ``i3d`` embedder's
``cd-fvd`` mode. The distance is reported as ``fd_videomae``: "fvd" names I3D's, and the two are not comparable.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from frechet.embedder import Option
from frechet.weights import WeightsSpec
from frechet_video.cdfvd_crop import CROP_OPTION
from frechet_video.clip_embedder import ClipEmbedder
from frechet_video.clips import CLIP_OPTIONS
from frechet_video.i3d_modes import MODES as I3D_MODES
from frechet_video.videomae import VIT_G, VideoMAE, check_clip_shape
from frechet_video.videomae_input import network_input
from frechet_video.videomae_weights import VIDEOMAE_WEIGHTS, load_videomae, resolve_videomae_weights

#: The modes (``preprocess``): cd-fvd's.
MODES = ("cd-fvd",)


class VideoMAEEmbedder(ClipEmbedder):
    """VideoMAE-v2 ViT-g/14 fine-tuned on SSv2 (cd-fvd): ``features``, the mean of the last block's tokens after
    ``fc_norm``, per clip.

    ``weights`` is a local checkpoint in the layout of ``vit_g_hybrid_pt_1200e_ssv2_ft.pth`` instead of the download.
    """

    name = "videomae-v2-g"
    aliases = ("videomae",)
    description = "VideoMAE-v2 ViT-g/14 (SSv2) mean-pooled features: cd-fvd's content-debiased FVD"
    fd_key = "fd_videomae"
    outputs = {"features": VIT_G.width}
    default_output = "features"
    weights = (VIDEOMAE_WEIGHTS,)
    options = (
        Option("preprocess", choices=MODES, default=MODES[0], help="whose protocol: cd-fvd"),
        Option("weights", Path, help="a local checkpoint in the layout of vit_g_hybrid_pt_1200e_ssv2_ft.pth"),
        Option("raw", bool, default=False,
               help="feed float frames untouched (already 224x224 and in [0, 1]); clips and distance stay the mode's"),
        *CLIP_OPTIONS,
        CROP_OPTION,
    )

    def __init__(
        self, preprocess: str = MODES[0], weights: Path | None = None, raw: bool = False,
        frames: int | None = None, stride: int | None = None, start: str | None = None, short: str | None = None,
        clips: int | None = None, clip_seed: int | None = None, crop: int = 0,
    ) -> None:
        super().__init__(I3D_MODES[preprocess], weights, raw, crop, frames=frames, stride=stride, start=start,
                         short=short, clips=clips, clip_seed=clip_seed)

    def weights_spec(self) -> WeightsSpec:
        return VIDEOMAE_WEIGHTS

    def resolve(self, path: Path | None) -> Path:
        return resolve_videomae_weights(path)

    def load(self, path: Path) -> VideoMAE:
        network = load_videomae(path, self.device)
        self.outputs = {"features": network.arch.width}  # a narrower file in the layout (tests) gives fewer
        return network

    def prepare(self, frames: np.ndarray, name: str) -> torch.Tensor:
        return network_input(frames, self.crop)

    def check_shape(self, frames: int, height: int, width: int) -> str | None:
        return check_clip_shape(frames, height, width)
