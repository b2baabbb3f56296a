"""Loading: source items -> each embedder's transform -> batches, in DataLoader workers or in the main process.

Each item is decoded once and transformed by every embedder that needs it; an item any of them cannot use is a
bad item for all, so every embedder sees the same items. How many workers decode beside the network, and whether
glibc may keep the network's large activations, is decided here too.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch.utils.data import DataLoader, Dataset

from frechet._malloc import reuse_large_allocations
from frechet.caller import spell
from frechet.embedder import Embedder
from frechet.errors import ConfigError, FrechetError, InputError, PluginError, one_line
from frechet.io import check_regular_file
from frechet.memory import CHECK_ABOVE_BYTES, available_memory, describe_bytes
from frechet.settings import Settings
from frechet.sources import Source

#: Cores per process up to which a forward pass on the CPU gets no DataLoader workers: it keeps those cores busy,
#: and decoding between batches lets the process reuse the network's activations (bench/results/throughput.md).
_CPU_FORWARD_MAX_CORES_WITHOUT_WORKERS = 2
#: Feature rows are read in blocks of about this many bytes (as float64), whatever the batch size.
_BLOCK_BYTES = 32 << 20
_FIRST_BLOCK_ROWS = 1024


@dataclass
class Part:
    """One embedder's share of a batch: the collated inputs of the items it can use (None if none), their indices,
    the bad items as (index, message), and for an embedder with ``multiple_examples`` the examples of each good
    item (None: one each)."""

    inputs: Any
    good: list[int]
    failures: list[tuple[int, str]]
    examples: list[int] | None = None


@dataclass
class Batch:
    """A batch of ``size`` items, split per embedder (by its position in the run); ``fatal`` is a problem that must
    stop the run (a batch that cannot fit in memory, an embedder whose collate fails)."""

    size: int
    parts: dict[int, Part]
    fatal: FrechetError | None = None


#: One transformed item: its index, per embedder position either its input or why it cannot be used, and a problem
#: that stops the run.
_Item = tuple[int, dict[int, Any], dict[int, str], FrechetError | None]


class _TransformedItems(Dataset):
    """Item i -> (i, {position: transformed input}, {position: error message}, fatal); errors travel as data. An
    item is decoded once; ``wanted[i]`` names the embedders that need it (those whose results for its shard are not
    cached). A decoding failure is a bad item for each of them, a transform failure only for its own embedder.

    Only regular files are read: an item whose file is a FIFO, socket or device is a bad item, named, before its
    source opens it (reading one could block forever or never end). Whatever a source or a transform raises
    becomes a bad item naming the item, except frechet's errors about the setup rather than the item (a missing
    optional package, a configuration error): those stop the run once, as does a prepared item so large that a
    batch of them cannot fit in memory, by name before the batch is gathered.
    """

    def __init__(
        self, source: Source, embedders: Sequence[Embedder], wanted: dict[int, tuple[int, ...]], batch_size: int
    ) -> None:
        self.source, self.embedders, self.wanted, self.batch_size = source, embedders, wanted, batch_size

    def __len__(self) -> int:
        return len(self.source)

    def __getitem__(self, index: int) -> _Item:
        positions = self.wanted[index]
        try:
            path = self.source.item_path(index)
            if path is not None:
                check_regular_file(path, self.source.item_name(index))
            item = self.source.load(index)
        except InputError as error:
            return index, {}, dict.fromkeys(positions, str(error)), None
        except FrechetError as error:  # the setup, not this item (a missing optional package): stop the run once
            return index, {}, {}, error
        except (Exception, SystemExit) as error:  # a decoder's own failure on this item
            message = f"{self.source.item_name(index)}: cannot be read ({one_line(error)})"
            return index, {}, dict.fromkeys(positions, message), None
        inputs, errors = {}, {}
        for position in positions:
            embedder = self.embedders[position]
            try:
                value = embedder.transform(item)
            except InputError as error:
                errors[position] = str(error)
                continue
            except FrechetError as error:
                return index, {}, {}, error
            except (Exception, SystemExit) as error:
                errors[position] = (f"{self.source.item_name(index)}: embedder '{embedder.display_name()}' cannot "
                                    f"prepare this item ({one_line(error)})")
                continue
            too_large = _batch_too_large(embedder, value, self.batch_size)
            if too_large is not None:
                return index, {}, {}, too_large
            inputs[position] = value
        return index, inputs, errors, None


def _batch_too_large(embedder: Embedder, value: Any, batch_size: int) -> FrechetError | None:
    """A ConfigError when a batch of items like ``value`` would not fit in the memory left, else None."""
    size = value.nbytes if isinstance(value, torch.Tensor) else 0
    needed = size * batch_size
    if needed <= CHECK_ABOVE_BYTES:
        return None
    available = available_memory()
    if available is None or needed <= available:
        return None
    shape = "×".join(map(str, value.shape))
    return ConfigError(
        f"embedder '{embedder.display_name()}': each prepared item is {shape} "
        f"{str(value.dtype).removeprefix('torch.')} ({describe_bytes(size)}), so a batch of {batch_size} needs "
        f"{describe_bytes(needed)}, more than the {describe_bytes(available)} of memory available; use a smaller "
        f"{spell('batch_size', 'N')}, or smaller model inputs"
    )


class _Collate:
    """Join each embedder's good items with its collate; pass their indices along, and the failures for reporting."""

    def __init__(self, embedders: Sequence[Embedder]) -> None:
        self.embedders = embedders

    def __call__(self, items: list[_Item]) -> Batch:
        fatal = next((problem for *_, problem in items if problem is not None), None)
        if fatal is not None:
            return Batch(len(items), {}, fatal)
        positions = {position for _, inputs, errors, _ in items for position in (*inputs, *errors)}
        parts = {}
        for position in sorted(positions):
            good = [(index, inputs[position]) for index, inputs, _, _ in items if position in inputs]
            embedder = self.embedders[position]
            try:
                collated = embedder.collate([value for _, value in good]) if good else None
            except (Exception, SystemExit) as error:
                name = embedder.display_name()
                return Batch(len(items), {}, PluginError(
                    f"embedder '{name}' cannot join {len(good)} prepared items into a batch ({one_line(error)})"
                ))
            failures = [(index, errors[position]) for index, _, errors, _ in items if position in errors]
            examples = [len(value) for _, value in good] if embedder.multiple_examples else None
            parts[position] = Part(collated, [index for index, _ in good], failures, examples)
        return Batch(len(items), parts)


def open_batches(
    source: Source,
    embedders: Sequence[Embedder],
    work: Sequence[tuple[tuple[int, int], tuple[int, ...]]],
    settings: Settings,
    processes_on_node: int,
) -> Iterator[Batch]:
    """One DataLoader over ``work``: item ranges (shards) with the embedders (by position) each needs. Batches
    never cross a range boundary, so each shard's statistics are accumulated from its own batches."""
    if not work:
        return iter(())
    if source.row_blocks and all(embedder.takes_row_blocks for embedder in embedders):
        return _row_blocks(source, work)
    batches, wanted = [], {}
    for (start, stop), positions in work:
        batches += [list(range(first, min(first + settings.batch_size, stop))) for first in
                    range(start, stop, settings.batch_size)]
        wanted.update(dict.fromkeys(range(start, stop), positions))
    items = sum(stop - start for (start, stop), _ in work)
    workers = settings.workers
    if workers is None:
        workers = default_workers(embedders, items, settings.batch_size, processes_on_node)
    if not source.parallel_load:
        workers = 0
    workers = min(workers, len(batches))  # a worker without a batch of its own would be a process started for nothing
    return iter(
        DataLoader(
            _TransformedItems(source, embedders, wanted, settings.batch_size),
            batch_sampler=batches,
            num_workers=workers,
            collate_fn=_Collate(embedders),
            pin_memory=any(embedder.device.type == "cuda" for embedder in embedders),
        )
    )


def _row_blocks(source: Source, work: Sequence[tuple[tuple[int, int], tuple[int, ...]]]) -> Iterator[Batch]:
    """Batches of about ``_BLOCK_BYTES`` of feature rows read at once (never across a work range), for embedders
    that take them as they are: no per-item work, and bad rows still named one by one."""
    step = _FIRST_BLOCK_ROWS
    for (start, stop), positions in work:
        first = start
        while first < stop:
            last = min(first + step, stop)
            rows, failures = source.load_rows(first, last)
            if rows.ndim == 2 and rows.shape[1]:
                step = max(1, _BLOCK_BYTES // (8 * rows.shape[1]))
            bad = {index for index, _ in failures}
            good = [index for index in range(first, last) if index not in bad]
            inputs = torch.from_numpy(rows) if good else None
            yield Batch(last - first, {position: Part(inputs, good, failures) for position in positions})
            first = last


def default_workers(
    embedders: Sequence[Embedder], items: int, batch_size: int, processes_on_node: int = 1, cores: int | None = None
) -> int:
    """Worker processes that decode and resize while the network runs: the process's worker budget, or none when
    there is nothing to overlap (trivial transforms, a single batch)."""
    if not any(embedder.parallel_transform for embedder in embedders) or items <= batch_size:
        return 0
    return worker_budget(embedders[0].device, processes_on_node, cores)


def worker_budget(device: torch.device, processes_on_node: int, cores: int | None = None) -> int:
    """Default workers of one process: one per core it has (at most 8), none beside a CPU forward pass with at most
    2 cores."""
    if cores is None:
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    cores //= max(1, processes_on_node)
    if device.type == "cpu" and cores <= _CPU_FORWARD_MAX_CORES_WITHOUT_WORKERS:
        return 0
    return max(1, min(8, cores))


def decodes_in_main_process(settings: Settings, device: torch.device, processes_on_node: int) -> bool:
    """Whether every source of a run is decoded in the main process: ``workers=0``, or a default budget of none."""
    if settings.workers is not None:
        return settings.workers == 0
    return worker_budget(device, processes_on_node) == 0


def prepare_allocator(settings: Settings, device: torch.device, processes_on_node: int) -> None:
    """Let glibc keep freed activations for the next batch when asked and items are decoded in the main process
    (beside DataLoader workers it made the main process's heap grow with the number of items)."""
    if settings.reuse_large_allocations and decodes_in_main_process(settings, device, processes_on_node):
        reuse_large_allocations()
