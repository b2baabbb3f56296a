"""The ``frechet`` command: a thin layer over :mod:`frechet.api`; errors become one line on stderr and exit code 2."""

from __future__ import annotations

import argparse
import json
import logging
import math
import sys
from collections.abc import Sequence
from typing import Any, NoReturn

import frechet
from frechet import api
from frechet.errors import ConfigError, FrechetError
from frechet.plugins import get_plugins, get_registry, plugin_hooks
from frechet.runner import DEFAULT_SEED

log = logging.getLogger("frechet")
EXIT_ERROR = 2


class _Parser(argparse.ArgumentParser):
    """argparse, but usage errors are one line like every other error."""

    def error(self, message: str) -> NoReturn:
        print(f"frechet: error: {message} (see `{self.prog} --help`)", file=sys.stderr)
        raise SystemExit(EXIT_ERROR)


def _key_value(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got '{text}'")
    return key.strip().replace("-", "_"), value.strip()


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got '{text}'") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got '{text}'") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {value}")
    return value


def _add_embedding_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("embedding")
    group.add_argument("--embedder", help="embedder name (see `frechet embedders`); default: inception, or "
                       "'features' when the inputs are feature files")
    group.add_argument("--embedder-option", action="append", type=_key_value, default=[], metavar="KEY=VALUE",
                       help="embedder option (repeatable)")
    group.add_argument("--preprocess", help="image preprocessing mode (embedder option 'preprocess')")
    group.add_argument("--weights", metavar="PATH", help="local weights file instead of the canonical download")
    group.add_argument("--layer", help="which embedder output the Fréchet distance uses (default: the embedder's)")
    group.add_argument("--batch-size", type=_positive_int, default=64, metavar="N", help="items per batch (64)")
    group.add_argument("--device", help="cpu, cuda, cuda:N or mps (default: the best available)")
    group.add_argument("--workers", type=_count, metavar="N", help="DataLoader worker processes (default: auto)")
    group.add_argument("--skip-bad", action="store_true", help="skip unreadable items and report them")
    group.add_argument("--quiet", action="store_true", help="no progress bar or informational messages")


def _embedder_options(args: argparse.Namespace) -> dict[str, Any]:
    options = dict(args.embedder_option)
    for flag in ("preprocess", "weights"):
        value = getattr(args, flag)
        if value is not None:
            if flag in options:
                raise ConfigError(f"--{flag} and --embedder-option {flag}=… both given; use one")
            options[flag] = value
    return options


def _run_settings(args: argparse.Namespace) -> dict[str, Any]:
    return {
        "batch_size": args.batch_size,
        "device": args.device,
        "workers": args.workers,
        "skip_bad": args.skip_bad,
        "progress": False if args.quiet else None,
    }


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for ``frechet``."""
    parser = _Parser(prog="frechet", description="Fréchet distances (FID, FAD, …) and related metrics.")
    parser.add_argument("--version", action="version", version=f"frechet {frechet.__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=_Parser)

    compute = commands.add_parser("compute", help="score FAKE against REAL (folders, files, or statistics .npz)")
    compute.add_argument("real", help="reference input or statistics .npz")
    compute.add_argument("fake", help="generated input or statistics .npz")
    compute.add_argument("--metrics", default="fd", help="comma-separated metrics (see `frechet metrics`); default fd")
    compute.add_argument("--metric-option", action="append", type=_key_value, default=[], metavar="KEY=VALUE",
                         help="metric option (repeatable)")
    compute.add_argument("--seed", type=int, default=DEFAULT_SEED,
                         help=f"seed for sampling metrics ({DEFAULT_SEED}, as torch-fidelity)")
    compute.add_argument("--save-stats", metavar="DIR", help="also save real.npz / fake.npz statistics in DIR")
    compute.add_argument("--force", action="store_true", help="compare statistics even if their embedders differ")
    compute.add_argument("--json", action="store_true", help="print one JSON object on the last line")
    _add_embedding_options(compute)

    stats = commands.add_parser("stats", help="compute statistics of INPUT and save them as .npz")
    stats.add_argument("input", help="input folder or file")
    stats.add_argument("-o", "--out", required=True, metavar="OUT.npz", help="where to write the statistics")
    stats.add_argument("--json", action="store_true", help="print one JSON object on the last line")
    _add_embedding_options(stats)

    distance = commands.add_parser("distance", help="Fréchet distance between two statistics or feature files")
    distance.add_argument("a", help="statistics .npz, or features .npy/.npz")
    distance.add_argument("b", help="statistics .npz, or features .npy/.npz")
    distance.add_argument("--force", action="store_true", help="compare even if the embedders differ")
    distance.add_argument("--json", action="store_true", help="print one JSON object on the last line")

    for name, what in (("plugins", "installed plugins"), ("embedders", "embedders"), ("metrics", "metrics")):
        listing = commands.add_parser(name, help=f"list {what}")
        listing.add_argument("--json", action="store_true", help="print one JSON object on the last line")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``frechet`` console script and ``python -m frechet``."""
    args = build_parser().parse_args(argv)
    _setup_logging(quiet=getattr(args, "quiet", False))
    try:
        return _COMMANDS[args.command](args)
    except FrechetError as error:
        print(f"frechet: error: {error}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("frechet: interrupted", file=sys.stderr)
        return 130


def _setup_logging(*, quiet: bool) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_LowerLevelFormatter("frechet: %(levelname)s: %(message)s"))
    log.handlers[:] = [handler]
    log.setLevel(logging.WARNING if quiet else logging.INFO)
    log.propagate = False


class _LowerLevelFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        record.levelname = record.levelname.lower()
        return super().format(record)


def _cmd_compute(args: argparse.Namespace) -> int:
    metrics = [name.strip() for name in args.metrics.split(",") if name.strip()]
    result = api.compute(
        args.real,
        args.fake,
        embedder=args.embedder,
        metrics=metrics,
        layer=args.layer,
        embedder_options=_embedder_options(args),
        metric_options=dict(args.metric_option),
        seed=args.seed,
        force=args.force,
        save_stats=args.save_stats,
        **_run_settings(args),
    )
    _print_values(result.as_dict(), as_json=args.json)
    return 0


def _cmd_stats(args: argparse.Namespace) -> int:
    stats = api.compute_stats(
        args.input,
        embedder=args.embedder,
        layer=args.layer,
        embedder_options=_embedder_options(args),
        **_run_settings(args),
    )
    path = stats.save(args.out)
    meta = stats.meta
    _print_values(
        {"path": str(path), "n": stats.n, "dim": stats.dim, "embedder": meta.get("embedder"),
         "output": meta.get("output"), "n_skipped": meta.get("n_skipped", 0)},
        as_json=args.json,
    )
    return 0


def _cmd_distance(args: argparse.Namespace) -> int:
    _print_values(api.fd(args.a, args.b, force=args.force).as_dict(), as_json=args.json)
    return 0


def _cmd_plugins(args: argparse.Namespace) -> int:
    records = get_plugins().records
    rows = [
        {"name": r.name, "module": r.module, "distribution": r.distribution, "version": r.version,
         "status": r.status, "hooks": plugin_hooks(r.name), "error": r.error}
        for r in records
    ]
    if args.json:
        print(json.dumps({"plugins": rows}))
    else:
        for row in rows:
            detail = row["error"] or ", ".join(row["hooks"])
            print(f"{row['name']:<20} {row['status']:<9} {row['distribution']} {row['version']}  {detail}")
    return 0


def _cmd_embedders(args: argparse.Namespace) -> int:
    infos = get_registry().embedders()
    rows = [
        {"name": i.name + ("TARGET" if i.is_family else ""), "domain": i.domain, "outputs": dict(i.outputs),
         "aliases": list(i.aliases), "plugin": i.plugin, "description": i.description}
        for i in infos
    ]
    if args.json:
        print(json.dumps({"embedders": rows}))
    else:
        for row in rows:
            outputs = ", ".join(f"{k}({v})" if v else k for k, v in row["outputs"].items())
            print(f"{row['name']:<20} {row['domain']:<9} {outputs:<40} {row['description']}")
    return 0


def _cmd_metrics(args: argparse.Namespace) -> int:
    rows = [
        {"name": i.name, "aliases": list(i.aliases), "plugin": i.plugin, "description": i.description}
        for i in get_registry().metrics()
    ]
    if args.json:
        print(json.dumps({"metrics": rows}))
    else:
        for row in rows:
            aliases = f" (also: {', '.join(row['aliases'])})" if row["aliases"] else ""
            print(f"{row['name']:<12} {row['description']}{aliases}")
    return 0


def _print_values(values: dict[str, Any], *, as_json: bool) -> None:
    if as_json:
        print(json.dumps({key: _json_safe(value) for key, value in values.items()}))
        return
    width = max(len(key) for key in values)
    for key, value in values.items():
        if isinstance(value, list):
            value = ", ".join(map(str, value)) if value else "-"
        elif isinstance(value, float):
            value = f"{value:.10g}"
        print(f"{key:<{width}}  {value}")


def _json_safe(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


_COMMANDS = {
    "compute": _cmd_compute,
    "stats": _cmd_stats,
    "distance": _cmd_distance,
    "plugins": _cmd_plugins,
    "embedders": _cmd_embedders,
    "metrics": _cmd_metrics,
}
