"""Name -> embedder / source / metric factories, filled by the plugins' register-callback hooks."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from frechet.errors import ConfigError, PluginError

if TYPE_CHECKING:
    from frechet.embedder import Embedder
    from frechet.metrics.base import Metric
    from frechet.sources import Source

log = logging.getLogger("frechet")


@dataclass(frozen=True)
class EmbedderInfo:
    """A registered embedder: ``factory(**options)`` builds it. A name ending in ':' is a KIND:TARGET family."""

    name: str
    factory: Callable[..., Embedder]
    domain: str
    outputs: Mapping[str, int | None]
    description: str
    aliases: tuple[str, ...] = ()
    plugin: str = ""

    @property
    def is_family(self) -> bool:
        return self.name.endswith(":")


@dataclass(frozen=True)
class SourceInfo:
    """A registered input kind: ``factory(input, **options)`` opens it."""

    kind: str
    factory: Callable[..., Source]
    domain: str
    suffixes: tuple[str, ...]
    description: str
    directories: bool = False
    accepts: Callable[[Any], bool] | None = None
    plugin: str = ""


@dataclass(frozen=True)
class MetricInfo:
    """A registered metric: ``factory()`` builds it."""

    name: str
    factory: Callable[[], Metric]
    description: str
    aliases: tuple[str, ...] = ()
    plugin: str = ""


@dataclass
class Registry:
    """What the loaded plugins provide, looked up by name or alias."""

    _embedders: dict[str, EmbedderInfo] = field(default_factory=dict)
    _sources: dict[str, SourceInfo] = field(default_factory=dict)
    _metrics: dict[str, MetricInfo] = field(default_factory=dict)
    _aliases: dict[str, str] = field(default_factory=dict)
    _metric_aliases: dict[str, str] = field(default_factory=dict)

    # ---------------------------------------------------------------- registration (plugins call these)
    def add_embedder(
        self,
        name: str,
        factory: Callable[..., Embedder],
        *,
        domain: str,
        outputs: Mapping[str, int | None],
        description: str,
        aliases: tuple[str, ...] | list[str] = (),
        plugin: str = "",
    ) -> None:
        """Register an embedder factory under ``name`` (and ``aliases``)."""
        _check_name(name, "embedder", plugin)
        names = [name, *aliases]
        taken = [n for n in names if n in self._embedders or n in self._aliases]
        if taken:
            raise PluginError(f"plugin '{plugin}': embedder name '{taken[0]}' is already registered")
        self._embedders[name] = EmbedderInfo(name, factory, domain, dict(outputs), description, tuple(aliases), plugin)
        for alias in aliases:
            self._aliases[alias] = name

    def add_source(
        self,
        kind: str,
        factory: Callable[..., Source],
        *,
        domain: str,
        suffixes: tuple[str, ...] | list[str] = (),
        description: str,
        directories: bool = False,
        accepts: Callable[[Any], bool] | None = None,
        plugin: str = "",
    ) -> None:
        """Register an input kind reading files with ``suffixes``, folders, or accepted in-memory objects."""
        _check_name(kind, "source", plugin)
        if kind in self._sources:
            raise PluginError(f"plugin '{plugin}': source kind '{kind}' is already registered")
        normalized = tuple(s.lower() if s.startswith(".") else f".{s.lower()}" for s in suffixes)
        self._sources[kind] = SourceInfo(kind, factory, domain, normalized, description, directories, accepts, plugin)

    def add_metric(
        self,
        name: str,
        factory: Callable[[], Metric],
        *,
        description: str,
        aliases: tuple[str, ...] | list[str] = (),
        plugin: str = "",
    ) -> None:
        """Register a metric factory under ``name`` (and ``aliases``)."""
        _check_name(name, "metric", plugin)
        names = [name, *aliases]
        taken = [n for n in names if n in self._metrics or n in self._metric_aliases]
        if taken:
            raise PluginError(f"plugin '{plugin}': metric name '{taken[0]}' is already registered")
        self._metrics[name] = MetricInfo(name, factory, description, tuple(aliases), plugin)
        for alias in aliases:
            self._metric_aliases[alias] = name

    # ---------------------------------------------------------------- lookup
    def embedders(self) -> list[EmbedderInfo]:
        """All registered embedders in registration order."""
        return list(self._embedders.values())

    def sources(self) -> list[SourceInfo]:
        """All registered sources in registration order."""
        return list(self._sources.values())

    def metrics(self) -> list[MetricInfo]:
        """All registered metrics in registration order."""
        return list(self._metrics.values())

    def embedder_info(self, name: str) -> tuple[EmbedderInfo, str | None]:
        """The entry for ``name`` or an alias, and the TARGET part for ``KIND:TARGET`` family names."""
        key = self._aliases.get(name, name)
        if key in self._embedders:
            return self._embedders[key], None
        if ":" in name:
            kind, target = name.split(":", 1)
            family = self._embedders.get(f"{kind}:")
            if family is not None:
                if not target:
                    raise ConfigError(f"embedder '{name}' needs a target after ':' (e.g. {kind}:PATH)")
                return family, target
        raise ConfigError(f"unknown embedder '{name}'; installed: {', '.join(self._embedder_names())}")

    def create_embedder(self, name: str, **options: Any) -> Embedder:
        """Build the embedder ``name`` with ``options`` (``target`` is filled in for KIND:TARGET names)."""
        info, target = self.embedder_info(name)
        if target is not None:
            options = {**options, "target": target}
        return info.factory(**options)

    def source_info(self, kind: str) -> SourceInfo:
        """The entry for source ``kind``."""
        if kind not in self._sources:
            raise ConfigError(f"unknown source kind '{kind}'; installed: {', '.join(self._sources) or 'none'}")
        return self._sources[kind]

    def metric_info(self, name: str) -> MetricInfo:
        """The entry for metric ``name`` or an alias."""
        key = self._metric_aliases.get(name.lower(), name.lower())
        if key not in self._metrics:
            known = sorted([*self._metrics, *self._metric_aliases])
            raise ConfigError(f"unknown metric '{name}'; available: {', '.join(known)}")
        return self._metrics[key]

    def _embedder_names(self) -> list[str]:
        return [info.name + ("TARGET" if info.is_family else "") for info in self._embedders.values()] or ["none"]


def _check_name(name: str, what: str, plugin: str) -> None:
    if not isinstance(name, str) or not name or name != name.strip():
        raise PluginError(f"plugin '{plugin}': invalid {what} name {name!r}")
