"""The ``frechet`` command: a thin layer over :mod:`frechet.api`; errors become one line on stderr and exit code 2."""

from __future__ import annotations

import argparse
import json
import logging
import math
import sys
import time
from collections.abc import Sequence
from typing import Any, NoReturn

import frechet
from frechet import api, distributed, references, weights
from frechet.cache import DEFAULT_SHARD_SIZE, FeatureCache
from frechet.errors import ConfigError, FrechetError
from frechet.plugins import get_plugins, get_registry, plugin_hooks
from frechet.precision import DEFAULT_PRECISION, PRECISIONS
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


def _fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got '{text}'") from None
    if not 0.0 < value < 1.0:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1 (exclusive), got {value}")
    return value


#: compute's metric flags: argparse dest -> the metric options it sets, among those the chosen metrics use.
_METRIC_FLAGS = {
    "kid_subsets": ("kid_subsets",),
    "kid_subset_size": ("kid_subset_size",),
    "nearest_k": ("pr_nearest_k", "dc_nearest_k"),
    "bootstrap": ("fd_ci_bootstrap",),
    "confidence": ("fd_ci_confidence",),
}


def _add_metric_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("metric options (each sets a --metric-option of the metrics that use it)")
    group.add_argument("--kid-subsets", type=_positive_int, metavar="N", help="KID: number of random subsets (100)")
    group.add_argument("--kid-subset-size", type=_positive_int, metavar="N",
                       help="KID: samples per subset (1000, clamped to the smaller side)")
    group.add_argument("--nearest-k", type=_positive_int, metavar="K",
                       help="k of the k-NN balls for pr, dc and prdc (default 3 for precision/recall, 5 for "
                       "density/coverage)")
    group.add_argument("--bootstrap", type=_positive_int, metavar="N", help="fd-ci: bootstrap resamples (200)")
    group.add_argument("--confidence", type=_fraction, metavar="C", help="fd-ci: interval confidence level (0.95)")


def _metric_options(args: argparse.Namespace, metrics: Sequence[str]) -> dict[str, Any]:
    """--metric-option values plus the metric flags, each mapped onto the options the chosen metrics use."""
    options = dict(args.metric_option)
    used: set[str] = set()
    for name in metrics:
        used.update(get_registry().metric_info(name).factory().options)
    for dest, names in _METRIC_FLAGS.items():
        value = getattr(args, dest)
        if value is None:
            continue
        flag = "--" + dest.replace("_", "-")
        targets = [name for name in names if name in used]
        if not targets:
            raise ConfigError(f"{flag} sets {' / '.join(names)}, which none of the chosen metrics "
                              f"({', '.join(metrics)}) uses")
        for name in targets:
            if name in options:
                raise ConfigError(f"{flag} and --metric-option {name}=… both given; use one")
            options[name] = value
    return options


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
    group.add_argument("--precision", choices=tuple(PRECISIONS), default=DEFAULT_PRECISION,
                       help="forward-pass precision: fp32 (default), or bf16 autocast (faster on hardware with bf16 "
                       "units; FID differs slightly and the embedder id records it)")
    group.add_argument("--skip-bad", action="store_true", help="skip unreadable items and report them")
    group.add_argument("--quiet", action="store_true", help="no progress bar or informational messages")
    cache = parser.add_argument_group("feature cache")
    _add_cache_dir(cache)
    cache.add_argument("--no-cache", action="store_true", help="neither read nor write the feature cache")
    cache.add_argument("--shard-size", type=_positive_int, default=DEFAULT_SHARD_SIZE, metavar="N",
                       help=f"items per cache shard: the unit of resuming and of sharing out over ranks "
                       f"({DEFAULT_SHARD_SIZE})")


def _add_cache_dir(parser: argparse.ArgumentParser | argparse._ArgumentGroup) -> None:
    parser.add_argument("--cache-dir", metavar="DIR",
                        help="feature cache folder (default: $FRECHET_CACHE_DIR, else ~/.cache/frechet)")


def _age(text: str) -> float:
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    number, unit = text[:-1], text[-1:].lower()
    try:
        value = float(number) * units[unit]
    except (KeyError, ValueError):
        raise argparse.ArgumentTypeError(f"expected an age such as 30d, 12h, 90m or 45s, got '{text}'") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must not be negative, got '{text}'")
    return value


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
        "cache": not args.no_cache,
        "cache_dir": args.cache_dir,
        "shard_size": args.shard_size,
        "precision": args.precision,
        "reuse_large_allocations": True,  # this process is the command's own
    }


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for ``frechet``."""
    parser = _Parser(prog="frechet", description="Fréchet distances (FID, FAD, …) and related metrics.")
    parser.add_argument("--version", action="version", version=f"frechet {frechet.__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=_Parser)

    compute = commands.add_parser("compute", help="score FAKE against REAL (folders, files, or statistics .npz)")
    compute.add_argument("real", help="reference input or statistics .npz")
    compute.add_argument("fake", help="generated input or statistics .npz")
    compute.add_argument("--metrics", default="fd",
                         help="comma-separated metrics, e.g. fd,kid,prdc,fd-inf,fd-ci,mmd,is,is-inf "
                         "(see `frechet metrics`); default fd")
    compute.add_argument("--metric-option", action="append", type=_key_value, default=[], metavar="KEY=VALUE",
                         help="metric option (repeatable)")
    compute.add_argument("--seed", type=int, default=DEFAULT_SEED,
                         help=f"seed for sampling metrics ({DEFAULT_SEED}, as torch-fidelity)")
    compute.add_argument("--save-stats", metavar="DIR", help="also save real.npz / fake.npz statistics in DIR")
    compute.add_argument("--force", action="store_true", help="compare statistics even if their embedders differ")
    compute.add_argument("--json", action="store_true", help="print one JSON object on the last line")
    _add_metric_options(compute)
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
    distance.add_argument("--skip-bad", action="store_true", help="skip feature rows holding NaN or Inf and report them")
    distance.add_argument("--json", action="store_true", help="print one JSON object on the last line")

    for name, what in (("plugins", "installed plugins"), ("embedders", "embedders"), ("metrics", "metrics")):
        listing = commands.add_parser(name, help=f"list {what}")
        listing.add_argument("--json", action="store_true", help="print one JSON object on the last line")

    _add_store_commands(commands)

    cache = commands.add_parser("cache", help="list or clear the feature cache")
    actions = cache.add_subparsers(dest="cache_action", required=True, metavar="ACTION", parser_class=_Parser)
    listing = actions.add_parser("ls", help="cached inputs per embedder: shards, items, outputs, size, last use")
    _add_cache_dir(listing)
    listing.add_argument("--json", action="store_true", help="print one JSON object on the last line")
    clear = actions.add_parser("clear", help="remove cached shards: all of them, or those matching every filter")
    _add_cache_dir(clear)
    clear.add_argument("--embedder", metavar="TEXT", help="only shards whose embedder id contains TEXT")
    clear.add_argument("--input", metavar="TEXT", help="only shards of inputs whose path contains TEXT")
    clear.add_argument("--older-than", type=_age, metavar="AGE", help="only shards unused for AGE (30d, 12h, 90m, 45s)")
    clear.add_argument("--json", action="store_true", help="print one JSON object on the last line")
    return parser


def _add_store_commands(commands: argparse._SubParsersAction) -> None:
    """``frechet refs`` and ``frechet weights``: what the weights store can fetch, and what it holds."""
    refs = commands.add_parser("refs", help="list the named reference statistics (ref:NAME) and their provenance")
    refs.add_argument("pattern", nargs="?", default="", help="only names containing PATTERN (all fields for one)")
    refs.add_argument("--fetch", action="store_true", help="download the listed references' files (verified, pinned)")
    refs.add_argument("--json", action="store_true", help="print one JSON object on the last line")
    weights = commands.add_parser("weights", help="the embedders' weights files: present or not, where, verified")
    weights.add_argument("--fetch", action="store_true", help="download the missing weights files (verified)")
    weights.add_argument("--json", action="store_true", help="print one JSON object on the last line")


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``frechet`` console script and ``python -m frechet``."""
    args = build_parser().parse_args(argv)
    _setup_logging(quiet=getattr(args, "quiet", False) or not distributed.is_main_process())
    try:
        return _COMMANDS[args.command](args)
    except FrechetError as error:
        print(f"frechet: error: {error}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("frechet: interrupted", file=sys.stderr)
        return 130
    finally:
        distributed.shutdown()


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
        metric_options=_metric_options(args, metrics),
        seed=args.seed,
        force=args.force,
        save_stats=args.save_stats,
        **_run_settings(args),
    )
    if distributed.is_main_process():
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
    if not distributed.is_main_process():  # rank 0 writes and reports
        return 0
    path = stats.save(args.out)
    meta = stats.meta
    _print_values(
        {"path": str(path), "n": stats.n, "dim": stats.dim, "embedder": meta.get("embedder"),
         "output": meta.get("output"), "n_skipped": meta.get("n_skipped", 0), "skipped": meta.get("skipped", [])},
        as_json=args.json,
    )
    return 0


def _cmd_distance(args: argparse.Namespace) -> int:
    _print_values(api.fd(args.a, args.b, force=args.force, skip_bad=args.skip_bad).as_dict(), as_json=args.json)
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
        {"name": i.name, "aliases": list(i.aliases), "plugin": i.plugin, "description": i.description,
         "options": dict(i.factory().options)}
        for i in get_registry().metrics()
    ]
    if args.json:
        print(json.dumps({"metrics": rows}))
    else:
        for row in rows:
            aliases = f" (also: {', '.join(row['aliases'])})" if row["aliases"] else ""
            options = ", ".join(f"{key}={value}" for key, value in row["options"].items())
            print(f"{row['name']:<12} {row['description']}{aliases}" + (f"; options: {options}" if options else ""))
    return 0


def _cmd_cache(args: argparse.Namespace) -> int:
    cache = FeatureCache(args.cache_dir)
    if args.cache_action == "clear":
        cleared = cache.clear(embedder=args.embedder, input=args.input, older_than=args.older_than)
        if args.json:
            print(json.dumps({"cache_dir": str(cache.root), "files": cleared.files, "bytes": cleared.bytes}))
        else:
            print(f"removed {cleared.files} files ({_size(cleared.bytes)}) from {cache.root}")
        return 0
    entries = cache.entries()
    if args.json:
        print(json.dumps({"cache_dir": str(cache.root), "entries": [vars(entry) for entry in entries]}))
        return 0
    total = sum(entry.bytes for entry in entries)
    print(f"{cache.root}: {len(entries)} cached inputs, {_size(total)}")
    for entry in entries:
        used = time.strftime("%Y-%m-%d %H:%M", time.localtime(entry.last_used))
        outputs = ", ".join(f"{output}({'+'.join(kinds)})" for output, kinds in entry.outputs.items())
        print(f"{_size(entry.bytes):>9}  {entry.items:>8} items  {entry.shards:>5} shards  {used}  {entry.input}")
        print(f"{'':>11}{entry.embedder}: {outputs}")
    return 0


def _cmd_refs(args: argparse.Namespace) -> int:
    exact = references.CATALOGUE.get(args.pattern.removeprefix(references.PREFIX))
    chosen = [exact] if exact else [
        ref for name, ref in references.CATALOGUE.items() if args.pattern.lower() in name
    ]
    if not chosen:
        raise ConfigError(f"no reference name contains '{args.pattern}'; `frechet refs` lists them all")
    if args.fetch:
        for ref in chosen:
            references.local_path(ref, progress=not args.json)
    rows = [{**ref.describe(), "cached": references.is_cached(ref)} for ref in chosen]
    if args.json:
        print(json.dumps({"weights_dir": str(weights.weights_dir()), "references": rows}))
        return 0
    if len(rows) == 1:
        row = {**rows[0], "options": " ".join(f"{key}={value}" for key, value in rows[0]["options"].items())}
        _print_values({key: "-" if value in (None, "") else value for key, value in row.items()}, as_json=False)
        return 0
    for row in rows:
        mode = " ".join(f"{key}={value}" for key, value in row["options"].items())
        items = f"{row['items']:,}" if row["items"] else "-"
        print(f"ref:{row['name']:<44} {row['embedder']} {mode:<22} {items:>10} {row['resolution'] or '-':>9}  "
              f"{row['dataset']} ({row['split']}){'  [cached]' if row['cached'] else ''}")
    return 0


def _cmd_weights(args: argparse.Namespace) -> int:
    rows = []
    for info in get_registry().embedders():
        groups: dict[str, list[weights.WeightsSpec]] = {}
        for spec in getattr(info.factory, "weights", ()) or ():
            groups.setdefault(spec.expected_hash or spec.file_name, []).append(spec)
        for specs in groups.values():
            if args.fetch:
                weights.resolve_weights(specs, progress=not args.json)
            found = weights.file_status(specs)
            rows.append({"embedder": info.name, "name": specs[0].name, "files": [s.file_name for s in specs],
                         "urls": [s.url for s in specs], "status": found.status,
                         "path": str(found.path) if found.path else None})
    where = {"weights_dir": str(weights.weights_dir()), "mirror": weights.mirror(), "offline": weights.is_offline()}
    if args.json:
        print(json.dumps({**where, "weights": rows}))
        return 0
    print(f"weights folder: {where['weights_dir']}  (${weights.WEIGHTS_DIR_ENV}, else torch hub's checkpoints)")
    print(f"mirror:         {where['mirror'] or '-'}  (${weights.MIRROR_ENV})")
    print(f"offline:        {'yes' if where['offline'] else 'no'}  (${weights.OFFLINE_ENV})")
    for row in rows:
        print(f"{row['embedder']:<12} {row['files'][0]:<45} {row['status']:<18} {row['path'] or '-'}")
    return 0


def _size(n_bytes: int) -> str:
    value = float(n_bytes)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} TB"


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
    "cache": _cmd_cache,
    "refs": _cmd_refs,
    "weights": _cmd_weights,
}
