"""Embedding: batches -> each embedder's forward pass -> per-shard accumulators, read from or written to the cache.

Items are processed in shards of ``shard_size``: each shard's statistics are accumulated batch by batch and merged
into the total in shard order, so a shard read from the cache gives exactly what embedding it again would. Under
torch.distributed each rank takes every size-th shard; statistics are merged exactly across ranks and kept features
gathered in item order on rank 0. Several embedders share one decode of each item.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from frechet import distributed
from frechet.cache import FeatureCache, Shard, serves
from frechet.caller import spell
from frechet.distributed import World
from frechet.embedder import Embedder
from frechet.errors import ConfigError, FrechetError, InputError, PluginError, one_line
from frechet.loading import Batch, open_batches
from frechet.metrics.base import Side
from frechet.precision import autocast
from frechet.progress import Progress
from frechet.settings import Settings
from frechet.slices import run_forward
from frechet.sources import Source
from frechet.stats import FeatureStats

log = logging.getLogger("frechet")
#: How libraries word running out of memory (torch's CPU and CUDA allocators, numpy).
_OUT_OF_MEMORY = ("out of memory", "can't allocate", "not enough memory")


@dataclass
class Task:
    """One embedder's work on one input: per output, what to keep ("stats" and/or "features")."""

    embedder: Embedder
    needs: Mapping[str, set[str]]
    keep: dict[str, bool] = field(default_factory=dict)  # output -> keep its rows; filled in by :func:`embed`


def embed(source: Source, tasks: Sequence[Task], settings: Settings, *, cache: FeatureCache | None = None) -> list[Side]:
    """Run every task's embedder over ``source`` (each item decoded once) and return one Side per task."""
    if len(source) == 0:
        raise InputError(f"{source.label}: no items found; check the path and the file types it holds")
    world = distributed.current()
    size = settings.shard_size
    ranges = [(start, min(start + size, len(source))) for start in range(0, len(source), size)]
    mine = [shard for shard in range(len(ranges)) if world.owns(shard)]
    ids = [task.embedder.id() for task in tasks]
    keys = _shard_keys(cache, source, ids, [ranges[shard] for shard in mine], world)
    shard_keys = [dict(zip(mine, keys[embedder_id])) if keys else {} for embedder_id in ids]
    cached = [_plan_task(task, cache, own_keys) for task, own_keys in zip(tasks, shard_keys)]
    work = [(ranges[shard], _positions(cached, shard)) for shard in mine if _positions(cached, shard)]
    batches = open_batches(source, [task.embedder for task in tasks], work, settings, world.local_size)
    totals = [{output: FeatureStats(label=source.label) for output, kinds in task.needs.items() if "stats" in kinds}
              for task in tasks]
    kept = [{output: [] for output, kinds in task.needs.items() if "features" in kinds} for task in tasks]
    row_items: list[list[tuple[int, np.ndarray]] | None] = [[] if parts else None for parts in kept]
    skipped: list[list[tuple[int, str]]] = [[] for _ in tasks]
    n_good = [0] * len(tasks)
    items = sum(ranges[shard][1] - ranges[shard][0] for shard in mine)
    show = settings.progress if world.is_main else False
    with Progress(items, source.label, unit="item", show=show) as bar, \
            _ShardWriter(cache, source.label) as writer:
        for shard in mine:
            span = ranges[shard]
            results = {p: cache.read(ids[p], shard_keys[p][shard]) for p in range(len(tasks)) if shard in cached[p]}
            planned = _positions(cached, shard)
            stale = [p for p, result in results.items() if result is None]  # removed or damaged since looked up
            if planned:
                results.update(_embed_shard(batches, source, tasks, planned, settings, span, bar))
            if stale:
                again = open_batches(source, [task.embedder for task in tasks], [(span, tuple(stale))], settings,
                                     world.local_size)
                results.update(_embed_shard(again, source, tasks, stale, settings, span, None if planned else bar))
            if not planned and not stale:
                bar.update(span[1] - span[0])
            for position in (*planned, *stale):
                if shard_keys[position]:
                    writer.write(tasks[position].embedder, shard_keys[position][shard], results[position])
            for position, result in results.items():
                _report_skipped(source, result, settings)
                for output, stats in totals[position].items():
                    stats.merge(FeatureStats.from_state(result.stats[output], label=source.label))
                for output, parts in kept[position].items():
                    parts.append((shard, result.features[output]))
                if row_items[position] is not None:
                    row_items[position] = _add_row_items(row_items[position], shard, result, tasks[position])
                skipped[position] += [(span[0] + offset, source.item_name(span[0] + offset))
                                      for offset, _ in result.skipped]
                n_good[position] += result.n_good
    reused = sum(len(shards) for shards in cached)
    if reused:
        log.info("%s: %d of %d shards read from the cache", source.label, reused, len(mine) * len(tasks))
    return [_gathered_side(source, *parts, world) for parts in zip(totals, kept, row_items, skipped, n_good)]


def _plan_task(task: Task, cache: FeatureCache | None, keys: Mapping[int, str]) -> set[int]:
    """The shards the cache serves for ``task``; sets what the task keeps per output (a recomputed shard keeps
    what its older version held, so alternating runs do not thrash) and tells the embedder which outputs are read."""
    held = {shard: cache.holds(task.embedder.id(), key) or {} for shard, key in keys.items()} if cache else {}
    served = {shard for shard, holds in held.items() if serves(holds, task.needs)}
    task.keep = {output: "features" in kinds for output, kinds in task.needs.items()}
    for shard in set(held) - served:
        for output, kinds in held[shard].items():
            task.keep[output] = task.keep.get(output, False) or "features" in kinds
    task.embedder.request_outputs(task.keep)  # a network may stop early when later outputs are not read
    return served


def _positions(cached: list[set[int]], shard: int) -> tuple[int, ...]:
    """The tasks (by position) that must compute ``shard``: those whose cache does not serve it."""
    return tuple(position for position, shards in enumerate(cached) if shard not in shards)


def _embed_shard(
    batches: Iterator[Batch],
    source: Source,
    tasks: Sequence[Task],
    positions: Sequence[int],
    settings: Settings,
    span: tuple[int, int],
    bar: Progress | None,
) -> dict[int, Shard]:
    """Embed the items ``span`` = (start, stop) from ``batches`` for the tasks at ``positions``: statistics of every
    output each keeps, rows where it says so."""
    start, stop = span
    stats = {p: {output: FeatureStats(label=source.label) for output in tasks[p].keep} for p in positions}
    rows = {p: {output: [] for output, wanted in tasks[p].keep.items() if wanted} for p in positions}
    row_items: dict[int, list[np.ndarray]] = {p: [] for p in positions}
    shards = {p: Shard(start, stop, 0) for p in positions}
    remaining = stop - start
    while remaining:
        batch = _next_batch(batches)
        if batch.fatal is not None:
            raise batch.fatal
        for position in positions:
            part = batch.parts[position]
            embedder = tasks[position].embedder
            for index, message in part.failures:
                if not settings.skip_bad:
                    raise InputError(f"{message} (pass {spell('skip_bad')} to skip bad items)")
                shards[position].skipped.append((index - start, _reason(message, source.item_name(index))))
            if part.good:
                produced = forward_outputs(embedder, part.inputs, tasks[position].keep, _batch_name(source, part.good))
                for output, values in produced.items():
                    if not bool(torch.isfinite(values).all()):
                        raise InputError(_non_finite(source, embedder, output, values, part.good))
                    stats[position][output].update(values)
                    if output in rows[position]:
                        rows[position][output].append(values.detach().cpu().numpy())
                shards[position].n_good += len(part.good)
                row_items[position].append(np.repeat(np.asarray(part.good, np.int64) - start, part.examples or 1))
        remaining -= batch.size
        if bar is not None:
            bar.update(batch.size)
    for position, shard in shards.items():
        shard.stats = {output: accumulated.state() for output, accumulated in stats[position].items()}
        dims = tasks[position].embedder.outputs
        shard.features = {
            output: np.concatenate(chunks) if chunks else np.zeros((0, dims.get(output) or 0), np.float32)
            for output, chunks in rows[position].items()
        }
        if shard.features:
            shard.row_items = np.concatenate(row_items[position]) if row_items[position] else np.zeros(0, np.int64)
    return shards


def _next_batch(batches: Iterator[Batch]) -> Batch:
    """The next batch; a DataLoader worker that died (killed for memory, say) is one error, not a traceback."""
    try:
        return next(batches)
    except RuntimeError as error:
        raise ConfigError(
            f"a process decoding the inputs stopped ({one_line(error)}); if it ran out of memory, use fewer "
            f"{spell('workers', 'N')} or a smaller {spell('batch_size', 'N')}"
        ) from None


def _add_row_items(
    parts: list[tuple[int, np.ndarray]], shard: int, result: Shard, task: Task
) -> list[tuple[int, np.ndarray]] | None:
    """``parts`` with the item index of each of the shard's kept feature rows; None (no mapping for the input) when
    a cached shard of an embedder with ``multiple_examples`` does not record it."""
    if result.row_items is not None:
        items = result.row_items
    elif task.embedder.multiple_examples:
        return None
    else:  # one row per good item, in order
        bad = {offset for offset, _ in result.skipped}
        items = np.array([offset for offset in range(result.stop - result.start) if offset not in bad], np.int64)
    return [*parts, (shard, result.start + items)]


def _reason(message: str, name: str) -> str:
    """What is wrong with an item, without its name (a cached shard may serve another input with the same bytes)."""
    prefix = f"{name}: "
    return message[len(prefix):] if message.startswith(prefix) else message


def forward_outputs(
    embedder: Embedder,
    batch: Any,
    outputs: Iterable[str],
    where: str = "a batch",
    *,
    prepare: Callable[[Any], Any] | None = None,
) -> dict[str, torch.Tensor]:
    """The embedder's chosen outputs for one batch, checked to be (batch, declared dims), in its precision (fp32
    switches a caller's autocast off) and inside inference mode; half-precision outputs as float32. Anything the
    embedder's code raises is one error naming the embedder and the batch (``where``), never a traceback.
    ``prepare`` (e.g. the embedder's ``transform_batch``) makes the model input of ``batch``, or of each slice of it
    when the forward pass runs in slices (``frechet.slices``), on the batch's own device."""

    def model_input(part: Any) -> Any:
        return (prepare(part) if prepare is not None else part).to(embedder.device, non_blocking=True)

    try:
        produced = run_forward(embedder, batch, model_input, lambda: _forward_context(embedder))
    except FrechetError:
        raise
    except (Exception, SystemExit) as error:  # the model's own code; a real Ctrl-C (KeyboardInterrupt) still stops
        raise PluginError(f"embedder '{embedder.display_name()}' failed on {where}: {one_line(error)}"
                          f"{_memory_hint(error)}") from None
    if not isinstance(produced, Mapping):
        raise PluginError(f"embedder '{embedder.display_name()}' returned {type(produced).__name__} for {where}; "
                          "forward() must return a dict of (batch, dims) tensors")
    selected = {}
    for output in outputs:
        if output not in produced:
            raise PluginError(f"embedder '{embedder.display_name()}' did not return its output '{output}'")
        values = produced[output]
        if not isinstance(values, torch.Tensor) or values.ndim != 2 or values.shape[1] == 0:
            shape = tuple(values.shape) if isinstance(values, torch.Tensor) else type(values).__name__
            raise PluginError(
                f"embedder '{embedder.display_name()}' returned output '{output}' with shape {shape} for {where}, "
                "expected (batch, dims) with dims ≥ 1"
            )
        expected = embedder.outputs.get(output)
        if expected is not None and values.shape[1] != expected:
            raise PluginError(
                f"embedder '{embedder.display_name()}' returned {values.shape[1]} dims for output '{output}', "
                f"declared {expected}"
            )
        selected[output] = values.float() if values.dtype in (torch.bfloat16, torch.float16) else values
    return selected


def _forward_context(embedder: Embedder) -> contextlib.ExitStack:
    """Inference mode and the embedder's precision, entered on the thread that runs the forward pass (both are
    per-thread settings in torch)."""
    stack = contextlib.ExitStack()
    stack.enter_context(torch.inference_mode())
    stack.enter_context(autocast(embedder.precision, embedder.device))
    return stack


def _batch_name(source: Source, items: Sequence[int]) -> str:
    """A batch in messages: its size and its first and last items."""
    if len(items) == 1:
        return f"a batch of 1 item ({source.item_name(items[0])})"
    return f"a batch of {len(items)} items ({source.item_name(items[0])} … {source.item_name(items[-1])})"


def _memory_hint(error: BaseException) -> str:
    """What to try when a batch ran out of memory."""
    text = str(error).lower()
    if isinstance(error, MemoryError) or any(words in text for words in _OUT_OF_MEMORY):
        return f"; it ran out of memory: use a smaller {spell('batch_size', 'N')}"
    return ""


def _non_finite(source: Source, embedder: Embedder, output: str, values: torch.Tensor, items: list[int]) -> str:
    """Name the item whose features are NaN or Inf (or the batch, when items yield several rows each).

    Not a bad item that skip_bad could pass over: a model that returns NaN usually has broken weights or overflows
    in its precision, and every number it gives is suspect.
    """
    if embedder.multiple_examples:
        where = f"{source.item_name(items[0])} … {source.item_name(items[-1])}"
    else:
        where = source.item_name(items[int(torch.nonzero(~torch.isfinite(values).all(dim=1))[0])])
    return (
        f"{where}: embedder '{embedder.display_name()}' returned NaN or Inf in output '{output}'; check this input, "
        "and the model's weights and precision"
    )


def _report_skipped(source: Source, shard: Shard, settings: Settings) -> None:
    """Bad items stop the run or are reported, by their name in this input (a cached shard's too)."""
    for offset, reason in shard.skipped:
        message = f"{source.item_name(shard.start + offset)}: {reason}"
        if not settings.skip_bad:
            raise InputError(f"{message} (pass {spell('skip_bad')} to skip bad items)")
        log.warning("skipped %s", message)


def _shard_keys(
    cache: FeatureCache | None, source: Source, embedder_ids: list[str], ranges: list[tuple[int, int]], world: World
) -> dict[str, list[str]]:
    """Embedder id -> cache key of each of this rank's shards; empty when caching is off or the items cannot be
    keyed."""
    if cache is None or not ranges:
        return {}
    keys = cache.shard_keys(source, embedder_ids, ranges, writer=f"r{world.rank}")
    if keys is None:
        log.info("%s: its items have no path or digest, so they are not cached", source.label)
        return {}
    return keys


class _ShardWriter:
    """Writes finished shards to the cache on a background thread (one write pending at most), so the file I/O
    overlaps embedding the next shard; leaving the block waits for the last write. A cache that cannot be written
    (read-only, full) is reported once by the cache, and the run goes on: its result does not depend on the cache."""

    def __init__(self, cache: FeatureCache | None, label: str) -> None:
        self.cache, self.label = cache, label
        self.pool = ThreadPoolExecutor(1, thread_name_prefix="frechet-cache") if cache is not None else None
        self.pending: Future | None = None

    def write(self, embedder: Embedder, key: str, shard: Shard) -> None:
        self._wait()
        if self.cache is not None and self.cache.write_failure is None:
            self.pending = self.pool.submit(
                self.cache.write, embedder.id(), key, shard, label=self.label, device=str(embedder.device)
            )

    def _wait(self) -> None:
        if self.pending is not None:
            pending, self.pending = self.pending, None
            pending.result()

    def __enter__(self) -> _ShardWriter:
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self.pool is not None:
            try:
                if exc_info[0] is None:
                    self._wait()
            finally:
                self.pool.shutdown(wait=True)


def _gathered_side(
    source: Source,
    total: dict[str, FeatureStats],
    kept: dict[str, list[tuple[int, np.ndarray]]],
    row_items: list[tuple[int, np.ndarray]] | None,
    skipped: list[tuple[int, str]],
    n_good: int,
    world: World,
) -> Side:
    """This rank's part, or under torch.distributed every rank's: statistics on all ranks, features (and the item
    each row came from) on rank 0."""
    stats = {output: distributed.merge_stats(part, world) for output, part in total.items()}
    features = {}
    for output, parts in kept.items():
        gathered = [rows for _, rows in distributed.gather_rows(parts, world) if rows.shape[0]]
        if world.is_main:
            features[output] = np.concatenate(gathered) if gathered else np.zeros((0, 0), np.float32)
    mapped = distributed.all_gather_object(row_items is not None, world)
    items = None
    if all(mapped) and kept:
        gathered_items = [part for _, part in distributed.gather_rows(row_items, world)]
        if world.is_main:
            items = np.concatenate(gathered_items) if gathered_items else np.zeros(0, np.int64)
    counts = distributed.all_gather_object((n_good, skipped), world)
    n_items = sum(count for count, _ in counts)
    names = [name for _, name in sorted(item for _, part in counts for item in part)]
    if n_items == 0:
        raise InputError(f"{source.label}: none of its {len(source)} items could be used")
    return Side(source.label, stats, features, n_items, names, items=items, source_options=dict(source.source_options))
