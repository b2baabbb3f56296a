"""The Python API: ``compute`` (scores), ``compute_stats`` (reference statistics) and ``fd`` (the Fréchet distance of
two saved statistics or feature sets, no model involved). The CLI calls exactly these."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from frechet.cache import DEFAULT_SHARD_SIZE
from frechet.errors import InputError
from frechet.features import is_feature_input
from frechet.plugins import get_registry
from frechet.precision import DEFAULT_PRECISION
from frechet.runner import DEFAULT_SEED, EmbedderChoice, Result, RunSettings, compare, statistics
from frechet.stats import FeatureStats
from frechet.stored import is_statistics, load_statistics


def compute(
    real: Any,
    fake: Any,
    *,
    embedder: str | None = None,
    metrics: Sequence[str] = ("fd",),
    layer: str | None = None,
    embedder_options: Mapping[str, Any] | None = None,
    metric_options: Mapping[str, Any] | None = None,
    batch_size: int = 64,
    device: str | None = None,
    workers: int | None = None,
    skip_bad: bool = False,
    force: bool = False,
    progress: bool | None = None,
    seed: int = DEFAULT_SEED,
    save_stats: str | Path | None = None,
    cache: bool = True,
    cache_dir: str | Path | None = None,
    shard_size: int = DEFAULT_SHARD_SIZE,
    precision: str = DEFAULT_PRECISION,
    reuse_large_allocations: bool = False,
) -> Result:
    """Score ``fake`` against ``real`` (paths, folders, arrays, or saved statistics ``.npz``).

    ``embedder`` defaults to "features" when the inputs are feature matrices and to "inception" otherwise;
    ``layer`` picks one of its outputs for FD (default: the embedder's). ``save_stats`` is a folder that receives
    ``real.npz`` and ``fake.npz`` for the sides that were embedded. Inputs given as paths are embedded through the
    feature cache (``cache_dir``, default ``FRECHET_CACHE_DIR`` or ``~/.cache/frechet``) in shards of
    ``shard_size`` items, unless ``cache`` is False. ``precision="bf16"`` runs the forward pass under bfloat16
    autocast (faster where the hardware has bf16 units; FID differs slightly, see docs/numerics.md); the embedder
    id says so, so such statistics are never mixed with float32 ones. Under ``torchrun`` every rank calls this with
    the same arguments; the items are shared out and every rank returns the same result.
    ``reuse_large_allocations`` lets glibc keep freed activations for the next batch of a CPU forward pass that
    decodes in its own process (faster; changes this process's allocator, so off unless asked for).
    """
    return compare(
        get_registry(),
        real,
        fake,
        metrics=metrics,
        choice=EmbedderChoice(embedder, dict(embedder_options or {}), layer),
        settings=RunSettings(
            batch_size, device, workers, skip_bad, progress, cache, cache_dir, shard_size, precision,
            reuse_large_allocations,
        ),
        options=dict(metric_options or {}),
        seed=seed,
        force=force,
        save_stats=save_stats,
    )


def compute_stats(
    input: Any,
    *,
    embedder: str | None = None,
    layer: str | None = None,
    embedder_options: Mapping[str, Any] | None = None,
    batch_size: int = 64,
    device: str | None = None,
    workers: int | None = None,
    skip_bad: bool = False,
    progress: bool | None = None,
    cache: bool = True,
    cache_dir: str | Path | None = None,
    shard_size: int = DEFAULT_SHARD_SIZE,
    precision: str = DEFAULT_PRECISION,
    reuse_large_allocations: bool = False,
) -> FeatureStats:
    """Statistics of one input (e.g. a reference dataset), to save with ``.save(path)`` and reuse; the cache,
    ``precision``, ``reuse_large_allocations`` and ``torchrun`` as in :func:`compute` (every rank returns the same
    statistics)."""
    return statistics(
        get_registry(),
        input,
        choice=EmbedderChoice(embedder, dict(embedder_options or {}), layer),
        settings=RunSettings(
            batch_size, device, workers, skip_bad, progress, cache, cache_dir, shard_size, precision,
            reuse_large_allocations,
        ),
    )


def fd(a: Any, b: Any, *, force: bool = False, skip_bad: bool = False) -> Result:
    """Fréchet distance between two saved statistics files or feature sets (no model involved); ``skip_bad`` skips
    feature rows holding NaN or Inf and lists them, instead of stopping."""
    for side in (a, b):
        if not (is_feature_input(side) or is_statistics(side)):
            raise InputError(
                f"{side if isinstance(side, (str, Path)) else type(side).__name__}: `distance` takes statistics "
                "(.npz with mu, sigma; an EDM2 .pkl; ref:NAME) or feature matrices (.npy/.npz, 2-D arrays); use "
                "`compute` to embed inputs"
            )
    return compute(a, b, metrics=("fd",), force=force, skip_bad=skip_bad, progress=False)


def load_stats(path: str | Path) -> FeatureStats:
    """Read statistics, validated: a ``.npz`` (ours, pytorch-fid's, TTUR's, clean-fid's, an ADM batch's), an EDM2
    ``.pkl`` (its FID entry; read without running anything), or a named reference ``ref:NAME`` (downloaded once)."""
    return load_statistics(path)
