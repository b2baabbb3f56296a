"""Kernel Inception Distance (Bińkowski et al. 2018): unbiased MMD² with the kernel k(x, y) = (xᵀy / d + 1)³.

    MMD²ᵤ = 1/(m(m−1)) Σ_{i≠j} [k(xᵢ, xⱼ) + k(yᵢ, yⱼ)] − 2/m² Σ_{i,j} k(xᵢ, yⱼ)

averaged over ``subsets`` random subsets of m = ``subset_size`` samples per side; ``kid_std`` is the population
standard deviation over the subsets. When a side has fewer than m items, or both have exactly m (every subset would
be the same and ``kid_std`` 0), m becomes the largest size below the smaller count n whose subsets can differ
(C(n, m) ≥ ``subsets``), with a warning; the metric reports the size used as ``kid_subset_size``. Subsets are
drawn as torch-fidelity draws them — ``numpy.random.RandomState(seed)``, per subset ``choice(n, m, replace=False)``
from the generated side, then from the reference side — so with the same seed (2020, frechet's default) the subsets
are the same and the values agree to float64 rounding (torch-fidelity computes in the features' float32; frechet
always in float64).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import torch

from frechet.caller import from_command_line, spell_metric_option
from frechet.errors import InputError
from frechet.metrics._options import whole_number
from frechet.metrics._overflow import kernel_overflow
from frechet.metrics._pairwise import feature_pair, spans
from frechet.metrics.base import Metric, MetricContext, Need, Side, too_few
from frechet.progress import track

log = logging.getLogger("frechet")


def kid(
    real: np.ndarray | torch.Tensor,
    fake: np.ndarray | torch.Tensor,
    *,
    subsets: int = 100,
    subset_size: int = 1000,
    seed: int = 2020,
    device: str | torch.device | None = None,
    progress: bool | None = False,
    names: tuple[str, str] = ("real", "fake"),
) -> tuple[float, float]:
    """KID mean and standard deviation of ``fake`` against ``real`` over seeded random subsets (``progress``: see
    :class:`frechet.progress.Progress`). Features so large that the kernel overflows float64 are an InputError
    naming the sides (``names``) and their scale."""
    real_t, fake_t = feature_pair(real, fake, device, "KID")
    if subsets < 1 or subset_size < 2:
        raise InputError(f"KID needs at least 1 subset of at least 2 samples, got {subsets} × {subset_size}")
    size = usable_subset_size(real_t.shape[0], fake_t.shape[0], subset_size, subsets)
    if size != subset_size:
        log.warning("%s", _smaller_subsets(real_t.shape[0], fake_t.shape[0], subset_size, size))
    rng = np.random.RandomState(seed)
    values = np.empty(subsets)
    for index in track(range(subsets), subsets, "kid", unit="subset", show=progress):
        fake_rows = torch.from_numpy(rng.choice(fake_t.shape[0], size, replace=False)).to(fake_t.device)
        real_rows = torch.from_numpy(rng.choice(real_t.shape[0], size, replace=False)).to(real_t.device)
        values[index] = unbiased_mmd2(fake_t[fake_rows], real_t[real_rows])
        if not math.isfinite(values[index]):
            raise kernel_overflow("KID", "(xᵀy/d + 1)³", "about 1e100 for xᵀy/d", real_t, fake_t, names)
    return float(values.mean()), float(values.std())


def usable_subset_size(n_real: int, n_fake: int, subset_size: int, subsets: int) -> int:
    """``subset_size``, or, when a side has fewer items or both have exactly that many, the largest size m below the
    smaller count n with C(n, m) ≥ ``subsets``, so that subsets can differ (one subset: at most n)."""
    smaller = min(n_real, n_fake)
    if subsets == 1:  # a single subset has nothing to differ from
        return min(subset_size, smaller)
    if subset_size < smaller or (subset_size == smaller and n_real != n_fake):
        return subset_size
    size = smaller - 1
    while size >= 2 and math.comb(smaller, size) < subsets:
        size -= 1
    if size < 2:
        raise InputError(f"KID needs at least {fewest_items(subsets)} samples on each side for {subsets} different "
                         f"subsets (of 2 to n−1 of a side's n samples), got {n_real} real and {n_fake} fake")
    return size


def fewest_items(subsets: int) -> int:
    """The smallest count n ≥ 3 with ``subsets`` different subsets of some size 2 … n−1 (at most C(n, n//2) of
    them)."""
    n = 3
    while math.comb(n, n // 2) < subsets:
        n += 1
    return n


def _smaller_subsets(n_real: int, n_fake: int, requested: int, size: int) -> str:
    why = "too few for" if min(n_real, n_fake) < requested else "so every subset would be the same with"
    how = "--kid-subset-size N" if from_command_line() else spell_metric_option("kid_subset_size")
    return (f"kid: {n_real} real and {n_fake} fake samples, {why} kid_subset_size={requested}; using subsets of "
            f"{size} (set {how} to choose)")


def unbiased_mmd2(x: torch.Tensor, y: torch.Tensor) -> float:
    """Unbiased MMD² of two equal-size samples under the cubic polynomial kernel, in float64, blocked."""
    x, y = x.to(torch.float64), y.to(torch.float64)
    m = x.shape[0]
    within = _kernel_sum(x, x) - _cubic(x, x, diagonal=True).sum() + _kernel_sum(y, y) - _cubic(y, y, True).sum()
    return float(within / (m * (m - 1)) - 2.0 * _kernel_sum(x, y) / (m * m))


def _cubic(a: torch.Tensor, b: torch.Tensor, diagonal: bool = False) -> torch.Tensor:
    """k(aᵢ, bⱼ) = (aᵢᵀbⱼ / d + 1)³ as a matrix, or only its diagonal k(aᵢ, bᵢ)."""
    if diagonal:
        base = (a * b).sum(dim=1) / a.shape[1] + 1.0
    else:  # 1 + a bᵀ / d in one BLAS call, then the cube in place: no extra m × m temporaries
        base = torch.addmm(torch.ones((), dtype=a.dtype, device=a.device), a, b.T, alpha=1.0 / a.shape[1])
    return (base * base).mul_(base)


def _kernel_sum(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return sum(_cubic(a[span], b).sum() for span in spans(a.shape[0]))


class KernelInceptionDistanceMetric(Metric):
    """Keys ``kid``, ``kid_std`` and ``kid_subset_size`` (the size used); options ``kid_subsets`` (100) and
    ``kid_subset_size`` (1000)."""

    name = "kid"
    options = {"kid_subsets": 100, "kid_subset_size": 1000}

    def __init__(self) -> None:
        self._announced: tuple[int, int] | None = None  # (real, fake) counts whose smaller subsets were warned of

    def needs(self, context: MetricContext) -> list[Need]:
        return [Need(context.output, "features")]

    def check_sizes(self, sizes: Mapping[str, int | None], context: MetricContext, *, exact: bool = True) -> None:
        n_real, n_fake = sizes.get("real"), sizes.get("fake")
        if n_real is None or n_fake is None:
            return
        subsets, requested = _settings(context)
        try:
            size = usable_subset_size(n_real, n_fake, requested, subsets)
        except InputError as error:
            too_few(f"kid: {error}; or lower kid_subsets", exact=exact)
            return
        if size != requested and exact:
            log.warning("%s", _smaller_subsets(n_real, n_fake, requested, size))
            self._announced = (n_real, n_fake)

    def compute(self, real: Side, fake: Side, context: MetricContext) -> dict[str, Any]:
        real_rows = real.features_of(context.output, self.name)
        fake_rows = fake.features_of(context.output, self.name)
        subsets, requested = _settings(context)
        size = usable_subset_size(len(real_rows), len(fake_rows), requested, subsets)
        if size != requested and self._announced != (len(real_rows), len(fake_rows)):
            log.warning("%s", _smaller_subsets(len(real_rows), len(fake_rows), requested, size))
        mean, std = kid(real_rows, fake_rows, subsets=subsets, subset_size=size, seed=context.seed,
                        device=context.device, progress=context.progress, names=(real.label, fake.label))
        return {"kid": mean, "kid_std": std, "kid_subset_size": size}


def _settings(context: MetricContext) -> tuple[int, int]:
    return whole_number(context.options, "kid_subsets"), whole_number(context.options, "kid_subset_size", minimum=2)
