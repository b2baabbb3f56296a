"""The report's plots, drawn with matplotlib (the optional extra ``report``: ``pip install -e '.[report]'`` in
frechet's checkout); in a report each is a self-contained SVG: text as paths, no fonts or images referenced, no
date, ids from a fixed salt, so the same numbers give the same bytes.

Figures are made with matplotlib's object API (no pyplot), so drawing never touches the caller's backend or state.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from frechet.errors import ConfigError
from frechet.io import atomic_write
from frechet.optional import import_optional, install_extra
from frechet.report.diagnostics import DimensionGaps, InfinityFit

_SVG = {"svg.fonttype": "path", "svg.hashsalt": "frechet-report", "font.size": 9.0}
_REAL, _FAKE = "#1f77b4", "#d62728"


def require_matplotlib() -> None:
    """Raise a one-line error saying what to install when matplotlib is missing."""
    import_optional("matplotlib", "plots", install_extra("report", "matplotlib"))


def _figure(width: float, height: float) -> Any:
    require_matplotlib()
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), layout="constrained")


def svg(figure: Any) -> bytes:
    """The figure as a self-contained SVG document."""
    import matplotlib

    buffer = io.BytesIO()
    with matplotlib.rc_context(_SVG):
        figure.savefig(buffer, format="svg", metadata={"Date": None})
    return buffer.getvalue()


#: The formats a plot file is written in, by suffix.
FORMATS = {".svg": "svg", ".png": "png", ".pdf": "pdf"}


def check_path(path: Path) -> str:
    """The format ``path``'s suffix names, or a ConfigError before anything is drawn."""
    kind = FORMATS.get(path.suffix.lower())
    if kind is None:
        raise ConfigError(f"{path}: plots are written as .svg, .png or .pdf; name the file with one of these")
    return kind


def save(figure: Any, path: Path) -> None:
    """Write the figure to ``path`` in the format its suffix names (.svg, .png, .pdf), atomically."""
    kind = check_path(path)
    data = svg(figure) if kind == "svg" else _rendered(figure, kind)
    with atomic_write(path) as handle:
        handle.write(data)


def _rendered(figure: Any, kind: str) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format=kind, dpi=150, metadata={"Software": None} if kind == "png" else {"Creator": None})
    return buffer.getvalue()


def infinity_plot(fit: InfinityFit, fd: float | None) -> Any:
    """FD_N against 1/N with the fitted line down to 1/N = 0, where it meets FD∞."""
    figure = _figure(5.0, 3.2)
    axes = figure.add_subplot()
    inverse = 1.0 / fit.sizes
    line = np.linspace(0.0, inverse.max(), 50)
    axes.plot(line, fit.intercept + fit.slope * line, color=_FAKE, label=f"fit: FD∞ = {fit.intercept:.4g}")
    axes.scatter(inverse, fit.scores, color="black", s=14, zorder=3, label="FD of a random subset of N")
    if fd is not None:
        axes.scatter([inverse.min()], [fd], marker="x", color=_REAL, s=40, zorder=4, label=f"FD (all) = {fd:.4g}")
    axes.set_xlabel("1 / N (generated items)")
    axes.set_ylabel("FD")
    axes.set_xlim(left=0.0)
    axes.legend(frameon=False)
    return figure


def half_samples_plot(values: np.ndarray, fd: float, low: float, high: float, corrected: float) -> Any:
    """Histogram of the half-sample replicates of the population FD, with the interval, FD and corrected FD marked."""
    figure = _figure(5.0, 3.2)
    axes = figure.add_subplot()
    axes.hist(values, bins=max(10, min(40, len(values) // 5)), color="#999999")
    for value, style, colour, label in ((low, "--", _REAL, "interval"), (high, "--", _REAL, None),
                                        (fd, "-", _FAKE, "FD"), (corrected, ":", "black", "bias-corrected FD")):
        axes.axvline(value, color=colour, linestyle=style, label=label)
    axes.set_xlabel("population FD, one half-sample replicate")
    axes.set_ylabel("replicates")
    axes.legend(frameon=False)
    return figure


def dimensions_plot(gaps: DimensionGaps) -> Any:
    """Per dimension (largest contribution first): the mean gap and both sides' standard deviations."""
    figure = _figure(6.0, 3.4)
    left, right = figure.subplots(1, 2, sharey=True)
    rows = np.arange(len(gaps.dims))
    labels = [str(dim) for dim in gaps.dims]
    left.barh(rows, gaps.mean_gap, color="#555555")
    left.axvline(0.0, color="black", linewidth=0.5)
    left.set_yticks(rows, labels)
    left.invert_yaxis()
    left.set_xlabel("mean gap μ_fake − μ_real")
    left.set_ylabel("dimension")
    right.barh(rows - 0.2, gaps.std_real, height=0.4, color=_REAL, label="real")
    right.barh(rows + 0.2, gaps.std_fake, height=0.4, color=_FAKE, label="generated")
    right.set_xlabel("standard deviation")
    right.legend(frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return figure


def sanity_plot(curves: Sequence[Any], title: str = "") -> Any:
    """FD / tr Σ against the level t for each disturbance (log scale); nearly-blind ones dashed."""
    figure = _figure(7.0, 3.6)
    axes = figure.add_subplot()
    for curve in curves:
        t = [level.t for level in curve.levels]
        relative = [max(level.fd_relative, 1e-12) if math.isfinite(level.fd_relative) else np.nan
                    for level in curve.levels]
        axes.plot(t, relative, marker="o", linestyle="--" if curve.blind else "-",
                  label=f"{curve.name} (ρ = {curve.rho:.2f})" + (", nearly blind" if curve.blind else ""))
    axes.set_yscale("log")
    axes.set_xlabel("level t (damage grows to the right; strengths in the table)")
    axes.set_ylabel("FD / tr Σ_real")
    if title:
        axes.set_title(title)
    axes.legend(frameon=False, fontsize=7, loc="center left", bbox_to_anchor=(1.0, 0.5))
    return figure
