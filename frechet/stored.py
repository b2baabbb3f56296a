"""Sides made of stored statistics — statistics files, named references (``ref:NAME``), inputs that hold statistics
beside their items — and the checks that such statistics were made by the run's embedder.

Statistics describe their embedder in ``meta``: frechet's own files by the embedder's full ``embedder`` id; files of
other tools, through the reference catalogue, by ``embedder_name`` and the part of its ``config`` that is known
(e.g. the preprocessing mode). Either way a mismatch is refused unless forced, with the setting that would match.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from frechet import references
from frechet.embedder import Embedder
from frechet.errors import ConfigError, IncompatibleStatsError, InputError
from frechet.metrics.base import Side
from frechet.registry import Registry
from frechet.sources import Source, is_stats_file, open_source
from frechet.stats import FeatureStats

log = logging.getLogger("frechet")


def is_statistics(input: Any) -> bool:
    """True for a ``ref:NAME`` or the path of a statistics file."""
    return references.is_reference(input) or (isinstance(input, (str, Path)) and is_stats_file(input))


def local_input(input: Any, *, progress: bool = True) -> Any:
    """The local file behind a ``ref:NAME`` (downloaded if needed); any other input unchanged."""
    if references.is_reference(input):
        return references.local_path(references.lookup(input), progress=progress)
    return input


def load_statistics(input: str | Path, embedder_name: str | None = None) -> FeatureStats:
    """The statistics of a statistics file or a named reference, with ``meta`` saying what made them. An EDM2 pickle
    supplies the entry that belongs to ``embedder_name`` (its FID statistics when none is given)."""
    if references.is_reference(input):
        return references.load(references.lookup(input))
    key = None
    if Path(input).suffix.lower() == ".pkl":
        key = references.key_for_embedder("edm2-pkl", embedder_name) or "fid"
    stats = FeatureStats.load(input, key=key)
    if key is not None:
        stats.meta = {**references.format_meta("edm2-pkl", key), **stats.meta}
    return stats


def side_from_statistics(input: str | Path, embedder_name: str | None = None) -> Side:
    """A side made of the statistics of :func:`load_statistics`."""
    stats = load_statistics(input, embedder_name)
    return Side(str(input), {stats.meta.get("output", ""): stats}, n_items=stats.meta.get("n_items"), meta=stats.meta)


# ---------------------------------------------------------------------------------------------------- matching
def made_by(meta: Mapping[str, Any], embedder: Embedder) -> bool | None:
    """Whether statistics with ``meta`` come from ``embedder`` as configured now; None when ``meta`` does not say."""
    if meta.get("embedder"):
        return meta["embedder"] == embedder.id()
    if meta.get("embedder_name"):
        config = embedder.full_config()
        return meta["embedder_name"] == embedder.name and all(
            key in config and str(config[key]) == str(value) for key, value in meta.get("config", {}).items()
        )
    return None


def describe(meta: Mapping[str, Any]) -> str:
    """The embedder that made statistics, in words: its id, or its name and known settings."""
    if meta.get("embedder"):
        return str(meta["embedder"])
    settings = ", ".join(f"{key}={value}" for key, value in sorted(meta.get("config", {}).items()))
    return f"{meta.get('embedder_name')}({settings})"


def matching_settings(meta: Mapping[str, Any], embedder: Embedder) -> str:
    """The command-line settings that would make this run match statistics described by ``meta``."""
    if not meta.get("embedder_name") or meta.get("embedder"):
        return "the settings they were made with"
    other = meta["embedder_name"] != embedder.name
    hints = [f"--embedder {meta['embedder_name']}"] if other else []
    config = {} if other else embedder.full_config()
    for key, value in sorted(meta.get("config", {}).items()):
        if other or str(config.get(key)) != str(value):
            hints.append(
                f"--preprocess {value}" if key == "preprocess"
                else "the canonical weights (no --weights)" if key == "weights"
                else f"--embedder-option {key}={value}"
            )
    return " and ".join(hints) or "the same settings"


def check_compatible(side: Side, embedder: Embedder, output: str, *, force: bool) -> None:
    """Refuse statistics made by another embedder, configuration or output (unless forced); warn when they cannot
    tell."""
    meta = side.meta
    matches = made_by(meta, embedder)
    if matches is None:
        log.warning("%s has no frechet metadata; assuming it was made with %s (output %s)", side.label,
                    embedder.id(), output)
        return
    same_output = meta.get("output") in (None, output)
    if (matches and same_output) or force:
        if not (matches and same_output):
            log.warning("%s was made with %s (output %s), this run uses %s (output %s): compared anyway (--force)",
                        side.label, describe(meta), meta.get("output"), embedder.id(), output)
        return
    fix = (
        f"pass {matching_settings(meta, embedder)} to reproduce its numbers" if not matches
        else f"pass --layer {meta.get('output')}"
    )
    raise IncompatibleStatsError(
        f"{side.label} was computed with {describe(meta)} (output {meta.get('output')}), but this run uses "
        f"{embedder.id()} (output {output}); {fix}, or --force to compare anyway"
    )


def check_agree(real: Side, fake: Side, *, force: bool) -> None:
    """Two statistics compared directly must come from the same embedder, configuration and output."""
    a, b = real.meta, fake.meta
    for side in (real, fake):
        if not (side.meta.get("embedder") or side.meta.get("embedder_name")):
            log.warning("%s has no frechet metadata; assuming it matches the other side", side.label)
    if force or not (a.get("embedder") or a.get("embedder_name")) or not (b.get("embedder") or b.get("embedder_name")):
        return
    if a.get("embedder") and b.get("embedder"):
        same = a["embedder"] == b["embedder"]
    else:
        config_a, config_b = a.get("config", {}), b.get("config", {})
        same = a.get("embedder_name") == b.get("embedder_name") and all(
            str(config_a[key]) == str(config_b[key]) for key in set(config_a) & set(config_b)
        )
    if not same or a.get("output") != b.get("output"):
        raise IncompatibleStatsError(
            f"{real.label} was computed with {describe(a)} (output {a.get('output')}) but {fake.label} with "
            f"{describe(b)} (output {b.get('output')}); recompute one with the other's settings, or pass --force "
            "to compare anyway"
        )


# ---------------------------------------------------------------------------------------------- stored beside items
def source_with_stored_stats(registry: Registry, input: Any, domain: str, *, progress: bool = True) -> Source | None:
    """The source of a statistics input that also holds items (e.g. an ADM reference batch), or None."""
    try:
        source = open_source(registry, local_input(input, progress=progress), domain)
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
        if made_by(stats.meta, embedder) or force:
            usable[output] = stats
        else:
            log.warning(
                "%s stores statistics (output %s) made with %s, and this run uses %s: its %d items are embedded "
                "instead, so the numbers differ from ones computed with the stored statistics (pass %s to use "
                "them)", source.label, output, describe(stats.meta), embedder.id(), len(source),
                matching_settings(stats.meta, embedder),
            )
    return usable


# --------------------------------------------------------------------------------------------- choosing an embedder
def choice_for_references(registry: Registry, choice: Any, inputs: Iterable[Any]) -> Any:
    """The run's embedder choice, completed from the first ``ref:NAME`` input: its embedder when none is named, and
    its settings where the user gave none (so the published numbers are reproduced by default)."""
    named = [references.lookup(value) for value in inputs if references.is_reference(value)]
    if not named:
        return choice
    reference = named[0]
    if choice.name not in (None, reference.embedder):
        return choice
    try:
        registry.embedder_info(reference.embedder)
    except ConfigError:
        raise ConfigError(
            f"ref:{reference.name} was made with embedder {reference.embedder} ({_settings(reference.options)}), "
            "which is not installed; install the plugin that provides it (`frechet embedders` lists the installed "
            "ones), or pass --force with another --embedder to compare anyway"
        ) from None
    options = {**reference.options, **choice.options}
    if options != dict(choice.options):
        log.info("ref:%s was computed with %s %s; using the same", reference.name, reference.embedder,
                 _settings(reference.options))
    return dataclasses.replace(
        choice, name=reference.embedder, options=options, output=choice.output or reference.output
    )


def _settings(options: Mapping[str, Any]) -> str:
    return " ".join(f"--preprocess {value}" if key == "preprocess" else f"--embedder-option {key}={value}"
                    for key, value in options.items())
