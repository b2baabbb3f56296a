"""A CPU forward pass run as single-threaded slices of the batch, one slice per intra-op thread at a time.

A slice of a few items has activations small enough for the allocator to reuse from batch to batch, so slices run as
fast as a whole batch with glibc tuned to keep large blocks (``frechet._malloc``), 1.1-1.25× faster than a whole
batch without that tuning (the Python API, ``Scorer``, DataLoader workers), the network alone peaking at 0.45-0.82
of the whole batch's memory (bench/results/forward_slices.md). Used only for embedders whose
:meth:`Embedder.cpu_slice_size` says each item's features do not depend on the rest of its batch, so the features
are the whole batch's."""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable, Mapping
from typing import Any

import torch

from frechet.embedder import Embedder

#: Embedders that slice and whose ``forward`` has run once whole (building what it builds lazily, e.g. loading
#: weights), so concurrent calls find it ready; keyed by identity (an embedder need not be hashable).
_ready: weakref.WeakValueDictionary[int, Embedder] = weakref.WeakValueDictionary()


def run_forward(embedder: Embedder, batch: Any, prepare: Callable[[Any], Any], context: Callable[[], Any]) -> Any:
    """``embedder.forward(prepare(batch))``, the forward pass inside ``context()``. On the CPU, for a batch that is
    one CPU tensor and once the embedder has run once whole, in slices of its slice size, each prepared on the
    worker that runs it (:func:`forward_in_slices`). Other batches (an audio embedder's clips object, say) always
    run whole."""
    sliceable = embedder.device.type == "cpu" and isinstance(batch, torch.Tensor) and batch.device.type == "cpu"
    size = embedder.cpu_slice_size() if sliceable else None
    if size is not None and _ready.get(id(embedder)) is embedder:
        return forward_in_slices(embedder.forward, batch, size, context, prepare)
    model_input = prepare(batch)
    with context():
        produced = embedder.forward(model_input)
    if size is not None:
        _ready[id(embedder)] = embedder
    return produced


def forward_in_slices(
    forward: Callable[[Any], Any],
    batch: torch.Tensor,
    size: int,
    context: Callable[[], Any],
    prepare: Callable[[torch.Tensor], Any] | None = None,
) -> Any:
    """``forward`` of ``batch`` as slices of ``size`` items on as many single-threaded workers as the caller has
    intra-op threads, each slice turned into the model input by ``prepare`` (if given) on its worker and run inside
    ``context()``; the output dictionaries joined in order."""

    def one_slice(part: torch.Tensor) -> Any:
        model_input = prepare(part) if prepare is not None else part
        with context():
            return forward(model_input)

    if len(batch) <= size:
        return one_slice(batch)
    slices = batch.split(size)
    caller_threads = torch.get_num_threads()
    if caller_threads == 1:
        return _joined([one_slice(part) for part in slices])
    return _joined(_in_workers(one_slice, slices, min(caller_threads, len(slices)), caller_threads))


def _in_workers(
    one_slice: Callable[[torch.Tensor], Any], slices: tuple[torch.Tensor, ...], threads: int, caller_threads: int
) -> list:
    """``one_slice`` of every slice, worker k taking slices k, k + threads, …, each worker with one intra-op thread.

    Workers are threads that live for this call: none outlives a finished batch (a DataLoader forking later finds
    none). After Ctrl-C the caller returns at once and each worker ends the slice it is on and takes no other; they
    are not daemon threads, so the interpreter waits for that slice at exit rather than stopping a thread inside
    torch's code. Setting torch's thread count also sets the process's default (what threads started later get), so
    each worker sets it back to the caller's count when it ends.
    """
    results: list[Any] = [None] * len(slices)
    failures: dict[int, BaseException] = {}
    stop = threading.Event()

    def work(first: int) -> None:
        torch.set_num_threads(1)
        try:
            for index in range(first, len(slices), threads):
                if stop.is_set():
                    return
                try:
                    results[index] = one_slice(slices[index])
                except BaseException as error:  # the caller re-raises it (and wraps it, as for a whole batch)
                    failures[index] = error
                    stop.set()
        finally:
            torch.set_num_threads(caller_threads)

    workers = [threading.Thread(target=work, args=(k,), name=f"frechet-slice-{k}") for k in range(threads)]
    try:
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
    finally:
        stop.set()
    if failures:
        raise failures[min(failures)]
    return results


def _joined(parts: list[Any]) -> Any:
    """The slices' output dictionaries as one, each output's tensors concatenated in slice order. A slice that
    returned no dictionary is returned as it is (the caller refuses it with its usual message); outputs the slices
    disagree on are an error, never one slice's rows standing for the batch."""
    odd = next((part for part in parts if not isinstance(part, Mapping)), None)
    if odd is not None:
        return odd
    joined = {}
    for name, value in parts[0].items():
        values = [part.get(name) for part in parts]
        if not (isinstance(value, torch.Tensor) and value.ndim >= 1 and all(
                isinstance(other, torch.Tensor) and other.shape[1:] == value.shape[1:] for other in values)):
            raise ValueError(f"its slices of one batch returned output '{name}' with different types or shapes; "
                             "return cpu_slice_size() None if its outputs depend on the batch")
        joined[name] = torch.cat(values)
    return joined
