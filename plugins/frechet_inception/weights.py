"""Where the FID Inception weights come from: the two canonical files, a user's own file, and loading either.

pytorch-fid and torch-fidelity publish the same bytes under two names (sha256 6726825d0af5…, 95,628,359 bytes, 566
tensors), so a copy already fetched by either tool is reused and either URL can serve a download.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch

from frechet.errors import WeightsError
from frechet.weights import WeightsSpec, load_state_dict, resolve_weights
from frechet_inception.network import FIDInceptionV3, load_network_state

#: Full sha256 of the canonical file; the first 8 hex digits are the "-6726825d" in both file names.
CANONICAL_SHA256 = "6726825d0af5f729cebd5821db510b11b1cfad8faad88a03f1befd49fb9129b2"
PYTORCH_FID_WEIGHTS = WeightsSpec(
    "FID Inception-v3 (pytorch-fid)",
    "https://github.com/mseitzer/pytorch-fid/releases/download/fid_weights/pt_inception-2015-12-05-6726825d.pth",
    sha256=CANONICAL_SHA256,
    description="TensorFlow's 2015-12-05 Inception graph ported to torch by pytorch-fid",
)
TORCH_FIDELITY_WEIGHTS = WeightsSpec(
    "FID Inception-v3 (torch-fidelity)",
    "https://github.com/toshas/torch-fidelity/releases/download/v0.2.0/weights-inception-2015-12-05-6726825d.pth",
    sha256=CANONICAL_SHA256,
    description="the same file, as published by torch-fidelity",
)
WEIGHTS = (PYTORCH_FID_WEIGHTS, TORCH_FIDELITY_WEIGHTS)


def resolve_inception_weights(path: str | Path | None = None, specs: Sequence[WeightsSpec] = WEIGHTS) -> Path:
    """The weights file: ``path`` if given, else a cached canonical copy under either name, else a download
    (from pytorch-fid's URL, then torch-fidelity's). With FRECHET_OFFLINE set, a missing file is an error that says
    where to put it."""
    return resolve_weights(specs, path)


def load_network(path: str | Path, device: torch.device | str = "cpu") -> FIDInceptionV3:
    """The network with the weights at ``path``, batch norms folded, in eval mode and channels-last on ``device``."""
    state = load_state_dict(path)
    try:
        model = load_network_state(state, str(path))
    except ValueError as error:
        raise WeightsError(
            f"{error}; pass the FID Inception weights (pt_inception-2015-12-05-6726825d.pth) or a file in its layout"
        ) from None
    model = model.eval().requires_grad_(False).fold_batchnorm()
    return model.to(device=device, memory_format=torch.channels_last)
