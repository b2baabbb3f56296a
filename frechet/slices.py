"""A CPU forward pass run as single-threaded slices of the batch, one slice per intra-op thread at a time.

A slice of a few items has activations small enough for the allocator to reuse from batch to batch, so slices run as
fast as a whole batch with glibc tuned to keep large blocks (``frechet._malloc``), 1.1-1.25× faster than a whole
batch without that tuning (the Python API, ``Scorer``, DataLoader workers), in about half the peak memory
(bench/results/forward_slices.md). Used only for embedders whose :meth:`Embedder.cpu_slice_size` says each item's
features do not depend on the rest of its batch, so the features are the whole batch's."""

from __future__ import annotations

import weakref
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import torch

from frechet.embedder import Embedder

#: Embedders whose ``forward`` has run once whole (building what it builds lazily, e.g. loading weights), so
#: concurrent calls find it ready.
_ready: weakref.WeakSet[Embedder] = weakref.WeakSet()


def run_forward(embedder: Embedder, batch: Any, context: Callable[[], Any]) -> Any:
    """``embedder.forward(batch)`` inside ``context()``; for a batch that is one CPU tensor, once the embedder has run
    once whole, in slices of its slice size (:func:`forward_in_slices`). Other batches (an audio embedder's clips
    object, say) always run whole."""
    size = embedder.cpu_slice_size() if isinstance(batch, torch.Tensor) and batch.device.type == "cpu" else None
    if size is None or embedder not in _ready:
        with context():
            produced = embedder.forward(batch)
        _ready.add(embedder)
        return produced
    return forward_in_slices(embedder.forward, batch, size, context)


def forward_in_slices(forward: Callable[[torch.Tensor], Any], batch: torch.Tensor, size: int,
                      context: Callable[[], Any]) -> Any:
    """``forward`` of ``batch`` as slices of ``size`` items, each inside ``context()`` on one of as many
    single-threaded workers as the caller has intra-op threads; the output dictionaries joined in order."""
    if len(batch) <= size:
        with context():
            return forward(batch)

    def one_slice(part: torch.Tensor) -> Any:
        with context():
            return forward(part)

    slices = batch.split(size)
    threads = min(torch.get_num_threads(), len(slices))
    if threads == 1:
        return _joined([one_slice(part) for part in slices])
    # workers for this batch only: no thread outlives the call (a DataLoader forking later finds none)
    with ThreadPoolExecutor(threads, "frechet-slice", initializer=torch.set_num_threads, initargs=(1,)) as pool:
        return _joined(list(pool.map(one_slice, slices)))


def _joined(parts: list[Any]) -> Any:
    """The slices' output dictionaries as one, each tensor concatenated in slice order; anything else (which the
    caller then refuses with its own message) as the first slice returned it."""
    first = parts[0]
    if not all(isinstance(part, Mapping) for part in parts):
        return next(part for part in parts if not isinstance(part, Mapping))
    joined = {}
    for name, value in first.items():
        values = [part.get(name) for part in parts]
        joinable = isinstance(value, torch.Tensor) and value.ndim >= 1 and all(
            isinstance(other, torch.Tensor) and other.shape[1:] == value.shape[1:] for other in values)
        joined[name] = torch.cat(values) if joinable else value
    return joined
