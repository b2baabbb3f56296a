"""The Python API: ``compute`` (scores), ``compute_stats`` (reference statistics), ``fd`` (the Fréchet distance of
two saved statistics or feature sets, no model involved), ``write_report`` (the scores as an HTML page with plots and
galleries) and ``sanity`` (does a backbone see the damage?). The ``frechet`` command calls exactly these.

Every keyword argument is a field of :class:`frechet.settings.Settings`: ``embedder``, ``embedder_options``,
``layer``, ``metrics``, ``metric_options``, ``batch_size``, ``device``, ``workers``, ``skip_bad``, ``progress``,
``cache``, ``cache_dir``, ``shard_size``, ``precision``, ``seed``, ``force``, ``save_stats`` and
``reuse_large_allocations``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from frechet import runner
from frechet.caller import spell, spell_call
from frechet.errors import ConfigError, InputError
from frechet.features import is_feature_input
from frechet.once import one_run
from frechet.plan import Result
from frechet.plugins import get_registry
from frechet.settings import settings_from
from frechet.stats import FeatureStats
from frechet.statsfiles import is_stats_input, load_statistics


#: write_report's own keywords, besides the settings.
_REPORT_KEYWORDS = ("out", "sanity", "sanity_levels", "gallery_size", "command")


@one_run()
def compute(real: Any = None, fake: Any = None, **settings: Any) -> Result:
    """Score ``fake`` against ``real`` (paths, folders, arrays, saved statistics, or ``ref:NAME``).

    With one input (``compute(fake, metrics="is")``, or ``fake=`` alone) that input is the generated set, and only
    metrics of the generated set alone run (the Inception Score). An input given for both sides is embedded once.

    ``embedder`` defaults to "features" when the inputs are feature matrices and to "inception" otherwise; several
    (``embedder="inception,dinov2-vitl14"``) embed each item once and name their keys after themselves
    (docs/api.md). ``metrics`` (default ``("fd",)``) and ``metric_options`` choose what is computed; ``layer`` picks
    the output FD uses. ``save_stats`` is a folder that receives ``real.npz`` and ``fake.npz`` for the sides that
    were embedded. Inputs given as paths are embedded through the feature cache (``cache_dir``, default
    ``FRECHET_CACHE_DIR`` or ``~/.cache/frechet``) in shards of ``shard_size`` items, unless ``cache=False``.
    ``precision="bf16"`` runs the forward pass under bfloat16 autocast; the embedder id says so. Under ``torchrun``
    every rank calls this with the same arguments; the items are shared out and every rank returns the same result.
    """
    if fake is None:
        real, fake = None, real
    if fake is None:
        raise InputError("compute() needs the input(s) to score: compute(real, fake), or compute(fake) for metrics "
                         "of the generated set alone such as is")
    return runner.compare(get_registry(), real, fake, settings_from(**settings))


@one_run()
def compute_stats(input: Any, *, save: str | Path | None = None, **settings: Any) -> FeatureStats | dict[str, FeatureStats]:
    """Statistics of one input (e.g. a reference dataset), written to ``save`` when given (never over an input).

    With one embedder, its FeatureStats; with several, a dict by embedder name (and one file per embedder:
    ``ref.npz`` -> ``ref.inception.npz``, …). Settings, the cache and ``torchrun`` as in :func:`compute`.
    """
    stats = runner.statistics(get_registry(), input, settings_from(("save",), **settings),
                              out=Path(save).expanduser() if save is not None else None)
    return next(iter(stats.values())) if len(stats) == 1 else stats


@one_run()
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


@one_run()
def write_report(
    real: Any,
    fake: Any,
    out: str | Path = "report.html",
    *,
    sanity: Sequence[str] | None = None,
    sanity_levels: int | None = None,
    gallery_size: int = 8,
    command: str | None = None,
    **settings: Any,
) -> Result:
    """Score ``fake`` against ``real`` like :func:`compute` and write one self-contained HTML page to ``out``: the
    metrics with their intervals and warnings, plots, galleries of items, provenance (docs/guide/report.md).

    ``metrics`` defaults to FD with its interval, FD∞ and KID (``fd``, ``fd-ci``, ``fd-inf``, ``kid``). ``sanity``
    adds sanity curves of the real input for these disturbances (``()``: every one of the domain) at
    ``sanity_levels`` levels; ``command`` is how the page names the call (default: this function). Plots need
    matplotlib (``pip install -e ".[report]"`` in frechet's checkout).
    """
    from frechet.report.build import DEFAULT_METRICS
    from frechet.report.build import report as build_report

    settings.setdefault("metrics", DEFAULT_METRICS)
    chosen = settings_from(_REPORT_KEYWORDS, **settings)
    _check_whole("gallery_size", gallery_size, minimum=0)
    if sanity_levels is not None:
        _check_whole("sanity_levels", sanity_levels, minimum=2)
    return build_report(get_registry(), real, fake, chosen, Path(out).expanduser(),
                        sanity_disturbances=_names(sanity), sanity_levels=sanity_levels, gallery_size=gallery_size,
                        command=command)


@one_run()
def sanity(real: Any, *, disturbances: Sequence[str] | str | None = None, levels: int = 5, **settings: Any) -> Any:
    """Sanity curves of an embedder on ``real``: FD (and KID) of disturbed copies against the undisturbed input, per
    disturbance and level, with Spearman's ρ and a verdict (docs/guide/sanity.md). ``disturbances`` are names or
    ``mix:OTHER`` (a list or a comma-separated string; default: every one registered for the embedder's domain).
    Returns a :class:`frechet.report.sanity.SanityResult`."""
    from frechet.report.sanity import sanity as sanity_curves

    chosen = settings_from(("disturbances", "levels"), **settings)
    return sanity_curves(get_registry(), real, chosen, disturbances=_names(disturbances), levels=levels)


def _check_whole(name: str, value: Any, *, minimum: int) -> None:
    """Refuse, before any work, a keyword that must be a whole number of at least ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ConfigError(f"{spell(name, value)} is not valid: it must be a whole number ≥ {minimum}")


def _names(value: Sequence[str] | str | None) -> list[str] | None:
    """A comma-separated string or a sequence of names as a list; None stays None."""
    if value is None:
        return None
    if isinstance(value, str):
        return [name.strip() for name in value.split(",") if name.strip()]
    return list(value)


def load_stats(path: str | Path) -> FeatureStats:
    """Read statistics, validated: a ``.npz`` (ours, pytorch-fid's, TTUR's, clean-fid's, an ADM batch's), an EDM2
    ``.pkl`` (its FID entry; read without running anything), or a named reference ``ref:NAME`` (downloaded once)."""
    return load_statistics(path)
