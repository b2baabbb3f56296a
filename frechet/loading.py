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
from frechet.embedder import Embedder
from frechet.errors import InputError
from frechet.settings import Settings
from frechet.sources import Source

#: Cores per process up to which a forward pass on the CPU gets no DataLoader workers: it keeps those cores busy,
#: and decoding between batches lets the process reuse the network's activations (bench/results/throughput.md).
_CPU_FORWARD_MAX_CORES_WITHOUT_WORKERS = 2


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
    """A batch of ``size`` items, split per embedder (by its position in the run)."""

    size: int
    parts: dict[int, Part]


#: One transformed item: its index, and per embedder position either its input or why it cannot be used.
_Item = tuple[int, dict[int, Any], dict[int, str]]


class _TransformedItems(Dataset):
    """Item i -> (i, {position: transformed input}, {position: error message}); errors travel as data. An item is
    decoded once; ``wanted[i]`` names the embedders that need it (those whose results for its shard are not cached).
    A decoding failure is a bad item for each of them, a transform failure only for its own embedder."""

    def __init__(self, source: Source, embedders: Sequence[Embedder], wanted: dict[int, tuple[int, ...]]) -> None:
        self.source, self.embedders, self.wanted = source, embedders, wanted

    def __len__(self) -> int:
        return len(self.source)

    def __getitem__(self, index: int) -> _Item:
        positions = self.wanted[index]
        try:
            item = self.source.load(index)
        except InputError as error:
            return index, {}, dict.fromkeys(positions, str(error))
        inputs, errors = {}, {}
        for position in positions:
            try:
                inputs[position] = self.embedders[position].transform(item)
            except InputError as error:
                errors[position] = str(error)
        return index, inputs, errors


class _Collate:
    """Join each embedder's good items with its collate; pass their indices along, and the failures for reporting."""

    def __init__(self, embedders: Sequence[Embedder]) -> None:
        self.embedders = embedders

    def __call__(self, items: list[_Item]) -> Batch:
        positions = {position for _, inputs, errors in items for position in (*inputs, *errors)}
        parts = {}
        for position in sorted(positions):
            good = [(index, inputs[position]) for index, inputs, _ in items if position in inputs]
            embedder = self.embedders[position]
            collated = embedder.collate([value for _, value in good]) if good else None
            failures = [(index, errors[position]) for index, _, errors in items if position in errors]
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
    return iter(
        DataLoader(
            _TransformedItems(source, embedders, wanted),
            batch_sampler=batches,
            num_workers=workers,
            collate_fn=_Collate(embedders),
            pin_memory=any(embedder.device.type == "cuda" for embedder in embedders),
        )
    )


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
