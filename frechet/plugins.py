"""The plugin manager: loads the ``frechet`` entry points once, isolates broken plugins, and fills the registry.

The core's own features domain and metrics (``frechet.builtins``) are always registered, through the same hooks.
Entry-point plugins load unless ``FRECHET_PLUGINS`` names the ones to load (comma-separated; empty for none); the
plugins a loaded plugin declares in ``frechet_requires`` load with it. A plugin that fails to import, misspells a
hook, needs a plugin that is missing, or raises (even ``SystemExit``) while loading or registering is reported and
skipped; one whose name another distribution already provides is reported and left out.
"""

from __future__ import annotations

import contextlib
import functools
import importlib.metadata
import logging
import os
import signal
import threading
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

import pluggy

from frechet import hookspecs
from frechet.errors import FrechetError, one_line
from frechet.registry import Registry

log = logging.getLogger("frechet")

ENTRY_POINT_GROUP = "frechet"
BUILTIN_PLUGIN = "frechet.builtins"
#: The module attribute where a plugin names the plugins it builds on, e.g. ``frechet_requires = ("image",)``.
REQUIRES_ATTRIBUTE = "frechet_requires"
_HOOKS = {
    "frechet_register_embedders": "add_embedder",
    "frechet_register_sources": "add_source",
    "frechet_register_metrics": "add_metric",
    "frechet_register_disturbances": "add_disturbance",
    "frechet_register_commands": "add_command",
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
    requires: tuple[str, ...] = ()


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
    from frechet import builtins

    manager.register(builtins, name=BUILTIN_PLUGIN)
    records = {BUILTIN_PLUGIN: PluginRecord(BUILTIN_PLUGIN, builtins.__name__, "frechet", _version("frechet"), "loaded")}
    entry_points = _entry_points()
    wanted = _wanted(entry_points)
    with _isolated_interrupts():
        while pending := sorted(name for name in wanted if name not in records):
            for name in pending:
                records[name] = _load_entry_point(manager, entry_points[name])
                wanted.update(need for need in records[name].requires if need in entry_points)
        for name in sorted(set(entry_points) - set(records)):
            records[name] = _record(entry_points[name], "disabled")
        _drop_unmet_requirements(manager, records)
        registry = Registry()
        for name, record in records.items():
            if record.status == "loaded":
                error = _register_plugin(manager, name, registry)
                if error:
                    log.warning("plugin '%s' failed while registering (%s); skipped", name, error)
                    records[name] = replace(record, status="failed", error=error)
    return Plugins(manager, registry, list(records.values()))


def get_registry() -> Registry:
    """The registry of embedders, sources and metrics from all loaded plugins."""
    return get_plugins().registry


def reset_plugins() -> None:
    """Forget the loaded plugins so the next lookup loads them again (after changing FRECHET_PLUGINS)."""
    get_plugins.cache_clear()


def _wanted(entry_points: dict[str, importlib.metadata.EntryPoint]) -> set[str]:
    """The entry points to load: all, or those FRECHET_PLUGINS names (unknown names are reported)."""
    raw = os.environ.get("FRECHET_PLUGINS")
    if raw is None:
        return set(entry_points)
    named = {name.strip() for name in raw.split(",") if name.strip()}
    unknown = sorted(named - set(entry_points))
    if unknown:
        log.warning(
            "FRECHET_PLUGINS names %s, which no installed plugin is called; installed: %s",
            ", ".join(repr(name) for name in unknown), ", ".join(sorted(entry_points)) or "none",
        )
    return named & set(entry_points)


def _entry_points() -> dict[str, importlib.metadata.EntryPoint]:
    """One entry point per name. When two distributions offer the same name, frechet's own wins (else the first
    by distribution name), and the clash is reported: a plugin never silently replaces another."""
    offers: dict[str, dict[str, importlib.metadata.EntryPoint]] = {}
    for entry_point in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        distribution = entry_point.dist.name if entry_point.dist else ""
        offers.setdefault(entry_point.name, {}).setdefault(distribution, entry_point)  # editable + regular: once
    chosen = {}
    for name, by_distribution in offers.items():
        order = sorted(by_distribution, key=lambda dist: (dist != "frechet", dist))
        chosen[name] = by_distribution[order[0]]
        if len(order) > 1:
            others = ", ".join(f"{dist} ({by_distribution[dist].value})" for dist in order[1:])
            log.warning(
                "plugin name '%s' is provided by %s (%s) and also by %s; using the first. Uninstall one, or ask its "
                "author to rename its entry point", name, order[0], chosen[name].value, others,
            )
    return chosen


def _record(entry_point: importlib.metadata.EntryPoint, status: str, error: str = "", requires=()) -> PluginRecord:
    distribution = entry_point.dist.name if entry_point.dist else ""
    version = entry_point.dist.version if entry_point.dist else ""
    return PluginRecord(entry_point.name, entry_point.value, distribution, version, status, error, tuple(requires))


def _load_entry_point(manager: pluggy.PluginManager, entry_point: importlib.metadata.EntryPoint) -> PluginRecord:
    try:
        module = entry_point.load()
        requires = _requires(module)
        manager.register(module, name=entry_point.name)
        manager.check_pending()
    except BaseException as error:  # a third-party plugin must never take the tool down, not even by sys.exit()
        _reraise_real_interrupt(error)
        if manager.has_plugin(entry_point.name):
            manager.unregister(name=entry_point.name)
        reason = _reason(error)
        log.warning("plugin '%s' (%s) failed to load (%s); skipped", entry_point.name, entry_point.value, reason)
        return _record(entry_point, "failed", reason)
    return _record(entry_point, "loaded", requires=requires)


def _requires(module: Any) -> tuple[str, ...]:
    declared = getattr(module, REQUIRES_ATTRIBUTE, ())
    if isinstance(declared, str) or not all(isinstance(name, str) for name in declared):
        raise TypeError(f"{REQUIRES_ATTRIBUTE} must be a tuple of plugin names, got {declared!r}")
    return tuple(declared)


def _drop_unmet_requirements(manager: pluggy.PluginManager, records: dict[str, PluginRecord]) -> None:
    """Skip every loaded plugin that needs one that did not load (repeated, as skipping one can strand others)."""
    changed = True
    while changed:
        changed = False
        for name, record in list(records.items()):
            missing = [need for need in record.requires if records.get(need, _ABSENT).status != "loaded"]
            if record.status == "loaded" and missing:
                need = missing[0]
                state = records[need].status if need in records else "not installed"
                reason = f"needs plugin '{need}', which is {state}"
                log.warning("plugin '%s' %s; skipped", name, reason)
                manager.unregister(name=name)
                records[name] = replace(record, status="failed", error=reason)
                changed = True


_ABSENT = PluginRecord("", "", "", "", "not installed")


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
    except BaseException as error:  # a third-party plugin must never take the tool down
        _reraise_real_interrupt(error)
        manager.unregister(name=name)
        return _reason(error)
    for method, args, kwargs in pending:
        try:
            getattr(registry, method)(*args, **kwargs, plugin=name)
        except (FrechetError, TypeError) as error:
            log.warning("plugin '%s': %s; that registration is skipped", name, str(error).splitlines()[0])
    return ""


def _reason(error: BaseException) -> str:
    if isinstance(error, SystemExit):
        return f"it called sys.exit({error.code!r}) while loading"
    return one_line(error)


# ---------------------------------------------------------------------------------------------------- Ctrl-C
_interrupted = threading.local()


@contextlib.contextmanager
def _isolated_interrupts() -> Iterator[None]:
    """While plugins load, tell a real Ctrl-C (which must stop frechet) from a KeyboardInterrupt a plugin raises
    (which must only skip that plugin)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.getsignal(signal.SIGINT)

    def on_interrupt(signum: int, frame: Any) -> None:
        _interrupted.real = True
        raise KeyboardInterrupt

    _interrupted.real = False
    signal.signal(signal.SIGINT, on_interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        _interrupted.real = False


def _reraise_real_interrupt(error: BaseException) -> None:
    if isinstance(error, KeyboardInterrupt) and getattr(_interrupted, "real", True):
        raise error


def _version(distribution: str) -> str:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return ""


def hook_answers(hook: str, **arguments: Any) -> Iterator[tuple[str, Any]]:
    """Each loaded plugin's non-None answer to ``hook`` (in pluggy's call order) with the plugin's name; a plugin
    whose hook raises is reported and passed over, so one broken plugin never stops the caller."""
    plugins = get_plugins()
    for impl in reversed(getattr(plugins.manager.hook, hook).get_hookimpls()):
        try:
            answer = impl.function(**{name: arguments[name] for name in impl.argnames})  # as pluggy passes them
        except Exception as error:  # a third-party plugin must never take the tool down
            log.warning("plugin '%s' failed in %s (%s); passed over", impl.plugin_name, hook, one_line(error))
            continue
        if answer is not None:
            yield impl.plugin_name, answer


def plugin_hooks(name: str) -> list[str]:
    """Names of the hooks the plugin ``name`` implements."""
    plugins = get_plugins()
    plugin = plugins.manager.get_plugin(name)
    if plugin is None:
        return []
    return [caller.name for caller in plugins.manager.get_hookcallers(plugin) or []]
