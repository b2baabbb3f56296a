"""The error for features too large for a kernel metric's float64 arithmetic: kernels are not scale-invariant, so
frechet cannot rescale the features itself, and says which side reaches which scale."""

from __future__ import annotations

import torch

from frechet.errors import InputError


def kernel_overflow(metric: str, kernel: str, limit: str, real: torch.Tensor, fake: torch.Tensor,
                    names: tuple[str, str]) -> InputError:
    """An InputError for ``metric`` whose ``kernel`` overflowed float64 (beyond ``limit``), naming each side's
    largest absolute feature value."""
    scales = ", ".join(f"{name} up to {float(rows.abs().max()):.3g}" for name, rows in zip(names, (real, fake)))
    return InputError(
        f"{metric}: the features are too large for its kernel {kernel} in float64 ({scales}; it overflows beyond "
        f"{limit}); {metric} changes with the features' scale, so it cannot be computed on these: use features on "
        "their usual scale, or FD"
    )
