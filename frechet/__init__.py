"""frechet: Fréchet distances (FID, FAD, …) and related metrics for any domain, with pluggable embedders.

    import frechet
    result = frechet.compute("real/", "fake/", embedder="inception", metrics=["fid", "is"])
    result["fid"]

Names are imported on first use, so ``import frechet`` (and ``frechet --help``) stays fast.
"""

from __future__ import annotations

import importlib
from typing import Any

from frechet.version import __version__

#: Public name -> the module that defines it.
_EXPORTS = {
    "compute": "frechet.api",
    "compute_stats": "frechet.api",
    "fd": "frechet.api",
    "load_stats": "frechet.api",
    "FrechetReference": "frechet.distance",
    "frechet_distance": "frechet.distance",
    "trace_sqrt_product": "frechet.distance",
    "Embedder": "frechet.embedder",
    "Option": "frechet.options",
    "hookimpl": "frechet.hookspecs",
    "Result": "frechet.plan",
    "Scorer": "frechet.scorer",
    "evaluate": "frechet.scorer",
    "Settings": "frechet.settings",
    "Source": "frechet.sources",
    "FeatureStats": "frechet.stats",
    "WeightsSpec": "frechet.weights",
}

__all__ = [*sorted(_EXPORTS), "__version__"]


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'frechet' has no attribute {name!r}")
    value = getattr(importlib.import_module(_EXPORTS[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
