"""The plugin API: the hooks a frechet plugin implements. Each receives a ``register`` callback and calls it once
per thing it provides; built-in embedders, sources and metrics are registered through these same hooks. A plugin
module may also name the plugins it builds on: ``frechet_requires = ("image",)``."""

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
    directories=False, accepts=None)`` per input kind; ``factory(input, **options)`` returns a
    :class:`frechet.sources.Source`. ``suffixes`` are the file suffixes it reads, ``directories`` whether it reads
    folders, and ``accepts(obj)`` whether it takes an in-memory object (array, tensor, callable) given to the API."""


@hookspec
def frechet_register_metrics(register: Any) -> None:
    """Called once when plugins load. Call ``register(name, factory, *, description, aliases=())`` per metric;
    ``factory()`` returns a :class:`frechet.metrics.base.Metric`."""
