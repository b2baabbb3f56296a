"""Statistics files as inputs and outputs of a run: recognising them, what their ``meta`` records, and refusing to
compare statistics that different embedders or outputs produced."""

from __future__ import annotations

import logging
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from frechet.caller import spell
from frechet.embedder import Embedder
from frechet.errors import IncompatibleStatsError
from frechet.metrics.base import Side
from frechet.stats import FeatureStats
from frechet.version import __version__

log = logging.getLogger("frechet")

STATS_FORMAT = "frechet-stats"
STATS_FORMAT_VERSION = 1
#: How messages name the run itself, as the producer of the side it embeds.
RUN = "this run"


def is_stats_file(path: str | Path) -> bool:
    """True when ``path`` is a ``.npz`` holding ``mu`` and ``sigma`` (ours, pytorch-fid's, TTUR's, clean-fid's)."""
    path = Path(path)
    if path.suffix.lower() != ".npz" or not path.is_file():
        return False
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
    except (OSError, zipfile.BadZipFile):
        return False
    return {"mu.npy", "sigma.npy"} <= names


def is_stats_input(input: Any) -> bool:
    """True when a run's input stands for a whole side as saved statistics."""
    return isinstance(input, (str, Path)) and is_stats_file(input)


def side_from_stats(input: str | Path) -> Side:
    """A side whose statistics come from a saved ``.npz`` (ours or another tool's), keyed by the output it records."""
    stats = FeatureStats.load(input)
    return Side(str(input), {stats.meta.get("output", ""): stats}, n_items=stats.meta.get("n_items"), meta=stats.meta)


def stats_meta(embedder: Embedder, output: str, side: Side) -> dict[str, Any]:
    """The ``meta`` written with statistics: what produced them, so mismatched comparisons are caught."""
    return {
        "format": STATS_FORMAT,
        "format_version": STATS_FORMAT_VERSION,
        "embedder": embedder.id(),
        "embedder_name": embedder.name,
        "config": embedder.full_config(),
        "precision": embedder.precision,
        "output": output,
        "fd_key": embedder.fd_key,
        "n_items": side.n_items,
        "n_skipped": len(side.skipped),
        "skipped": list(side.skipped),
        "frechet_version": __version__,
    }


@dataclass(frozen=True)
class Producer:
    """What made a side's features: the embedder id and output (None where a foreign file does not say)."""

    label: str
    embedder: str | None
    output: str | None

    @classmethod
    def of(cls, side: Side) -> Producer:
        """The producer a statistics side's ``meta`` records."""
        return cls(side.label, side.meta.get("embedder"), side.meta.get("output"))


def check_compatible(first: Producer, second: Producer, *, force: bool) -> None:
    """Refuse to compare features of different embedders or outputs (unless forced); warn when a file cannot tell."""
    for producer in (first, second):
        if producer.embedder is None:
            other = second if producer is first else first
            log.warning("%s has no frechet metadata; assuming it was made like %s (%s, output %s)",
                        producer.label, other.label, other.embedder or "unknown", other.output or "unknown")
            return
    if (first.embedder, first.output) != (second.embedder, second.output) and not force:
        raise IncompatibleStatsError(
            f"{second.label} was computed with {second.embedder} (output {second.output}), but {first.label} "
            f"{'uses' if first.label == RUN else 'was computed with'} {first.embedder} (output {first.output}); "
            f"recompute one with the other's settings, or pass {spell('force')} to compare anyway"
        )
