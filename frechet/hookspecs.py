"""The plugin API: the hooks a frechet plugin implements. Each receives a ``register`` callback and calls it once
per thing it provides; built-in embedders, sources and metrics are registered through these same hooks."""

from __future__ import annotations

from typing import Any

import pluggy

hookspec = pluggy.HookspecMarker("frechet")
hookimpl = pluggy.HookimplMarker("frechet")


@hookspec
def frechet_register_embedders(register: Any) -> None:
    """Called once when plugins load. Call ``register(name, factory, *, domain, outputs, description, aliases=())``
    per embedder; ``factory(**options)`` returns a :class:`frechet.embedder.Embedder`. A name ending in ``:``
    (e.g. ``"torchscript:"``) is a family: ``"torchscript:PATH"`` calls the factory with ``target="PATH"``."""


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
