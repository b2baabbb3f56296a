"""Sanity curves: does a backbone see the damage? Each disturbance is applied to a copy of the real input at
increasing strengths, each copy is embedded (through the feature cache), and its FD (and KID, where cheap) against
the undisturbed input is measured per level; Spearman's ρ between level and FD says whether FD rises with the damage.

A disturbance is called out when the backbone is nearly blind to it: FD does not rise monotonically (ρ below
``MONOTONE_RHO``, one swap of neighbouring levels allowed at 5 levels), or it rises but stays negligible (FD at the
strongest level below ``NEGLIGIBLE`` times the trace of the real features' covariance, their total variance).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from frechet.distance import FrechetReference
from frechet.embedding import Task, embed
from frechet.errors import ConfigError, InputError
from frechet.metrics._options import whole_number
from frechet.metrics.kid import KernelInceptionDistanceMetric, fewest_items, kid
from frechet.plan import metric_options
from frechet.registry import Registry
from frechet.runner import build_embedders, check_source_options, chosen_output, feature_cache
from frechet.settings import Settings

#: Spearman's ρ between level and FD below which FD is said not to rise with the damage.
MONOTONE_RHO = 0.9
#: FD at the strongest level, as a fraction of tr Σ of the real features, below which the response is negligible.
NEGLIGIBLE = 1e-3
#: KID is computed when the real input has at most this many items (features of both sides are then kept)…
KID_MAX_ITEMS = 10_000
#: …over this many subsets of at most KID_SUBSET_SIZE samples each, unless the metric options say otherwise.
KID_SUBSETS = 10
KID_SUBSET_SIZE = 1000
KID_OPTIONS = {"kid_subsets": KID_SUBSETS, "kid_subset_size": KID_SUBSET_SIZE}
DEFAULT_LEVELS = 5


@dataclass
class Level:
    """One strength of one disturbance: t = k / levels, the strength in the disturbance's unit, FD against the
    undisturbed input, FD / tr Σ, and KID (None when not computed)."""

    t: float
    strength: float
    fd: float
    fd_relative: float
    kid: float | None = None
    kid_std: float | None = None


@dataclass
class Curve:
    """One disturbance's levels, Spearman's ρ (level vs FD, the undisturbed level included), and the verdict."""

    name: str
    unit: str
    levels: list[Level]
    rho: float
    blind: bool
    message: str


@dataclass
class SanityResult:
    """The sanity curves of one embedder output on one input: ``n`` samples (the rows FD is computed from) from
    ``n_items`` items (fewer when an item yields several samples, as audio files yield clips)."""

    input: str
    embedder: str
    output: str
    n: int
    trace: float
    curves: list[Curve] = field(default_factory=list)
    n_items: int | None = None

    @property
    def counted(self) -> str:
        """``6 items (18 samples)``, or ``6 items`` when each item is one sample."""
        samples = f"{self.n} sample{'s' if self.n != 1 else ''}"
        if self.n_items is None:
            return samples
        items = f"{self.n_items} item{'s' if self.n_items != 1 else ''}"
        return items if self.n_items == self.n else f"{items} ({samples})"

    def as_dict(self) -> dict[str, Any]:
        """Everything as JSON-serialisable values (NaN as None)."""
        return _finite(asdict(self))

    @property
    def title(self) -> str:
        """``embedder name on input (n items)``, for plots."""
        return f"{self.embedder.split('(')[0]} on {self.input} ({self.counted})"

    @property
    def blind(self) -> list[Curve]:
        """The curves of the disturbances the backbone is nearly blind to."""
        return [curve for curve in self.curves if curve.blind]


def sanity(
    registry: Registry,
    real: Any,
    settings: Settings,
    *,
    disturbances: Sequence[str] | None = None,
    levels: int = DEFAULT_LEVELS,
) -> SanityResult:
    """Sanity curves of the settings' embedder on ``real`` for ``disturbances`` (names, ``mix:OTHER``; default:
    every one registered for the embedder's domain except families), at ``levels`` strengths each. KID's
    ``kid_subsets`` and ``kid_subset_size`` come from the settings' metric options (10 subsets of 1000)."""
    if isinstance(levels, bool) or not isinstance(levels, int) or levels < 2:
        raise ConfigError(f"levels={levels!r}: a sanity curve needs at least 2 levels")
    kid_options = _kid_options(settings)
    others = [name.strip().partition(":")[2] for name in disturbances or () if ":" in name]  # mix:OTHER's inputs
    check_source_options(registry, settings, [real, *others])
    embedders = build_embedders(registry, settings, [real])
    if len(embedders) > 1:
        raise ConfigError("sanity checks one embedder at a time; run it once per embedder")
    embedder = embedders[0]
    output = chosen_output(embedder, settings.layer)
    names = _names(registry, disturbances, embedder.domain)
    source = registry.open_source(real, embedder.domain, settings.source_options)
    chosen = [registry.create_disturbance(name, embedder.domain, settings.source_options) for name in names]
    cache = feature_cache([real, *others], embedders, settings)
    # KID needs a few items per side for its subsets; with fewer the curves are FD's alone (never lost to KID)
    with_kid = fewest_items(kid_options["kid_subsets"]) <= len(source) <= KID_MAX_ITEMS
    task = Task(embedder, {output: {"stats", "features"} if with_kid else {"stats"}})
    undisturbed = embed(source, [task], settings, cache=cache)[0]
    stats = undisturbed.stats_of(output)
    if stats.n is not None and stats.n < 2:
        raise InputError(f"{source.label}: a covariance needs at least 2 samples, found {stats.n}; add more items")
    reference = FrechetReference(stats)
    trace = float(np.trace(stats.cov))
    result = SanityResult(source.label, embedder.id(), output, int(stats.n or 0), trace,
                          n_items=undisturbed.n_items)
    for disturbance in chosen:
        measured = []
        for k, strength in enumerate(disturbance.strengths(levels), start=1):
            copy = disturbance.disturb(source, strength, settings.seed)
            side = embed(copy, [Task(embedder, task.needs)], settings, cache=cache)[0]
            fd = reference.distance(side.stats_of(output))
            level = Level(k / levels, float(strength), fd, fd / trace if trace > 0 else math.inf)
            if output in undisturbed.features and output in side.features and \
                    min(len(undisturbed.features[output]), len(side.features[output])) >= fewest_items(
                        kid_options["kid_subsets"]):
                level.kid, level.kid_std = kid(undisturbed.features[output], side.features[output],
                                               subsets=kid_options["kid_subsets"],
                                               subset_size=kid_options["kid_subset_size"], seed=settings.seed)
            measured.append(level)
        result.curves.append(_curve(disturbance.name, disturbance.unit, measured))
    return result


def _kid_options(settings: Settings) -> dict[str, int]:
    """KID's subsets and subset size: the defaults here, overridden by the settings' metric options (the only ones
    sanity reads)."""
    metric_options([KernelInceptionDistanceMetric()], settings.metric_options)  # one KID does not know: an error
    given = {**KID_OPTIONS, **settings.metric_options}
    return {"kid_subsets": whole_number(given, "kid_subsets"),
            "kid_subset_size": whole_number(given, "kid_subset_size", minimum=2)}


def _names(registry: Registry, given: Sequence[str] | None, domain: str) -> list[str]:
    if given is None:
        names = [info.name for info in registry.disturbances(domain) if info.by_default and not info.family]
        if not names:
            raise ConfigError(f"no disturbances are installed for {domain} inputs (see `frechet disturbances`)")
        return names
    names = [name.strip() for name in given if name.strip()]
    if not names:
        raise ConfigError("disturbances names none; give at least one (see `frechet disturbances`)")
    return list(dict.fromkeys(names))


def _curve(name: str, unit: str, levels: list[Level]) -> Curve:
    """The verdict on one disturbance: ρ over (0, FD=0) and each level, and FD/tr Σ at the strongest level."""
    fds = [0.0] + [level.fd for level in levels]
    rho = _spearman(list(range(len(fds))), fds)
    strongest = levels[-1]
    blind = not (rho >= MONOTONE_RHO) or not (strongest.fd_relative >= NEGLIGIBLE)
    if not blind:
        message = f"{name}: FD rises with the damage (ρ = {rho:.2f}; {strongest.fd_relative:.1e} of tr Σ at the " \
                  "strongest level)"
    else:
        how = "does not rise steadily" if not rho >= MONOTONE_RHO else "stays negligible"
        message = (f"this backbone is nearly blind to {name}: ρ = {rho:.2f}, FD {strongest.fd_relative:.1e} of tr Σ "
                   f"at the strongest level ({strongest.strength:g}, {unit}); FD {how}")
    return Curve(name, unit, levels, rho, blind, message)


def _spearman(x: list[float], y: list[float]) -> float:
    """Spearman's rank correlation (ties get average ranks); NaN when either side is constant."""
    from scipy.stats import spearmanr

    if len(set(y)) < 2:
        return math.nan
    return float(spearmanr(x, y).statistic)


def _finite(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_finite(item) for item in value]
    return value
