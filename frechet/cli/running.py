"""``frechet compute``, ``stats`` and ``distance``: score two sides, save one side's statistics, compare saved ones."""

from __future__ import annotations

import argparse
from pathlib import Path

from frechet.cli.arguments import (
    add_command, add_embedding_options, add_metric_flags, count, key_value, metric_options, path, run_settings,
)
from frechet.cli.output import print_values
from frechet.errors import ConfigError, UnsavedResultError
from frechet.settings import DEFAULT_SEED


def add_compute(commands: argparse._SubParsersAction) -> None:
    """``frechet compute``."""
    compute = add_command(
        commands, "compute", "score FAKE against REAL (folders, files, statistics .npz), or FAKE alone",
        "Score FAKE (generated) against REAL (reference): each side is a folder or file of inputs, a feature file, "
        "saved statistics (.npz) or ref:NAME. With FAKE alone, metrics of the generated set alone (is). The same "
        "input on both sides is embedded once. Prints the metrics, the items counted and the embedder used.",
        ["frechet compute real/ fake/ --metrics fid,is",
         "frechet compute fake/ --metrics is",
         "frechet compute real.npz fake/ --embedder inception --preprocess clean",
         "frechet compute real/ fake/ --embedder inception,dinov2-vitl14 --embedder-option "
         "dinov2-vitl14.weights=dinov2_vitl14_pretrain.pth --json",
         "frechet compute real_feats.npy fake_feats.npy --metrics fd,kid,prdc"],
        "run", _cmd_compute,
    )
    compute.add_argument("real", type=path, nargs="?", metavar="REAL",
                         help="reference input: a folder or file, a feature file, statistics .npz, or ref:NAME "
                         "(`frechet refs`); leave it out for metrics of FAKE alone (is)")
    compute.add_argument("fake", type=path, metavar="FAKE", help="generated input: a folder or file, a feature file, or "
                         "statistics .npz")
    compute.add_argument("--metrics", default="fd", metavar="LIST",
                         help="comma-separated metric names, e.g. fd,kid,prdc,is (`frechet metrics` lists them and "
                         "their aliases such as fid, fad); default fd")
    compute.add_argument("--metric-option", action="append", type=key_value, default=[], metavar="KEY=VALUE",
                         help="a metric option (repeatable; `frechet metrics` lists each metric's)")
    compute.add_argument("--seed", type=count, default=DEFAULT_SEED,
                         help=f"seed for sampling metrics (default {DEFAULT_SEED}, torch-fidelity's)")
    compute.add_argument("--save-stats", type=path, metavar="DIR",
                         help="also save real.npz / fake.npz statistics in DIR")
    compute.add_argument("--force", action="store_true", help="compare statistics even if their embedders differ")
    compute.add_argument("--json", action="store_true", help="print one JSON object on the last line")
    compute.add_argument("--report", type=path, metavar="PATH.html",
                         help="also write an HTML report of this run (`frechet report --help`; needs matplotlib)")
    add_metric_flags(compute)
    add_embedding_options(compute)


def add_stats(commands: argparse._SubParsersAction) -> None:
    """``frechet stats``."""
    stats = add_command(
        commands, "stats", "compute the statistics of INPUT and save them as .npz",
        "Compute the statistics (mean, covariance) of one input, e.g. a reference set, and save them as .npz "
        "(readable by pytorch-fid and clean-fid too). With several embedders, one file each: OUT.NAME.npz.",
        ["frechet stats real/ -o real.npz", "frechet stats real.zip -o real_clean.npz --preprocess clean",
         "frechet stats real/ -o ref.npz --embedder inception,dinov2-vitl14 --embedder-option "
         "dinov2-vitl14.weights=dinov2_vitl14_pretrain.pth"],
        "run", _cmd_stats,
    )
    stats.add_argument("input", type=path, help="input folder or file (or statistics .npz, ref:NAME: converted as they are)")
    stats.add_argument("-o", "--out", type=path, required=True, metavar="OUT.npz", help="where to write the statistics")
    stats.add_argument("--json", action="store_true", help="print one JSON object on the last line")
    add_embedding_options(stats)


def add_distance(commands: argparse._SubParsersAction) -> None:
    """``frechet distance``."""
    distance = add_command(
        commands, "distance", "Fréchet distance between two statistics or feature files",
        "The Fréchet distance between two statistics files (.npz with mu, sigma), named references (ref:NAME) or "
        "feature files (.npy/.npz rows); no model runs. A is reported as the real side, B as the fake one.",
        ["frechet distance real.npz fake.npz", "frechet distance a.npy b.npy --json",
         "frechet distance ref:ttur-cifar10-train fake.npz"],
        "run", _cmd_distance,
    )
    distance.add_argument("a", type=path, help="statistics .npz, ref:NAME (`frechet refs`), or features .npy/.npz")
    distance.add_argument("b", type=path, help="statistics .npz, ref:NAME, or features .npy/.npz")
    distance.add_argument("--force", action="store_true", help="compare even if the embedders differ")
    distance.add_argument("--skip-bad", action="store_true", help="skip feature rows holding NaN or Inf, and list them")
    distance.add_argument("--json", action="store_true", help="print one JSON object on the last line")


def _cmd_compute(args: argparse.Namespace) -> int:
    from frechet import api, distributed

    metrics = [name.strip() for name in args.metrics.split(",") if name.strip()]
    settings = dict(metrics=metrics, metric_options=metric_options(args, metrics), seed=args.seed, force=args.force,
                    save_stats=args.save_stats, **run_settings(args))
    if args.report and args.real is None:
        raise ConfigError("--report compares FAKE with REAL; give both inputs")
    try:
        if args.report:
            result = api.write_report(args.real, args.fake, args.report, command=args.command_line, **settings)
        else:
            result = api.compute(args.real, args.fake, **settings)
    except UnsavedResultError as error:  # the scores first, then the one line saying what was not saved
        print_values(error.result.as_dict(), as_json=args.json)
        raise
    if distributed.is_main_process():
        print_values(result.as_dict(), as_json=args.json)
    return 0


def _cmd_stats(args: argparse.Namespace) -> int:
    from frechet import api, distributed
    from frechet.runner import stats_path

    computed = api.compute_stats(args.input, save=args.out, **run_settings(args))
    if not distributed.is_main_process():  # rank 0 writes and reports
        return 0
    several = isinstance(computed, dict)
    for name, stats in (computed.items() if several else [("", computed)]):
        meta = stats.meta
        print_values(
            {"path": str(stats_path(Path(args.out), name, several)), "n": stats.n, "dim": stats.dim,
             "embedder": meta.get("embedder"), "output": meta.get("output"), "n_skipped": meta.get("n_skipped", 0),
             "skipped": meta.get("skipped", [])},
            as_json=args.json,
        )
    return 0


def _cmd_distance(args: argparse.Namespace) -> int:
    from frechet import api

    print_values(api.fd(args.a, args.b, force=args.force, skip_bad=args.skip_bad).as_dict(), as_json=args.json)
    return 0
