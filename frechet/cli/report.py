"""``frechet report`` and ``frechet sanity``: the HTML report of a comparison, and the curves of disturbed copies."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from frechet.cli.arguments import (
    add_command, add_embedding_options, add_metric_flags, count, key_value, metric_options, path, positive_int,
    run_settings,
)
from frechet.cli.output import print_table, print_values, printable, value_text
from frechet.settings import DEFAULT_SEED

#: What `frechet report` computes unless --metrics says otherwise (frechet.report.build.DEFAULT_METRICS).
_REPORT_METRICS = ("fd", "fd-ci", "fd-inf", "kid")


def add_report(commands: argparse._SubParsersAction) -> None:
    """``frechet report``."""
    report = add_command(
        commands, "report", "score FAKE against REAL and write one HTML page with plots and galleries",
        "Score FAKE against REAL as `compute` does and write one self-contained HTML page: the metrics with their "
        "intervals and warnings, the FD-infinity fit, the half-samples behind the interval, the dimensions that "
        "differ most, galleries of the items (farthest generated, least covered real, a memorisation check), sanity "
        "curves with --sanity, and provenance. Needs matplotlib (pip install matplotlib; or pip install -e "
        "'.[report]' in frechet's checkout).",
        ["frechet report real/ fake/ -o report.html",
         "frechet report real/ fake/ --embedder dinov2-vitl14 --weights dinov2_vitl14_pretrain.pth --sanity noise,blur",
         "frechet report real/ fake/ --metrics fd,kid,prdc --gallery 12"],
        "run", _cmd_report,
    )
    report.add_argument("real", type=path, help="reference input, or its statistics .npz or ref:NAME (no galleries then)")
    report.add_argument("fake", type=path, help="generated input, or its statistics .npz")
    report.add_argument("-o", "--out", type=path, default="report.html", metavar="OUT.html",
                        help="where to write the page (default report.html)")
    report.add_argument("--metrics", default=",".join(_REPORT_METRICS), metavar="LIST",
                        help=f"comma-separated metric names (default {','.join(_REPORT_METRICS)}: FD with its "
                        "interval, FD-infinity and KID; their plots appear when they are chosen)")
    report.add_argument("--metric-option", action="append", type=key_value, default=[], metavar="KEY=VALUE",
                        help="a metric option (repeatable)")
    report.add_argument("--sanity", nargs="?", const="", metavar="LIST",
                        help="add sanity curves of REAL: these disturbances (`frechet disturbances`), or every one "
                        "of the domain when no LIST is given")
    report.add_argument("--sanity-levels", type=positive_int, metavar="N", help="levels per disturbance (5)")
    report.add_argument("--gallery", type=positive_int, default=8, metavar="N", help="items per gallery (8)")
    report.add_argument("--seed", type=count, default=DEFAULT_SEED, help=f"seed (default {DEFAULT_SEED})")
    report.add_argument("--force", action="store_true", help="compare statistics even if their embedders differ")
    report.add_argument("--json", action="store_true", help="print one JSON object on the last line")
    add_metric_flags(report)
    add_embedding_options(report)


def add_sanity(commands: argparse._SubParsersAction) -> None:
    """``frechet sanity``."""
    sanity = add_command(
        commands, "sanity", "does the embedder see the damage? FD of disturbed copies of REAL per level",
        "Apply each disturbance (noise, blur, … for images; noise, lowpass, clipping for audio; mix:OTHER for any "
        "domain) to a copy of REAL at increasing strengths, embed each copy (through the feature cache) and report "
        "FD (and KID) against the undisturbed input per level, with Spearman's rho per disturbance. A disturbance "
        "the embedder is nearly blind to (FD not rising steadily, or negligible next to tr Sigma) is called out.",
        ["frechet sanity real/ --embedder inception",
         "frechet sanity real/ --embedder webtoon-panels --weights panelnet.pth --disturbances blur,swirl",
         "frechet sanity real/ --disturbances noise,mix:other_images/ --levels 8 --plot sanity.png --json"],
        "run", _cmd_sanity,
    )
    sanity.add_argument("real", type=path, help="the input to disturb (folder or file)")
    sanity.add_argument("--disturbances", metavar="LIST",
                        help="comma-separated disturbances, mix:OTHER to mix in another input (default: every "
                        "disturbance of the embedder's domain but mix; `frechet disturbances` lists them)")
    sanity.add_argument("--levels", type=positive_int, default=5, metavar="N", help="levels per disturbance (5)")
    sanity.add_argument("--plot", type=path, metavar="PATH",
                        help="also draw the curves to PATH (.png, .svg or .pdf; matplotlib)")
    sanity.add_argument("--seed", type=count, default=DEFAULT_SEED,
                        help=f"seed of the damage (default {DEFAULT_SEED})")
    sanity.add_argument("--json", action="store_true", help="print one JSON object on the last line")
    sanity.add_argument("--metric-option", action="append", type=key_value, default=[], metavar="KEY=VALUE",
                        help="KID's kid_subsets (10 here) or kid_subset_size (1000) (repeatable)")
    add_metric_flags(sanity, only=("kid_subsets", "kid_subset_size"))
    add_embedding_options(sanity)


def _cmd_report(args: argparse.Namespace) -> int:
    from frechet import api, distributed

    metrics = [name.strip() for name in args.metrics.split(",") if name.strip()]
    result = api.write_report(
        args.real, args.fake, args.out, sanity=None if args.sanity is None else _list(args.sanity),
        sanity_levels=args.sanity_levels, gallery_size=args.gallery, command=args.command_line, metrics=metrics,
        metric_options=metric_options(args, metrics), seed=args.seed, force=args.force, **run_settings(args),
    )
    if distributed.is_main_process():
        print_values({**result.as_dict(), "report": args.out}, as_json=args.json)
    return 0


def _cmd_sanity(args: argparse.Namespace) -> int:
    from frechet import api, distributed

    if args.plot:  # everything about the plot file is checked before any work
        from frechet.io import check_output_files, check_outputs_apart
        from frechet.report import plots

        plots.require_matplotlib()
        plots.check_path(Path(args.plot))
        check_output_files([Path(args.plot)])
        check_outputs_apart([Path(args.plot)], [Path(args.real)])
    disturbances = None if args.disturbances is None else _list(args.disturbances)
    result = api.sanity(args.real, disturbances=disturbances, levels=args.levels, seed=args.seed,
                        metric_options=metric_options(args, ["kid"]), **run_settings(args))
    if not distributed.is_main_process():
        return 0
    _print_sanity(result, as_json=args.json)  # the table first: a plot that fails to be written loses nothing
    if args.plot:
        plots.save(plots.sanity_plot(result.curves, result.title), Path(args.plot))
    return 0


def _print_sanity(result: Any, *, as_json: bool) -> None:
    if as_json:
        print(json.dumps(result.as_dict()))
        return
    print(f"{result.input}: {result.counted}, embedder {result.embedder}, output {result.output}, "
          f"tr Σ = {result.trace:.6g}")
    print_table(["DISTURBANCE", "T", "STRENGTH", "FD", "FD/TRΣ", "KID", "UNIT"],
                [[curve.name, f"{level.t:.2f}", f"{level.strength:.4g}", value_text(level.fd),
                  f"{level.fd_relative:.3g}", value_text(level.kid), curve.unit if index == 0 else ""]
                 for curve in result.curves for index, level in enumerate(curve.levels)])
    for curve in result.curves:
        print(printable(curve.message))


def _list(text: str) -> list[str]:
    return [name.strip() for name in text.split(",") if name.strip()]
