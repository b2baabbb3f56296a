"""Weights of torchvision/timm modules: loading a local file safely, and a digest of the weights for the id."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import torch

from frechet.errors import WeightsError, one_line
from frechet.weights import load_state_dict

#: Hex digits of the weights digest kept in the embedder id.
DIGEST_PREFIX = 16


def load_local_weights(module: torch.nn.Module, path: str | Path, label: str) -> None:
    """Load a state dict file (``.pth``/``.pt`` through ``torch.load(weights_only=True)``, or ``.safetensors``)
    into ``module``; every key must match."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise WeightsError(f"{label}: weights file not found: {path}")
    state = _read_safetensors(path, label) if path.suffix == ".safetensors" else load_state_dict(path)
    try:
        module.load_state_dict(state, strict=True)
    except RuntimeError as error:
        raise WeightsError(f"{label}: {path} does not fit this model ({one_line(error)})") from None


def weights_digest(module: torch.nn.Module) -> str:
    """sha256 prefix over the module's parameters and buffers (names, shapes, dtypes, values), wherever they were
    loaded from: the same weights give the same digest from a cache or a local file, other weights another."""
    digest = hashlib.sha256()
    for name, tensor in sorted(module.state_dict().items()):
        digest.update(f"{name}:{tuple(tensor.shape)}:{tensor.dtype};".encode())
        digest.update(tensor.detach().cpu().contiguous().view(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()[:DIGEST_PREFIX]


def _read_safetensors(path: Path, label: str) -> dict[str, Any]:
    try:
        from safetensors.torch import load_file
    except ImportError:
        raise WeightsError(f"{label}: reading {path} needs the package 'safetensors' (pip install safetensors)") from None
    try:
        return load_file(str(path))
    except Exception as error:  # safetensors raises its own error types for corrupt files
        raise WeightsError(f"{label}: {path} is not a readable safetensors file ({one_line(error)})") from None
