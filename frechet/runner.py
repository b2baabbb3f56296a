"""The pipeline: inputs -> source items -> transform (workers) -> batches -> embedder -> accumulators -> metrics.

Saved statistics short-circuit the front of it. Only what the chosen metrics need is kept: running statistics for
the Fréchet distance, all feature rows for metrics such as KID, precision/recall or IS.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset
from tqdm import tqdm

import frechet
from frechet import distributed
from frechet._malloc import reuse_large_allocations
from frechet.cache import DEFAULT_SHARD_SIZE, FeatureCache, Shard, serves
from frechet.distributed import World
from frechet.embedder import Embedder
from frechet.features import is_feature_input
from frechet.errors import ConfigError, FrechetError, IncompatibleStatsError, InputError, OutputError, PluginError
from frechet.metrics.base import Metric, MetricContext, Side
from frechet.precision import DEFAULT_PRECISION, autocast, check_precision
from frechet.registry import Registry
from frechet.sources import Source, is_stats_file, open_source
from frechet.stats import FeatureStats

log = logging.getLogger("frechet")

STATS_FORMAT = "frechet-stats"
DEFAULT_EMBEDDER = "inception"
#: Seed for sampling metrics; torch-fidelity's, so sampled values (IS shuffle, KID subsets) match it by default.
DEFAULT_SEED = 2020


@dataclass(frozen=True)
class RunSettings:
    """How to run the embedder: batch size, device, DataLoader workers, bad-item policy, progress bar, the
    feature cache (on/off, folder, items per shard), and the forward pass's precision ("fp32" or "bf16")."""

    batch_size: int = 64
    device: str | None = None  # None: cuda, then mps, then cpu
    workers: int | None = None  # None: chosen from the core count and the embedder
    skip_bad: bool = False
    progress: bool | None = None  # None: only when stderr is a terminal
    cache: bool = True
    cache_dir: str | Path | None = None  # None: FRECHET_CACHE_DIR, else the user cache folder
    shard_size: int = DEFAULT_SHARD_SIZE
    precision: str = DEFAULT_PRECISION
    #: Let glibc keep the network's freed activations for the next batch when items are decoded in the main process
    #: (``frechet._malloc``); the ``frechet`` command sets it, library callers own their process's allocator.
    reuse_large_allocations: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "precision", check_precision(self.precision))
        if self.batch_size < 1:
            raise ConfigError(f"--batch-size must be at least 1, got {self.batch_size}")
        if self.shard_size < 1:
            raise ConfigError(f"--shard-size must be at least 1, got {self.shard_size}")
        if self.workers is not None and self.workers < 0:
            raise ConfigError(f"--workers must be 0 or more, got {self.workers}")


@dataclass
class Result:
    """Metric values and run facts as flat lower-case keys (``fd``, ``fid``, ``n_real``, …)."""

    values: dict[str, Any] = field(default_factory=dict)

    def __getitem__(self, key: str) -> Any:
        return self.values[key]

    def __contains__(self, key: str) -> bool:
        return key in self.values

    def as_dict(self) -> dict[str, Any]:
        """A copy of all values, JSON-serialisable."""
        return dict(self.values)


# ---------------------------------------------------------------------------------------------------- devices
def choose_device(requested: str | None = None) -> torch.device:
    """The requested device, or the best available: cuda, then mps, then cpu."""
    if requested:
        try:
            device = torch.device(requested)
        except RuntimeError:
            raise ConfigError(f"--device '{requested}' is not a device name (use cpu, cuda, cuda:1, mps)") from None
        if device.type == "cuda" and not torch.cuda.is_available():
            raise ConfigError(f"--device {requested}: CUDA is not available here; use --device cpu")
        if device.type == "mps" and not torch.backends.mps.is_available():
            raise ConfigError(f"--device {requested}: MPS is not available here; use --device cpu")
        return device
    if torch.cuda.is_available():
        return torch.device("cuda")
    if torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


#: Cores per process up to which a forward pass on the CPU gets no DataLoader workers: it keeps those cores busy,
#: and decoding between batches lets the process reuse the network's activations (bench/results/throughput.md).
_CPU_FORWARD_MAX_CORES_WITHOUT_WORKERS = 2


def _default_workers(
    embedder: Embedder, items: int, batch_size: int, processes_on_node: int = 1, cores: int | None = None
) -> int:
    """Worker processes that decode and resize while the network runs: the process's worker budget, or none when
    there is nothing to overlap (a trivial transform, a single batch)."""
    if not embedder.parallel_transform or items <= batch_size:
        return 0
    return _worker_budget(embedder.device, processes_on_node, cores)


def _worker_budget(device: torch.device, processes_on_node: int, cores: int | None = None) -> int:
    """Default workers of one process: one per core it has (at most 8), none beside a CPU forward pass with at most
    2 cores."""
    if cores is None:
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    cores //= max(1, processes_on_node)
    if device.type == "cpu" and cores <= _CPU_FORWARD_MAX_CORES_WITHOUT_WORKERS:
        return 0
    return max(1, min(8, cores))


def _decodes_in_main_process(settings: RunSettings, device: torch.device, processes_on_node: int) -> bool:
    """Whether every source of a run is decoded in the main process: ``--workers 0``, or a default budget of none."""
    if settings.workers is not None:
        return settings.workers == 0
    return _worker_budget(device, processes_on_node) == 0


# ---------------------------------------------------------------------------------------------------- embedding
class _TransformedItems(Dataset):
    """Item i -> (i, transformed tensor or None, error message or None); errors travel as data, not exceptions."""

    def __init__(self, source: Source, embedder: Embedder) -> None:
        self.source, self.embedder = source, embedder

    def __len__(self) -> int:
        return len(self.source)

    def __getitem__(self, index: int) -> tuple[int, torch.Tensor | None, str | None]:
        try:
            return index, self.embedder.transform(self.source.load(index)), None
        except InputError as error:
            return index, None, str(error)


class _Collate:
    """Join good items with the embedder's collate; pass their indices along, and failures for reporting."""

    def __init__(self, embedder: Embedder) -> None:
        self.embedder = embedder

    def __call__(self, items: list[tuple[int, torch.Tensor | None, str | None]]) -> tuple[Any, list[int], list]:
        good = [tensor for _, tensor, error in items if error is None]
        failures = [(index, error) for index, _, error in items if error is not None]
        batch = self.embedder.collate(good) if good else None
        return batch, [index for index, _, error in items if error is None], failures


def embed(
    source: Source,
    embedder: Embedder,
    needs: Mapping[str, set[str]],
    settings: RunSettings,
    *,
    cache: FeatureCache | None = None,
) -> Side:
    """Run ``embedder`` over ``source`` and accumulate, per output, what ``needs`` asks: "stats" and/or "features".

    Items are processed in shards of ``settings.shard_size``: each shard's statistics are accumulated batch by batch
    and merged into the total in shard order, so a shard read from ``cache`` gives exactly what embedding it again
    would. Under torch.distributed each rank takes every size-th shard; statistics are merged exactly across ranks and
    kept features gathered in item order on rank 0.
    """
    if len(source) == 0:
        raise InputError(f"{source.label}: no items found; check the path and the file types it holds")
    world = distributed.current()
    size = settings.shard_size
    ranges = [(start, min(start + size, len(source))) for start in range(0, len(source), size)]
    mine = [shard for shard in range(len(ranges)) if world.owns(shard)]
    keys = _shard_keys(cache, source, embedder, mine, ranges, world)
    held = {shard: cache.holds(embedder.id(), key) or {} for shard, key in keys.items()}
    cached = {shard for shard, holds in held.items() if serves(holds, needs)}
    keep = {output: "features" in kinds for output, kinds in needs.items()}
    for shard in set(held) - cached:  # a recomputed shard keeps what its older version held: no thrashing
        for output, kinds in held[shard].items():
            keep[output] = keep.get(output, False) or "features" in kinds
    embedder.request_outputs(keep)  # a network may stop early when later outputs are not read
    batches = _open_batches(source, embedder, settings, [ranges[s] for s in mine if s not in cached], world)
    total = {output: FeatureStats() for output, kinds in needs.items() if "stats" in kinds}
    kept: dict[str, list[tuple[int, np.ndarray]]] = {o: [] for o, kinds in needs.items() if "features" in kinds}
    skipped: list[tuple[int, str]] = []
    n_good = 0
    show = (settings.progress if settings.progress is not None else sys.stderr.isatty()) and world.is_main
    items = sum(ranges[shard][1] - ranges[shard][0] for shard in mine)
    with tqdm(total=items, desc=source.label, unit="item", disable=not show, file=sys.stderr) as bar, \
            _ShardWriter(cache, embedder, source.label) as writer:
        for shard in mine:
            start, stop = ranges[shard]
            result = cache.read(embedder.id(), keys[shard]) if shard in cached else None
            if result is not None:
                bar.update(stop - start)
            else:
                own = batches if shard not in cached else _open_batches(  # removed or damaged since looked up
                    source, embedder, settings, [(start, stop)], world
                )
                result = _embed_shard(own, source, embedder, keep, settings, (start, stop), bar)
                if shard in keys:
                    writer.write(keys[shard], result)
            _report_skipped(result, settings)
            for output, stats in total.items():
                stats.merge(FeatureStats.from_state(result.stats[output]))
            for output, parts in kept.items():
                parts.append((shard, result.features[output]))
            skipped.extend((start + offset, source.item_name(start + offset)) for offset, _ in result.skipped)
            n_good += result.n_good
    if cached:
        log.info("%s: %d of %d shards read from the cache", source.label, len(cached), len(mine))
    return _gathered_side(source, total, kept, skipped, n_good, world)


class _ShardWriter:
    """Writes finished shards to the cache on a background thread (one write pending at most), so the file I/O
    overlaps embedding the next shard; leaving the block waits for the last write. A cache that cannot be written
    (read-only, full) is reported once and the run goes on without it: its result does not depend on the cache."""

    def __init__(self, cache: FeatureCache | None, embedder: Embedder, label: str) -> None:
        self.cache, self.embedder, self.label = cache, embedder, label
        self.pool = ThreadPoolExecutor(1, thread_name_prefix="frechet-cache") if cache is not None else None
        self.pending: Future | None = None

    def write(self, key: str, shard: Shard) -> None:
        self._wait()
        if self.cache is not None:
            self.pending = self.pool.submit(
                self.cache.write, self.embedder.id(), key, shard, label=self.label, device=str(self.embedder.device)
            )

    def _wait(self) -> None:
        if self.pending is not None:
            pending, self.pending = self.pending, None
            try:
                pending.result()
            except OutputError as error:
                log.warning("feature cache not written, continuing without it: %s", error)
                self.cache = None

    def __enter__(self) -> _ShardWriter:
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self.pool is not None:
            try:
                if exc_info[0] is None:
                    self._wait()
            finally:
                self.pool.shutdown(wait=True)


def _shard_keys(
    cache: FeatureCache | None,
    source: Source,
    embedder: Embedder,
    mine: list[int],
    ranges: list[tuple[int, int]],
    world: World,
) -> dict[int, str]:
    """Shard index -> cache key for this rank's shards; empty when caching is off or the source cannot be keyed."""
    if cache is None or not mine:
        return {}
    keys = cache.shard_keys(source, embedder.id(), [ranges[shard] for shard in mine], writer=f"r{world.rank}")
    if keys is None:
        log.info("%s: its items have no path or digest, so they are not cached", source.label)
        return {}
    return dict(zip(mine, keys))


def _open_batches(
    source: Source, embedder: Embedder, settings: RunSettings, ranges: list[tuple[int, int]], world: World
) -> Iterator[tuple[Any, list[int], list]]:
    """One DataLoader over the given item ranges; batches never cross a range (shard) boundary."""
    if not ranges:
        return iter(())
    batches = [
        list(range(first, min(first + settings.batch_size, stop)))
        for start, stop in ranges
        for first in range(start, stop, settings.batch_size)
    ]
    items = sum(stop - start for start, stop in ranges)
    workers = settings.workers if settings.workers is not None else _default_workers(
        embedder, items, settings.batch_size, world.local_size
    )
    if not source.parallel_load:
        workers = 0
    return iter(
        DataLoader(
            _TransformedItems(source, embedder),
            batch_sampler=batches,
            num_workers=workers,
            collate_fn=_Collate(embedder),
            pin_memory=embedder.device.type == "cuda",
        )
    )


def _embed_shard(
    batches: Iterator[tuple[Any, list[int], list]],
    source: Source,
    embedder: Embedder,
    keep: Mapping[str, bool],
    settings: RunSettings,
    span: tuple[int, int],
    bar: tqdm,
) -> Shard:
    """Embed the items ``span`` = (start, stop) from ``batches``: statistics of every output in ``keep``, rows where
    it says so."""
    start, stop = span
    stats = {output: FeatureStats() for output in keep}
    rows: dict[str, list[np.ndarray]] = {output: [] for output, wanted in keep.items() if wanted}
    shard = Shard(start, stop, 0)
    remaining = stop - start
    while remaining:
        batch, good, failures = next(batches)
        n_good = len(good)
        for index, message in failures:
            if not settings.skip_bad:
                raise InputError(f"{message} (pass --skip-bad to skip bad items)")
            shard.skipped.append((index - start, message))
        if batch is not None:
            for output, values in _forward(embedder, batch, keep).items():
                if not bool(torch.isfinite(values).all()):
                    raise InputError(_non_finite(source, embedder, output, values, good))
                stats[output].update(values)
                if output in rows:
                    rows[output].append(values.detach().cpu().numpy())
            shard.n_good += n_good
        remaining -= n_good + len(failures)
        bar.update(n_good + len(failures))
    shard.stats = {output: accumulated.state() for output, accumulated in stats.items()}
    shard.features = {
        output: np.concatenate(chunks) if chunks else np.zeros((0, embedder.outputs.get(output) or 0), np.float32)
        for output, chunks in rows.items()
    }
    return shard


def _non_finite(source: Source, embedder: Embedder, output: str, values: torch.Tensor, items: list[int]) -> str:
    """Name the item whose features are NaN or Inf (or the batch, when items yield several rows each).

    Not a bad item that --skip-bad could pass over: a model that returns NaN usually has broken weights or
    overflows in its precision, and every number it gives is suspect.
    """
    if embedder.multiple_examples:
        where = f"{source.item_name(items[0])} … {source.item_name(items[-1])}"
    else:
        where = source.item_name(items[int(torch.nonzero(~torch.isfinite(values).all(dim=1))[0])])
    return (
        f"{where}: embedder '{embedder.name}' returned NaN or Inf in output '{output}'; check this input, and "
        "the model's weights and precision"
    )


def _report_skipped(shard: Shard, settings: RunSettings) -> None:
    """Bad items stop the run or are reported; those of a cached shard exactly as when they were first met."""
    for _, message in shard.skipped:
        if not settings.skip_bad:
            raise InputError(f"{message} (pass --skip-bad to skip bad items)")
        log.warning("skipped %s", message)


def _gathered_side(
    source: Source,
    total: dict[str, FeatureStats],
    kept: dict[str, list[tuple[int, np.ndarray]]],
    skipped: list[tuple[int, str]],
    n_good: int,
    world: World,
) -> Side:
    """This rank's part, or under torch.distributed every rank's: statistics on all ranks, features on rank 0."""
    stats = {output: distributed.merge_stats(part, world) for output, part in total.items()}
    features = {}
    for output, parts in kept.items():
        gathered = [rows for _, rows in distributed.gather_rows(parts, world) if rows.shape[0]]
        if world.is_main:
            features[output] = np.concatenate(gathered) if gathered else np.zeros((0, 0), np.float32)
    counts = distributed.all_gather_object((n_good, skipped), world)
    n_items = sum(count for count, _ in counts)
    names = [name for _, name in sorted(item for _, part in counts for item in part)]
    if n_items == 0:
        raise InputError(f"{source.label}: none of its {len(source)} items could be used")
    return Side(source.label, stats, features, n_items, names)


def _forward(embedder: Embedder, batch: torch.Tensor, outputs: Iterable[str]) -> dict[str, torch.Tensor]:
    with torch.inference_mode(), autocast(embedder.precision, embedder.device):
        produced = embedder.forward(batch.to(embedder.device, non_blocking=True))
    selected = {}
    for output in outputs:
        if output not in produced:
            raise PluginError(f"embedder '{embedder.name}' did not return its output '{output}'")
        values = produced[output]
        if values.ndim != 2:
            raise PluginError(
                f"embedder '{embedder.name}' returned output '{output}' with shape {tuple(values.shape)}, "
                "expected (batch, dims)"
            )
        expected = embedder.outputs.get(output)
        if expected is not None and values.shape[1] != expected:
            raise PluginError(
                f"embedder '{embedder.name}' returned {values.shape[1]} dims for output '{output}', declared {expected}"
            )
        selected[output] = values.float() if values.dtype in (torch.bfloat16, torch.float16) else values
    return selected


# ---------------------------------------------------------------------------------------------------- statistics files
def stats_meta(embedder: Embedder, output: str, side: Side) -> dict[str, Any]:
    """The ``meta`` written with statistics: what produced them, so mismatched comparisons are caught."""
    return {
        "format": STATS_FORMAT,
        "format_version": 1,
        "embedder": embedder.id(),
        "embedder_name": embedder.name,
        "config": embedder.full_config(),
        "precision": embedder.precision,
        "output": output,
        "fd_key": embedder.fd_key,
        "n_items": side.n_items,
        "n_skipped": len(side.skipped),
        "skipped": list(side.skipped),
        "frechet_version": frechet.__version__,
    }


def side_from_stats_file(path: str | Path) -> Side:
    """A side whose statistics come from a saved ``.npz`` (ours or another tool's)."""
    stats = FeatureStats.load(path)
    return Side(str(path), {stats.meta.get("output", ""): stats}, n_items=stats.meta.get("n_items"), meta=stats.meta)


def check_compatible(side: Side, embedder_id: str, output: str, *, force: bool) -> None:
    """Refuse statistics made by another embedder/output (unless forced); warn when a file cannot tell."""
    made_by, made_output = side.meta.get("embedder"), side.meta.get("output")
    if made_by is None:
        log.warning("%s has no frechet metadata; assuming it was made with %s (output %s)", side.label, embedder_id, output)
        return
    if (made_by, made_output) != (embedder_id, output) and not force:
        raise IncompatibleStatsError(
            f"{side.label} was computed with {made_by} (output {made_output}), but this run uses {embedder_id} "
            f"(output {output}); recompute it with the same settings, or pass --force to compare anyway"
        )


# ---------------------------------------------------------------------------------------------------- whole runs
@dataclass(frozen=True)
class EmbedderChoice:
    """Which embedder a run uses and how: its name (None: inferred from the inputs), options and output."""

    name: str | None = None
    options: Mapping[str, Any] = field(default_factory=dict)
    output: str | None = None


def compare(
    registry: Registry,
    real: Any,
    fake: Any,
    *,
    metrics: Sequence[str],
    choice: EmbedderChoice,
    settings: RunSettings,
    options: Mapping[str, Any],
    seed: int = DEFAULT_SEED,
    force: bool = False,
    save_stats: str | Path | None = None,
) -> Result:
    """Score ``fake`` against ``real`` with ``metrics``; each side is an input to embed or a statistics file."""
    chosen = [registry.metric_info(name).factory() for name in dict.fromkeys(metrics)]
    if not chosen:
        raise ConfigError("no metrics chosen; pass e.g. --metrics fd")
    inputs = {"real": real, "fake": fake}
    for value in inputs.values():
        _check_exists(value)
    if choice.name is None and all(_is_stats_path(value) for value in inputs.values()):
        sides = {label: side_from_stats_file(value) for label, value in inputs.items()}
        context = _context_from_stats(sides["real"], sides["fake"], chosen, options, seed, force)
        for side in sides.values():
            side.stats = {context.output: next(iter(side.stats.values()))}
    else:
        embedder = _build_embedder(registry, choice, settings, inputs.values())
        output = _chosen_output(embedder, choice.output)
        context = MetricContext(
            output, embedder.name, embedder.id(), embedder.fd_key, dict(embedder.outputs),
            metric_options(chosen, options), seed, str(embedder.device), progress=settings.progress,
        )
        needs = _merge_needs(chosen, context)
        sources = {
            label: open_source(registry, value, embedder.domain) if needs[label] and not _is_stats_path(value) else None
            for label, value in inputs.items()
        }
        _check_sizes(chosen, sources, embedder, context)
        sides = {
            label: _side(registry, value, needs[label], embedder, output, settings, force, sources[label])
            for label, value in inputs.items()
        }
        if save_stats is not None and distributed.current().is_main:
            _save_side_stats(Path(save_stats), sides, embedder, output)
    return Result(_score(chosen, sides, context, distributed.current()))


def statistics(
    registry: Registry, input: Any, *, choice: EmbedderChoice, settings: RunSettings
) -> FeatureStats:
    """Statistics of one input's chosen output, with ``meta`` saying what produced them."""
    _check_exists(input)
    embedder = _build_embedder(registry, choice, settings, [input])
    output = _chosen_output(embedder, choice.output)
    side = _side(registry, input, {output: {"stats"}}, embedder, output, settings, force=False)
    stats = side.stats_of(output)
    if stats.n is not None and stats.n < 2:
        raise InputError(f"{side.label}: a covariance needs at least 2 samples, found {stats.n}; add more items")
    if not side.meta:
        stats.meta = stats_meta(embedder, output, side)
    return stats


def _score(
    metrics: Sequence[Metric], sides: Mapping[str, Side], context: MetricContext, world: World
) -> dict[str, Any]:
    """The metrics' values and run facts, computed on rank 0 (which holds gathered features) and sent to all ranks."""
    values: dict[str, Any] = {}
    error: FrechetError | None = None
    if world.is_main:
        try:
            for metric in metrics:
                values.update(metric.compute(sides["real"], sides["fake"], context))
            values.update(_run_facts(sides, context))
        except FrechetError as problem:
            if world.size == 1:
                raise
            error = problem
    values, error = distributed.broadcast_object((values, error), world)
    if error is not None:
        raise error
    return values


def _build_embedder(
    registry: Registry, choice: EmbedderChoice, settings: RunSettings, inputs: Iterable[Any]
) -> Embedder:
    name = choice.name or _infer_embedder(inputs)
    embedder = registry.create_embedder(name, **choice.options).set_precision(settings.precision)
    device = distributed.local_device(choose_device(settings.device))
    distributed.setup(device)
    processes_on_node = distributed.current().local_size
    if settings.reuse_large_allocations and _decodes_in_main_process(settings, device, processes_on_node):
        reuse_large_allocations()
    return embedder.to(device)


def _chosen_output(embedder: Embedder, requested: str | None) -> str:
    output = requested or embedder.default_output
    embedder.output_dim(output)
    return output


def _check_sizes(
    metrics: Sequence[Metric], sources: Mapping[str, Source | None], embedder: Embedder, context: MetricContext
) -> None:
    """Let each metric refuse item counts it cannot work with before anything is embedded (counts are only lower
    bounds of the examples when an item yields several)."""
    sizes = {label: len(source) if source is not None else None for label, source in sources.items()}
    for metric in metrics:
        metric.check_sizes(sizes, context, exact=not embedder.multiple_examples)


def _side(
    registry: Registry,
    input: Any,
    needs: Mapping[str, set[str]],
    embedder: Embedder,
    output: str,
    settings: RunSettings,
    force: bool,
    source: Source | None = None,
) -> Side:
    if _is_stats_path(input):
        side = side_from_stats_file(input)
        check_compatible(side, embedder.id(), output, force=force)
        side.stats = {output: next(iter(side.stats.values()))}
        return side
    if not needs:  # no chosen metric looks at this side
        return Side(str(input))
    source = source if source is not None else open_source(registry, input, embedder.domain)
    return embed(source, embedder, needs, settings, cache=_cache(input, embedder, settings))


def _cache(input: Any, embedder: Embedder, settings: RunSettings) -> FeatureCache | None:
    """The feature cache for inputs named by path (in-memory objects are usually fresh samples: never cached)."""
    if not settings.cache or not embedder.cacheable or not isinstance(input, (str, Path)):
        return None
    return FeatureCache(settings.cache_dir)


def _check_exists(input: Any) -> None:
    if isinstance(input, (str, Path)) and not Path(input).exists():
        raise InputError(f"{input}: no such file or folder")


def _is_stats_path(input: Any) -> bool:
    return isinstance(input, (str, Path)) and is_stats_file(input)


def _infer_embedder(inputs: Iterable[Any]) -> str:
    """"features" when every input to embed is a feature matrix (file or array), else the default embedder."""
    to_embed = [item for item in inputs if not _is_stats_path(item)]
    return "features" if to_embed and all(is_feature_input(item) for item in to_embed) else DEFAULT_EMBEDDER


def _context_from_stats(
    real: Side, fake: Side, metrics: Sequence[Metric], options: Mapping[str, Any], seed: int, force: bool
) -> MetricContext:
    """Context for two statistics files: they must agree with each other on embedder and output."""
    ids = [(side.meta.get("embedder"), side.meta.get("output")) for side in (real, fake)]
    if None not in (ids[0][0], ids[1][0]) and ids[0] != ids[1] and not force:
        raise IncompatibleStatsError(
            f"{real.label} was computed with {ids[0][0]} (output {ids[0][1]}) but {fake.label} with {ids[1][0]} "
            f"(output {ids[1][1]}); recompute one with the other's settings, or pass --force to compare anyway"
        )
    for side in (real, fake):
        if not side.meta.get("embedder"):
            log.warning("%s has no frechet metadata; assuming it matches the other side", side.label)
    meta = real.meta or fake.meta
    return MetricContext(
        meta.get("output") or "", meta.get("embedder_name", ""), meta.get("embedder", ""), meta.get("fd_key"),
        options=metric_options(metrics, options), seed=seed,
    )


def _merge_needs(metrics: Sequence[Metric], context: MetricContext) -> dict[str, dict[str, set[str]]]:
    """Union of the metrics' needs per side: {"real": {output: kinds}, "fake": {output: kinds}}."""
    needs: dict[str, dict[str, set[str]]] = {"real": {}, "fake": {}}
    for metric in metrics:
        for need in metric.needs(context):
            for label in ("real", "fake") if need.sides == "both" else ("fake",):
                needs[label].setdefault(need.output, set()).add(need.kind)
    return needs


def metric_options(metrics: Sequence[Metric], given: Mapping[str, Any]) -> dict[str, Any]:
    """Defaults of the chosen metrics overlaid with ``given``; an option no chosen metric knows is an error."""
    defaults: dict[str, Any] = {}
    for metric in metrics:
        defaults.update(metric.options)
    unknown = sorted(set(given) - set(defaults))
    if unknown:
        names = ", ".join(metric.name for metric in metrics)
        raise ConfigError(f"option(s) {', '.join(unknown)} are not used by the chosen metrics ({names})")
    return {**defaults, **given}


def _save_side_stats(folder: Path, sides: Mapping[str, Side], embedder: Embedder, output: str) -> None:
    for label, side in sides.items():
        if output in side.stats and not side.meta:  # sides read from statistics files are already saved
            side.stats[output].save(folder / f"{label}.npz", stats_meta(embedder, output, side))


def _run_facts(sides: Mapping[str, Side], context: MetricContext) -> dict[str, Any]:
    facts: dict[str, Any] = {}
    for label, side in sides.items():
        stats = side.stats.get(context.output)
        features = side.features.get(context.output)
        if stats is not None:
            facts[f"n_{label}"] = stats.n
        else:
            facts[f"n_{label}"] = features.shape[0] if features is not None else side.n_items
        facts[f"n_{label}_items"] = side.n_items
    skipped = [name for side in sides.values() for name in side.skipped]
    facts.update(
        {"n_skipped": len(skipped), "skipped": skipped, "embedder": context.embedder_id, "output": context.output}
    )
    return facts
