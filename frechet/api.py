"""The Python API: ``compute`` (scores), ``compute_stats`` (reference statistics) and ``fd`` (the Fréchet distance of
two saved statistics or feature sets, no model involved). The ``frechet`` command calls exactly these.

Every keyword argument is a field of :class:`frechet.settings.Settings`: ``embedder``, ``embedder_options``,
``layer``, ``metrics``, ``metric_options``, ``batch_size``, ``device``, ``workers``, ``skip_bad``, ``progress``,
``cache``, ``cache_dir``, ``shard_size``, ``precision``, ``seed``, ``force``, ``save_stats`` and
``reuse_large_allocations``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from frechet import runner
from frechet.caller import spell_call
from frechet.errors import InputError
from frechet.features import is_feature_input
from frechet.plan import Result
from frechet.plugins import get_registry
from frechet.settings import settings_from
from frechet.stats import FeatureStats
from frechet.statsfiles import is_stats_input, load_statistics


def compute(real: Any, fake: Any, **settings: Any) -> Result:
    """Score ``fake`` against ``real`` (paths, folders, arrays, saved statistics, or ``ref:NAME``).

    ``embedder`` defaults to "features" when the inputs are feature matrices and to "inception" otherwise; several
    (``embedder="inception,dinov2-vitl14"``) embed each item once and name their keys after themselves
    (docs/api.md). ``metrics`` (default ``("fd",)``) and ``metric_options`` choose what is computed; ``layer`` picks
    the output FD uses. ``save_stats`` is a folder that receives ``real.npz`` and ``fake.npz`` for the sides that
    were embedded. Inputs given as paths are embedded through the feature cache (``cache_dir``, default
    ``FRECHET_CACHE_DIR`` or ``~/.cache/frechet``) in shards of ``shard_size`` items, unless ``cache=False``.
    ``precision="bf16"`` runs the forward pass under bfloat16 autocast; the embedder id says so. Under ``torchrun``
    every rank calls this with the same arguments; the items are shared out and every rank returns the same result.
    """
    return runner.compare(get_registry(), real, fake, settings_from(**settings))


def compute_stats(input: Any, *, save: str | Path | None = None, **settings: Any) -> FeatureStats | dict[str, FeatureStats]:
    """Statistics of one input (e.g. a reference dataset), written to ``save`` when given (never over an input).

    With one embedder, its FeatureStats; with several, a dict by embedder name (and one file per embedder:
    ``ref.npz`` -> ``ref.inception.npz``, …). Settings, the cache and ``torchrun`` as in :func:`compute`.
    """
    stats = runner.statistics(get_registry(), input, settings_from(**settings),
                              out=Path(save).expanduser() if save is not None else None)
    return next(iter(stats.values())) if len(stats) == 1 else stats


def fd(a: Any, b: Any, *, force: bool = False, skip_bad: bool = False) -> Result:
    """Fréchet distance between two saved statistics files or feature sets (no model involved); ``skip_bad`` skips
    feature rows holding NaN or Inf and lists them, instead of stopping."""
    for side in (a, b):
        if isinstance(side, (str, Path)) and not is_stats_input(side) and not Path(side).exists():
            raise InputError(f"{side}: no such file; {spell_call('distance', 'fd')} takes statistics (.npz with mu, "
                             "sigma) or feature files (.npy/.npz)")
        if not (is_feature_input(side) or is_stats_input(side)):
            raise InputError(
                f"{side if isinstance(side, (str, Path)) else type(side).__name__}: {spell_call('distance', 'fd')} "
                "takes statistics (.npz with mu, sigma; an EDM2 .pkl; ref:NAME) or feature matrices (.npy/.npz, 2-D "
                "arrays); use "
                f"{spell_call('compute', 'compute')} to embed inputs"
            )
    return compute(a, b, metrics=("fd",), force=force, skip_bad=skip_bad, progress=False)


def load_stats(path: str | Path) -> FeatureStats:
    """Read statistics, validated: a ``.npz`` (ours, pytorch-fid's, TTUR's, clean-fid's, an ADM batch's), an EDM2
    ``.pkl`` (its FID entry; read without running anything), or a named reference ``ref:NAME`` (downloaded once)."""
    return load_statistics(path)
