"""The Metric contract: what a metric asks of each side (statistics or features of an output) and what it returns."""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

import numpy as np

from frechet.errors import ConfigError, InputError
from frechet.stats import FeatureStats

log = logging.getLogger("frechet")


@dataclass(frozen=True)
class Need:
    """One thing a metric needs: running statistics or all feature rows of an embedder output, per side."""

    output: str
    kind: Literal["stats", "features"]
    sides: Literal["both", "fake"] = "both"


@dataclass
class Side:
    """What one input became: statistics and/or kept features per embedder output, with counts, and for kept
    features the index (in the input's source) of the item each row came from, when known; the source options its
    input was read with."""

    label: str
    stats: dict[str, FeatureStats] = field(default_factory=dict)
    features: dict[str, np.ndarray] = field(default_factory=dict)
    n_items: int | None = None
    skipped: list[str] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)
    items: np.ndarray | None = None
    source_options: dict[str, Any] = field(default_factory=dict)

    def stats_of(self, output: str) -> FeatureStats:
        """Statistics of ``output`` (computed from kept features if only those are at hand)."""
        if output not in self.stats:
            if output in self.features:
                self.stats[output] = FeatureStats.from_features(self.features[output])
            else:
                raise InputError(f"{self.label}: no statistics for output '{output}'")
        return self.stats[output]

    def features_of(self, output: str, metric: str) -> np.ndarray:
        """All feature rows of ``output``; a clear error when the side is only a statistics file."""
        if output not in self.features:
            raise InputError(
                f"{self.label}: metric '{metric}' needs the features themselves, but this side only has statistics; "
                "pass the original inputs (or a features file) instead"
            )
        return self.features[output]


@dataclass(frozen=True)
class MetricContext:
    """The run a metric is part of: which embedder/output produced the features, options, seed, and the device
    metrics may compute on (the embedder's; None: the CPU)."""

    output: str
    embedder: str = ""
    embedder_id: str = ""
    fd_key: str | None = None
    outputs: Mapping[str, int | None] = field(default_factory=dict)
    options: Mapping[str, Any] = field(default_factory=dict)
    seed: int = 2020
    device: str | None = None
    progress: bool | None = None


class Metric(ABC):
    """A score comparing a real (reference) side with a fake (generated) side, returned as flat named values."""

    #: Registry name, e.g. "fd", "kid".
    name: ClassVar[str]
    #: Option name -> default; the metric reads its options from ``context.options``.
    options: ClassVar[Mapping[str, Any]] = {}
    #: The embedder a run uses for this metric when none is named (e.g. CMMD's CLIP embedding); None: the default.
    default_embedder: ClassVar[str | None] = None

    @abstractmethod
    def needs(self, context: MetricContext) -> list[Need]:
        """What this metric requires from the sides, given the embedder's outputs."""

    @abstractmethod
    def compute(self, real: Side, fake: Side, context: MetricContext) -> dict[str, Any]:
        """The metric's values as flat lower-case keys (e.g. {"kid": …, "kid_std": …})."""

    def check_sizes(self, sizes: Mapping[str, int | None], context: MetricContext, *, exact: bool = True) -> None:
        """Called before anything is embedded with the item count of each side ("real", "fake"; None: unknown).

        Raise a :class:`~frechet.errors.ConfigError` naming the option to change when the counts cannot work; with
        ``exact`` False an item may yield several examples (the counts are lower bounds), so only warn then
        (:func:`too_few`). The default accepts any count.
        """


def too_few(message: str, *, exact: bool) -> None:
    """Refuse (ConfigError) a sample count that cannot work, or, when counts are only lower bounds, warn."""
    if exact:
        raise ConfigError(message)
    log.warning("%s (counted in items before embedding; where an item yields several samples, as an audio file "
                "yields clips, there may be enough: they are counted again once embedded)", message)
