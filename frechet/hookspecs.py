"""The plugin API: the hooks a frechet plugin implements. The ``register`` hooks receive a callback and call it once
per thing they provide (built-in embedders, sources, metrics and disturbances are registered through these same
hooks); the ``report`` hooks are asked while ``frechet report`` builds its page. A plugin module may also name the
plugins it builds on: ``frechet_requires = ("image",)``."""

from __future__ import annotations

from typing import Any

import pluggy

hookspec = pluggy.HookspecMarker("frechet")
hookimpl = pluggy.HookimplMarker("frechet")


@hookspec
def frechet_register_embedders(register: Any) -> None:
    """Called once when plugins load. Call ``register(MyEmbedder)`` per :class:`frechet.embedder.Embedder`
    subclass (its name, domain, outputs, description, aliases and declared options are read from the class; a class
    with ``family = True`` is addressed as ``name:TARGET`` and built with ``target="TARGET"``), or
    ``register(name, factory, *, domain, outputs, description, aliases=(), options=None)`` for any factory returning
    an Embedder. Options are checked against the declaration (or the factory's parameters) before it is built."""


@hookspec
def frechet_register_sources(register: Any) -> None:
    """Called once when plugins load. Call ``register(kind, factory, *, domain, suffixes, description,
    directories=False, accepts=None, named_only=False, options=(), names=())`` per input kind;
    ``factory(input, **options)`` returns a :class:`frechet.sources.Source`. ``suffixes`` are the file suffixes it
    reads, ``directories`` whether it reads folders, and ``accepts(obj)`` whether it takes an in-memory object
    (array, tensor, callable) given to the API. Any kind that reads files or folders can also be named with its path
    as an input, ``KIND:PATH``; one with ``named_only`` is used only so (``webtoon:episodes/``), never chosen for a
    plain path, and with ``names`` it reads those named data sets instead of paths (``moses:test``). ``options``
    declares its source options (:class:`frechet.options.Option`, set with ``--source-option KEY=VALUE``): the
    factory gets each by keyword, as given or its default."""


@hookspec
def frechet_register_metrics(register: Any) -> None:
    """Called once when plugins load. Call ``register(name, factory, *, description, aliases=())`` per metric;
    ``factory()`` returns a :class:`frechet.metrics.base.Metric`."""


@hookspec
def frechet_register_disturbances(register: Any) -> None:
    """Called once when plugins load. Call ``register(DisturbanceClass)`` per disturbance of ``frechet sanity``
    (a :class:`frechet.disturbance.Disturbance` subclass: name, domain, unit, strength(t), disturb or apply)."""


@hookspec
def frechet_register_commands(register: Any) -> None:
    """Called once when plugins load. Call ``register(name, build, *, summary, description, examples=())`` per
    extra command of ``frechet``: ``build(parser)`` adds the command's arguments (subcommands too) to its
    :class:`argparse.ArgumentParser` and returns the function run with the parsed arguments, which returns the
    exit status. The function raises :class:`frechet.errors.FrechetError` for bad input (printed as one line). A
    command may not take a built-in command's name; plugins load only when the command line names no built-in
    command, so built-in commands start as fast without plugins."""


@hookspec(firstresult=True)
def frechet_report_item(item: Any, domain: str) -> Any:
    """Called by ``frechet report`` for each item a gallery shows, with the decoded item (what the domain's sources
    load) and its domain. Return a :class:`frechet.report.Media` (a small image, or a short sound, as bytes with its
    MIME type), or None to leave the item to another plugin; items no plugin renders are shown by name."""


@hookspec
def frechet_report_sections(report: Any) -> Any:
    """Called once per ``frechet report`` with a :class:`frechet.report.ReportData` (result, embedder, sides,
    sources); return a list of :class:`frechet.report.Section` to append to the page, or None to add nothing."""
