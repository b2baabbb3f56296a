"""``frechet report``: one comparison run with every side's features kept, then one self-contained HTML page — the
metrics with their intervals and warnings, the FD∞ fit, the half-samples behind fd-ci, the dimensions that differ
most, galleries of items (thumbnails or players from the domain plugins), sanity curves when asked, sections added by
plugins, and how the numbers were made."""

from __future__ import annotations

import dataclasses
import datetime
import importlib.metadata
import logging
import platform
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from frechet import distributed
from frechet.caller import spell
from frechet.distance import frechet_distance
from frechet.errors import ConfigError, InputError
from frechet.io import atomic_write, check_output_files, check_outputs_apart
from frechet.metrics.base import Side
from frechet.plan import Result, chosen_metrics, metric_options
from frechet.plugins import get_plugins, hook_answers
from frechet.registry import Registry
from frechet.report import diagnostics, page, plots
from frechet.report.content import Media, ReportData, Section
from frechet.report.galleries import galleries, item_features
from frechet.report.sanity import DEFAULT_LEVELS, KID_OPTIONS, SanityResult, sanity
from frechet.runner import Comparison, comparison, save_statistics
from frechet.settings import Settings
from frechet.sources import Source

log = logging.getLogger("frechet")

#: What ``frechet report`` computes unless told otherwise: FD with its interval, KID, and FD∞.
DEFAULT_METRICS = ("fd", "fd-ci", "fd-inf", "kid")
#: Items per gallery.
GALLERY_SIZE = 8
#: Dimensions shown in the per-dimension plot.
TOP_DIMENSIONS = 20
#: Result keys that are facts about the run rather than metric values.
_FACTS = ("n_real", "n_fake", "n_real_items", "n_fake_items", "embedder", "output", "n_skipped", "skipped")


def report(
    registry: Registry,
    real: Any,
    fake: Any,
    settings: Settings,
    out: Path,
    *,
    sanity_disturbances: Sequence[str] | None = None,
    sanity_levels: int | None = None,
    gallery_size: int = GALLERY_SIZE,
    command: str | None = None,
) -> Result:
    """Score ``fake`` against ``real`` and write the report page to ``out``; the result is what ``compute`` returns.

    ``sanity_disturbances`` (names, or ``()`` for every disturbance of the domain) adds sanity curves of the real
    input, at ``sanity_levels`` levels; None leaves them out.
    """
    started = time.perf_counter()
    plots.require_matplotlib()
    if out.suffix.lower() not in (".html", ".htm"):
        raise ConfigError(f"{out}: a report is an HTML page; name it with .html")
    check_output_files([out])
    check_outputs_apart([out], [path for path in map(registry.input_path, (real, fake)) if path is not None])
    if settings.embedder is not None and len(settings.embedder) > 1:
        raise ConfigError(f"{spell('embedder', ','.join(settings.embedder))}: a report shows one embedder; write one "
                          "report per embedder")
    compared = comparison(registry, real, fake, settings, keep_features=True)
    curves = None
    if sanity_disturbances is not None:
        if compared.sources.get("real") is None:
            raise InputError(f"{real}: sanity curves damage the real items, but this side is saved statistics; "
                             "pass the real input itself")
        # the curves read KID's options only; the report's other metric options are for its own metrics
        kid_only = {key: value for key, value in settings.metric_options.items() if key in KID_OPTIONS}
        curves = sanity(registry, real, dataclasses.replace(settings, metric_options=kid_only),
                        disturbances=sanity_disturbances or None, levels=sanity_levels or DEFAULT_LEVELS)

    if distributed.current().is_main:
        body = _Page(registry, compared, settings, gallery_size).body(curves, command, started)
        title = f"frechet report: {_label(real, compared, 'real')} vs {_label(fake, compared, 'fake')}"
        with atomic_write(out) as handle:
            handle.write(page.document(title, body).encode("utf-8"))
        log.info("report written to %s", out)
    save_statistics(compared, settings)
    return compared.result


def _label(value: Any, compared: Comparison, side: str) -> str:
    sides = compared.sides.get(side)
    return sides[0].label if sides else str(value)


class _Page:
    """The sections of one report, in order."""

    def __init__(self, registry: Registry, compared: Comparison, settings: Settings, gallery_size: int) -> None:
        self.compared, self.settings, self.gallery_size = compared, settings, gallery_size
        self.values = compared.result.as_dict()
        self.metrics = chosen_metrics(registry, settings)
        self.options = metric_options(self.metrics, settings.metric_options)
        self.embedder = compared.embedders[0] if compared.embedders else None
        self.output = compared.outputs[0] if compared.outputs else self.values.get("output") or ""
        self.sides: dict[str, Side | None] = {label: sides[0] if sides else None
                                              for label, sides in compared.sides.items()}
        self.warnings: list[str] = []

    def body(self, curves: SanityResult | None, command: str | None, started: float) -> list[str]:
        sections = [self._metrics(), self._plots(), self._galleries(), self._sanity(curves), self._plugin_sections()]
        header = [page.heading("frechet report", 1),
                  page.paragraph(f"real: {self._side_label('real')} — generated: {self._side_label('fake')} — "
                                 f"embedder {self.values.get('embedder', '?')}, output {self.output}", "subtitle")]
        provenance = self._provenance(command, time.perf_counter() - started)
        return [*header, page.warnings(self.warnings), *sections, provenance]

    def _side_label(self, label: str) -> str:
        side = self.sides.get(label)
        return side.label if side is not None else label

    # ------------------------------------------------------------------------------------------------ numbers
    def _metrics(self) -> str:
        values = self.values
        parts = []
        if "fd" in values:
            interval = ""
            if "fd_ci_low" in values:
                level = self.options.get("fd_ci_confidence", 0.95)
                target = values.get("fd_ci_target", "population FD")
                interval = (f" [{_number(values['fd_ci_low'])}, {_number(values['fd_ci_high'])}] ({level:.0%} "
                            f"interval for the {target}; its estimate, bias-corrected: "
                            f"{_number(values.get('fd_ci_corrected'))}; the plain FD is biased upward)")
            parts.append(f"FD {_number(values['fd'])}{interval}")
        if "kid" in values:
            parts.append(f"KID {_number(values['kid'])} ± {_number(values.get('kid_std'))}")
        if "fd_inf" in values:
            parts.append(f"FD∞ {_number(values['fd_inf'])} (R² {_number(values.get('fd_inf_r2'))})")
        rows = [(key, value) for key, value in values.items() if key not in _FACTS]
        self._check_sizes()
        counts = [(f"{label} items read", values.get(f"n_{label}_items")) for label in ("real", "fake")]
        counts += [(f"{label} samples", values.get(f"n_{label}")) for label in ("real", "fake")]
        counts.append(("feature dimensions", self._dims()))
        if values.get("n_skipped"):
            counts.append(("items skipped", values["n_skipped"]))
            shown = ", ".join(values["skipped"][:20]) + (" …" if len(values["skipped"]) > 20 else "")
            self.warnings.append(f"{_count(values['n_skipped'], 'unreadable item', 'was', 'were')} skipped: {shown}")
        return "".join([
            page.heading("Metrics"),
            "<p class=\"headline\">" + " — ".join(f"<b>{page.escape(part)}</b>" for part in parts) + "</p>\n",
            page.table(["metric", "value"], rows),
            page.table(["", "count"], counts),
        ])

    def _dims(self) -> int | None:
        for side in self.sides.values():
            if side is not None and self.output in side.stats:
                return side.stats[self.output].dim
        return None

    def _check_sizes(self) -> None:
        for label, side in self.sides.items():
            if side is None or self.output not in side.stats:
                continue
            stats = side.stats[self.output]
            if stats.n is not None and stats.n <= stats.dim:
                self.warnings.append(
                    f"{label}: {stats.n} samples for {stats.dim} feature dimensions (N ≤ d): the covariance is "
                    "singular, so FD is exact for these samples but a strongly biased estimate; use many more "
                    "samples than dimensions")

    # ------------------------------------------------------------------------------------------------ plots
    def _plots(self) -> str:
        real, fake = self.sides.get("real"), self.sides.get("fake")
        if real is None or fake is None:
            return ""
        pieces = []
        seed, values = self.settings.seed, self.values
        fake_rows = fake.features.get(self.output)
        if "fd_inf" in values and fake_rows is not None:
            fit = diagnostics.infinity_fit(real.stats_of(self.output), fake_rows, self.options, seed)
            pieces.append(page.figure(
                plots.svg(plots.infinity_plot(fit, values.get("fd"))), "FD against 1/N with the fitted line",
                f"FD of random subsets of N generated items against 1/N; the line's intercept at 1/N = 0 is FD∞ "
                f"({_number(fit.intercept)}, R² {_number(values.get('fd_inf_r2'))}): the FD that infinitely many "
                "samples would give (Chong & Forsyth 2020)."))
        if "fd_ci_low" in values:
            sides = [side.features[self.output] if self.output in side.features else side.stats_of(self.output)
                     for side in (real, fake)]
            estimate = frechet_distance(real.stats_of(self.output), fake.stats_of(self.output))
            spread = diagnostics.half_sample_spread(*sides, estimate, self.options, seed)
            pieces.append(page.figure(
                plots.svg(plots.half_samples_plot(spread.values, estimate, values["fd_ci_low"], values["fd_ci_high"],
                                               spread.interval.corrected)),
                "histogram of the half-sample replicates of the population FD",
                f"fd-ci's {len(spread.values)} half-sample replicates as values of the population FD (bias-corrected "
                "and scaled to the whole sample); dashed: the interval reported, solid: the plain FD (biased upward, "
                "so often above it), dotted: the bias-corrected FD, the estimate the interval is for."))
        if self.output in real.stats and self.output in fake.stats:
            gaps = diagnostics.dimension_gaps(real.stats_of(self.output), fake.stats_of(self.output), TOP_DIMENSIONS)
            pieces.append(page.figure(
                plots.svg(plots.dimensions_plot(gaps)), "per-dimension mean gaps and standard deviations",
                f"The {len(gaps.dims)} feature dimensions whose marginals differ most (largest (μ_r − μ_f)² + "
                f"(σ_r − σ_f)² first); together they hold {gaps.share.sum():.0%} of the diagonal FD."))
        return page.heading("Plots") + "".join(pieces) if pieces else ""

    # ------------------------------------------------------------------------------------------------ galleries
    def _galleries(self) -> str:
        real, fake = self.sides.get("real"), self.sides.get("fake")
        sources = self.compared.sources
        missing = _gallery_gap(real, fake, sources, self.output)
        if missing:
            self.warnings.append(f"no galleries: {missing}")
            return ""
        real_items, real_rows = item_features(real.features[self.output], real.items)
        fake_items, fake_rows = item_features(fake.features[self.output], fake.items)
        found = galleries(real_rows, fake_rows, real_items, fake_items, self.gallery_size)
        if found.memorised:
            self.warnings.append(f"{_count(found.memorised, 'generated item')} closer to a real item than any "
                                 f"two real items are to each other ({_number(found.threshold)}): see the "
                                 "memorisation check")
        render = _Renderer(sources["real"], sources["fake"], self.embedder.domain if self.embedder else "")
        return "".join([
            page.heading("Galleries"),
            page.heading("Generated items farthest from the real set", 3),
            page.paragraph("Distance to the nearest real item in feature space, largest first.", "caption"),
            page.gallery([render.single("fake", pair.item, f"distance {_number(pair.distance)}")
                          for pair in found.farthest_fake]),
            page.heading("Real items least covered by the generated set", 3),
            page.paragraph("Distance to the nearest generated item, largest first: what the generator misses.",
                           "caption"),
            page.gallery([render.single("real", pair.item, f"distance {_number(pair.distance)}")
                          for pair in found.least_covered_real]),
            page.heading("Memorisation check", 3),
            page.paragraph(
                f"Generated items (left) nearest to a real item (right), closest first. The closest two real items "
                f"are {_number(found.threshold)} apart; {_count(found.memorised, 'generated item')} closer than "
                "that to a real one (flagged): they may copy it.", "caption"),
            page.gallery([render.pair(pair, pair.distance < found.threshold) for pair in found.closest]),
        ])

    # ------------------------------------------------------------------------------------------------ sanity
    def _sanity(self, curves: SanityResult | None) -> str:
        if curves is None:
            return ""
        self.warnings.extend(curve.message for curve in curves.blind)
        rows = [(curve.name, f"{level.t:.2f}", level.strength, level.fd, level.fd_relative, level.kid,
                 curve.unit if index == 0 else "")
                for curve in curves.curves for index, level in enumerate(curve.levels)]
        verdicts = [page.paragraph(curve.message) for curve in curves.curves]
        return "".join([
            page.heading("Sanity curves"),
            page.paragraph(f"Each disturbance applied to a copy of the real input ({curves.n} items) at increasing "
                           f"strength; FD against the undisturbed input, relative to tr Σ_real = "
                           f"{_number(curves.trace)}.", "caption"),
            page.figure(plots.svg(plots.sanity_plot(curves.curves, curves.title)), "sanity curves",
                        "FD / tr Σ per level; dashed: disturbances this backbone is nearly blind to."),
            *verdicts,
            page.table(["disturbance", "t", "strength", "FD", "FD / tr Σ", "KID", "unit"], rows),
        ])

    # ------------------------------------------------------------------------------------------------ plugins
    def _plugin_sections(self) -> str:
        data = ReportData(self.values, self.embedder, self.output, dict(self.sides), dict(self.compared.sources))
        pieces = []
        for plugin, sections in hook_answers("frechet_report_sections", report=data):
            for section in sections if isinstance(sections, (list, tuple)) else [sections]:
                if not isinstance(section, Section):
                    log.warning("plugin '%s' returned %s from frechet_report_sections, not a Section; left out",
                                plugin, type(section).__name__)
                    continue
                pieces.append(_section(section, plugin))
        return "".join(pieces)

    # ------------------------------------------------------------------------------------------------ provenance
    def _provenance(self, command: str | None, elapsed: float) -> str:
        embedder = self.embedder
        rows: list[tuple[str, object]] = [("embedder id", self.values.get("embedder", "?")), ("output", self.output)]
        if embedder is not None:
            rows += [("embedder", embedder.name), ("domain", embedder.domain), ("device", str(embedder.device)),
                     ("precision", embedder.precision)]
            rows += [(f"config: {key}", value) for key, value in sorted(embedder.full_config().items())]
        rows += [("metrics", ", ".join(metric.name for metric in self.metrics)),
                 ("metric options", ", ".join(f"{key}={value}" for key, value in sorted(self.options.items())) or "-"),
                 ("seed", self.settings.seed),
                 ("command", command or "frechet.report() from Python"),
                 ("elapsed", f"{elapsed:.1f} s"),
                 ("written", datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"))]
        versions = [("python", platform.python_version())]
        versions += [(package, _version(package)) for package in ("frechet", "numpy", "scipy", "torch", "pillow",
                                                                  "matplotlib")]
        versions += [(f"plugin {record.name}", f"{record.distribution} {record.version}".strip())
                     for record in get_plugins().records if record.status == "loaded"]
        return "".join([page.heading("Provenance"), page.table(["", ""], rows), page.heading("Versions", 3),
                        page.table(["package", "version"], versions)])


class _Renderer:
    """Gallery tiles: each item decoded again from its source and rendered by the domain's plugin."""

    def __init__(self, real: Source, fake: Source, domain: str) -> None:
        self.sources, self.domain = {"real": real, "fake": fake}, domain

    def single(self, label: str, index: int, caption: str) -> str:
        return page.tile([self._item(label, index)], caption)

    def pair(self, pair: Any, flagged: bool) -> str:
        return page.tile([self._item("fake", pair.item), self._item("real", pair.neighbour)],
                         f"distance {_number(pair.distance)}", flagged)

    def _item(self, label: str, index: int) -> tuple[str, str]:
        """The item's media HTML, and its name within its input (the input's label is in the page's subtitle)."""
        source = self.sources[label]
        name = source.item_name(index)
        short = name[len(source.label):].lstrip("/\\:") if name.startswith(source.label) else name
        try:
            item = source.load(index)
        except InputError as error:
            log.warning("report: %s cannot be shown (%s)", name, error)
            return "", short or name
        for plugin, answer in hook_answers("frechet_report_item", item=item, domain=self.domain):
            if isinstance(answer, Media):
                return page.media(answer, name), short or name
            log.warning("plugin '%s' returned %s from frechet_report_item, not a Media; passed over", plugin,
                        type(answer).__name__)
        return "", short or name


def _gallery_gap(real: Side | None, fake: Side | None, sources: dict[str, Source | None], output: str) -> str:
    """Why no galleries can be shown, or ''."""
    for label, side in (("real", real), ("fake", fake)):
        if side is None or sources.get(label) is None:
            return f"the {label} side is saved statistics; galleries need its items"
        if output not in side.features or side.items is None:
            return f"the {label} side's feature rows cannot be traced to its items (cached without that record)"
        if len(side.items) == 0:
            return f"the {label} side has no usable items"
    return ""


def _section(section: Section, plugin: str) -> str:
    parts = [page.heading(section.title), *(page.paragraph(text) for text in section.paragraphs)]
    if section.table:
        parts.append(page.table(section.table[0], section.table[1:]))
    if section.media:
        parts.append(page.gallery([page.tile([(page.media(item, ""), "")], "") for item in section.media]))
    parts.append(page.paragraph(f"Section added by plugin '{plugin}'.", "caption"))
    return "".join(parts)


def _count(n: int, noun: str, singular: str = "is", plural: str = "are") -> str:
    """``1 generated item is`` / ``4 generated items are``."""
    return f"{n} {noun} {singular}" if n == 1 else f"{n} {noun}s {plural}"


def _number(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def _version(package: str) -> str:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"
