"""FeatureStats: streaming, exactly mergeable float64 mean and covariance of feature vectors, saved as ``.npz``.

Updates and merges use Chan et al.'s pairwise formulas on centred sums, so any split of the data (batches, workers,
ranks) gives the one-pass result to rounding. While no more samples than dimensions have been seen, the rows
themselves are kept too, so the Fréchet distance can use the exact Gram-matrix form when N ≤ d.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch

from frechet.io import read_npz
from frechet.io import atomic_write
from frechet.errors import InputError, StatsFileError

ArrayLike = np.ndarray | torch.Tensor

#: Relative asymmetry a loaded covariance may have (float32 round trips in other tools) before it is rejected.
_SYMMETRY_RTOL = 1e-5


class FeatureStats:
    """Mean and unbiased covariance (as ``np.cov(x, rowvar=False)``) of a stream of (B, d) feature batches."""

    def __init__(self, dim: int | None = None, *, meta: Mapping[str, Any] | None = None) -> None:
        self.meta: dict[str, Any] = dict(meta or {})
        self._dim = dim
        self._n: int | None = 0
        self._mean: torch.Tensor | None = None
        self._m2: torch.Tensor | None = None  # sum of outer products of centred rows
        self._fixed_cov: np.ndarray | None = None  # loaded from a file that has no sample count
        self._rows: list[torch.Tensor] | None = []

    # ------------------------------------------------------------------ building
    @classmethod
    def from_features(cls, features: ArrayLike, *, meta: Mapping[str, Any] | None = None) -> FeatureStats:
        """Statistics of a whole (N, d) feature matrix in one pass."""
        return cls(meta=meta).update(features)

    @classmethod
    def from_moments(
        cls, mean: ArrayLike, cov: ArrayLike, n: int | None = None, *, meta: Mapping[str, Any] | None = None
    ) -> FeatureStats:
        """Statistics given by their mean and covariance; with ``n`` they can still be merged with others."""
        mu = _as_float64_numpy(mean)
        sigma = _as_float64_numpy(cov)
        _check_moments(mu, sigma, "mean/cov")
        stats = cls(mu.shape[0], meta=meta)
        stats._rows = None
        stats._mean = torch.from_numpy(mu.copy())
        if n is None:
            stats._n = None
            stats._fixed_cov = sigma
        else:
            if n < 2:
                raise InputError(f"a covariance needs at least 2 samples, got n={n}")
            stats._n = int(n)
            stats._m2 = torch.from_numpy(sigma * (n - 1))
        return stats

    def update(self, batch: ArrayLike) -> FeatureStats:
        """Add a (B, d) batch of feature rows (any real dtype; accumulated in float64 on the batch's device)."""
        x = _as_float64_tensor(batch)
        if x.ndim != 2:
            raise InputError(f"features must be a 2-D (samples, dims) array, got shape {tuple(x.shape)}")
        self._require_mergeable("update")
        self._check_dim(x.shape[1])
        if x.shape[0] == 0:
            return self
        if not bool(torch.isfinite(x).all()):
            raise InputError("features contain NaN or Inf; check the inputs or the model that produced them")
        batch_mean = x.mean(dim=0)
        centred = x - batch_mean
        self._combine(x.shape[0], batch_mean, centred.T @ centred, rows=x)
        return self

    def merge(self, other: FeatureStats) -> FeatureStats:
        """Fold another FeatureStats into this one (exact: equals a single pass over both samples)."""
        self._require_mergeable("merge")
        other._require_mergeable("merge")
        if other._n == 0:
            return self
        self._check_dim(other.dim)
        device = self._mean.device if self._mean is not None else other._mean.device
        rows = torch.cat(other._rows).to(device) if other._rows is not None else None
        self._combine(other._n, other._mean.to(device), other._m2.to(device), rows=rows, rows_complete=rows is not None)
        return self

    def _combine(
        self, n_b: int, mean_b: torch.Tensor, m2_b: torch.Tensor, *, rows: torch.Tensor | None, rows_complete: bool = True
    ) -> None:
        if self._n == 0:
            self._n, self._mean, self._m2 = n_b, mean_b.clone(), m2_b.clone()
        else:
            n_a = self._n
            n = n_a + n_b
            delta = mean_b.to(self._mean.device) - self._mean
            self._m2 += m2_b.to(self._m2.device) + torch.outer(delta, delta) * (n_a * n_b / n)
            self._mean += delta * (n_b / n)
            self._n = n
        if self._rows is not None:
            if rows is not None and rows_complete and self._n <= self.dim:
                self._rows.append(rows.detach().to("cpu", copy=True))
            else:
                self._rows = None

    # ------------------------------------------------------------------ reading
    @property
    def n(self) -> int | None:
        """Number of samples, or None for statistics loaded from a file that does not record it."""
        return self._n

    @property
    def dim(self) -> int:
        """Feature dimension d."""
        if self._dim is None:
            raise InputError("these statistics are empty: add features with update() first")
        return self._dim

    @property
    def mean(self) -> np.ndarray:
        """Mean vector, float64 (d,)."""
        if self._mean is None:
            raise InputError("these statistics are empty: add features with update() first")
        return self._mean.cpu().numpy().copy()

    @property
    def cov(self) -> np.ndarray:
        """Unbiased covariance (divisor N−1), float64 (d, d), exactly symmetric."""
        if self._fixed_cov is not None:
            return self._fixed_cov.copy()
        if self._n is None or self._n < 2:
            raise InputError(f"a covariance needs at least 2 samples, these statistics have {self._n or 0}")
        m2 = self._m2.cpu().numpy()
        cov = m2 / (self._n - 1)
        return (cov + cov.T) / 2

    @property
    def rows(self) -> np.ndarray | None:
        """The samples themselves while N ≤ d (for the exact Gram-form distance), else None."""
        if self._rows is None or not self._rows or self._n is None:
            return None
        return torch.cat(self._rows).numpy()

    # ------------------------------------------------------------------ exact state (cache shards, distributed ranks)
    def state(self) -> dict[str, np.ndarray]:
        """The exact accumulator as CPU arrays: ``n``, and once data was added ``mean``, ``m2`` (float64) and, while
        N ≤ d, ``rows``. :meth:`from_state` rebuilds it bit for bit, so partial statistics can be stored or sent and
        merged later exactly as if they had never left memory."""
        self._require_mergeable("export the state of")
        state = {"n": np.asarray(self._n, dtype=np.int64)}
        if self._n:
            state["mean"] = self._mean.cpu().numpy().copy()
            state["m2"] = self._m2.cpu().numpy().copy()
            if self._rows is not None:
                state["rows"] = torch.cat(self._rows).cpu().numpy()
        return state

    @classmethod
    def from_state(cls, state: Mapping[str, np.ndarray], *, meta: Mapping[str, Any] | None = None) -> FeatureStats:
        """Statistics from a :meth:`state` (CPU, float64), identical to the ones that produced it."""
        n = int(state["n"])
        stats = cls(meta=meta)
        if n == 0:
            return stats
        mean = np.asarray(state["mean"], dtype=np.float64)
        m2 = np.asarray(state["m2"], dtype=np.float64)
        if mean.ndim != 1 or m2.shape != (mean.shape[0], mean.shape[0]):
            raise InputError(f"statistics state has mean {mean.shape} and m2 {m2.shape}; expected (d,) and (d, d)")
        stats._dim, stats._n = mean.shape[0], n
        stats._mean, stats._m2 = torch.from_numpy(mean.copy()), torch.from_numpy(m2.copy())
        rows = state.get("rows")
        stats._rows = [torch.from_numpy(np.asarray(rows, dtype=np.float64).copy())] if rows is not None else None
        return stats

    def __repr__(self) -> str:
        dim = self._dim if self._dim is not None else "?"
        return f"FeatureStats(n={self._n}, dim={dim})"

    # ------------------------------------------------------------------ files
    def save(self, path: str | Path, meta: Mapping[str, Any] | None = None) -> Path:
        """Write ``mu``, ``sigma`` (pytorch-fid/TTUR/clean-fid compatible), ``n`` and JSON ``meta`` atomically."""
        path = Path(path)
        full_meta = {**self.meta, **(meta or {})}
        arrays: dict[str, np.ndarray] = {"mu": self.mean, "sigma": self.cov}
        if self._n is not None:
            arrays["n"] = np.asarray(self._n, dtype=np.int64)
        arrays["meta"] = np.asarray(json.dumps(full_meta, sort_keys=True))
        with atomic_write(path) as handle:
            np.savez(handle, **arrays)
        return path

    @classmethod
    def load(cls, path: str | Path, *, key: str | None = None) -> FeatureStats:
        """Read and validate statistics: a ``.npz`` (ours, pytorch-fid's, TTUR's, clean-fid's, an ADM evaluator batch)
        or an EDM/EDM2 ``.pkl`` (through a reader that builds nothing but numbers, arrays and dicts). Never unpickles
        anything else.

        ``key`` picks one of several statistics in a file: in an ``.npz`` it reads ``mu_KEY``/``sigma_KEY`` (an ADM
        batch keeps its spatial statistics as ``mu_s``/``sigma_s``), in an EDM2 pickle the entry ``KEY`` ("fid", the
        default, or "fd_dinov2").
        """
        path = Path(path)
        if not path.is_file():
            raise StatsFileError(f"{path}: no such statistics file")
        if path.suffix.lower() == ".pkl":
            from frechet.pickled_stats import read_edm2_stats

            return read_edm2_stats(path, key or "fid")
        names = ("mu", "sigma") if key is None else (f"mu_{key}", f"sigma_{key}")
        arrays = read_npz(path, StatsFileError, "; recreate it with `frechet stats`", keys={*names, "n", "meta"})
        if not set(names) <= set(arrays):
            with np.load(path, allow_pickle=False) as npz:  # read_npz checked the file: listing its members is safe
                members = sorted(npz.files)
            raise StatsFileError(
                f"{path}: not a statistics file (has {members or 'no arrays'}, needs '{names[0]}' and "
                f"'{names[1]}'); make one with `frechet stats`"
            )
        mu, sigma = arrays[names[0]], arrays[names[1]]
        for name, value in zip(names, (mu, sigma)):
            if value.dtype.kind not in "fiu":
                raise StatsFileError(f"{path}: '{name}' has dtype {value.dtype}, expected real numbers")
        mu, sigma = mu.astype(np.float64), sigma.astype(np.float64)
        try:
            _check_moments(mu, sigma, "/".join(names))
        except InputError as error:
            raise StatsFileError(f"{path}: {error}; recreate the file with `frechet stats`") from None
        n = _read_count(arrays, path)
        meta = _read_meta(arrays, path)
        if n is not None and n < 2:
            raise StatsFileError(f"{path}: n={n}, a covariance needs at least 2 samples")
        return cls.from_moments(mu, (sigma + sigma.T) / 2, n, meta=meta)

    def _require_mergeable(self, action: str) -> None:
        if self._n is None:
            raise InputError(f"cannot {action}: these statistics were loaded without a sample count 'n'")

    def _check_dim(self, dim: int) -> None:
        if self._dim is None:
            self._dim = dim
        elif dim != self._dim:
            raise InputError(f"feature dimension {dim} does not match the statistics' dimension {self._dim}")


def _as_float64_tensor(batch: ArrayLike) -> torch.Tensor:
    if isinstance(batch, torch.Tensor):
        if batch.is_complex():
            raise InputError("features must be real numbers, got a complex tensor")
        return batch.detach().to(torch.float64)
    array = np.asarray(batch)
    if array.dtype.kind not in "fiub":
        raise InputError(f"features must be real numbers, got dtype {array.dtype}")
    return torch.from_numpy(np.ascontiguousarray(array, dtype=np.float64))


def _as_float64_numpy(value: ArrayLike) -> np.ndarray:
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu().numpy()
    return np.asarray(value, dtype=np.float64)


def _check_moments(mu: np.ndarray, sigma: np.ndarray, what: str) -> None:
    if mu.ndim != 1 or mu.shape[0] == 0:
        raise InputError(f"{what}: the mean must be a non-empty vector, got shape {mu.shape}")
    d = mu.shape[0]
    if sigma.shape != (d, d):
        raise InputError(f"{what}: the covariance must be ({d}, {d}) to match the mean, got shape {sigma.shape}")
    if not (np.isfinite(mu).all() and np.isfinite(sigma).all()):
        raise InputError(f"{what}: contains NaN or Inf")
    scale = float(np.abs(sigma).max()) if sigma.size else 0.0
    if float(np.abs(sigma - sigma.T).max()) > _SYMMETRY_RTOL * scale:
        raise InputError(f"{what}: the covariance is not symmetric")
    if float(np.diag(sigma).min()) < -_SYMMETRY_RTOL * scale:
        raise InputError(f"{what}: the covariance has negative variances on its diagonal")


def _read_count(arrays: Mapping[str, np.ndarray], path: Path) -> int | None:
    if "n" not in arrays:
        return None
    n = arrays["n"]
    if n.shape != () or n.dtype.kind not in "iu":
        raise StatsFileError(f"{path}: 'n' must be a single integer, got dtype {n.dtype} shape {n.shape}")
    return int(n)


def _read_meta(arrays: Mapping[str, np.ndarray], path: Path) -> dict[str, Any]:
    if "meta" not in arrays:
        return {}
    raw = arrays["meta"]
    if raw.shape != () or raw.dtype.kind != "U":
        raise StatsFileError(f"{path}: 'meta' must be a JSON string")
    try:
        meta = json.loads(str(raw))
    except json.JSONDecodeError as error:
        raise StatsFileError(f"{path}: 'meta' is not valid JSON ({error.msg})") from None
    if not isinstance(meta, dict):
        raise StatsFileError(f"{path}: 'meta' must be a JSON object")
    return meta
