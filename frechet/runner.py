"""The pipeline: inputs -> source items -> transform (workers) -> batches -> embedder -> accumulators -> metrics.

Saved statistics short-circuit the front of it. Only what the chosen metrics need is kept: running statistics for
the Fréchet distance, all feature rows for metrics such as KID, precision/recall or IS.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset
from tqdm import tqdm

import frechet
from frechet.embedder import Embedder
from frechet.features import is_feature_input
from frechet.errors import ConfigError, IncompatibleStatsError, InputError, PluginError
from frechet.metrics.base import Metric, MetricContext, Need, Side
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
    """How to run the embedder: batch size, device, DataLoader workers, bad-item policy, progress bar."""

    batch_size: int = 64
    device: str | None = None  # None: cuda, then mps, then cpu
    workers: int | None = None  # None: chosen from the core count and the embedder
    skip_bad: bool = False
    progress: bool | None = None  # None: only when stderr is a terminal

    def __post_init__(self) -> None:
        if self.batch_size < 1:
            raise ConfigError(f"--batch-size must be at least 1, got {self.batch_size}")
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


def _default_workers(embedder: Embedder, items: int, batch_size: int) -> int:
    if not embedder.parallel_transform or items <= batch_size:
        return 0
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, min(8, cores))


# ---------------------------------------------------------------------------------------------------- embedding
class _TransformedItems(Dataset):
    """Item i -> (i, transformed tensor or None, error message or None); errors travel as data, not exceptions."""

    def __init__(self, source: Source, embedder: Embedder, indices: Sequence[int]) -> None:
        self.source, self.embedder, self.indices = source, embedder, indices

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, position: int) -> tuple[int, torch.Tensor | None, str | None]:
        index = self.indices[position]
        try:
            return index, self.embedder.transform(self.source.load(index)), None
        except InputError as error:
            return index, None, str(error)


class _Collate:
    """Join good items with the embedder's collate; pass failures along for reporting."""

    def __init__(self, embedder: Embedder) -> None:
        self.embedder = embedder

    def __call__(self, items: list[tuple[int, torch.Tensor | None, str | None]]) -> tuple[Any, int, list]:
        good = [tensor for _, tensor, error in items if error is None]
        failures = [(index, error) for index, _, error in items if error is not None]
        batch = self.embedder.collate(good) if good else None
        return batch, len(good), failures


def embed(
    source: Source,
    embedder: Embedder,
    needs: Mapping[str, set[str]],
    settings: RunSettings,
    *,
    indices: Sequence[int] | None = None,
) -> Side:
    """Run ``embedder`` over ``source`` and accumulate, per output, what ``needs`` asks: "stats" and/or "features"."""
    indices = range(len(source)) if indices is None else indices
    if len(source) == 0:
        raise InputError(f"{source.label}: no items found; check the path and the file types it holds")
    device = embedder.device
    embedder.request_outputs(needs)
    workers = settings.workers if settings.workers is not None else _default_workers(
        embedder, len(indices), settings.batch_size
    )
    if not source.parallel_load:
        workers = 0
    loader = DataLoader(
        _TransformedItems(source, embedder, indices),
        batch_size=settings.batch_size,
        num_workers=workers,
        collate_fn=_Collate(embedder),
        pin_memory=device.type == "cuda",
    )
    stats = {output: FeatureStats() for output, kinds in needs.items() if "stats" in kinds}
    kept: dict[str, list[np.ndarray]] = {output: [] for output, kinds in needs.items() if "features" in kinds}
    skipped: list[str] = []
    n_items = 0
    show = settings.progress if settings.progress is not None else sys.stderr.isatty()
    with tqdm(total=len(indices), desc=source.label, unit="item", disable=not show, file=sys.stderr) as bar:
        for batch, n_good, failures in loader:
            for index, message in failures:
                if not settings.skip_bad:
                    raise InputError(f"{message} (pass --skip-bad to skip bad items)")
                log.warning("skipped %s", message)
                skipped.append(source.item_name(index))
            if batch is not None:
                outputs = _forward(embedder, batch, needs)
                for output, values in outputs.items():
                    if output in stats:
                        stats[output].update(values)
                    if output in kept:
                        kept[output].append(values.detach().cpu().numpy())
                n_items += n_good
            bar.update(n_good + len(failures))
    if n_items == 0:
        raise InputError(f"{source.label}: none of its {len(indices)} items could be used")
    features = {output: np.concatenate(chunks) for output, chunks in kept.items()}
    return Side(source.label, stats, features, n_items, skipped)


def _forward(embedder: Embedder, batch: torch.Tensor, needs: Mapping[str, set[str]]) -> dict[str, torch.Tensor]:
    with torch.inference_mode():
        outputs = embedder.forward(batch.to(embedder.device, non_blocking=True))
    selected = {}
    for output in needs:
        if output not in outputs:
            raise PluginError(f"embedder '{embedder.name}' did not return its output '{output}'")
        values = outputs[output]
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
        selected[output] = values
    return selected


# ---------------------------------------------------------------------------------------------------- statistics files
def stats_meta(embedder: Embedder, output: str, side: Side) -> dict[str, Any]:
    """The ``meta`` written with statistics: what produced them, so mismatched comparisons are caught."""
    return {
        "format": STATS_FORMAT,
        "format_version": 1,
        "embedder": embedder.id(),
        "embedder_name": embedder.name,
        "config": embedder.config(),
        "output": output,
        "fd_key": embedder.fd_key,
        "n_items": side.n_items,
        "n_skipped": len(side.skipped),
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
            metric_options(chosen, options), seed,
        )
        needs = _merge_needs(chosen, context)
        sides = {
            label: _side(registry, value, needs[label], embedder, output, settings, force)
            for label, value in inputs.items()
        }
        if save_stats is not None:
            _save_side_stats(Path(save_stats), sides, embedder, output)
    values: dict[str, Any] = {}
    for metric in chosen:
        values.update(metric.compute(sides["real"], sides["fake"], context))
    values.update(_run_facts(sides, context))
    return Result(values)


def statistics(
    registry: Registry, input: Any, *, choice: EmbedderChoice, settings: RunSettings
) -> FeatureStats:
    """Statistics of one input's chosen output, with ``meta`` saying what produced them."""
    _check_exists(input)
    embedder = _build_embedder(registry, choice, settings, [input])
    output = _chosen_output(embedder, choice.output)
    side = _side(registry, input, {output: {"stats"}}, embedder, output, settings, force=False)
    stats = side.stats_of(output)
    if not side.meta:
        stats.meta = stats_meta(embedder, output, side)
    return stats


def _build_embedder(
    registry: Registry, choice: EmbedderChoice, settings: RunSettings, inputs: Iterable[Any]
) -> Embedder:
    name = choice.name or _infer_embedder(inputs)
    embedder = registry.create_embedder(name, **choice.options)
    return embedder.to(choose_device(settings.device))


def _chosen_output(embedder: Embedder, requested: str | None) -> str:
    output = requested or embedder.default_output
    embedder.output_dim(output)
    return output


def _side(
    registry: Registry,
    input: Any,
    needs: Mapping[str, set[str]],
    embedder: Embedder,
    output: str,
    settings: RunSettings,
    force: bool,
) -> Side:
    if _is_stats_path(input):
        side = side_from_stats_file(input)
        check_compatible(side, embedder.id(), output, force=force)
        side.stats = {output: next(iter(side.stats.values()))}
        return side
    if not needs:  # no chosen metric looks at this side
        return Side(str(input))
    return embed(open_source(registry, input, embedder.domain), embedder, needs, settings)


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
