"""A CPU batch run as single-threaded slices: the same outputs in order, each slice with one intra-op thread in
inference mode and the embedder's precision, the first batch whole, the caller's thread count untouched."""

from __future__ import annotations

import threading

import pytest
import torch

from frechet import Embedder
from frechet.embedding import forward_outputs
from frechet.errors import PluginError


class Recording(Embedder):
    """Doubles its input; records, per call, the batch size, thread, intra-op threads and the modes it ran in."""

    name = "recording"
    domain = "features"
    outputs = {"double": 3, "first": 1}
    default_output = "double"

    def __init__(self, slice_size: int | None = 2, fail_on: float | None = None) -> None:
        super().__init__()
        self.slice_size, self.fail_on = slice_size, fail_on
        self.calls: list[dict] = []
        self.lock = threading.Lock()

    def cpu_slice_size(self) -> int | None:
        return self.slice_size

    def transform(self, item):
        return torch.as_tensor(item)

    def forward(self, batch):
        with self.lock:
            self.calls.append({
                "size": len(batch), "thread": threading.get_ident(), "threads": torch.get_num_threads(),
                "inference": torch.is_inference_mode_enabled(), "autocast": torch.is_autocast_enabled("cpu"),
            })
        if self.fail_on is not None and bool((batch == self.fail_on).any()):
            raise ValueError("a planted failure")
        return {"double": 2 * batch, "first": batch[:, :1]}


def _batch(n: int) -> torch.Tensor:
    return torch.arange(3 * n, dtype=torch.float32).reshape(n, 3)


@pytest.fixture
def two_threads():
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    yield
    torch.set_num_threads(before)


def test_slices_give_the_whole_batch_outputs_in_order(two_threads):
    embedder = Recording()
    forward_outputs(embedder, _batch(4), ["double"])  # the first batch runs whole
    assert [call["size"] for call in embedder.calls] == [4]
    embedder.calls.clear()

    batch = _batch(7)
    produced = forward_outputs(embedder, batch, ["double", "first"])

    assert torch.equal(produced["double"], 2 * batch) and torch.equal(produced["first"], batch[:, :1])
    assert sorted(call["size"] for call in embedder.calls) == [1, 2, 2, 2]
    assert all(call["threads"] == 1 for call in embedder.calls)
    assert all(call["inference"] and not call["autocast"] for call in embedder.calls)
    assert threading.get_ident() not in {call["thread"] for call in embedder.calls}
    assert torch.get_num_threads() == 2
    # no worker outlives the batch (a later fork finds none); other tests' threads may come and go meanwhile
    assert not [thread.name for thread in threading.enumerate() if thread.name.startswith("frechet-slice-")]
    assert {call["thread"] for call in embedder.calls}.isdisjoint(thread.ident for thread in threading.enumerate())
    seen = []
    later = threading.Thread(target=lambda: seen.append(torch.get_num_threads()))
    later.start()
    later.join()
    assert seen == [2]  # the process default a thread started later gets is the caller's again


def test_slices_run_in_the_embedders_precision(two_threads):
    embedder = Recording().set_precision("bf16")
    forward_outputs(embedder, _batch(4), ["double"])
    embedder.calls.clear()
    forward_outputs(embedder, _batch(6), ["double"])
    assert len(embedder.calls) == 3 and all(call["autocast"] for call in embedder.calls)


@pytest.mark.parametrize("slice_size, threads", [(None, 2), (2, 1)])
def test_no_slice_size_or_one_thread_runs_on_the_callers_thread(slice_size, threads):
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        embedder = Recording(slice_size)
        for _ in range(2):
            produced = forward_outputs(embedder, _batch(6), ["double"])
            assert torch.equal(produced["double"], 2 * _batch(6))
    finally:
        torch.set_num_threads(before)
    assert {call["thread"] for call in embedder.calls} == {threading.get_ident()}
    assert [call["size"] for call in embedder.calls] == ([6, 6] if slice_size is None else [6, 2, 2, 2])


def test_a_failing_slice_is_one_error_naming_the_embedder(two_threads):
    embedder = Recording(fail_on=17.0)
    forward_outputs(embedder, _batch(2), ["double"])
    with pytest.raises(PluginError, match=r"embedder 'recording' failed on a batch: ValueError: a planted failure"):
        forward_outputs(embedder, _batch(8), ["double"])


def test_a_slice_returning_no_dictionary_is_refused(two_threads):
    class Listing(Recording):
        def forward(self, batch):
            return super().forward(batch) if len(batch) > 2 else [batch]

    embedder = Listing()
    forward_outputs(embedder, _batch(4), ["double"])
    with pytest.raises(PluginError, match="returned list .* must return a dict"):
        forward_outputs(embedder, _batch(8), ["double"])


def test_slices_disagreeing_on_an_output_are_an_error_not_one_slices_rows(two_threads):
    class Shrinking(Recording):
        def forward(self, batch):
            produced = super().forward(batch)
            return {**produced, "double": produced["double"][:, : len(batch)]}  # width follows the slice

    embedder = Shrinking()
    forward_outputs(embedder, _batch(3), ["first"])
    with pytest.raises(PluginError, match="slices of one batch returned output 'double' with different"):
        forward_outputs(embedder, _batch(5), ["first"])


def test_an_unhashable_embedder_runs_and_slices():
    class Comparable(Recording):
        __hash__ = None

        def __eq__(self, other):
            return isinstance(other, Comparable)

    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        first, second = Comparable(), Comparable()
        forward_outputs(first, _batch(4), ["double"])
        forward_outputs(second, _batch(4), ["double"])  # an equal but fresh instance also runs its first batch whole
        forward_outputs(first, _batch(4), ["double"])
    finally:
        torch.set_num_threads(before)
    assert [call["size"] for call in first.calls] == [4, 2, 2] and [c["size"] for c in second.calls] == [4]


def test_a_batch_that_is_not_one_tensor_runs_whole(two_threads):
    class Clips:
        """Not a tensor (as audio embedders' batches are): moved as a whole, never split."""

        def __init__(self, rows):
            self.rows = rows

        def to(self, device, non_blocking=False):
            return self

    class OnClips(Recording):
        def forward(self, batch):
            return super().forward(batch.rows)

    embedder = OnClips()
    for _ in range(2):
        produced = forward_outputs(embedder, Clips(_batch(6)), ["double"])
        assert torch.equal(produced["double"], 2 * _batch(6))
    assert [call["size"] for call in embedder.calls] == [6, 6]


def test_prepare_makes_each_slices_input_on_its_worker(two_threads):
    """``prepare`` (a Scorer's ``transform_batch``) runs per slice on the worker running it, outside autocast, and
    the outputs are those of the whole prepared batch."""
    prepared_on = []

    def prepare(part):
        prepared_on.append((threading.get_ident(), len(part), torch.is_autocast_enabled("cpu")))
        return part.float() / 2

    embedder = Recording().set_precision("bf16")
    raw = torch.arange(24, dtype=torch.uint8).reshape(8, 3)
    forward_outputs(embedder, raw[:2], ["first"], prepare=prepare)
    prepared_on.clear()
    embedder.calls.clear()
    produced = forward_outputs(embedder, raw, ["first"], prepare=prepare)
    assert torch.equal(produced["first"], (raw.float() / 2)[:, :1])
    assert sorted(size for _, size, _ in prepared_on) == [2, 2, 2, 2]
    assert not any(autocast for _, _, autocast in prepared_on)
    assert {thread for thread, _, _ in prepared_on} == {call["thread"] for call in embedder.calls}
    assert threading.get_ident() not in {thread for thread, _, _ in prepared_on}


def test_ctrl_c_returns_at_once_and_workers_take_no_further_slice(two_threads):
    import os
    import signal
    import time

    class Interrupted(Recording):
        def forward(self, batch):
            if len(batch) == 1 and float(batch[0, 0]) == 0.0:
                os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C while the other worker is inside a slice
            else:
                time.sleep(0.2)
            return super().forward(batch)

    embedder = Interrupted(slice_size=1)
    forward_outputs(embedder, _batch(1) + 100, ["double"])
    embedder.calls.clear()
    with pytest.raises(KeyboardInterrupt):
        forward_outputs(embedder, _batch(8), ["double"])
    for thread in threading.enumerate():
        if thread.name.startswith("frechet-slice"):
            thread.join()
    assert len(embedder.calls) < 8  # each worker ended the slice it was on and took no other
