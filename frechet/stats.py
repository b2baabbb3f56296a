"""FeatureStats: streaming, exactly mergeable float64 mean and covariance of feature vectors, saved as ``.npz``.

Updates and merges use Chan et al.'s pairwise formulas on centred sums, so any split of the data (batches, workers,
ranks) gives the one-pass result to rounding. While no more samples than dimensions have been seen, the rows
themselves are kept too, so the Fréchet distance can use the exact Gram-matrix form when N ≤ d.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch

from frechet.errors import InputError, OutputError, StatsFileError
from frechet.io import atomic_write, check_path_length, npz_members, read_npz, short_path
from frechet.meta import STATS_SCHEMA, MetaError, NewerFormatError, check_meta, parse_json

ArrayLike = np.ndarray | torch.Tensor

#: What statistics files say they are in ``meta`` (docs/formats.md), and the newest layout this frechet reads.
STATS_FORMAT = "frechet-stats"
STATS_FORMAT_VERSION = 1
#: Relative asymmetry a loaded covariance may have (float32 round trips in other tools) before it is rejected.
_SYMMETRY_RTOL = 1e-5

#: Tile edge of :func:`symmetric_part` (two float64 tiles of it fit a core's L2 cache).
_TILE = 64


class FeatureStats:
    """Mean and unbiased covariance (as ``np.cov(x, rowvar=False)``) of a stream of (B, d) feature batches.

    While N ≤ d the rows themselves are the state and the (d, d) second moment is formed only when something asks
    for the covariance, so a run with few samples of wide features never holds a d × d matrix it does not need.
    """

    def __init__(self, dim: int | None = None, *, meta: Mapping[str, Any] | None = None, label: str = "") -> None:
        self.meta: dict[str, Any] = dict(meta or {})
        #: Where the statistics come from (a file, an input), for messages.
        self.label = label
        self._dim = dim
        self._n: int | None = 0
        self._mean: torch.Tensor | None = None
        self._m2: torch.Tensor | None = None  # sum of outer products of centred rows; None while the rows stand in
        self._fixed_cov: np.ndarray | None = None  # loaded from a file that has no sample count
        self._rows: list[torch.Tensor] | None = []

    # ------------------------------------------------------------------ building
    @classmethod
    def from_features(cls, features: ArrayLike, *, meta: Mapping[str, Any] | None = None) -> FeatureStats:
        """Statistics of a whole (N, d) feature matrix in one pass."""
        return cls(meta=meta).update(features)

    @classmethod
    def from_moments(
        cls, mean: ArrayLike, cov: ArrayLike, n: int | None = None, *, meta: Mapping[str, Any] | None = None,
        label: str = "",
    ) -> FeatureStats:
        """Statistics given by their mean and covariance; with ``n`` they can still be merged with others. A
        covariance stored with rounding-level asymmetry (float32 files) is kept as its symmetric part, as ``cov``
        always returns it."""
        mu = _as_float64_numpy(mean)
        sigma = _as_float64_numpy(cov)
        check_moments(mu, sigma, label or "mean/cov")
        stats = cls(mu.shape[0], meta=meta, label=label)
        stats._rows = None
        stats._mean = torch.from_numpy(mu.copy())
        if n is None:
            stats._n = None
            stats._fixed_cov = symmetric_part(sigma)
        else:
            if n < 2:
                raise InputError(f"a covariance needs at least 2 samples, got n={n}")
            stats._n = int(n)
            stats._m2 = torch.from_numpy(sigma * (n - 1))
            _check_finite(stats._m2, stats._mean, label)
        return stats

    def update(self, batch: ArrayLike) -> FeatureStats:
        """Add a (B, d) batch of feature rows (any real dtype; accumulated in float64 on the batch's device)."""
        x = _as_float64_tensor(batch)
        if x.ndim != 2:
            raise InputError(f"features must be a 2-D (samples, dims) array, got shape {tuple(x.shape)}")
        if x.shape[1] == 0:
            raise InputError("features have no dimensions (shape (N, 0)); check the model or the feature file")
        self._require_mergeable("update")
        self._check_dim(x.shape[1])
        if x.shape[0] == 0:
            return self
        if not bool(torch.isfinite(x).all()):
            raise InputError("features contain NaN or Inf; check the inputs or the model that produced them")
        batch_mean = x.mean(dim=0)
        keep = self._rows is not None and self._n + x.shape[0] <= self.dim
        m2 = None if keep else _scatter(x, batch_mean)
        self._combine(x.shape[0], batch_mean, m2, rows=x if keep else None)
        return self

    def merge(self, other: FeatureStats) -> FeatureStats:
        """Fold another FeatureStats into this one (exact: equals a single pass over both samples)."""
        self._require_mergeable("merge")
        other._require_mergeable("merge")
        if other._n == 0:
            return self
        self._check_dim(other.dim)
        device = self._mean.device if self._mean is not None else other._mean.device
        keep = self._rows is not None and other._rows is not None and self._n + other._n <= self.dim
        rows = torch.cat(other._rows).to(device) if keep else None
        m2 = None if keep else other._second_moment().to(device)
        self._combine(other._n, other._mean.to(device), m2, rows=rows)
        return self

    def _combine(self, n_b: int, mean_b: torch.Tensor, m2_b: torch.Tensor | None, *, rows: torch.Tensor | None) -> None:
        """Chan et al.'s pairwise update; ``rows`` (and no ``m2_b``) while the total stays at most d samples."""
        if rows is None and self._rows is not None:
            self._m2 = self._second_moment() if self._n else None  # from here on the second moment is the state
            self._rows = None
        if self._n == 0:
            self._n, self._mean = n_b, mean_b.clone()
            self._m2 = m2_b.clone() if m2_b is not None else None
        else:
            n_a = self._n
            n = n_a + n_b
            delta = mean_b.to(self._mean.device) - self._mean
            if self._m2 is not None:
                self._m2 += m2_b.to(self._m2.device) + torch.outer(delta, delta) * (n_a * n_b / n)
            self._mean += delta * (n_b / n)
            self._n = n
        if rows is not None:
            self._rows.append(rows.detach().to("cpu", copy=True))
        _check_finite(self._m2, self._mean, self.label)

    def _second_moment(self) -> torch.Tensor:
        """Σ (x − x̄)(x − x̄)ᵀ: the state itself, or formed from the kept rows."""
        if self._m2 is not None:
            return self._m2
        rows = torch.cat(self._rows).to(self._mean.device)
        m2 = _scatter(rows, self._mean)
        _check_finite(m2, self._mean, self.label)
        return m2

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
        """Unbiased covariance (divisor N−1), float64 (d, d), exactly symmetric (formed on request while N ≤ d)."""
        if self._fixed_cov is not None:
            return self._fixed_cov.copy()
        if self._n is None or self._n < 2:
            raise InputError(f"a covariance needs at least 2 samples, these statistics have {self._n or 0}")
        return symmetric_part(self._second_moment().cpu().numpy(), self._n - 1)

    @property
    def rows(self) -> np.ndarray | None:
        """The samples themselves while N ≤ d (for the exact Gram-form distance), else None."""
        if self._rows is None or not self._rows or self._n is None:
            return None
        return torch.cat(self._rows).numpy()

    # ------------------------------------------------------------------ exact state (cache shards, distributed ranks)
    def state(self, *, rows: bool = True) -> dict[str, np.ndarray]:
        """The exact accumulator as CPU arrays: ``n``, and once data was added ``mean`` (float64) and either
        ``rows`` (while N ≤ d) or ``m2``. :meth:`from_state` rebuilds it bit for bit, so partial statistics can be
        stored or sent and merged later exactly as if they had never left memory. ``rows=False`` gives ``m2``
        even while N ≤ d."""
        self._require_mergeable("export the state of")
        state = {"n": np.asarray(self._n, dtype=np.int64)}
        if self._n:
            state["mean"] = self._mean.cpu().numpy().copy()
            if self._rows is not None and rows:
                state["rows"] = torch.cat(self._rows).cpu().numpy()
            else:
                state["m2"] = self._second_moment().cpu().numpy().copy()
        return state

    @classmethod
    def from_state(
        cls, state: Mapping[str, np.ndarray], *, meta: Mapping[str, Any] | None = None, label: str = ""
    ) -> FeatureStats:
        """Statistics from a :meth:`state` (CPU, float64), identical to the ones that produced it. A state that
        cannot come from data (a negative count, shapes that disagree, NaN or Inf) is an InputError."""
        n = _state_count(state.get("n"))
        stats = cls(meta=meta, label=label)
        if n == 0:
            return stats
        mean = np.asarray(state.get("mean"), dtype=np.float64)
        rows, m2 = state.get("rows"), state.get("m2")
        if mean.ndim != 1 or mean.shape[0] == 0 or (rows is None) == (m2 is None):
            raise InputError(f"statistics state has mean {mean.shape} and {'both' if rows is not None else 'neither'} "
                             "of rows and m2; expected (d,) and one of them")
        d = mean.shape[0]
        stats._dim, stats._n = d, n
        stats._mean = torch.from_numpy(mean.copy())
        if rows is not None:
            rows = np.asarray(rows, dtype=np.float64)
            if rows.shape != (n, d) or n > d:
                raise InputError(
                    f"statistics state has {rows.shape} rows for n={n} and d={d}; expected (n, d), n ≤ d"
                )
            if not np.isfinite(rows).all():
                raise InputError("statistics state holds NaN or Inf")
            stats._rows = [torch.from_numpy(rows.copy())]
        else:
            m2 = np.asarray(m2, dtype=np.float64)
            if m2.shape != (d, d):
                raise InputError(f"statistics state has mean {mean.shape} and m2 {m2.shape}; expected (d,) and (d, d)")
            stats._rows, stats._m2 = None, torch.from_numpy(m2.copy())
            if n >= 2:
                check_moments(mean, m2 / (n - 1), "statistics state")
        _check_finite(stats._m2, stats._mean, label)
        return stats

    def __repr__(self) -> str:
        dim = self._dim if self._dim is not None else "?"
        return f"FeatureStats(n={self._n}, dim={dim})"

    # ------------------------------------------------------------------ files
    def save(self, path: str | Path, meta: Mapping[str, Any] | None = None) -> Path:
        """Write ``mu``, ``sigma`` (pytorch-fid/TTUR/clean-fid compatible), ``n`` and JSON ``meta`` atomically."""
        path = check_stats_suffix(Path(path))
        full_meta = {**self.meta, **(meta or {})}
        mean, cov = self.mean, self.cov
        if not (np.isfinite(mean).all() and np.isfinite(cov).all()):
            raise InputError(f"{self.label or path}: the statistics hold NaN or Inf; nothing was written to {path}")
        text = json.dumps(full_meta, sort_keys=True)
        try:
            check_meta(parse_json(text), STATS_SCHEMA, format=STATS_FORMAT, version=STATS_FORMAT_VERSION)
        except MetaError as error:
            raise OutputError(f"{path}: {error}; nothing was written") from None
        arrays: dict[str, np.ndarray] = {"mu": mean, "sigma": cov}
        if self._n is not None:
            arrays["n"] = np.asarray(self._n, dtype=np.int64)
        arrays["meta"] = np.asarray(text)
        with atomic_write(path) as handle:
            np.savez(handle, **arrays)
        return path

    @classmethod
    def load(cls, path: str | Path, *, key: str | None = None) -> FeatureStats:
        """Read and validate statistics from a ``.npz`` (ours, pytorch-fid's, TTUR's, clean-fid's, an ADM evaluator
        batch); never unpickles. EDM2's ``.pkl`` files are read by :func:`frechet.load_stats`.

        ``key`` picks one of several statistics in a file: ``mu_KEY``/``sigma_KEY`` (an ADM batch keeps its spatial
        statistics as ``mu_s``/``sigma_s``).
        """
        path = Path(path)
        check_path_length(path, short_path(path), StatsFileError)
        if not path.exists():
            raise StatsFileError(f"{path}: no such statistics file")
        if path.suffix.lower() == ".pkl":
            raise StatsFileError(f"{path}: a pickle, which FeatureStats.load does not read; read EDM2 statistics "
                                 "with frechet.load_stats(path)")
        names = ("mu", "sigma") if key is None else (f"mu_{key}", f"sigma_{key}")
        arrays = read_npz(path, StatsFileError, "; recreate it with `frechet stats`", keys={*names, "n", "meta"})
        if not set(names) <= set(arrays):
            members = sorted(npz_members(path, StatsFileError))
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
            check_moments(mu, sigma, "/".join(names))
        except InputError as error:
            raise StatsFileError(f"{path}: {error}; recreate the file with `frechet stats`") from None
        n = _read_count(arrays, path)
        meta = _read_meta(arrays, path)
        if n is not None and n < 2:
            raise StatsFileError(f"{path}: n={n}, a covariance needs at least 2 samples")
        try:
            return cls.from_moments(mu, symmetric_part(sigma), n, meta=meta, label=str(path))
        except InputError as error:
            raise StatsFileError(f"{error}; recreate the file with `frechet stats`") from None

    def _require_mergeable(self, action: str) -> None:
        if self._n is None:
            raise InputError(f"cannot {action}: these statistics were loaded without a sample count 'n'")

    def _check_dim(self, dim: int) -> None:
        if self._dim is None:
            self._dim = dim
        elif dim != self._dim:
            raise InputError(f"feature dimension {dim} does not match the statistics' dimension {self._dim}")


def check_stats_suffix(path: Path) -> Path:
    """``path``, when it names a ``.npz`` file (what :meth:`FeatureStats.save` writes and frechet reads back as
    statistics); any other suffix is an OutputError, before any work."""
    if path.suffix.lower() != ".npz":
        raise OutputError(f"{short_path(path)}: statistics are saved as .npz (mu, sigma, n, meta), which a "
                          f"'{path.suffix or 'no suffix'}' name would misrepresent; name the file OUT.npz")
    return path


def symmetric_part(matrix: np.ndarray, divisor: float = 1.0) -> np.ndarray:
    """(A / divisor + (A / divisor)ᵀ) / 2 for a square float64 array, bit for bit, as a new C-ordered array: in
    square tiles, so that the transposed read stays in cache (one pass over A instead of four at d in the
    thousands)."""
    out = np.empty(matrix.shape)
    for rows, columns in _tile_pairs(matrix.shape[0]):
        tile = (matrix[rows, columns] / divisor + (matrix[columns, rows] / divisor).T) / 2
        out[rows, columns] = tile
        out[columns, rows] = tile.T
    return out


def _largest_asymmetry(matrix: np.ndarray) -> float:
    """max |A − Aᵀ| of a square array, tile by tile (no d × d temporary, the transposed read in cache)."""
    return max((float(np.abs(matrix[rows, columns] - matrix[columns, rows].T).max())
                for rows, columns in _tile_pairs(matrix.shape[0])), default=0.0)


def _tile_pairs(size: int) -> Iterator[tuple[slice, slice]]:
    """(rows, columns) of each square tile on or above the diagonal of a size × size matrix."""
    for start in range(0, size, _TILE):
        for other in range(start, size, _TILE):
            yield slice(start, start + _TILE), slice(other, other + _TILE)


def _scatter(rows: torch.Tensor, mean: torch.Tensor) -> torch.Tensor:
    """Σ (x − mean)(x − mean)ᵀ over the rows."""
    centred = rows - mean
    return centred.T @ centred


def _check_finite(m2: torch.Tensor | None, mean: torch.Tensor | None, label: str) -> None:
    """Features whose squares or sums overflow float64 (values beyond about 1e150) cannot make statistics."""
    if (mean is not None and not bool(torch.isfinite(mean).all())) or (
        m2 is not None and not bool(torch.isfinite(m2).all())
    ):
        where = f"{label}: " if label else ""
        raise InputError(
            f"{where}the features are too large for float64 statistics (their squares or sums overflow, as values "
            "beyond about 1e150 do); rescale them, e.g. divide them by a power of ten, and compare scaled features"
        )


def _state_count(value: Any) -> int:
    try:
        array = np.asarray(value)
    except (TypeError, ValueError):
        array = np.asarray(None)
    if array.shape != () or array.dtype.kind not in "iu" or int(array) < 0:
        raise InputError(f"statistics state has sample count {array.tolist()!r}; expected a whole number ≥ 0")
    return int(array)


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


def check_moments(mu: np.ndarray, sigma: np.ndarray, what: str) -> None:
    """Refuse a mean and covariance that cannot come from data: shapes, NaN/Inf, asymmetry, negative variances;
    the message starts with ``what`` (a file, or the argument names)."""
    if mu.ndim != 1 or mu.shape[0] == 0:
        raise InputError(f"{what}: the mean must be a non-empty vector, got shape {mu.shape}")
    d = mu.shape[0]
    if sigma.shape != (d, d):
        raise InputError(f"{what}: the covariance must be ({d}, {d}) to match the mean, got shape {sigma.shape}")
    if not (np.isfinite(mu).all() and np.isfinite(sigma).all()):
        raise InputError(f"{what}: contains NaN or Inf")
    scale = max(float(sigma.max()), -float(sigma.min())) if sigma.size else 0.0
    if _largest_asymmetry(sigma) > _SYMMETRY_RTOL * scale:
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
        return check_meta(parse_json(str(raw)), STATS_SCHEMA, format=STATS_FORMAT, version=STATS_FORMAT_VERSION)
    except NewerFormatError as error:
        raise StatsFileError(f"{path}: {error}") from None
    except MetaError as error:
        raise StatsFileError(f"{path}: {error}; recreate the file with `frechet stats`") from None
