"""frechet: Fréchet distances (FID, FAD, …) and related metrics for any domain, with pluggable embedders.

    import frechet
    result = frechet.compute("real/", "fake/", embedder="inception", metrics=["fid", "is"])
    result["fid"]
"""

from frechet.api import compute, compute_stats, fd, load_stats
from frechet.distance import FrechetReference, frechet_distance, trace_sqrt_product
from frechet.embedder import Embedder
from frechet.hookspecs import hookimpl
from frechet.runner import Result
from frechet.sources import Source
from frechet.stats import FeatureStats
from frechet.weights import WeightsSpec

__version__ = "0.1.0"

__all__ = [
    "Embedder",
    "FeatureStats",
    "FrechetReference",
    "Result",
    "Source",
    "WeightsSpec",
    "compute",
    "compute_stats",
    "fd",
    "frechet_distance",
    "hookimpl",
    "load_stats",
    "trace_sqrt_product",
    "__version__",
]
