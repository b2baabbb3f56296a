"""The Fréchet distance between two Gaussians, computed exactly and fast in float64.

    FD = ‖μ₁ − μ₂‖² + tr Σ₁ + tr Σ₂ − 2 tr (Σ₁^½ Σ₂ Σ₁^½)^½

The trace term is the nuclear norm of F₁ᵀF₂ for any factors Σᵢ = FᵢFᵢᵀ, and Σ √eig(F₁ᵀ Σ₂ F₁). Each side gets its
cheapest exact factor once: the centred samples while N ≤ d (Gram form), the Cholesky factor L of a full-rank
covariance, else a rank-revealing pivoted Cholesky factor of r columns (O(d² r), no d × d eigendecomposition).
Fast path: Σ √eig(F₁ᵀ Σ₂ F₁) — for full rank LAPACK's sygst (L₁ᵀ Σ₂ L₁ from the lower triangles, half the work of two
triangular products) and the eigenvalues alone of the result (a tridiagonal reduction, no eigenvectors), for a
reference of rank r an r × r problem — kept when rounding-level eigenvalues cannot move the result. Exact path (a side
singular by its sample count, or the fast path's bound not met): the singular values of F₁ᵀF₂, an r₁ × r₂ or d × r
matrix for low-rank sides — no square root of a rounding-level eigenvalue is ever taken. See docs/numerics.md.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import scipy.linalg
from scipy.linalg import blas, lapack

from frechet.errors import FrechetError, InputError
from frechet.stats import FeatureStats, check_moments, symmetric_part

_EPS = np.finfo(np.float64).eps
#: Negative eigenvalues of a covariance down to this fraction of its largest are taken as rounding (float32 storage
#: in other tools' files included) and read as zero; anything more negative means the matrix is not a covariance.
_PSD_RTOL = 1e-6
#: The fast path's result is kept when eigenvalues at rounding level cannot move it by more than this, relative (a
#: worst-case bound; the exact path is the fallback, e.g. for N ≤ d or identical inputs, where they can).
_FAST_PATH_RTOL = 1e-8
#: Values (means, standard deviations) between these are used as they are; outside, both sides are scaled by the
#: same power of two first, so that products of four values stay inside float64's range, and the result back.
_SAFE_LOW, _SAFE_HIGH = 2.0**-128, 2.0**128
#: Column block of :func:`_lower_max_abs`.
_BLOCK = 256


class _Gaussian:
    """One side: its mean, and its covariance or, while N ≤ d, its samples (the covariance is then formed only if
    a path needs it: the Gram form never does). ``n`` is the sample count when known: N ≤ d means rank < d.

    The covariance is this side's own array (made by ``make_cov``, never the caller's), so LAPACK factors it in
    place: :meth:`take_cov` hands it over, and a later read makes it again. Each d × d copy saved is a fresh
    32 MiB at d = 2,048, whose first touch costs more than the copy itself."""

    def __init__(
        self, mean: np.ndarray, make_cov: Callable[[], np.ndarray] | None, rows: np.ndarray | None, label: str,
        n: int | None = None,
    ) -> None:
        self.mean, self.rows, self.label, self.n = mean, rows, label, n
        self._make_cov = make_cov
        self._cov: np.ndarray | None = None
        self._factor: _Factor | None = None

    @property
    def dim(self) -> int:
        return self.mean.shape[0]

    @property
    def known_low_rank(self) -> bool:
        """True when the sample count alone says the covariance is singular (N ≤ d)."""
        return self.rows is not None or (self.n is not None and self.n <= self.dim)

    @property
    def cov(self) -> np.ndarray:
        if self._cov is None:
            if self._make_cov is None:
                factor = self.factor().matrix
                self._make_cov = lambda: factor @ factor.T
            self._cov = self._make_cov()
        return self._cov

    def take_cov(self) -> np.ndarray:
        """The covariance (symmetric, C-ordered), for the caller to overwrite."""
        cov = self.cov
        self._cov = None
        return cov

    def factor(self) -> _Factor:
        """An exact factor of the covariance (computed once)."""
        if self._factor is None:
            self._factor = _exact_factor(self)
        return self._factor

    def trace(self) -> float:
        """tr Σ, from the samples in O(N d) when they stand in for the covariance."""
        if self._cov is None and self.rows is not None:
            centred = self.rows - self.rows.mean(axis=0)
            return float(np.einsum("ij,ij->", centred, centred)) / (self.rows.shape[0] - 1)
        return float(np.trace(self.cov))

    def magnitude(self) -> float:
        """The size of the values (largest |mean| or standard deviation), to choose a scale that keeps products of
        them inside float64's range."""
        spread = np.abs(self.rows - self.rows.mean(axis=0)) if self.rows is not None else np.sqrt(np.abs(np.diag(
            self.cov)))
        return max(float(np.abs(self.mean).max(initial=0.0)), float(spread.max(initial=0.0)))

    def scaled(self, exponent: int) -> _Gaussian:
        """The same Gaussian with every value multiplied by 2**exponent (exact: no rounding happens)."""
        if exponent == 0:
            return self
        make_cov = self._make_cov
        return _Gaussian(
            np.ldexp(self.mean, exponent),
            None if make_cov is None else lambda: np.ldexp(make_cov(), 2 * exponent),
            None if self.rows is None else np.ldexp(self.rows, exponent),
            self.label,
            self.n,
        )


class _Factor:
    """F with Σ = F Fᵀ and no columns for the null space: a lower-triangular Cholesky factor (``triangular``, full
    rank) or d × r columns (rank r: a pivoted Cholesky factor, or the centred samples)."""

    def __init__(self, matrix: np.ndarray, *, triangular: bool) -> None:
        self.matrix, self.triangular = matrix, triangular

    @property
    def rank(self) -> int:
        return self.matrix.shape[1]

    def transposed_times(self, other: np.ndarray) -> np.ndarray:
        """Fᵀ X (a triangular product when F is the Cholesky factor)."""
        if self.triangular:
            return blas.dtrmm(1.0, self.matrix, np.asfortranarray(other), side=0, lower=1, trans_a=1)
        return self.matrix.T @ other

    def congruence(self, cov: np.ndarray) -> np.ndarray:
        """Fᵀ Σ F, its lower triangle: for the Cholesky factor LAPACK's sygst (the symmetric reduction of Σ L x = λ
        x, half the work of two triangular products; in place, ``cov`` is overwritten), for d × r columns an r × r
        matrix."""
        if self.triangular:
            reduced, info = lapack.dsygst(_column_major(cov), self.matrix, itype=2, lower=1, overwrite_a=1)
            if info != 0:
                raise np.linalg.LinAlgError(f"sygst failed (info {info})")
            return reduced
        return self.matrix.T @ (cov @ self.matrix)


class FrechetReference:
    """One side prepared once (its factorization cached) and compared with many others, e.g. checkpoints."""

    def __init__(
        self, mean_or_stats: np.ndarray | FeatureStats, cov: np.ndarray | None = None, *, label: str | None = None
    ) -> None:
        """``label`` names this side in messages (default: the statistics' label, else "reference")."""
        reference = _as_gaussian(mean_or_stats, cov, label or "reference")
        self._exponent = _scale_exponent(reference.magnitude())
        self._ref = reference.scaled(-self._exponent)
        self._trace = self._ref.trace()
        self._ref.factor()

    @property
    def dim(self) -> int:
        """Feature dimension d of the reference."""
        return self._ref.dim

    def distance(
        self, mean_or_stats: np.ndarray | FeatureStats, cov: np.ndarray | None = None, *, label: str | None = None
    ) -> float:
        """Fréchet distance from the reference to another Gaussian (mean, cov) or FeatureStats (``label`` names
        it in messages)."""
        other = _as_gaussian(mean_or_stats, cov, label or "other")
        if other.dim != self.dim:
            raise InputError(f"dimension mismatch: the reference has d={self.dim}, the other side d={other.dim}")
        other = other.scaled(-self._exponent)
        try:
            with np.errstate(over="ignore", invalid="ignore"):  # a result beyond float64 is reported below
                value = self._scaled_distance(other)
        except FrechetError:
            raise
        except (np.linalg.LinAlgError, ValueError, FloatingPointError):  # LAPACK on values beyond float64's range
            value = math.nan
        if not math.isfinite(value):
            raise InputError(
                f"{self._ref.label} and {other.label}: the Fréchet distance of these statistics is beyond float64's "
                "range (their values differ by a factor above about 1e150); check that both sides hold features of "
                "the same kind and scale"
            )
        unscaled = math.ldexp(value, 2 * self._exponent)
        if not math.isfinite(unscaled):
            raise InputError(
                f"{self._ref.label} and {other.label}: the Fréchet distance overflows float64 (about "
                f"{value:.3g} × 2^{2 * self._exponent}); rescale the features, e.g. divide them by a power of ten"
            )
        return unscaled

    def _scaled_distance(self, other: _Gaussian) -> float:
        diff = self._ref.mean - other.mean
        rest = float(diff @ diff) + self._trace + other.trace()
        fast = self._fast_trace_sqrt_product(other)
        if fast is not None:
            trace_term, error_bound = fast
            value = rest - 2.0 * trace_term
            if 2.0 * error_bound <= _FAST_PATH_RTOL * abs(value):
                return _clamp_rounding(value, rest)
        value = rest - 2.0 * self._exact_trace_sqrt_product(other)
        return _clamp_rounding(value, rest)

    def _trace_sqrt_product(self, other: _Gaussian) -> float:
        fast = self._fast_trace_sqrt_product(other)
        if fast is not None and fast[1] <= _FAST_PATH_RTOL * fast[0]:
            return fast[0]
        return self._exact_trace_sqrt_product(other)

    def _fast_trace_sqrt_product(self, other: _Gaussian) -> tuple[float, float] | None:
        """Σ √eig(Fᵀ Σ₂ F) for the reference's factor F, and a worst-case bound on the error that rounding-level
        eigenvalues put into it (each is within the numerical-rank tolerance of zero, so its root is off by at most
        √tolerance); None when a side is singular by its sample count (the exact path is then as cheap, and centred
        samples as F would give an eigenvalue at rounding level for sure), or when an eigenvalue is negative beyond
        rounding (Σ₂ is then not a covariance: the exact path names it)."""
        if other.known_low_rank or self._ref.rows is not None:
            return None
        eigenvalues = _eigvalsh(self._ref.factor().congruence(other.take_cov()))
        tolerance = _rank_tolerance(eigenvalues, self.dim)
        if eigenvalues.size and eigenvalues[0] < -tolerance:
            return None
        at_rounding_level = int(np.count_nonzero(eigenvalues <= tolerance))
        trace_term = float(np.sqrt(np.clip(eigenvalues, 0.0, None)).sum())
        return trace_term, at_rounding_level * float(np.sqrt(tolerance))

    def _exact_trace_sqrt_product(self, other: _Gaussian) -> float:
        """The nuclear norm of F₁ᵀF₂ for both sides' exact factors: with a low-rank side, an r₁ × r₂ or d × r
        matrix."""
        mine, theirs = self._ref.factor(), other.factor()
        if theirs.triangular and not mine.triangular:
            mine, theirs = theirs, mine  # the triangular product, and the narrow factor on the right
        return _nuclear_norm(mine.transposed_times(theirs.matrix))


def frechet_distance(
    mu1: np.ndarray | FeatureStats,
    sigma1: np.ndarray | FeatureStats | None = None,
    mu2: np.ndarray | None = None,
    sigma2: np.ndarray | None = None,
) -> float:
    """Fréchet distance between N(mu1, sigma1) and N(mu2, sigma2), or between two FeatureStats ``(a, b)``.

    Never negative, exactly 0 up to rounding for identical inputs, never complex. Arrays are checked as statistics
    files are: a covariance that is not symmetric, holds NaN or Inf, or has negative variances is an InputError.
    """
    if isinstance(mu1, FeatureStats):
        if not isinstance(sigma1, FeatureStats) or mu2 is not None or sigma2 is not None:
            raise InputError("pass either two FeatureStats or four arrays (mu1, sigma1, mu2, sigma2)")
        return FrechetReference(mu1).distance(sigma1)
    if sigma1 is None or mu2 is None or sigma2 is None:
        raise InputError("pass either two FeatureStats or four arrays (mu1, sigma1, mu2, sigma2)")
    return FrechetReference(mu1, sigma1, label="mu1/sigma1").distance(mu2, sigma2, label="mu2/sigma2")


def trace_sqrt_product(sigma1: np.ndarray, sigma2: np.ndarray) -> float:
    """tr (Σ₁^½ Σ₂ Σ₁^½)^½ = tr √(Σ₁Σ₂) for two covariance matrices, by the same algorithm as the distance."""
    zeros = np.zeros(np.shape(sigma1)[0])
    return FrechetReference(zeros, sigma1, label="sigma1")._trace_sqrt_product(_as_gaussian(zeros, sigma2, "sigma2"))


def _as_gaussian(mean_or_stats: np.ndarray | FeatureStats, cov: np.ndarray | None, name: str) -> _Gaussian:
    if isinstance(mean_or_stats, FeatureStats):
        if cov is not None:
            raise InputError(f"{name}: pass FeatureStats alone or a (mean, cov) pair, not both")
        stats = mean_or_stats
        label = stats.label or name
        rows = stats.rows
        if rows is not None and rows.shape[0] <= stats.dim:
            return _Gaussian(stats.mean, None, rows, label, stats.n)
        return _Gaussian(stats.mean, lambda: stats.cov, None, label, stats.n)
    if cov is None:
        raise InputError(f"{name}: a mean needs its covariance")
    mean = np.asarray(mean_or_stats, dtype=np.float64)
    cov = np.asarray(cov, dtype=np.float64)
    if mean.ndim != 1 or cov.shape != (mean.shape[0], mean.shape[0]):
        raise InputError(f"{name}: mean must be (d,) and covariance (d, d), got {mean.shape} and {cov.shape}")
    check_moments(mean, cov, name)
    return _Gaussian(mean, lambda: symmetric_part(cov), None, name)


def _scale_exponent(magnitude: float) -> int:
    """0 for values of ordinary size (results stay bit for bit what they were); else the power of two that brings
    the largest value near 1, so squares and products of squares cannot overflow or underflow."""
    if magnitude == 0.0 or _SAFE_LOW <= magnitude <= _SAFE_HIGH:
        return 0
    return int(np.frexp(magnitude)[1])


def _column_major(cov: np.ndarray) -> np.ndarray:
    """The covariance in Fortran order with no transposing copy: a C-ordered one's transpose, a view (the same
    matrix: statistics' and symmetrised covariances are exactly symmetric), which LAPACK reads and may overwrite."""
    return cov.T if cov.flags.c_contiguous else cov


def _eigvalsh(matrix: np.ndarray) -> np.ndarray:
    """The eigenvalues (no vectors: a tridiagonal reduction and a root-free QR) of the lower triangle, overwriting
    it."""
    return scipy.linalg.eigh(matrix, lower=True, eigvals_only=True, driver="evd", check_finite=False, overwrite_a=True)


def _rank_tolerance(eigenvalues: np.ndarray, dim: int) -> float:
    """Eigenvalues at or below this are zero to working precision (numpy.linalg.matrix_rank's rule, for products
    formed over ``dim`` terms)."""
    return float(np.abs(eigenvalues).max(initial=0.0)) * max(dim, len(eigenvalues)) * _EPS


def _exact_factor(gaussian: _Gaussian) -> _Factor:
    """The cheapest exact factor: the centred samples when at hand; the Cholesky factor of a covariance that is
    numerically full rank; else a rank-revealing (pivoted) Cholesky factor, O(d² r) for rank r."""
    if gaussian.rows is not None:
        centred = gaussian.rows - gaussian.rows.mean(axis=0)
        return _Factor(centred.T / np.sqrt(gaussian.rows.shape[0] - 1), triangular=False)
    largest_variance = float(np.diag(gaussian.cov).max(initial=0.0))
    if not gaussian.known_low_rank:
        lower, info = lapack.dpotrf(_column_major(gaussian.take_cov()), lower=1, clean=1, overwrite_a=1)
        pivots = np.diag(lower) ** 2
        if info == 0 and pivots.min(initial=math.inf) > len(pivots) * _EPS * largest_variance:
            return _Factor(np.asfortranarray(lower), triangular=True)
    return _pivoted_factor(gaussian, gaussian.cov, largest_variance)


def _pivoted_factor(gaussian: _Gaussian, cov: np.ndarray, largest_variance: float) -> _Factor:
    """Σ = P L Lᵀ Pᵀ with L of r columns (LAPACK pstrf stops once every remaining pivot is at rounding level,
    d · ε · max Σᵢᵢ). The remainder it leaves out must be rounding too; one that is not means Σ is not positive
    semi-definite, which an eigendecomposition then confirms (and, within float32 storage noise, factors)."""
    packed, pivots, rank, _ = lapack.dpstrf(_column_major(cov), lower=1)
    order = pivots - 1
    left = packed[rank:, :rank]
    remainder = blas.dsyrk(-1.0, left, beta=1.0, c=cov[np.ix_(order[rank:], order[rank:])].T, lower=1,
                           overwrite_c=1)  # its lower triangle; the upper one still holds Σ's entries
    if _lower_max_abs(remainder) > _PSD_RTOL * largest_variance:
        return _eigen_factor(gaussian, cov)
    factor = np.empty((len(order), rank))
    factor[order[:rank]] = np.tril(packed[:rank, :rank])
    factor[order[rank:]] = left
    return _Factor(factor, triangular=False)


def _lower_max_abs(matrix: np.ndarray) -> float:
    """The largest |entry| of a square matrix's lower triangle, read in column blocks (no masked copy of it)."""
    largest = 0.0
    for start in range(0, matrix.shape[0], _BLOCK):
        block = matrix[start:, start : start + _BLOCK]
        below = block[_BLOCK:]
        largest = max(largest, float(np.abs(np.tril(block[:_BLOCK])).max()),
                      float(np.abs(below).max()) if below.size else 0.0)
    return largest


def _eigen_factor(gaussian: _Gaussian, cov: np.ndarray) -> _Factor:
    """The eigendecomposition truncated at numerical rank; a clearly negative eigenvalue is an error."""
    eigenvalues, vectors = scipy.linalg.eigh(cov, driver="evr", check_finite=False)
    largest = float(np.abs(eigenvalues).max()) if eigenvalues.size else 0.0
    if eigenvalues[0] < -_PSD_RTOL * largest:
        raise InputError(
            f"{gaussian.label}: the covariance is not positive semi-definite (eigenvalue {eigenvalues[0]:.3g} vs "
            f"largest {largest:.3g}); it cannot come from data: recompute the statistics"
        )
    keep = eigenvalues > _rank_tolerance(eigenvalues, len(eigenvalues))
    return _Factor(vectors[:, keep] * np.sqrt(eigenvalues[keep]), triangular=False)


def _nuclear_norm(matrix: np.ndarray) -> float:
    if matrix.size == 0:
        return 0.0
    return float(scipy.linalg.svdvals(matrix, check_finite=False).sum())


def _clamp_rounding(value: float, scale: float) -> float:
    """Map rounding-level negatives to 0; a clearly negative value would mean a bug, so it is raised, not hidden."""
    if value >= 0.0:
        return value
    if value >= -1e-8 * max(scale, np.finfo(np.float64).tiny):
        return 0.0
    raise InputError(f"the Fréchet distance came out negative ({value:.6g}); the covariances are not valid")
