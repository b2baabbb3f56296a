"""The ``videomae-v2-g`` embedder: VideoMAE-v2 ViT-g/14 features of video clips, the backbone of cd-fvd's
content-debiased FVD, taken and preprocessed as cd-fvd does.

One mode, ``cd-fvd`` (songweige/content-debiased-fvd 0.1.1, ``cdfvd(model='videomae')``): frames in [0, 1] without
normalisation, bilinear to 224 (:mod:`frechet_video.videomae_input`), one 16-frame clip per video from a seeded
random offset, covariance divided by N. The distance is reported as ``fd_videomae``: "fvd" names I3D features, and
these numbers are not comparable with those.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from frechet.embedder import Embedder, Option
from frechet.errors import InputError
from frechet.precision import exact_float32
from frechet.weights import weights_identity
from frechet_video.cdfvd_crop import CROP_OPTION, check_crop
from frechet_video.clips import CLIP_OPTIONS, ClipSpec, check_raw, read_clips
from frechet_video.i3d_modes import MODES as I3D_MODES
from frechet_video.i3d_modes import raw_input
from frechet_video.video import Video
from frechet_video.videomae import SIZE, VIT_G, VideoMAE, check_clip_shape
from frechet_video.videomae_input import network_input
from frechet_video.videomae_weights import VIDEOMAE_WEIGHTS, load_videomae, resolve_videomae_weights

#: The modes (``preprocess``): cd-fvd's, whose clips and distance are those of its I3D path.
MODES = ("cd-fvd",)


class VideoMAEEmbedder(Embedder):
    """VideoMAE-v2 ViT-g/14 fine-tuned on SSv2 (cd-fvd): ``features``, the mean of the last block's tokens after
    ``fc_norm``, per clip.

    ``weights`` is a local checkpoint in the layout of ``vit_g_hybrid_pt_1200e_ssv2_ft.pth`` instead of the download.
    """

    name = "videomae-v2-g"
    aliases = ("videomae",)
    domain = "video"
    description = "VideoMAE-v2 ViT-g/14 (SSv2) mean-pooled features: cd-fvd's content-debiased FVD"
    fd_key = "fd_videomae"
    outputs = {"features": VIT_G.width}
    default_output = "features"
    multiple_examples = True
    weights = (VIDEOMAE_WEIGHTS,)
    precisions = ("fp32",)
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
        super().__init__()
        self.preprocess = preprocess
        self.mode = I3D_MODES[preprocess]
        self.clip: ClipSpec = self.mode.clip.with_options(frames, stride, start, short, clips, clip_seed)
        self.raw, self.crop = raw, check_crop(crop)
        self.weights_path = weights
        self.weights_id: str | None = None if weights is None else weights_identity(VIDEOMAE_WEIGHTS, weights)
        self._network: VideoMAE | None = None
        problem = check_clip_shape(self.clip.frames, SIZE, SIZE)
        if problem:
            raise InputError(f"embedder option frames: {problem}")

    @property
    def fd_options(self) -> Mapping[str, Any]:
        """The FD options of cd-fvd's distance (covariance divided by N, float64)."""
        return self.mode.fd_options()

    def transform(self, item: Video) -> torch.Tensor:
        frames = read_clips(self.clip, item)
        if frames is None:
            return torch.zeros((0, 3, self.clip.frames, SIZE, SIZE))
        if not self.raw:
            return network_input(frames, self.crop)
        check_raw(frames, item.name, check_clip_shape(*frames.shape[1:4]))
        return raw_input(frames)

    def forward(self, batch: torch.Tensor) -> dict[str, torch.Tensor]:
        if not batch.shape[0]:
            return {"features": batch.new_zeros((0, self.outputs["features"]))}
        with exact_float32(batch.device):
            return {"features": self.network()(batch)}

    def network(self) -> VideoMAE:
        """The loaded network (resolving and loading the weights on first use)."""
        if self._network is None:
            path = resolve_videomae_weights(self.weights_path)
            if self.weights_id is None:
                self.weights_id = weights_identity(VIDEOMAE_WEIGHTS, path)
            self._network = load_videomae(path, self.device)
            self.outputs = {"features": self._network.arch.width}  # a narrower file in the layout (tests)
        return self._network

    def config(self) -> dict[str, Any]:
        if self.weights_id is None:
            self.weights_id = weights_identity(VIDEOMAE_WEIGHTS, resolve_videomae_weights(None))
        config: dict[str, Any] = {"weights": self.weights_id, "preprocess": self.preprocess, **self.clip.config()}
        if self.raw:
            config["raw"] = True
        if self.crop:
            config["crop"] = self.crop
        return config

    def __getstate__(self) -> dict[str, Any]:
        # DataLoader workers receive the embedder for ``transform`` only: never the network.
        return {**self.__dict__, "_network": None}
