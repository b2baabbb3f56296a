"""The plugin manager: loads the ``frechet`` entry points once, isolates broken plugins, and fills the registry.

The core's own features domain and metrics (``frechet.builtins``) are always registered, through the same hooks.
Entry-point plugins load unless ``FRECHET_PLUGINS`` names the ones to load (comma-separated; empty for none).
A plugin that fails to import, misspells a hook, or raises while registering is reported and skipped.
"""

from __future__ import annotations

import functools
import importlib.metadata
import logging
import os
from dataclasses import dataclass
from typing import Any

import pluggy

from frechet import hookspecs
from frechet.errors import FrechetError
from frechet.registry import Registry

log = logging.getLogger("frechet")

ENTRY_POINT_GROUP = "frechet"
BUILTIN_PLUGIN = "frechet.builtins"
_HOOKS = {
    "frechet_register_embedders": "add_embedder",
    "frechet_register_sources": "add_source",
    "frechet_register_metrics": "add_metric",
}


@dataclass(frozen=True)
class PluginRecord:
    """What happened to one plugin: loaded, disabled by FRECHET_PLUGINS, or failed (with the reason)."""

    name: str
    module: str
    distribution: str
    version: str
    status: str
    error: str = ""


@dataclass
class Plugins:
    """The loaded pluggy manager, the registry it filled, and a record per plugin."""

    manager: pluggy.PluginManager
    registry: Registry
    records: list[PluginRecord]


@functools.lru_cache(maxsize=1)
def get_plugins() -> Plugins:
    """Load every plugin once per process (call :func:`reset_plugins` to load again)."""
    manager = pluggy.PluginManager(ENTRY_POINT_GROUP)
    manager.add_hookspecs(hookspecs)
    records: list[PluginRecord] = []
    from frechet import builtins

    manager.register(builtins, name=BUILTIN_PLUGIN)
    records.append(PluginRecord(BUILTIN_PLUGIN, builtins.__name__, "frechet", _version("frechet"), "loaded"))
    allowed = _allowed_plugins()
    for entry_point in _entry_points():
        records.append(_load_entry_point(manager, entry_point, allowed))
    registry = Registry()
    for record_index, record in enumerate(records):
        if record.status != "loaded":
            continue
        error = _register_plugin(manager, record.name, registry)
        if error:
            log.warning("plugin '%s' failed while registering (%s); skipped", record.name, error)
            records[record_index] = PluginRecord(
                record.name, record.module, record.distribution, record.version, "failed", error
            )
    return Plugins(manager, registry, records)


def get_registry() -> Registry:
    """The registry of embedders, sources and metrics from all loaded plugins."""
    return get_plugins().registry


def reset_plugins() -> None:
    """Forget the loaded plugins so the next lookup loads them again (after changing FRECHET_PLUGINS)."""
    get_plugins.cache_clear()


def _allowed_plugins() -> set[str] | None:
    raw = os.environ.get("FRECHET_PLUGINS")
    if raw is None:
        return None
    return {name.strip() for name in raw.split(",") if name.strip()}


def _entry_points() -> list[importlib.metadata.EntryPoint]:
    unique: dict[str, importlib.metadata.EntryPoint] = {}
    for entry_point in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        unique.setdefault(entry_point.name, entry_point)  # an editable and a regular install may both list it
    return [unique[name] for name in sorted(unique)]


def _load_entry_point(
    manager: pluggy.PluginManager, entry_point: importlib.metadata.EntryPoint, allowed: set[str] | None
) -> PluginRecord:
    distribution = entry_point.dist.name if entry_point.dist else ""
    version = entry_point.dist.version if entry_point.dist else ""
    record = functools.partial(PluginRecord, entry_point.name, entry_point.value, distribution, version)
    if allowed is not None and entry_point.name not in allowed:
        return record("disabled")
    try:
        module = entry_point.load()
        manager.register(module, name=entry_point.name)
        manager.check_pending()
    except Exception as error:  # a third-party plugin must never take the tool down
        if manager.has_plugin(entry_point.name):
            manager.unregister(name=entry_point.name)
        reason = f"{type(error).__name__}: {error}".splitlines()[0]
        log.warning("plugin '%s' (%s) failed to load (%s); skipped", entry_point.name, entry_point.value, reason)
        return record("failed", reason)
    return record("loaded")


def _register_plugin(manager: pluggy.PluginManager, name: str, registry: Registry) -> str:
    """Call one plugin's hooks, then add what it registered; return an error message, or '' on success.

    Registrations are collected first, so a hook that raises half-way leaves nothing behind; a single invalid or
    duplicate registration is reported and skipped without dropping the plugin's other ones.
    """
    plugin = manager.get_plugin(name)
    pending: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = []
    try:
        for hook_name, method in _HOOKS.items():
            for impl in getattr(manager.hook, hook_name).get_hookimpls():
                if impl.plugin is plugin:
                    impl.function(register=lambda *args, _method=method, **kwargs: pending.append((_method, args, kwargs)))
    except Exception as error:  # a third-party plugin must never take the tool down
        manager.unregister(name=name)
        return f"{type(error).__name__}: {error}".splitlines()[0]
    for method, args, kwargs in pending:
        try:
            getattr(registry, method)(*args, **kwargs, plugin=name)
        except (FrechetError, TypeError) as error:
            log.warning("plugin '%s': %s; that registration is skipped", name, str(error).splitlines()[0])
    return ""


def _version(distribution: str) -> str:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return ""


def plugin_hooks(name: str) -> list[str]:
    """Names of the hooks the plugin ``name`` implements."""
    plugins = get_plugins()
    plugin = plugins.manager.get_plugin(name)
    if plugin is None:
        return []
    return [caller.name for caller in plugins.manager.get_hookcallers(plugin) or []]
