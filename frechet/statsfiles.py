"""Statistics as inputs and outputs of a run: recognising them (files, EDM2 pickles, named references ``ref:NAME``,
inputs holding statistics beside their items), what their ``meta`` records, and refusing to compare statistics that
different embedders, settings or outputs produced.

Statistics describe what made them in ``meta``: frechet's own files by the embedder's full ``embedder`` id; other
tools' files, through the reference catalogue, by ``embedder_name`` and the part of its ``config`` that is known
(e.g. the preprocessing mode). Either way a mismatch is refused unless forced, naming the settings that would match.
"""

from __future__ import annotations

import logging
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from frechet import references
from frechet.caller import spell
from frechet.embedder import Embedder
from frechet.errors import IncompatibleStatsError, InputError
from frechet.metrics.base import Side
from frechet.progress import Progress
from frechet.registry import Registry
from frechet.sources import Source
from frechet.stats import STATS_FORMAT, STATS_FORMAT_VERSION, FeatureStats
from frechet.statsformats import read_stats
from frechet.version import __version__

log = logging.getLogger("frechet")
#: Statistics files from this size on (d above about 4,000) take seconds to read and check: reading them is announced.
_ANNOUNCE_BYTES = 128 * 2**20

#: How messages name the run itself, as the producer of the side it embeds.
RUN = "this run"
#: How messages show what a foreign file does not record, as the command prints a value nobody knows.
_UNKNOWN = "-"


def is_stats_file(path: str | Path) -> bool:
    """True when ``path`` is a ``.npz`` holding ``mu`` and ``sigma`` (ours, pytorch-fid's, TTUR's, clean-fid's, an ADM
    reference batch), or a ``.pkl`` (EDM2's statistics pickles: read by a reader that refuses anything else)."""
    path = Path(path)
    if path.suffix.lower() == ".pkl":
        return path.is_file()
    if path.suffix.lower() != ".npz" or not path.is_file():
        return False
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
    except (OSError, zipfile.BadZipFile):
        return False
    return {"mu.npy", "sigma.npy"} <= names


def is_stats_input(input: Any) -> bool:
    """True when a run's input stands for a whole side as statistics: a statistics file, ``ref:NAME``, or a
    :class:`FeatureStats` in memory."""
    if isinstance(input, FeatureStats) or references.is_reference(input):
        return True
    return isinstance(input, (str, Path)) and is_stats_file(input)


def local_input(input: Any, *, progress: bool = True) -> Any:
    """The local file behind a ``ref:NAME`` (downloaded if needed); any other input unchanged."""
    if references.is_reference(input):
        return references.local_path(references.lookup(input), progress=progress)
    return input


def load_statistics(
    input: str | Path | FeatureStats, embedder_name: str | None = None, *, progress: bool | None = None
) -> FeatureStats:
    """The statistics of a statistics file or a named reference, with ``meta`` saying what made them (a FeatureStats
    as it is, once it holds samples). An EDM2 pickle supplies the entry that belongs to ``embedder_name`` (its FID
    statistics when none is given). Reading a large file is announced (``progress`` as for
    :class:`frechet.progress.Progress`)."""
    if isinstance(input, FeatureStats):
        if not input.n and input.n is not None:
            raise InputError(f"{input!r} holds no samples; update it with feature rows before using it as a side")
        return input
    if references.is_reference(input):
        return references.load(references.lookup(input))
    key = None
    if Path(input).suffix.lower() == ".pkl":
        key = references.key_for_embedder("edm2-pkl", embedder_name) or "fid"
    size = _size(Path(input))
    show = progress if size >= _ANNOUNCE_BYTES else False
    with Progress(1, f"reading {input} ({size / 2**20:.0f} MiB)", unit="file", show=show) as bar:
        stats = read_stats(input, key=key)
        bar.update()
    if key is not None:
        stats.meta = {**references.format_meta("edm2-pkl", key), **stats.meta}
    return stats


def side_from_stats(
    input: str | Path | FeatureStats, embedder_name: str | None = None, *, progress: bool | None = None
) -> Side:
    """A side whose statistics come from saved statistics (:func:`load_statistics`), keyed by the output they
    record."""
    stats = load_statistics(input, embedder_name, progress=progress)
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
        **({"fd_options": dict(embedder.fd_options)} if embedder.fd_options else {}),
        **({"source_options": _plain(side.source_options)} if side.source_options else {}),
        "n_items": side.n_items,
        "n_skipped": len(side.skipped),
        "skipped": list(side.skipped),
        "frechet_version": __version__,
    }


def _plain(values: Mapping[str, Any]) -> dict[str, Any]:
    """Option values as JSON holds them (a path as its text)."""
    return {key: value if isinstance(value, (str, int, float, bool)) else str(value) for key, value in values.items()}


# ---------------------------------------------------------------------------------------------------- matching
@dataclass(frozen=True)
class Producer:
    """What made a side's features: the embedder id, or its name and the known part of its config, and the output
    (None where a foreign file does not say)."""

    label: str
    embedder: str | None
    output: str | None
    name: str | None = None
    config: Mapping[str, Any] | None = None

    @classmethod
    def of(cls, side: Side) -> Producer:
        """The producer a statistics side's ``meta`` records."""
        meta = side.meta
        return cls(side.label, meta.get("embedder"), meta.get("output"), meta.get("embedder_name"), meta.get("config"))

    @classmethod
    def run(cls, embedder: Embedder, output: str) -> Producer:
        """This run, embedding with ``embedder`` for ``output``."""
        return cls(RUN, embedder.id(), output, embedder.name, embedder.full_config())

    @property
    def known(self) -> bool:
        """Whether it says anything about its embedder."""
        return bool(self.embedder or self.name)

    @property
    def output_text(self) -> str:
        """Its output in words: ``-`` where it is not recorded."""
        return self.output or _UNKNOWN

    def describe(self) -> str:
        """Its embedder in words: the id, or the name and known settings (``-`` where neither is recorded)."""
        if self.embedder:
            return self.embedder
        if not self.name:
            return _UNKNOWN
        settings = ", ".join(f"{key}={value}" for key, value in sorted((self.config or {}).items()))
        return f"{self.name}({settings})"

    def matches(self, other: Producer) -> bool:
        """Same embedder (ids equal, or names equal and the settings both know equal) and the same output."""
        if self.embedder and other.embedder:
            same = self.embedder == other.embedder
        else:
            mine, theirs = self.config or {}, other.config or {}
            shared = set(mine) & set(theirs)
            same = self.name == other.name and all(str(mine[key]) == str(theirs[key]) for key in shared)
        return same and (self.output is None or other.output is None or self.output == other.output)


def check_compatible(first: Producer, second: Producer, *, force: bool) -> None:
    """Refuse to compare features of different embedders, settings or outputs (unless forced; then warn); warn when
    a file cannot tell."""
    for producer in (first, second):
        if not producer.known:
            other = second if producer is first else first
            made = f"{other.describe()}, output {other.output_text}" if other.known else "which records no embedder"
            log.warning("%s has no frechet metadata; assuming it was made like %s (%s)", producer.label, other.label,
                        made)
            return
    if first.matches(second):
        return
    if force:
        log.warning("%s was computed with %s (output %s) and %s with %s (output %s): compared anyway (%s)",
                    second.label, second.describe(), second.output_text, first.label, first.describe(),
                    first.output_text,
                    spell("force"))
        return
    fix = f"recompute one with the other's settings, or pass {spell('force')} to compare anyway"
    if first.label == RUN and not second.embedder and second.name:
        fix = (f"pass {_settings_that_match(second, first)} to reproduce its numbers, or {spell('force')} to compare "
               "anyway")
    raise IncompatibleStatsError(
        f"{second.label} was computed with {second.describe()} (output {second.output_text}), but {first.label} "
        f"{'uses' if first.label == RUN else 'was computed with'} {first.describe()} (output {first.output_text}); "
        f"{fix}"
    )


def _settings_that_match(wanted: Producer, run: Producer) -> str:
    """The settings that would make ``run`` match ``wanted`` (a producer known by name and partial config)."""
    other = wanted.name != run.name
    hints = [spell("embedder", wanted.name)] if other else []
    config = {} if other else dict(run.config or {})
    for key, value in sorted((wanted.config or {}).items()):
        if other or str(config.get(key)) != str(value):
            hints.append(
                "the canonical weights (no weights file)" if key == "weights" else references.spell_option(key, value)
            )
    if wanted.output and run.output and wanted.output != run.output:
        hints.append(spell("layer", wanted.output))
    return " and ".join(hints) or "the same settings"


# ---------------------------------------------------------------------------------------------- stored beside items
def source_with_stored_stats(registry: Registry, input: Any, domain: str, *, progress: bool = True) -> Source | None:
    """The source of a statistics input that also holds items (e.g. an ADM reference batch), or None."""
    if isinstance(input, FeatureStats):
        return None
    try:
        source = registry.open_source(local_input(input, progress=progress), domain)
    except InputError:
        return None
    return source if source.stored_stats() else None


def usable_stored_stats(
    source: Source, embedder: Embedder, needs: Mapping[str, set[str]], *, force: bool
) -> dict[str, FeatureStats]:
    """The stored statistics a run can use as given: those of needed outputs made by this run's embedder (any, when
    forced). Others are skipped with a warning, and their items are embedded instead."""
    usable = {}
    for output, stats in source.stored_stats().items():
        if "stats" not in needs.get(output, ()):
            continue
        stored, run = Producer(source.label, *_maker(stats.meta, output)), Producer.run(embedder, output)
        if stored.matches(run) or force:
            usable[output] = stats
        else:
            log.warning(
                "%s stores statistics (output %s) made with %s, and this run uses %s: its %d items are embedded "
                "instead, so the numbers differ from ones computed with the stored statistics (pass %s to use "
                "them)", source.label, output, stored.describe(), embedder.id(), len(source),
                _settings_that_match(stored, run),
            )
    return usable


def _maker(meta: Mapping[str, Any], output: str) -> tuple[Any, ...]:
    return meta.get("embedder"), meta.get("output", output), meta.get("embedder_name"), meta.get("config")


def _size(path: Path) -> int:
    """The file's size in bytes, 0 when it cannot be read (the loader then names the problem)."""
    try:
        return path.stat().st_size
    except OSError:
        return 0
