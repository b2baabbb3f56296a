"""Blocked pairwise computations on feature matrices: float64 blocks on a torch device, never an N × N matrix."""

from __future__ import annotations

import warnings
from collections.abc import Iterator

import numpy as np
import torch

from frechet.errors import InputError

#: Rows per block: a 2048 × 2048 float64 block is 32 MiB, large enough for efficient matrix products.
BLOCK_ROWS = 2048
#: Float64 elements of the row differences recomputed at once for near-identical pairs (32 MiB).
_DIRECT_ELEMENTS = 1 << 22


def feature_pair(
    real: np.ndarray | torch.Tensor, fake: np.ndarray | torch.Tensor, device: str | torch.device | None, metric: str
) -> tuple[torch.Tensor, torch.Tensor]:
    """Both feature matrices as tensors on ``device`` (in their own float dtype; blocks are made float64 later)."""
    tensors = []
    for label, features in (("real", real), ("fake", fake)):
        with warnings.catch_warnings():  # read-only arrays (memory-mapped .npy) are only ever read here
            warnings.filterwarnings("ignore", message="The given NumPy array is not writable")
            tensor = torch.as_tensor(features if isinstance(features, torch.Tensor) else np.asarray(features))
        if tensor.ndim != 2 or tensor.shape[0] == 0 or tensor.shape[1] == 0:
            raise InputError(f"{metric}: {label} features must be a non-empty (samples, dims) matrix, "
                             f"got shape {tuple(tensor.shape)}")
        if not (tensor.dtype.is_floating_point or tensor.dtype in (torch.int32, torch.int64, torch.uint8)):
            raise InputError(f"{metric}: {label} features must be real numbers, got {tensor.dtype}")
        if not tensor.dtype.is_floating_point:
            tensor = tensor.to(torch.float64)
        # checked block by block: isfinite on the whole matrix would make several N × d temporaries
        if not all(bool(torch.isfinite(tensor[span]).all()) for span in spans(tensor.shape[0])):
            raise InputError(f"{metric}: {label} features contain NaN or Inf")
        tensors.append(tensor.to(device or "cpu"))
    if tensors[0].shape[1] != tensors[1].shape[1]:
        raise InputError(f"{metric}: real features have {tensors[0].shape[1]} dims, fake {tensors[1].shape[1]}; "
                         "both sides must come from the same embedder output")
    return tensors[0], tensors[1]


def spans(n: int) -> list[slice]:
    """Consecutive row ranges of at most ``BLOCK_ROWS`` rows covering ``range(n)``."""
    return [slice(start, min(start + BLOCK_ROWS, n)) for start in range(0, n, BLOCK_ROWS)]


def block_pairs(n_a: int, n_b: int | None = None) -> Iterator[tuple[slice, slice]]:
    """Row-range pairs covering an n_a × n_b matrix; with ``n_b`` None only the upper triangle of n_a × n_a."""
    rows = spans(n_a)
    if n_b is None:
        for i, first in enumerate(rows):
            for second in rows[i:]:
                yield first, second
    else:
        for first in rows:
            for second in spans(n_b):
                yield first, second


class CentredRows:
    """Rows of a matrix handed out as float64 blocks, shifted by a common centre, with their squared norms.

    Squared distances come from ‖a‖² + ‖b‖² − 2 a·b; shifting every set by one centre (the real mean) leaves them
    unchanged and keeps the norms small, so the subtraction loses little precision (and the few pairs where it could
    lose all of it are recomputed directly: :func:`squared_distances`).
    """

    def __init__(self, rows: torch.Tensor, centre: torch.Tensor) -> None:
        self.rows, self.centre = rows, centre

    def __len__(self) -> int:
        return self.rows.shape[0]

    @property
    def device(self) -> torch.device:
        """Where the blocks live."""
        return self.rows.device

    def block(self, span: slice) -> tuple[torch.Tensor, torch.Tensor]:
        """The centred float64 rows of ``span`` and their squared norms."""
        block = self.rows[span].to(torch.float64) - self.centre
        return block, (block * block).sum(dim=1)


def squared_distances(a: tuple[torch.Tensor, torch.Tensor], b: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
    """‖aᵢ − bⱼ‖² for two (rows, squared norms) blocks; identical rows give exactly 0 on every CPU and device.

    The expansion ‖a‖² + ‖b‖² − 2 a·b is off by up to (d + 2)·ε·(‖a‖² + ‖b‖²), and by how much depends on the matrix
    product's kernel; every pair whose expansion falls within that bound (copies, near-copies) is recomputed as
    Σ (aᵢ − bⱼ)², which is exact for identical rows, so copies are found as copies whatever the hardware.
    """
    (rows_a, norms_a), (rows_b, norms_b) = a, b
    scale = norms_a[:, None] + norms_b[None, :]
    distances = torch.addmm(scale, rows_a, rows_b.T, alpha=-2.0)
    close = torch.nonzero(distances <= scale * ((rows_a.shape[1] + 2) * torch.finfo(torch.float64).eps))
    step = max(1, _DIRECT_ELEMENTS // rows_a.shape[1])  # many copies (a constant set) must not need pairs × d memory
    for start in range(0, close.shape[0], step):
        i, j = close[start : start + step].unbind(dim=1)
        distances[i, j] = (rows_a[i] - rows_b[j]).square().sum(dim=1)
    return distances.clamp_min_(0.0)


def centre_of(rows: torch.Tensor) -> torch.Tensor:
    """Float64 mean row (summed block by block, no float64 copy of the whole matrix): the common shift."""
    total = sum(rows[span].to(torch.float64).sum(dim=0) for span in spans(rows.shape[0]))
    return total / rows.shape[0]
