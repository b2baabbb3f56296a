"""The orchestrator: inputs -> sources -> embedding (loading, forward, cache) -> metrics, as short functions of the
stages in ``loading``, ``embedding``, ``plan`` and ``statsfiles``.

Saved statistics short-circuit the front of the pipeline. Only what the chosen metrics need is kept: running
statistics for the Fréchet distance, all feature rows for metrics such as KID, precision/recall or IS.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from frechet import distributed
from frechet.cache import FeatureCache
from frechet.caller import spell
from frechet.embedder import Embedder
from frechet.embedding import Task, embed
from frechet.errors import ConfigError, InputError, OutputError, UnsavedResultError
from frechet.features import is_feature_input
from frechet.io import check_output_files, check_outputs_apart, check_path_length, describe_os_error, short_path
from frechet.loading import prepare_allocator
from frechet.metrics.base import Metric, MetricContext, Side
from frechet.plan import (
    Result,
    asked_names,
    check_one_sided,
    check_sizes,
    chosen_metrics,
    merge_results,
    metric_options,
    run_facts,
    score,
    side_needs,
    skipped_facts,
)
from frechet.registry import Registry
from frechet.settings import Settings
from frechet.sources import Source
from frechet.stats import FeatureStats, check_stats_suffix
from frechet.references import is_reference, lookup, settings_for
from frechet.statsfiles import (
    Producer,
    check_compatible,
    is_stats_input,
    load_statistics,
    side_from_stats,
    source_with_stored_stats,
    stats_meta,
    usable_stored_stats,
)

log = logging.getLogger("frechet")

DEFAULT_EMBEDDER = "inception"
SIDES = ("real", "fake")


@dataclass
class EmbedderRun:
    """One embedder of a run: the output FD uses, the metrics' context, and what each side must keep."""

    embedder: Embedder
    output: str
    context: MetricContext
    needs: dict[str, dict[str, set[str]]]


@dataclass
class Comparison:
    """A comparison in full: the result, and per side the Sides (one per embedder, in order) and the Source its
    items came from (None for saved statistics) — what a report shows beside the numbers."""

    result: Result
    embedders: list[Embedder] = field(default_factory=list)
    outputs: list[str] = field(default_factory=list)
    sides: dict[str, list[Side]] = field(default_factory=dict)
    sources: dict[str, Source | None] = field(default_factory=dict)


def compare(registry: Registry, real: Any, fake: Any, settings: Settings) -> Result:
    """Score ``fake`` against ``real`` with the settings' metrics; each side is an input to embed or statistics.
    ``real`` None: ``fake`` alone, for metrics of the generated set alone (the Inception Score).
    The statistics ``save_stats`` asks for are written once the scores are known (see :func:`save_statistics`)."""
    compared = comparison(registry, real, fake, settings)
    save_statistics(compared, settings)
    return compared.result


def save_statistics(compared: Comparison, settings: Settings) -> None:
    """Write the embedded sides' statistics into ``settings.save_stats`` (rank 0), all files or none; when that
    fails, an UnsavedResultError that carries the result, so the scores already computed are not lost."""
    if settings.save_stats is None or not compared.sides or not distributed.current().is_main:
        return
    try:
        _save_sides(settings.save_stats, compared.sides, compared.embedders, compared.outputs)
    except OutputError as error:
        raise UnsavedResultError(f"{error}; no statistics were saved (the scores were computed: see above)",
                                 compared.result) from None


def comparison(
    registry: Registry, real: Any, fake: Any, settings: Settings, *, keep_features: bool = False
) -> Comparison:
    """:func:`compare`, keeping the sides and sources; ``keep_features`` keeps every embedded side's feature rows
    of the chosen output (and the item each came from) even when no metric needs them. An input given for both
    sides is read and embedded once."""
    metrics = chosen_metrics(registry, settings)
    asked = asked_names(registry, settings)
    options = metric_options(metrics, settings.metric_options)
    inputs = {"real": real, "fake": fake} if real is not None else {"fake": fake}
    _check_inputs(registry, inputs.values(), _planned_outputs(settings, len(settings.embedder or ()) > 1, list(inputs)))
    if settings.embedder is None and len(inputs) == 2 and all(is_stats_input(value) for value in inputs.values()):
        check_source_options(registry, settings, inputs.values())  # none read: none taken
        return Comparison(_compare_statistics(inputs, metrics, options, asked, settings))
    settings = settings_for(registry, settings, inputs.values())
    check_source_options(registry, settings, inputs.values(), metrics)
    embedders = build_embedders(registry, settings, inputs.values(), metrics)
    runs = [plan_run(embedder, settings, metrics, options, keep_features=keep_features) for embedder in embedders]
    if "real" not in inputs:
        for run in runs:
            check_one_sided(metrics, run.context)
    groups = same_inputs(inputs)
    sources: dict[str, Source | None] = {}
    for labels in groups:
        sources.update(dict.fromkeys(labels, _open(registry, inputs[labels[0]], embedders[0].domain, settings)))
    sizes = {label: len(source) if source is not None else None for label, source in sources.items()}
    for run in runs:  # before anything is embedded
        check_sizes(metrics, sizes, run.context, exact=not run.embedder.multiple_examples)
    cache = feature_cache(inputs.values(), embedders, settings)
    sides: dict[str, list[Side]] = {}
    for labels in groups:
        value, source = inputs[labels[0]], sources[labels[0]]
        if source is None:  # statistics only
            for label in labels:
                sides[label] = [statistics_side(value, run, settings, several=len(runs) > 1) for run in runs]
            continue
        work = [(run.embedder, _union_needs(run.needs[label] for label in labels)) for run in runs]
        embedded = embed_side(source, work, settings, cache=cache if isinstance(value, (str, Path)) else None)
        sides.update(dict.fromkeys(labels, embedded))
    world = distributed.current()
    per_embedder = []
    for position, run in enumerate(runs):
        pair = {label: sides[label][position] for label in inputs}
        values = score(metrics, pair, run.context, world, asked=asked)
        values.update(run_facts(pair, run.context))
        values.update({"embedder": run.embedder.id(), "output": run.output})
        per_embedder.append((run.embedder.name, run.embedder.fd_key, values))
    merged = merge_results(per_embedder)
    merged.update(skipped_facts(sides))
    return Comparison(Result(merged), embedders, [run.output for run in runs], sides, sources)


def same_inputs(inputs: dict[str, Any]) -> list[list[str]]:
    """The sides' labels grouped by the input they name: one group per distinct input (a path by the file or folder
    it resolves to, ``ref:NAME`` by name, anything else by object identity), in order."""
    groups: dict[Any, list[str]] = {}
    for label, value in inputs.items():
        groups.setdefault(_identity(value), []).append(label)
    return list(groups.values())


def _identity(value: Any) -> Any:
    if isinstance(value, (str, Path)) and not is_reference(value):
        return ("path", os.path.realpath(Path(value).expanduser()))
    if isinstance(value, str):
        return ("name", value)
    return ("object", id(value))


def _open(registry: Registry, value: Any, domain: str, settings: Settings) -> Source | None:
    """The source of an input's items; for statistics, that of the items stored beside them (None: none)."""
    if is_stats_input(value):
        return source_with_stored_stats(registry, value, domain, progress=settings.progress is not False)
    return registry.open_source(value, domain, settings.source_options)


def _union_needs(needs: Iterable[dict[str, set[str]]]) -> dict[str, set[str]]:
    union: dict[str, set[str]] = {}
    for each in needs:
        for output, kinds in each.items():
            union.setdefault(output, set()).update(kinds)
    return union


def statistics(
    registry: Registry, input: Any, settings: Settings, *, out: Path | None = None
) -> dict[str, FeatureStats]:
    """Statistics of one input's chosen output per embedder (by name), with ``meta`` saying what produced them;
    saved to ``out`` too when given (see :func:`stats_path` for several embedders)."""
    several = len(settings.embedder or ()) > 1
    names = settings.embedder or ("",)
    _check_inputs(registry, [input], [stats_path(out, name, several) for name in names] if out is not None else [])
    if out is not None:
        check_stats_suffix(out)
    if settings.embedder is None and is_stats_input(input):  # statistics (a file, ref:NAME), converted as they are
        check_source_options(registry, settings, [input])  # none read: none taken
        stats = load_statistics(input, progress=settings.progress)
        if out is not None and distributed.current().is_main:
            stats.save(out)
        return {stats.meta.get("embedder_name") or "": stats}
    settings = settings_for(registry, settings, [input])
    check_source_options(registry, settings, [input])
    embedders = build_embedders(registry, settings, [input])
    outputs = [chosen_output(embedder, settings.layer) for embedder in embedders]
    tasks = [Task(embedder, {output: {"stats"}}) for embedder, output in zip(embedders, outputs)]
    source = registry.open_source(input, embedders[0].domain, settings.source_options)
    result = {}
    cache = feature_cache([input], embedders, settings)
    for task, output, side in zip(tasks, outputs, embed(source, tasks, settings, cache=cache)):
        stats = side.stats_of(output)
        if stats.n is not None and stats.n < 2:
            raise InputError(f"{side.label}: a covariance needs at least 2 samples, found {stats.n}; add more items")
        stats.meta = stats_meta(task.embedder, output, side)
        result[task.embedder.name] = stats
    if out is not None and distributed.current().is_main:
        for name, stats in result.items():
            stats.save(stats_path(out, name, several))
    return result


def embed_side(
    source: Source,
    work: Sequence[tuple[Embedder, dict[str, set[str]]]],
    settings: Settings,
    *,
    cache: FeatureCache | None,
) -> list[Side]:
    """One input's sides, one per embedder: what the input stores already (statistics beside its items, made by that
    embedder) used as given, the rest embedded in one pass (through ``cache``, None for in-memory inputs)."""
    stored = [usable_stored_stats(source, embedder, needs, force=settings.force) for embedder, needs in work]
    tasks = [
        Task(embedder, {output: kinds - {"stats"} if output in kept else set(kinds) for output, kinds in needs.items()})
        for (embedder, needs), kept in zip(work, stored)
    ]
    for task in tasks:
        task.needs = {output: kinds for output, kinds in task.needs.items() if kinds}
    if any(task.needs for task in tasks) or not any(stored):
        sides = embed(source, tasks, settings, cache=cache)
    else:
        sides = [Side(source.label, n_items=len(source), source_options=dict(source.source_options)) for _ in tasks]
    for side, kept in zip(sides, stored):
        side.stats.update(kept)
        if kept:  # partly the input's own statistics: not this run's to save
            side.meta = dict(next(iter(kept.values())).meta)
    return sides


def stats_path(out: Path, embedder: str, several: bool) -> Path:
    """Where statistics go: ``out`` itself, or with several embedders ``out`` with the embedder's name before its
    suffix (``real.npz`` -> ``real.inception.npz``)."""
    return out.with_name(f"{out.stem}.{embedder}{out.suffix or '.npz'}") if several else out


# ---------------------------------------------------------------------------------------------------- building
def build_embedders(
    registry: Registry, settings: Settings, inputs: Iterable[Any], metrics: Sequence[Metric] = ()
) -> list[Embedder]:
    """The run's embedders, built with their options, on the run's device (joining torchrun's process group)."""
    names = settings.embedder or (_infer_embedder(inputs, metrics),)
    embedders = [
        registry.create_embedder(name, **settings.options_for(name)).set_precision(settings.precision)
        for name in names
    ]
    shared = [name for name, embedder in zip(names, embedders)
              if [other.name for other in embedders].count(embedder.name) > 1]
    if shared:  # results and saved statistics are filed under the embedder's name: one would replace the other
        raise ConfigError(f"{spell('embedder', ','.join(shared))}: these embedders share the name "
                          f"'{embedders[names.index(shared[0])].name}', under which results and statistics are "
                          "filed; run them separately")
    domains = {embedder.domain for embedder in embedders}
    if len(domains) > 1:
        raise ConfigError(f"{spell('embedder', ','.join(names))}: one run embeds one kind of input, but these "
                          f"read {' and '.join(sorted(domains))} inputs; run them separately")
    device = _device(settings)
    return [embedder.to(device) for embedder in embedders]


def _device(settings: Settings) -> torch.device:
    """The settings' device (or the best available), one GPU per process under a launcher; joins the process group
    and lets glibc keep activations where that pays (:func:`frechet.loading.prepare_allocator`)."""
    device = distributed.local_device(_choose_device(settings.device))
    distributed.setup(device)
    prepare_allocator(settings, device, distributed.current().local_size)
    return device


def _choose_device(requested: str | None) -> torch.device:
    """The requested device, or the best available: cuda, then mps, then cpu."""
    if requested:
        device = torch.device(requested)  # a name of a kind frechet runs on: Settings checked it
        if device.type == "cuda" and not torch.cuda.is_available():
            raise ConfigError(f"{spell('device', requested)}: CUDA is not available here; use cpu")
        if device.type == "cuda" and device.index is not None and device.index >= torch.cuda.device_count():
            raise ConfigError(f"{spell('device', requested)}: this machine has {torch.cuda.device_count()} CUDA "
                              f"device(s), numbered from 0; use cuda:0 … cuda:{torch.cuda.device_count() - 1}")
        if device.type == "mps" and not torch.backends.mps.is_available():
            raise ConfigError(f"{spell('device', requested)}: MPS is not available here; use cpu")
        return device
    if torch.cuda.is_available():
        return torch.device("cuda")
    if torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def plan_run(
    embedder: Embedder, settings: Settings, metrics: Sequence[Metric], options: dict[str, Any], *,
    keep_features: bool = False,
) -> EmbedderRun:
    """The output FD uses, the metrics' context and what each side must keep, for one embedder of a run (every
    side's feature rows of that output too, with ``keep_features``)."""
    output = chosen_output(embedder, settings.layer)
    context = MetricContext(
        output, embedder.name, embedder.id(), embedder.fd_key, dict(embedder.outputs),
        with_mode_options(options, embedder.fd_options), settings.seed, str(embedder.device), progress=settings.progress,
    )
    needs = side_needs(metrics, context)
    if keep_features:
        for label in SIDES:
            needs[label].setdefault(output, set()).add("features")
    return EmbedderRun(embedder, output, context, needs)


def with_mode_options(options: dict[str, Any], mode: Mapping[str, Any]) -> dict[str, Any]:
    """The metric options with those an embedder's mode sets (``Embedder.fd_options``, or as saved statistics
    record them) filled in where the chosen metrics take them and the user left them unset (None or ``auto``)."""
    return {**options, **{key: value for key, value in mode.items() if key in options and options[key] in (None, "auto")}}


def chosen_output(embedder: Embedder, requested: str | None) -> str:
    """The output FD uses: ``requested`` (checked) or the embedder's default."""
    output = requested or embedder.default_output
    embedder.output_dim(output)
    return output


def check_source_options(
    registry: Registry, settings: Settings, inputs: Iterable[Any], metrics: Sequence[Metric] = ()
) -> None:
    """Before any model is built: each source option is one that the source kind of some input to embed declares,
    for the domain of the run's (first) embedder."""
    if not settings.source_options:
        return
    inputs = list(inputs)
    read = [value for value in inputs if not is_stats_input(value)]
    name = (settings.embedder or (_infer_embedder(inputs, metrics),))[0]
    registry.check_source_options(read, registry.embedder_info(name)[0].domain if read else "",
                                  settings.source_options)


def _infer_embedder(inputs: Iterable[Any], metrics: Sequence[Metric]) -> str:
    """"features" when every input to embed is a feature matrix (file or array), else the embedder the chosen
    metrics ask for (CMMD's CLIP, say) when they agree on one, else the default embedder."""
    to_embed = [item for item in inputs if not is_stats_input(item)]
    if to_embed and all(is_feature_input(item) for item in to_embed):
        return "features"
    wanted = {metric.default_embedder for metric in metrics if metric.default_embedder}
    return wanted.pop() if len(wanted) == 1 else DEFAULT_EMBEDDER


def feature_cache(inputs: Iterable[Any], embedders: Sequence[Embedder], settings: Settings) -> FeatureCache | None:
    """The run's feature cache, one for all its inputs (so a problem with it is one warning), or None when caching is
    off or no input is named by path (in-memory objects are usually fresh samples: never cached; the caller passes
    the cache only with inputs named by path). A cache folder that cannot exist (a file is in the way) or lies
    inside an input folder (it would write into the user's data) is one warning, and the run goes on without it:
    the cache only ever saves time."""
    paths = [value for value in inputs if isinstance(value, (str, Path))]
    if not settings.cache or not all(e.cacheable for e in embedders) or not paths:
        return None
    try:
        cache = FeatureCache(settings.cache_dir, progress=settings.progress)
        check_outputs_apart([cache.root], paths)
    except (ConfigError, OutputError) as error:
        log.warning("feature cache not used, continuing without it: %s", error)
        return None
    return cache


# ---------------------------------------------------------------------------------------------------- statistics
def statistics_side(input: Any, run: EmbedderRun, settings: Settings, *, several: bool = False) -> Side:
    """A side given as saved statistics, checked against the embedder that made the other side."""
    if several:
        raise ConfigError(f"{input}: saved statistics hold one embedder's features; with several embedders, pass "
                          "the inputs themselves, or compare each embedder's statistics in its own run")
    side = side_from_stats(input, run.embedder.name, progress=settings.progress)
    check_compatible(Producer.run(run.embedder, run.output), Producer.of(side), force=settings.force)
    side.stats = {run.output: next(iter(side.stats.values()))}
    return side


def _compare_statistics(
    inputs: dict[str, Any], metrics: Sequence[Metric], options: dict[str, Any], asked: dict[str, tuple[str, ...]],
    settings: Settings,
) -> Result:
    """Two statistics files and no model: they must agree with each other on embedder and output."""
    sides = {label: side_from_stats(value, progress=settings.progress) for label, value in inputs.items()}
    check_compatible(Producer.of(sides["real"]), Producer.of(sides["fake"]), force=settings.force)
    real, fake = sides["real"].meta, sides["fake"].meta
    meta = real or fake
    context = MetricContext(
        meta.get("output") or fake.get("output") or "", meta.get("embedder_name", ""),
        real.get("embedder") or fake.get("embedder", ""), real.get("fd_key") or fake.get("fd_key"),
        options=with_mode_options(options, real.get("fd_options") or fake.get("fd_options") or {}),
        seed=settings.seed, progress=settings.progress,
    )
    for side in sides.values():
        side.stats = {context.output: next(iter(side.stats.values()))}
    values = score(metrics, sides, context, distributed.current(), asked=asked)
    values.update(run_facts(sides, context))
    values.update({"embedder": context.embedder_id or None, "output": context.output or None})  # null: not recorded
    values.update(skipped_facts({label: [side] for label, side in sides.items()}))
    return Result(values)


def _save_sides(folder: Path, sides: dict[str, list[Side]], embedders: Sequence[Embedder], outputs: Sequence[str]
                ) -> None:
    """``real.npz`` and ``fake.npz`` (per embedder when there are several) for the sides that were embedded: each
    written beside its name first, and all renamed once all are written, so a full disk leaves none of them."""
    staged: list[tuple[Path, Path]] = []
    try:
        for label in (label for label in SIDES if label in sides):
            for embedder, output, side in zip(embedders, outputs, sides[label]):
                if output in side.stats and not side.meta:  # sides read from statistics files are saved already
                    path = stats_path(folder / f"{label}.npz", embedder.name, len(embedders) > 1)
                    pending = path.with_name(f".{path.stem}.{os.getpid()}.pending.npz")  # saved only as .npz
                    staged.append((pending, path))
                    side.stats[output].save(pending, stats_meta(embedder, output, side))
        for pending, path in staged:
            try:
                os.replace(pending, path)
            except OSError as error:
                raise OutputError(f"{path}: writing failed ({describe_os_error(error)})") from None
    finally:
        for pending, _ in staged:
            with contextlib.suppress(OSError):
                pending.unlink()


# ---------------------------------------------------------------------------------------------------- inputs
def _check_inputs(registry: Registry, inputs: Iterable[Any], outputs: Sequence[Path]) -> None:
    """Every input path (PATH of ``KIND:PATH``) exists, and no output would replace an input or land inside an input
    folder."""
    inputs = list(inputs)
    for value in inputs:
        if is_reference(value):
            lookup(value)  # an unknown name fails here, before any work
    paths = [registry.input_path(value) for value in inputs if not is_reference(value)]
    paths = [path for path in paths if path is not None]
    for path in paths:
        check_path_length(path, short_path(path))
        if not path.exists() and not path.is_symlink():
            raise InputError(f"{path}: no such file or folder")
    check_output_files(outputs)
    check_outputs_apart(outputs, paths)


def _planned_outputs(settings: Settings, several: bool, labels: Sequence[str] = SIDES) -> list[Path]:
    if settings.save_stats is None:
        return []
    check_path_length(settings.save_stats, spell("save_stats", short_path(settings.save_stats)), OutputError)
    if settings.save_stats.exists() and not settings.save_stats.is_dir():
        raise OutputError(f"{spell('save_stats', str(settings.save_stats))}: this is a file, and the statistics go "
                          "into a folder (real.npz, fake.npz); name a folder")
    names = settings.embedder if several else (None,)
    return [stats_path(settings.save_stats / f"{label}.npz", name or "", several) for label in labels for name in names]
