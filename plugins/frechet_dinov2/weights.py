"""Where the DINOv2 weights come from: Meta's four hub checkpoints, a user's own file, and loading either."""

from __future__ import annotations

from pathlib import Path

import torch

from frechet.errors import WeightsError
from frechet.weights import WeightsSpec, load_state_dict, resolve_weights, weights_dir
from frechet_dinov2.network import ARCHITECTURES, Architecture, DinoV2, load_network_state

#: Where the hub code (``dinov2/hub/backbones.py``) downloads the checkpoints from.
BASE_URL = "https://dl.fbaipublicfiles.com/dinov2"
#: PLACEHOLDER, not a checksum. Meta publishes no sha256 for these files and their names carry none, and frechet
#: never trusts an unverified download. Until the weights store can pin a file's digest at first use, no download
#: or cached copy is accepted under the canonical name: :func:`resolve_dinov2_weights` asks for ``--weights PATH``.
UNPUBLISHED_SHA256 = "unpublished"

WEIGHTS = {
    name: WeightsSpec(
        f"dinov2-{name}",
        f"{BASE_URL}/dinov2_{name}/dinov2_{name}_pretrain.pth",
        sha256=UNPUBLISHED_SHA256,
        description=f"DINOv2 {arch.title} pretrained on LVD-142M (Meta's torch hub checkpoint, no registers)",
    )
    for name, arch in ARCHITECTURES.items()
}


def resolve_dinov2_weights(arch: Architecture, path: str | Path | None = None) -> Path:
    """The weights file of ``arch``: ``path`` if given; otherwise an error saying where the canonical file is (or
    would be) and to pass it with ``--weights``, since its checksum is unpublished and cannot be verified."""
    spec = WEIGHTS[arch.name]
    if path is not None:
        return resolve_weights(spec, path)
    cached = weights_dir() / spec.file_name
    where = f"a copy is at {cached}" if cached.is_file() else f"download {spec.url}"
    raise WeightsError(
        f"{spec.name}: Meta publishes no checksum for {spec.file_name}, so frechet does not fetch or trust it on its "
        f"own; {where} and pass it with --weights PATH (embedder option weights=PATH)"
    )


def load_network(arch: Architecture, path: str | Path, device: torch.device | str = "cpu") -> DinoV2:
    """The ``arch`` network with the weights at ``path``, in eval mode on ``device``."""
    state = load_state_dict(path)
    try:
        model = load_network_state(state, arch, str(path))
    except ValueError as error:
        raise WeightsError(
            f"{error}; pass the DINOv2 {arch.title} hub checkpoint (dinov2_{arch.name}_pretrain.pth) or a file in its "
            "layout"
        ) from None
    return model.eval().requires_grad_(False).to(device)
