"""The "features" domain: precomputed feature matrices (``.npy``, ``.npz``, arrays) and the identity embedder.

This lets every metric run on features made elsewhere, and the whole CLI work without any network model.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import numpy as np
import torch

from frechet.io import npz_headers, read_npy, read_npz
from frechet.embedder import Embedder
from frechet.errors import InputError
from frechet.sources import Source
from frechet.statsfiles import is_stats_file

FEATURE_SUFFIXES = (".npy", ".npz")


class FeatureMatrixSource(Source):
    """Rows of an (N, d) feature matrix; item i is row i (a row holding NaN or Inf is a bad item)."""

    domain = "features"
    row_blocks = True

    def __init__(self, matrix: np.ndarray, label: str) -> None:
        super().__init__(label)
        if matrix.ndim != 2:
            raise InputError(f"{label}: features must be a 2-D (samples, dims) array, got shape {matrix.shape}")
        if matrix.dtype.kind not in "fiu":
            raise InputError(f"{label}: features must be real numbers, got dtype {matrix.dtype}")
        if matrix.shape[0] == 0 or matrix.shape[1] == 0:
            raise InputError(f"{label}: the feature matrix is empty (shape {matrix.shape})")
        self.matrix = matrix

    def __len__(self) -> int:
        return self.matrix.shape[0]

    def load(self, index: int) -> np.ndarray:
        row = np.array(self.matrix[index], dtype=np.float64)
        if not np.isfinite(row).all():
            raise InputError(self._non_finite(index))
        return row

    def load_rows(self, start: int, stop: int) -> tuple[np.ndarray, list[tuple[int, str]]]:
        block = np.array(self.matrix[start:stop], dtype=np.float64)
        finite = np.isfinite(block).all(axis=1)
        if finite.all():
            return block, []
        bad = [(start + int(offset), self._non_finite(start + int(offset))) for offset in np.flatnonzero(~finite)]
        return block[finite], bad

    def _non_finite(self, index: int) -> str:
        return f"{self.item_name(index)}: this feature row holds NaN or Inf; fix or drop the row"

    def item_name(self, index: int) -> str:
        return f"{self.label}[{index}]"

    def item_digest(self, index: int) -> str:
        row = np.ascontiguousarray(self.matrix[index])
        return hashlib.sha256(row.dtype.str.encode() + row.tobytes()).hexdigest()


def open_feature_file(path: str | Path) -> FeatureMatrixSource:
    """A feature source for ``.npy`` (memory-mapped) or ``.npz`` (key 'features' or its only array)."""
    path = Path(path)
    if path.suffix.lower() == ".npz" and is_stats_file(path):
        raise InputError(
            f"{path}: holds statistics (mu, sigma), not features; it can stand for a whole side of `frechet "
            "compute`/`distance`, but metrics other than FD need the features themselves"
        )
    if path.suffix.lower() == ".npy":
        matrix = read_npy(path)
    else:
        matrix = _features_of_npz(path, read_npz(path))
    return FeatureMatrixSource(matrix, str(path))


def _features_of_npz(path: Path, arrays: dict[str, np.ndarray]) -> np.ndarray:
    if "features" in arrays:
        return arrays["features"]
    if {"mu", "sigma"} & set(arrays):
        lacking = sorted({"mu", "sigma"} - set(arrays))
        raise InputError(f"{path}: looks like statistics but has no {' or '.join(repr(key) for key in lacking)} "
                         "(a statistics file holds 'mu' and 'sigma'); recreate it with `frechet stats`")
    if len(arrays) == 1:
        return next(iter(arrays.values()))
    keys = sorted(arrays)
    raise InputError(f"{path}: has arrays {keys}; name the feature matrix 'features' (np.savez(path, features=x))")


def open_feature_array(array: np.ndarray | torch.Tensor) -> FeatureMatrixSource:
    """A feature source for an in-memory (N, d) array or tensor."""
    if isinstance(array, torch.Tensor):
        array = array.detach().cpu().numpy()
    return FeatureMatrixSource(np.asarray(array), f"<array {tuple(array.shape)}>")


def is_feature_matrix(obj: Any) -> bool:
    """True for a 2-D numeric numpy array or torch tensor."""
    if isinstance(obj, torch.Tensor):
        return obj.ndim == 2 and not obj.is_complex() and obj.dtype != torch.bool
    return isinstance(obj, np.ndarray) and obj.ndim == 2 and obj.dtype.kind in "fiu"


def is_feature_input(obj: Any) -> bool:
    """True for an existing .npy/.npz feature file path or an in-memory feature matrix (an ``.npz`` whose array is not
    2-D, such as a batch of images, is not one)."""
    if isinstance(obj, (str, Path)):
        path = Path(obj)  # a FIFO or device named .npy counts: reading it is then refused by name, never attempted
        if path.suffix.lower() not in FEATURE_SUFFIXES or not path.exists() or path.is_dir() or is_stats_file(path):
            return False
        if path.suffix.lower() == ".npz" and path.is_file():
            headers = npz_headers(path)
            if {"mu", "sigma"} & set(headers):  # half a statistics file: opened as features, refused by name
                return True
            shape = headers.get("features", next(iter(headers.values())) if len(headers) == 1 else None)
            return shape is None or len(shape[0]) == 2  # not an image batch (an ADM .npz)
        return True
    return is_feature_matrix(obj)


class FeaturesEmbedder(Embedder):
    """identity: the inputs are precomputed feature rows (.npy, .npz, 2-D arrays)"""

    name = "features"
    domain = "features"
    outputs = {"features": None}
    default_output = "features"
    parallel_transform = False
    cacheable = False  # the identity: a cache entry would only copy the input
    precisions = ("fp32",)  # no arithmetic to run in another precision
    takes_row_blocks = True  # the identity: a block of feature rows is already a batch

    def transform(self, item: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(item)

    def forward(self, batch: torch.Tensor) -> dict[str, torch.Tensor]:
        return {"features": batch}
