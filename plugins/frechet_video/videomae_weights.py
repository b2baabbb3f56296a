"""The published VideoMAE-v2 ViT-g/14 checkpoint cd-fvd uses, and loading a file in its layout.

cd-fvd 0.1.1 downloads ``vit_g_hybrid_pt_1200e_ssv2_ft.pth`` (VideoMAE-v2's ViT-g, pre-trained on the hybrid data
set for 1200 epochs, fine-tuned on Something-Something v2) from the VideoMAE-v2 authors' bucket, unwraps its
``model`` (else ``module``) entry and loads that state dict strictly. The file is published without a checksum: it
is pinned at first use, after it has loaded as that layout. It is read with ``torch.load(weights_only=True)``,
memory-mapped, so only the tensors the network uses are read.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from frechet.errors import WeightsError
from frechet.weights import WeightsSpec, load_state_dict, resolve_weights
from frechet_video.videomae import VideoMAE, checked_architecture, load_network_state

#: Where cd-fvd 0.1.1 (``cdfvd/third_party/VideoMAEv2/utils.py``) downloads the checkpoint from.
VIDEOMAE_URL = ("https://pjlab-gvm-data.oss-cn-shanghai.aliyuncs.com/internvideo/videomaev2/"
                "vit_g_hybrid_pt_1200e_ssv2_ft.pth")
#: The entries a training checkpoint keeps its state dict under, in the order cd-fvd looks for them.
WRAPPERS = ("model", "module")
_WHAT = ("pass VideoMAE-v2's vit_g_hybrid_pt_1200e_ssv2_ft.pth (the checkpoint cd-fvd downloads) or a file in its "
         "layout")


def _check(path: Path) -> None:
    try:
        checked_architecture(_state(path), str(path))
    except ValueError as error:
        raise WeightsError(f"{error}; {_WHAT}") from None


VIDEOMAE_WEIGHTS = WeightsSpec(
    "VideoMAE-v2 ViT-g/14 (SSv2 fine-tuned, as cd-fvd downloads it)", VIDEOMAE_URL, pin=True, check=_check,
    description="VideoMAE-v2 ViT-g/14 pre-trained on the hybrid set, fine-tuned on SSv2: cd-fvd's content-debiased "
                "FVD backbone",
)


def resolve_videomae_weights(path: str | Path | None) -> Path:
    """The checkpoint: ``path``, a cached copy, or a download (pinned at first use, once it loads as the layout)."""
    return resolve_weights(VIDEOMAE_WEIGHTS, path)


def unwrap(checkpoint: Mapping[str, Any]) -> Mapping[str, Any]:
    """The state dict inside a checkpoint: its ``model`` or ``module`` entry where it has one (as cd-fvd looks)."""
    for key in WRAPPERS:
        if key in checkpoint:
            return checkpoint[key]
    return checkpoint


def load_videomae(path: str | Path, device: torch.device | str = "cpu") -> VideoMAE:
    """The network with the weights at ``path``, in eval mode on ``device``; a file in another layout is a
    WeightsError naming what does not fit."""
    try:
        model = load_network_state(_state(path), str(path))
    except ValueError as error:
        raise WeightsError(f"{error}; {_WHAT}") from None
    return model.eval().requires_grad_(False).to(device)


def _state(path: str | Path) -> Mapping[str, torch.Tensor]:
    """The file's state dict (memory-mapped), out of its wrapper."""
    state = unwrap(load_state_dict(path, mmap=True))
    if not isinstance(state, Mapping) or not all(isinstance(value, torch.Tensor) for value in state.values()):
        raise WeightsError(f"{path}: its state dict is not a mapping of names to tensors; {_WHAT}")
    return state
