"""Scorer: the metrics inside a training loop — batches in, a Result out, the same numbers as ``frechet.compute``.

The model and the running float64 sums live on the scorer's device; only what the metrics need is kept (FID alone
keeps the sums, never the features). Under torch.distributed every rank feeds its own batches and ``compute()``
returns the same Result on every rank, by an exact reduction; a rank that skips ``compute()`` is detected within
``sync_timeout`` seconds instead of hanging the others. ``evaluate`` draws samples from a generator function.
"""

from __future__ import annotations

import contextlib
import datetime
import math
import sys
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

from frechet import distributed, scorer_state
from frechet.embedding import forward_outputs
from frechet.errors import ConfigError, FrechetError, InputError
from frechet.metrics.base import Side
from frechet.plan import Result, chosen_metrics, metric_options, run_facts, score, skipped_facts
from frechet.plugins import get_registry
from frechet.references import settings_for
from frechet.registry import Registry, SourceInfo
from frechet.runner import build_embedders, embed_side, feature_cache, plan_run, statistics_side
from frechet.settings import settings_from
from frechet.sources import Source
from frechet.stats import FeatureStats
from frechet.statsfiles import is_stats_input, source_with_stored_stats

SIDES = ("real", "fake")
#: Seconds every rank waits for the others to reach ``compute()`` before it is called an error.
SYNC_TIMEOUT = 60.0


class Scorer:
    """Accumulates batches of generated (and, without a reference, real) items and scores them.

    ``reference`` is a statistics file, a folder or file of items, or an in-memory batch: embedded once and kept.
    The other keywords are those of :func:`frechet.compute` (``metrics``, ``embedder``, ``embedder_options``,
    ``metric_options``, ``device``, ``precision``, ``seed``, ``batch_size``, ``force``, …).
    """

    def __init__(self, *, reference: Any = None, sync_timeout: float = SYNC_TIMEOUT, **settings: Any) -> None:
        self.settings = settings_from(("reference", "sync_timeout"), **{"progress": False, **settings})
        number = isinstance(sync_timeout, (int, float)) and not isinstance(sync_timeout, bool)
        if not (number and 0 < sync_timeout < math.inf):
            raise ConfigError(f"Scorer(sync_timeout={sync_timeout!r}): it must be a number of seconds > 0")
        if self.settings.embedder is not None and len(self.settings.embedder) > 1:
            raise ConfigError("a Scorer runs one embedder; make one Scorer per embedder")
        registry = get_registry()
        self.metrics = chosen_metrics(registry, self.settings)
        options = metric_options(self.metrics, self.settings.metric_options)
        inputs = [] if reference is None else [reference]
        self.settings = settings_for(registry, self.settings, inputs)  # a ref:NAME brings its embedder and mode
        with _caller_rng_kept():
            [self.embedder] = build_embedders(registry, self.settings, inputs, self.metrics)
        self.run = plan_run(self.embedder, self.settings, self.metrics, options)
        self.embedder.request_outputs(set(self.run.needs["real"]) | set(self.run.needs["fake"]))
        self._sync = _Handshake(sync_timeout)
        self._reference_kind: list[SourceInfo] = []  # with each update's, what the source options must concern
        self._reference = None if reference is None else self._embed_reference(registry, reference)
        self._sides = {label: _Accumulator(self.run.needs[label], self._sums_device, self._dims) for label in SIDES}

    # ------------------------------------------------------------------ feeding
    def update(self, items: Any, *, real: bool = False) -> None:
        """Add a batch: images as uint8 (N, 3, H, W) / (N, H, W, 3) or float in [0, 1] (rounded to the 256 levels,
        never truncated), clips (``frechet_audio.AudioClips``), feature rows — whatever the embedder's sources take.
        ``real=True`` feeds the reference side, when the scorer has no ``reference``."""
        if real and self._reference is not None:
            raise ConfigError("this Scorer has a reference; update(..., real=True) is only for scorers without one")
        source = self._open(get_registry(), items)
        side = self._sides["real" if real else "fake"]
        with _caller_rng_kept():
            for start in range(0, len(source), self.settings.batch_size):
                stop = min(start + self.settings.batch_size, len(source))
                batch, prepare = self._batch(source, start, stop)
                side.add(forward_outputs(self.embedder, batch, side.needs, prepare=prepare), stop - start)

    def reset(self) -> None:
        """Forget the generated side (and the real side fed by ``update``); keep the reference and the model."""
        self._sides = {label: _Accumulator(self.run.needs[label], self._sums_device, self._dims) for label in SIDES}

    # ------------------------------------------------------------------ scoring
    def compute(self) -> Result:
        """The metrics over everything fed so far, with the same keys as :func:`frechet.compute`; every rank of a
        process group must call it, and every rank gets the same Result."""
        world = distributed.current()
        self._sync.wait(world)
        sides = {label: self._side(label, world) for label in SIDES}
        values = score(self.metrics, sides, self.run.context, world)
        values.update(run_facts(sides, self.run.context))
        values.update({"embedder": self.embedder.id(), "output": self.run.output})
        values.update(skipped_facts({label: [side] for label, side in sides.items()}))
        return Result(values)

    # ------------------------------------------------------------------ checkpoints
    def state_dict(self) -> dict[str, Any]:
        """The running statistics and kept features of both sides (not the model, not the reference), to resume a
        half-finished metric from a training checkpoint: tensors and plain values only, so ``torch.load`` reads it
        with its default ``weights_only=True``; versioned (``frechet.scorer_state``)."""
        return scorer_state.make_state(self._expected, {label: self._sides[label].state() for label in SIDES})

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Resume from :meth:`state_dict`: the whole state is checked first (its version, embedder, output, metrics,
        counts, dtypes and shapes), and a state that differs is refused in one line saying what differs."""
        sides = scorer_state.read_state(state, self._expected)
        for label in SIDES:
            self._sides[label] = _Accumulator.from_state(self.run.needs[label], self._sums_device, self._dims,
                                                         sides[label])

    # ------------------------------------------------------------------ internals
    def _batch(self, source: Any, start: int, stop: int) -> tuple[Any, Callable[[Any], Any] | None]:
        """Items ``start:stop`` and what makes them the network input: the embedder's ``transform_batch`` on the
        whole batch at once, on its own device, where the embedder and the source allow it (in-memory tensors; in
        slices when the forward pass runs in slices), else the items transformed one by one on the CPU — the same
        values."""
        if self.embedder.transforms_batches():
            items = source.load_batch(start, stop)
            if items is not None:
                return items, self.embedder.transform_batch
        items = [self.embedder.transform(source.load(index)) for index in range(start, stop)]
        return self.embedder.collate(items), None

    @property
    def _dims(self) -> dict[str, int | None]:
        """The declared width of each output kept (None where the embedder does not declare it)."""
        outputs = {output for label in SIDES for output in self.run.needs[label]}
        return {output: self.embedder.outputs.get(output) for output in outputs}

    @property
    def _expected(self) -> scorer_state.Expected:
        return scorer_state.Expected(self.embedder.id(), self.run.output, tuple(metric.name for metric in self.metrics),
                                     self.run.needs, self._dims)

    @property
    def _sums_device(self) -> torch.device:
        """Where the float64 sums live: the model's device, but the CPU on MPS (it has no float64)."""
        return torch.device("cpu") if self.embedder.device.type == "mps" else self.embedder.device

    def _embed_reference(self, registry: Any, reference: Any) -> Side:
        if is_stats_input(reference):
            source = source_with_stored_stats(registry, reference, self.embedder.domain, progress=False)
            if source is None:
                return statistics_side(reference, self.run, self.settings)
        else:
            source = self._open(registry, reference, reference=True)
        with _caller_rng_kept():
            [side] = embed_side(source, [(self.embedder, self.run.needs["real"])], self.settings,
                                cache=feature_cache([reference], [self.embedder], self.settings))
        return side

    def _open(self, registry: Registry, input: Any, *, reference: bool = False) -> Source:
        """The source of ``input`` with the source options, each of which the reference's or this input's source
        kind must declare."""
        kinds = registry.check_source_options([input], self.embedder.domain, self.settings.source_options,
                                              read=self._reference_kind)
        if reference:
            self._reference_kind = kinds
        return registry.open_source(input, self.embedder.domain, self.settings.source_options)

    def _side(self, label: str, world: distributed.World) -> Side:
        if label == "real" and self._reference is not None:
            return self._reference
        side = self._sides[label].gathered(f"{label} (fed by update)", world)
        if not side.n_items and any(self.run.needs[label].values()):
            where = "update(..., real=True) or a reference" if label == "real" else "update()"
            raise InputError(f"the Scorer has no {label} items yet; feed them with {where} before compute()")
        return side


class _Accumulator:
    """One side's running statistics (float64, on the sums' device) and kept feature rows, per output."""

    def __init__(self, needs: Mapping[str, set[str]], device: torch.device, dims: Mapping[str, int | None]) -> None:
        self.needs, self.device, self.dims = dict(needs), device, dict(dims)
        self.stats = {output: FeatureStats() for output, kinds in needs.items() if "stats" in kinds}
        self.rows: dict[str, list[np.ndarray]] = {output: [] for output, kinds in needs.items() if "features" in kinds}
        self.items = 0

    def add(self, outputs: Mapping[str, torch.Tensor], items: int) -> None:
        for output, values in outputs.items():
            if not bool(torch.isfinite(values).all()):
                raise InputError(f"the embedder returned NaN or Inf in output '{output}' for this batch; check the "
                                 "items, and the model's weights and precision")
            if output in self.stats:
                self.stats[output].update(values.to(self.device))
            if output in self.rows:
                self.rows[output].append(values.detach().cpu().numpy())
        self.items += items

    def state(self) -> dict[str, Any]:
        return scorer_state.side_state(self.items, self.stats, {output: self._rows(output) for output in self.rows})

    @classmethod
    def from_state(cls, needs: Mapping[str, set[str]], device: torch.device, dims: Mapping[str, int | None],
                   state: scorer_state.SideState) -> _Accumulator:
        accumulator = cls(needs, device, dims)
        accumulator.items = state.items
        accumulator.stats = dict(state.stats)
        accumulator.rows = {output: [rows] if rows.shape[0] else [] for output, rows in state.features.items()}
        return accumulator

    def gathered(self, label: str, world: distributed.World) -> Side:
        """This side as the metrics see it: every rank's statistics merged exactly, features gathered on rank 0
        (any rank may hold no rows)."""
        stats = {output: distributed.merge_stats(part, world) for output, part in self.stats.items()}
        features = {}
        for output in self.rows:
            parts = distributed.gather_rows([(world.rank, self._rows(output))], world)
            if world.is_main:
                held = [rows for _, rows in parts if rows.shape[0]]
                features[output] = np.concatenate(held) if held else self._rows(output)
        items = sum(distributed.all_gather_object(self.items, world))
        return Side(label, stats, features, items)

    def _rows(self, output: str) -> np.ndarray:
        chunks = self.rows[output]
        return np.concatenate(chunks) if chunks else np.zeros((0, self.dims.get(output) or 0), np.float32)


class _Handshake:
    """Before the collective work of ``compute()``, every rank checks in on a gloo group with a timeout, so a rank
    that never calls ``compute()`` is an error on the others within seconds, not a hang."""

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        world = distributed.current()
        self.group = None
        if world.size > 1:  # made by every rank together, as process groups must be
            self.group = torch.distributed.new_group(backend="gloo", timeout=datetime.timedelta(seconds=timeout))

    def wait(self, world: distributed.World) -> None:
        if self.group is None:
            return
        try:
            torch.distributed.monitored_barrier(self.group, timeout=datetime.timedelta(seconds=self.timeout),
                                                wait_all_ranks=True)
        except RuntimeError as error:
            raise FrechetError(
                f"Scorer.compute() on rank {world.rank}: not every rank called compute() within {self.timeout:g} s "
                f"({str(error).splitlines()[0]}); call compute() on every rank (each returns the same Result)"
            ) from None


@contextlib.contextmanager
def _caller_rng_kept() -> Iterator[None]:
    """The caller's torch random state (CPU, and the current CUDA device's) is the same after the block."""
    devices = [torch.cuda.current_device()] if torch.cuda.is_available() and torch.cuda.is_initialized() else []
    with torch.random.fork_rng(devices=devices):
        yield


def evaluate(
    generator: Callable[[int], Any], n: int, *, reference: Any, batch_size: int = 64, progress: bool | None = None,
    **settings: Any,
) -> Result:
    """Score ``n`` samples drawn as ``generator(batch_size)`` (the last batch cut to size) against ``reference``,
    with no file written; the other keywords as for :class:`Scorer`."""
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ConfigError(f"evaluate(..., n={n!r}): n must be a whole number of samples ≥ 1")
    settings_from(("generator", "n", "reference"), **settings)  # a misspelt keyword first
    scorer = Scorer(reference=reference, batch_size=batch_size, **settings)
    show = progress if progress is not None else sys.stderr.isatty()
    drawn = 0
    with tqdm(total=n, desc="generated", unit="item", disable=not (show and distributed.current().is_main),
              file=sys.stderr) as bar:
        while drawn < n:
            with torch.inference_mode():
                samples = _batch_of(generator(batch_size), batch_size)
            if len(samples) > n - drawn:
                samples = samples[: n - drawn]
            if len(samples) == 0:
                raise InputError(f"generator({batch_size}) returned no samples after {drawn} of {n}")
            scorer.update(samples)
            drawn += len(samples)
            bar.update(len(samples))
    return scorer.compute()


def _batch_of(samples: Any, batch_size: int) -> Any:
    """What ``generator(batch_size)`` returned, when it is a batch that can be counted (an array, a tensor, a list
    of items, AudioClips); anything else (None, a number, a dict) is one line naming what came back."""
    try:
        counted = not isinstance(samples, (str, bytes, Mapping)) and len(samples) >= 0
    except TypeError:  # None, a number, a 0-d tensor
        counted = False
    if not counted:
        raise InputError(f"generator({batch_size}) returned {type(samples).__name__}; it must return a batch of "
                         "samples (an array or tensor of N items, as Scorer.update takes), e.g. `return images`")
    return samples
