"""The metric plan: which metrics a run computes, what each side must keep for them, scoring, and the run facts
reported beside the values (how many items, which were skipped, which embedder)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from frechet import distributed
from frechet.caller import from_command_line, spell
from frechet.distributed import World
from frechet.errors import ConfigError, FrechetError, PluginError, one_line
from frechet.metrics.base import Metric, MetricContext, Side
from frechet.registry import Registry
from frechet.settings import Settings


class Result(Mapping[str, Any]):
    """Metric values and run facts as flat lower-case keys (``fd``, ``fid``, ``n_real``, …): a read-only mapping
    (``r["fd"]``, ``"kid" in r``, ``list(r)``, ``r.items()``, ``r.get(key)``, ``dict(r)``)."""

    __slots__ = ("_values",)

    def __init__(self, values: Mapping[str, Any] | None = None) -> None:
        self._values = dict(values or {})

    def __getitem__(self, key: str) -> Any:
        return self._values[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        return f"Result({self._values!r})"

    def as_dict(self) -> dict[str, Any]:
        """A copy of all values, JSON-serialisable."""
        return dict(self._values)


def chosen_metrics(registry: Registry, settings: Settings) -> list[Metric]:
    """The metrics the settings name, each once, in order (an alias and its metric's name are the same metric)."""
    names = dict.fromkeys(registry.metric_info(name).name for name in settings.metrics)
    return [registry.metric_info(name).factory() for name in names]


def asked_names(registry: Registry, settings: Settings) -> dict[str, tuple[str, ...]]:
    """Per chosen metric (by its name) the aliases the settings asked for it by (``fid`` for ``fd``, say)."""
    asked: dict[str, tuple[str, ...]] = {}
    for name in dict.fromkeys(name.lower() for name in settings.metrics):
        canonical = registry.metric_info(name).name
        if name != canonical:
            asked[canonical] = (*asked.get(canonical, ()), name)
    return asked


def one_sided(metric: Metric, context: MetricContext) -> bool:
    """True when the metric reads only the generated side (the Inception Score, say): it runs on one input."""
    return all(need.sides == "fake" for need in metric.needs(context))


def check_one_sided(metrics: Sequence[Metric], context: MetricContext) -> None:
    """With the generated input alone, every chosen metric must read only that side; else say what to give."""
    both = [metric.name for metric in metrics if not one_sided(metric, context)]
    if both:
        how = "`frechet compute REAL FAKE`" if from_command_line() else "frechet.compute(real, fake)"
        raise ConfigError(
            f"{', '.join(both)} compare{'s' if len(both) == 1 else ''} the generated input with a reference, and only "
            f"one input was given; give both ({how}), or only metrics of the generated set alone (is)"
        )


def metric_options(metrics: Sequence[Metric], given: Mapping[str, Any]) -> dict[str, Any]:
    """Defaults of the chosen metrics overlaid with ``given``; an option no chosen metric knows is an error."""
    defaults: dict[str, Any] = {}
    for metric in metrics:
        defaults.update(metric.options)
    unknown = sorted(set(given) - set(defaults))
    if unknown:
        names = ", ".join(metric.name for metric in metrics)
        raise ConfigError(f"{spell('metric_options', {key: given[key] for key in unknown})}: not used by the chosen "
                          f"metrics ({names}); see `frechet metrics` for each metric's options")
    return {**defaults, **given}


def side_needs(metrics: Sequence[Metric], context: MetricContext) -> dict[str, dict[str, set[str]]]:
    """Union of the metrics' needs per side: {"real": {output: kinds}, "fake": {output: kinds}}."""
    needs: dict[str, dict[str, set[str]]] = {"real": {}, "fake": {}}
    for metric in metrics:
        for need in metric.needs(context):
            for label in ("real", "fake") if need.sides == "both" else ("fake",):
                needs[label].setdefault(need.output, set()).add(need.kind)
    return needs


def check_sizes(
    metrics: Sequence[Metric], sizes: Mapping[str, int | None], context: MetricContext, *, exact: bool
) -> None:
    """Let each metric refuse the sides' item counts before anything is embedded (``exact`` False: an item may yield
    several examples, so the counts are lower bounds and metrics only warn)."""
    for metric in metrics:
        metric.check_sizes(sizes, context, exact=exact)


def score(
    metrics: Sequence[Metric], sides: Mapping[str, Side], context: MetricContext, world: World, *,
    asked: Mapping[str, Sequence[str]] | None = None,
) -> dict[str, Any]:
    """The metrics' values, computed on rank 0 (which holds gathered features) and sent to every rank; a metric asked
    for by an alias also reports its values under that name (:func:`as_asked`). Without a "real" side (one input)
    only one-sided metrics run."""
    values: dict[str, Any] = {}
    error: FrechetError | None = None
    if world.is_main:
        try:
            for metric in metrics:
                named = (asked or {}).get(metric.name, ())
                values.update(as_asked(metric.name, _compute(metric, sides, context), named))
        except FrechetError as problem:
            if world.size == 1:
                raise
            error = problem
    values, error = distributed.broadcast_object((values, error), world)
    if error is not None:
        raise error
    return values


def _compute(metric: Metric, sides: Mapping[str, Side], context: MetricContext) -> dict[str, Any]:
    """One metric's values; what a metric's own code raises beyond frechet's errors is one error naming it."""
    try:
        return metric.compute(sides.get("real") or Side("no reference"), sides["fake"], context)
    except FrechetError:
        raise
    except (Exception, SystemExit) as error:
        raise PluginError(f"metric '{metric.name}' failed: {one_line(error)}") from None


def as_asked(name: str, values: Mapping[str, Any], aliases: Sequence[str]) -> dict[str, Any]:
    """A metric's values, and each again under every alias it was asked for by: the metric's own key (``fd``, or
    ``fd_inf``) and the keys it starts (``is_mean``) renamed with the alias's (``fid``; ``fid_inf``, ``isc_mean``)."""
    named = dict(values)
    own = name.replace("-", "_")
    for alias in aliases:
        key = alias.replace("-", "_")
        for found, value in values.items():
            if found == own or found.startswith(own + "_"):
                named.setdefault(key + found[len(own):], value)
    return named


def run_facts(sides: Mapping[str, Side], context: MetricContext) -> dict[str, Any]:
    """Per side the samples behind the scores (``n_real``, ``n_fake``) and items read (``n_real_items``, …)."""
    facts: dict[str, Any] = {}
    for label, side in sides.items():
        stats = side.stats.get(context.output)
        features = side.features.get(context.output)
        if stats is not None:
            facts[f"n_{label}"] = stats.n
        else:
            facts[f"n_{label}"] = features.shape[0] if features is not None else side.n_items
        facts[f"n_{label}_items"] = side.n_items
    return facts


def skipped_facts(sides: Mapping[str, Sequence[Side]]) -> dict[str, Any]:
    """The items left out with skip_bad, real side first: per side each item once, whichever embedders skipped it,
    and an input read once for both sides once."""
    distinct = {id(versions): versions for versions in sides.values()}.values()
    skipped = [name for versions in distinct for name in dict.fromkeys(n for side in versions for n in side.skipped)]
    return {"n_skipped": len(skipped), "skipped": skipped}


def result_key(embedder: str) -> str:
    """The suffix that names an embedder in the keys of a run with several: ``dinov2-vitl14`` -> ``dinov2_vitl14``."""
    return "".join(character if character.isalnum() else "_" for character in embedder).strip("_").lower()


def merge_results(per_embedder: Sequence[tuple[str, str | None, dict[str, Any]]]) -> dict[str, Any]:
    """One embedder's values as they are; with several, each key suffixed with its embedder's :func:`result_key`,
    except the domain names of FD (``fid``, ``fad``, ``fd_dinov2``) where only one embedder reports each."""
    if len(per_embedder) == 1:
        return dict(per_embedder[0][2])
    aliases = [fd_key for _, fd_key, _ in per_embedder if fd_key]
    merged: dict[str, Any] = {}
    for name, fd_key, values in per_embedder:
        for key, value in values.items():
            unique_alias = key == fd_key and aliases.count(fd_key) == 1
            merged[key if unique_alias else f"{key}_{result_key(name)}"] = value
    return merged
