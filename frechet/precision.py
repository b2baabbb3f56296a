"""Numeric precision of the forward pass: full float32 (the default) or bfloat16 autocast, checked by name."""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING

from frechet.errors import ConfigError

if TYPE_CHECKING:
    import torch

#: Precision names -> the name of the autocast dtype of the forward pass (None: plain float32, no autocast).
PRECISIONS: dict[str, str | None] = {"fp32": None, "bf16": "bfloat16"}
#: The default, and the only precision whose features are comparable with other tools' statistics.
DEFAULT_PRECISION = "fp32"


def check_precision(precision: str) -> str:
    """The precision name, normalized (``"BF16"`` -> ``"bf16"``); an unknown one is a ConfigError."""
    name = str(precision).strip().lower()
    if name not in PRECISIONS:
        raise ConfigError(f"precision '{precision}' is not known; choose one of {', '.join(PRECISIONS)}")
    return name


def autocast(precision: str, device: torch.device) -> contextlib.AbstractContextManager:
    """The context the forward pass runs in: autocast switched off for fp32 (so a caller's own autocast, e.g. in a
    mixed-precision training loop, never leaks into the features), ``torch.autocast`` to the precision's dtype else."""
    import torch

    dtype = PRECISIONS[check_precision(precision)]
    if dtype is None:
        return torch.autocast(device_type=device.type, enabled=False)
    return torch.autocast(device_type=device.type, dtype=getattr(torch, dtype))


def exact_float32(device: torch.device) -> contextlib.AbstractContextManager:
    """Full float32 convolutions and matrix products on CUDA (no TF32) inside the block, so GPU features match the
    CPU's; the previous settings come back after. Nothing to do elsewhere."""
    return _TF32(False) if device.type == "cuda" else contextlib.nullcontext()


def allow_tf32(device: torch.device) -> contextlib.AbstractContextManager:
    """TF32 convolutions and matrix products on CUDA inside the block (an embedder's opt-in fast path: faster on
    Ampere and later GPUs, features no longer the CPU's); the previous settings come back after."""
    return _TF32(True) if device.type == "cuda" else contextlib.nullcontext()


class _TF32:
    def __init__(self, allowed: bool) -> None:
        self.allowed = allowed

    def __enter__(self) -> None:
        import torch

        self._saved = (torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32)
        torch.backends.cudnn.allow_tf32 = self.allowed
        torch.backends.cuda.matmul.allow_tf32 = self.allowed

    def __exit__(self, *exc: object) -> None:
        import torch

        torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = self._saved
