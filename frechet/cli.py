"""The ``frechet`` command: parses arguments onto the Python API and prints what it returns; errors become one line
on stderr and exit code 2. Nothing heavy (torch, plugins) is imported until a command needs it."""

from __future__ import annotations

import argparse
import json
import logging
import math
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn

from frechet.caller import command_line
from frechet.errors import ConfigError, FrechetError
from frechet.precision import DEFAULT_PRECISION, PRECISIONS
from frechet.settings import DEFAULT_BATCH_SIZE, DEFAULT_SEED, DEFAULT_SHARD_SIZE
from frechet.version import __version__

log = logging.getLogger("frechet")
EXIT_ERROR = 2
#: What each command's help says about the environment; every command reads the first group.
_ENVIRONMENT = {
    "run": ("FRECHET_CACHE_DIR (feature cache folder), FRECHET_OFFLINE=1 (never download), FRECHET_WEIGHTS_DIR "
            "(weights folder), FRECHET_MIRROR (serves every weights and reference file by name), FRECHET_PLUGINS "
            "(plugins to load), FRECHET_MAX_IMAGE_PIXELS (largest image), TORCH_HOME; under torchrun RANK, "
            "WORLD_SIZE, LOCAL_RANK"),
    "store": ("FRECHET_WEIGHTS_DIR (weights and reference files; default torch hub's checkpoints folder), "
              "FRECHET_MIRROR (URL serving every file by name), FRECHET_OFFLINE=1 (never download), TORCH_HOME"),
    "plugins": "FRECHET_PLUGINS (comma-separated plugins to load; empty for none)",
    "cache": "FRECHET_CACHE_DIR (default $XDG_CACHE_HOME/frechet, else ~/.cache/frechet)",
}


class _Parser(argparse.ArgumentParser):
    """argparse, but usage errors are one line like every other error."""

    def error(self, message: str) -> NoReturn:
        print(f"frechet: error: {_printable(message)} (see `{self.prog} --help`)", file=sys.stderr)
        raise SystemExit(EXIT_ERROR)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``frechet`` console script and ``python -m frechet``."""
    args = build_parser().parse_args(argv)
    from frechet import distributed

    _setup_logging(quiet=getattr(args, "quiet", False) or not distributed.is_main_process())
    try:
        with command_line():
            return args.run(args)
    except FrechetError as error:
        print(f"frechet: error: {_printable(str(error))}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("frechet: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # the reader (e.g. `| head`) stopped reading: not an error of ours
        _silence_stdout()
        return 0
    finally:
        distributed.shutdown()


# ---------------------------------------------------------------------------------------------------- the parser
def build_parser() -> argparse.ArgumentParser:
    """The argument parser for ``frechet``."""
    parser = _Parser(
        prog="frechet",
        description="Fréchet distances (FID, FAD, FD with any backbone) and the metrics around them.",
        epilog=_examples(
            "frechet compute real/ fake/ --embedder inception --metrics fid,kid",
            "frechet stats real/ -o real.npz",
            "frechet distance real.npz fake.npz",
            "frechet embedders",
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"frechet {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=_Parser)
    _add_compute(commands)
    _add_stats(commands)
    _add_distance(commands)
    _add_listings(commands)
    _add_store(commands)
    _add_cache(commands)
    return parser


def _command(
    commands: argparse._SubParsersAction, name: str, summary: str, description: str, examples: Sequence[str],
    environment: str, run: Callable[[argparse.Namespace], int] | None,
) -> argparse.ArgumentParser:
    parser = commands.add_parser(
        name, help=summary, description=description, formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=_examples(*examples) + f"\n\nenvironment: {_ENVIRONMENT[environment]}",
    )
    if run is not None:
        parser.set_defaults(run=run)
    return parser


def _examples(*lines: str) -> str:
    return "examples:\n" + "\n".join(f"  {line}" for line in lines)


def _add_compute(commands: argparse._SubParsersAction) -> None:
    compute = _command(
        commands, "compute", "score FAKE against REAL (folders, files, statistics .npz)",
        "Score FAKE (generated) against REAL (reference): each side is a folder or file of inputs, a feature file, "
        "or saved statistics (.npz). Prints the metrics, the items counted and the embedder used.",
        ["frechet compute real/ fake/ --metrics fid,is",
         "frechet compute real.npz fake/ --embedder inception --preprocess clean",
         "frechet compute real/ fake/ --embedder inception,dinov2-vitl14 --metrics fd --json",
         "frechet compute real_feats.npy fake_feats.npy --metrics fd,kid,prdc"],
        "run", _cmd_compute,
    )
    compute.add_argument("real", help="reference input, or its statistics .npz")
    compute.add_argument("fake", help="generated input, or its statistics .npz")
    compute.add_argument("--metrics", default="fd", metavar="LIST",
                         help="comma-separated metric names, e.g. fd,kid,prdc,is (`frechet metrics` lists them and "
                         "their aliases such as fid, fad); default fd")
    compute.add_argument("--metric-option", action="append", type=_key_value, default=[], metavar="KEY=VALUE",
                         help="a metric option (repeatable; `frechet metrics` lists each metric's)")
    compute.add_argument("--seed", type=_count, default=DEFAULT_SEED,
                         help=f"seed for sampling metrics (default {DEFAULT_SEED}, torch-fidelity's)")
    compute.add_argument("--save-stats", metavar="DIR", help="also save real.npz / fake.npz statistics in DIR")
    compute.add_argument("--force", action="store_true", help="compare statistics even if their embedders differ")
    compute.add_argument("--json", action="store_true", help="print one JSON object on the last line")
    _add_metric_flags(compute)
    _add_embedding_options(compute)


def _add_stats(commands: argparse._SubParsersAction) -> None:
    stats = _command(
        commands, "stats", "compute the statistics of INPUT and save them as .npz",
        "Compute the statistics (mean, covariance) of one input, e.g. a reference set, and save them as .npz "
        "(readable by pytorch-fid and clean-fid too). With several embedders, one file each: OUT.NAME.npz.",
        ["frechet stats real/ -o real.npz", "frechet stats real.zip -o real_clean.npz --preprocess clean",
         "frechet stats real/ -o ref.npz --embedder inception,dinov2-vitl14"],
        "run", _cmd_stats,
    )
    stats.add_argument("input", help="input folder or file")
    stats.add_argument("-o", "--out", required=True, metavar="OUT.npz", help="where to write the statistics")
    stats.add_argument("--json", action="store_true", help="print one JSON object on the last line")
    _add_embedding_options(stats)


def _add_distance(commands: argparse._SubParsersAction) -> None:
    distance = _command(
        commands, "distance", "Fréchet distance between two statistics or feature files",
        "The Fréchet distance between two statistics files (.npz with mu, sigma) or feature files (.npy/.npz "
        "rows); no model runs. A is reported as the real side, B as the fake one.",
        ["frechet distance real.npz fake.npz", "frechet distance a.npy b.npy --json",
         "frechet distance ours.npz pytorch_fid_stats.npz --force"],
        "run", _cmd_distance,
    )
    distance.add_argument("a", help="statistics .npz, or features .npy/.npz")
    distance.add_argument("b", help="statistics .npz, or features .npy/.npz")
    distance.add_argument("--force", action="store_true", help="compare even if the embedders differ")
    distance.add_argument("--skip-bad", action="store_true", help="skip feature rows holding NaN or Inf, and list them")
    distance.add_argument("--json", action="store_true", help="print one JSON object on the last line")


def _add_listings(commands: argparse._SubParsersAction) -> None:
    plugins = _command(
        commands, "plugins", "list installed plugins",
        "Installed plugins: loaded, disabled by FRECHET_PLUGINS, or failed (and why), with the hooks they implement. "
        "Plugins are Python code that runs with your permissions whenever frechet starts: install only ones you "
        "trust.",
        ["frechet plugins", "FRECHET_PLUGINS=inception frechet plugins", "frechet plugins --json"],
        "plugins", _cmd_plugins,
    )
    embedders = _command(
        commands, "embedders", "list embedders, or show one with its options",
        "The embedders the plugins registered: domain, outputs (with dimensions) and description. With a NAME, "
        "that embedder's outputs and declared options (type, default, help).",
        ["frechet embedders", "frechet embedders inception", "frechet embedders torchscript"],
        "plugins", _cmd_embedders,
    )
    embedders.add_argument("name", nargs="?", help="show this embedder's outputs and options")
    metrics = _command(
        commands, "metrics", "list metrics and their options",
        "The metrics the plugins registered, with their aliases, options and defaults.",
        ["frechet metrics", "frechet metrics --json"],
        "plugins", _cmd_metrics,
    )
    for listing in (plugins, embedders, metrics):
        listing.add_argument("--json", action="store_true", help="print one JSON object on the last line")


def _add_store(commands: argparse._SubParsersAction) -> None:
    """``frechet refs`` and ``frechet weights``: what the weights store can fetch, and what it holds."""
    refs = _command(
        commands, "refs", "list the named reference statistics (ref:NAME) and their provenance",
        "Published reference statistics usable as ref:NAME wherever a statistics file is: producing tool, dataset, "
        "split, item count, resolution, and the embedder and --preprocess that reproduce them. A full name (or a "
        "single match) shows every field.",
        ["frechet refs", "frechet refs cifar10", "frechet refs adm-imagenet256 --fetch",
         "frechet compute ref:ttur-cifar10-train fake/"],
        "store", _cmd_refs,
    )
    refs.add_argument("pattern", nargs="?", default="", help="only names containing PATTERN (all fields for one)")
    refs.add_argument("--fetch", action="store_true", help="download the listed references' files (verified, pinned)")
    weights = _command(
        commands, "weights", "the embedders' weights files: present or not, where, verified",
        "Each installed embedder's weights files: where frechet looks for them, whether each is there and passes its "
        "checksum, and the mirror and offline settings. Copy a file listed as missing into the weights folder to use "
        "frechet without internet.",
        ["frechet weights", "frechet weights --fetch", "FRECHET_WEIGHTS_DIR=/shared/weights frechet weights"],
        "store", _cmd_weights,
    )
    weights.add_argument("--fetch", action="store_true", help="download the missing files (verified)")
    for listing in (refs, weights):
        listing.add_argument("--json", action="store_true", help="print one JSON object on the last line")


def _add_cache(commands: argparse._SubParsersAction) -> None:
    cache = _command(
        commands, "cache", "list or clear the feature cache",
        "The feature cache keeps embedder results per shard of items, so re-runs and resumed runs skip the model.",
        ["frechet cache ls", "frechet cache clear --older-than 30d", "frechet cache clear --embedder inception"],
        "cache", None,
    )
    actions = cache.add_subparsers(dest="cache_action", required=True, metavar="ACTION", parser_class=_Parser)
    listing = _command(
        actions, "ls", "cached inputs per embedder: shards, items, outputs, size, last use",
        "Cached inputs per embedder: size, items, shards, last use, input path, embedder id and outputs held.",
        ["frechet cache ls", "frechet cache ls --json", "frechet cache ls --cache-dir /scratch/frechet"],
        "cache", _cmd_cache_ls,
    )
    clear = _command(
        actions, "clear", "remove cached shards: all, or those matching every filter",
        "Remove cached shards (all of them, or those matching every filter given), leftovers of killed runs, and "
        "files in the cache folder that frechet made but can no longer read.",
        ["frechet cache clear", "frechet cache clear --older-than 30d", "frechet cache clear --input datasets/ffhq"],
        "cache", _cmd_cache_clear,
    )
    clear.add_argument("--embedder", metavar="TEXT", help="only shards whose embedder id contains TEXT")
    clear.add_argument("--input", metavar="TEXT", help="only shards of inputs whose path contains TEXT")
    clear.add_argument("--older-than", type=_age, metavar="AGE", help="only shards unused for AGE (30d, 12h, 90m, 45s)")
    for action in (listing, clear):
        _add_cache_dir(action)
        action.add_argument("--json", action="store_true", help="print one JSON object on the last line")


#: compute's metric flags: argparse dest -> the metric options it sets, among those the chosen metrics use.
_METRIC_FLAGS = {
    "kid_subsets": ("kid_subsets",),
    "kid_subset_size": ("kid_subset_size",),
    "nearest_k": ("pr_nearest_k", "dc_nearest_k"),
    "bootstrap": ("fd_ci_bootstrap",),
    "confidence": ("fd_ci_confidence",),
}


def _add_metric_flags(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("metric options (each sets a --metric-option of the metrics that use it)")
    group.add_argument("--kid-subsets", type=_positive_int, metavar="N", help="KID: number of random subsets (100)")
    group.add_argument("--kid-subset-size", type=_positive_int, metavar="N",
                       help="KID: samples per subset (1000, clamped to the smaller side)")
    group.add_argument("--nearest-k", type=_positive_int, metavar="K",
                       help="k of the k-NN balls for pr, dc and prdc (default 3 for precision/recall, 5 for "
                       "density/coverage)")
    group.add_argument("--bootstrap", type=_positive_int, metavar="N", help="fd-ci: bootstrap resamples (200)")
    group.add_argument("--confidence", type=_fraction, metavar="C", help="fd-ci: interval confidence level (0.95)")


def _add_embedding_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("embedding")
    group.add_argument("--embedder", metavar="NAME[,NAME]",
                       help="embedder(s) (`frechet embedders`); default inception, or 'features' for feature files; "
                       "several share one decode of each item. torchscript:PATH and python:MODULE:FACTORY run the "
                       "code they name with your permissions (it can read and write your files), as plugins do: use "
                       "only ones you trust; onnx:PATH (onnxruntime) is the safer format for models from elsewhere")
    group.add_argument("--embedder-option", action="append", type=_key_value, default=[], metavar="KEY=VALUE",
                       help="embedder option (repeatable; `frechet embedders NAME` lists them); with several "
                       "embedders NAME.KEY=VALUE")
    group.add_argument("--preprocess", metavar="MODE",
                       help="shorthand for --embedder-option preprocess=MODE (e.g. inception: tf, pytorch-fid, clean)")
    group.add_argument("--weights", metavar="PATH", help="shorthand for --embedder-option weights=PATH")
    group.add_argument("--layer", metavar="OUTPUT",
                       help="which embedder output FD uses (default: the embedder's; `frechet embedders NAME`)")
    group.add_argument("--batch-size", type=_positive_int, default=DEFAULT_BATCH_SIZE, metavar="N",
                       help=f"items per batch ({DEFAULT_BATCH_SIZE})")
    group.add_argument("--device", help="cpu, cuda, cuda:N or mps (default: the best available)")
    group.add_argument("--workers", type=_count, metavar="N", help="DataLoader worker processes (default: auto)")
    group.add_argument("--precision", choices=tuple(PRECISIONS), default=DEFAULT_PRECISION,
                       help="forward-pass precision: fp32 (default), or bf16 autocast (faster on hardware with bf16 "
                       "units; FID differs slightly and the embedder id records it)")
    group.add_argument("--skip-bad", action="store_true", help="skip unreadable items and list them")
    group.add_argument("--quiet", action="store_true", help="no progress and no informational messages")
    cache = parser.add_argument_group("feature cache")
    _add_cache_dir(cache)
    cache.add_argument("--no-cache", action="store_true", help="neither read nor write the feature cache")
    cache.add_argument("--shard-size", type=_positive_int, default=DEFAULT_SHARD_SIZE, metavar="N",
                       help=f"items per cache shard: the unit of resuming and of sharing out over ranks "
                       f"({DEFAULT_SHARD_SIZE})")


def _add_cache_dir(parser: argparse.ArgumentParser | argparse._ArgumentGroup) -> None:
    parser.add_argument("--cache-dir", metavar="DIR",
                        help="feature cache folder (default: $FRECHET_CACHE_DIR, else ~/.cache/frechet)")


# ---------------------------------------------------------------------------------------------------- argument types
def _key_value(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got '{text}'")
    return key.strip().replace("-", "_"), value.strip()


def _whole(text: str, minimum: int) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got '{text}'") from None
    if value < minimum:
        raise argparse.ArgumentTypeError(f"must be at least {minimum}, got {value}")
    return value


def _positive_int(text: str) -> int:
    return _whole(text, 1)


def _count(text: str) -> int:
    return _whole(text, 0)


def _fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got '{text}'") from None
    if not 0.0 < value < 1.0:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1 (exclusive), got {value}")
    return value


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


# ---------------------------------------------------------------------------------------------------- arguments -> API
def _options(pairs: list[tuple[str, str]], flag: str) -> dict[str, str]:
    """KEY=VALUE pairs as a dict; the same key twice is an error, not a silent last-wins."""
    options: dict[str, str] = {}
    for key, value in pairs:
        if key in options:
            raise ConfigError(f"{flag} {key}= given twice ({options[key]!r} and {value!r}); give it once")
        options[key] = value
    return options


def _embedder_options(args: argparse.Namespace) -> dict[str, Any]:
    options = _options(args.embedder_option, "--embedder-option")
    for flag in ("preprocess", "weights"):
        value = getattr(args, flag)
        if value is not None:
            if flag in options:
                raise ConfigError(f"--{flag} and --embedder-option {flag}=… both given; use one")
            options[flag] = value
    return options


def _metric_options(args: argparse.Namespace, metrics: Sequence[str]) -> dict[str, Any]:
    """--metric-option values plus the metric flags, each mapped onto the options the chosen metrics use."""
    from frechet.plugins import get_registry

    options: dict[str, Any] = _options(args.metric_option, "--metric-option")
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


def _run_settings(args: argparse.Namespace) -> dict[str, Any]:
    return {
        "embedder": args.embedder,
        "embedder_options": _embedder_options(args),
        "layer": args.layer,
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


# ---------------------------------------------------------------------------------------------------- commands
def _cmd_compute(args: argparse.Namespace) -> int:
    from frechet import api, distributed

    metrics = [name.strip() for name in args.metrics.split(",") if name.strip()]
    result = api.compute(
        args.real, args.fake, metrics=metrics, metric_options=_metric_options(args, metrics), seed=args.seed,
        force=args.force, save_stats=args.save_stats, **_run_settings(args),
    )
    if distributed.is_main_process():
        _print_values(result.as_dict(), as_json=args.json)
    return 0


def _cmd_stats(args: argparse.Namespace) -> int:
    from frechet import api, distributed
    from frechet.runner import stats_path

    computed = api.compute_stats(args.input, save=args.out, **_run_settings(args))
    if not distributed.is_main_process():  # rank 0 writes and reports
        return 0
    several = isinstance(computed, dict)
    for name, stats in (computed.items() if several else [("", computed)]):
        meta = stats.meta
        _print_values(
            {"path": str(stats_path(Path(args.out), name, several)), "n": stats.n, "dim": stats.dim,
             "embedder": meta.get("embedder"), "output": meta.get("output"), "n_skipped": meta.get("n_skipped", 0),
             "skipped": meta.get("skipped", [])},
            as_json=args.json,
        )
    return 0


def _cmd_distance(args: argparse.Namespace) -> int:
    from frechet import api

    _print_values(api.fd(args.a, args.b, force=args.force, skip_bad=args.skip_bad).as_dict(), as_json=args.json)
    return 0


def _cmd_plugins(args: argparse.Namespace) -> int:
    from frechet.plugins import get_plugins, plugin_hooks

    rows = [
        {"name": r.name, "module": r.module, "distribution": r.distribution, "version": r.version,
         "status": r.status, "requires": list(r.requires), "hooks": plugin_hooks(r.name), "error": r.error}
        for r in get_plugins().records
    ]
    if args.json:
        print(json.dumps({"plugins": rows}))
        return 0
    _print_table(["NAME", "STATUS", "DISTRIBUTION", "VERSION", "HOOKS / ERROR"],
                 [[row["name"], row["status"], row["distribution"], row["version"],
                   row["error"] or ", ".join(hook.removeprefix("frechet_register_") for hook in row["hooks"])]
                  for row in rows])
    return 0


def _cmd_embedders(args: argparse.Namespace) -> int:
    from frechet.plugins import get_registry

    registry = get_registry()
    if args.name:
        return _show_embedder(registry.describe_embedder(args.name), as_json=args.json)
    rows = [_embedder_row(info) for info in registry.embedders()]
    if args.json:
        print(json.dumps({"embedders": rows}))
        return 0
    _print_table(["NAME", "DOMAIN", "OUTPUTS", "DESCRIPTION"],
                 [[row["name"], row["domain"], _outputs_text(row["outputs"]), row["description"]] for row in rows])
    return 0


def _embedder_row(info: Any) -> dict[str, Any]:
    return {"name": info.name + ("TARGET" if info.is_family else ""), "domain": info.domain,
            "outputs": dict(info.outputs), "aliases": list(info.aliases), "plugin": info.plugin,
            "description": info.description, "runs_user_code": info.runs_user_code,
            "options": None if info.options is None else [
                {"name": option.name, "type": option.kind, "default": _json_value(option.default),
                 "help": option.help} for option in info.options]}


def _show_embedder(info: Any, *, as_json: bool) -> int:
    row = _embedder_row(info)
    if as_json:
        print(json.dumps({"embedder": row}))
        return 0
    print(f"{row['name']} ({row['domain']}, plugin {row['plugin']}): {row['description']}")
    if row["aliases"]:
        print(f"aliases: {', '.join(row['aliases'])}")
    if row["runs_user_code"]:
        print("runs code from the file or module you name, with your permissions (it can read and write your files): "
              "use only ones you trust; for models from elsewhere, onnx:PATH is the safer format")
    print(f"outputs: {_outputs_text(row['outputs']) or 'found when the model is loaded'}")
    if row["options"] is None:
        print("options: passed on unchecked to the code it runs")
    elif row["options"]:
        print("options (--embedder-option KEY=VALUE):")
        _print_table(["  OPTION", "TYPE", "DEFAULT", "HELP"],
                     [[f"  {o['name']}", o["type"], "-" if o["default"] is None else str(o["default"]), o["help"]]
                      for o in row["options"]])
    else:
        print("options: none")
    return 0


def _outputs_text(outputs: dict[str, Any]) -> str:
    return ", ".join(f"{name}({dims})" if dims else name for name, dims in outputs.items())


def _cmd_metrics(args: argparse.Namespace) -> int:
    from frechet.plugins import get_registry

    rows = [
        {"name": i.name, "aliases": list(i.aliases), "plugin": i.plugin, "description": i.description,
         "options": {key: _json_value(value) for key, value in i.factory().options.items()}}
        for i in get_registry().metrics()
    ]
    if args.json:
        print(json.dumps({"metrics": rows}))
        return 0
    _print_table(["NAME", "ALIASES", "OPTIONS (DEFAULT)", "DESCRIPTION"],
                 [[row["name"], ", ".join(row["aliases"]) or "-",
                   ", ".join(f"{key}={value}" for key, value in row["options"].items()) or "-", row["description"]]
                  for row in rows])
    return 0


def _cmd_refs(args: argparse.Namespace) -> int:
    from frechet import references
    from frechet.weights import weights_dir

    exact = references.CATALOGUE.get(args.pattern.removeprefix(references.PREFIX))
    chosen = [exact] if exact else [ref for name, ref in references.CATALOGUE.items() if args.pattern.lower() in name]
    if not chosen:
        raise ConfigError(f"no reference name contains '{args.pattern}'; `frechet refs` lists them all")
    if args.fetch:
        for reference in chosen:
            references.local_path(reference, progress=not args.json)
    rows = [{**reference.describe(), "cached": references.is_cached(reference)} for reference in chosen]
    if args.json:
        print(json.dumps({"weights_dir": str(weights_dir()), "references": rows}))
    elif len(rows) == 1:
        _print_values({**rows[0], "options": " ".join(f"{k}={v}" for k, v in rows[0]["options"].items())},
                      as_json=False)
    else:
        _print_table(["NAME", "REPRODUCE WITH", "ITEMS", "RESOLUTION", "DATASET (SPLIT)"],
                     [[f"ref:{row['name']}" + (" *" if row["cached"] else ""), row["reproduce_with"],
                       f"{row['items']:,}" if row["items"] else UNKNOWN, row["resolution"] or UNKNOWN,
                       f"{row['dataset']} ({row['split']})"] for row in rows])
        print("* in the weights folder already")
    return 0


def _cmd_weights(args: argparse.Namespace) -> int:
    from frechet import weights
    from frechet.plugins import get_registry

    rows = []
    for info in get_registry().embedders():
        groups: dict[str, list[weights.WeightsSpec]] = {}
        for spec in getattr(info.factory, "weights", ()) or ():
            groups.setdefault(spec.expected_hash or spec.file_name, []).append(spec)  # same sha256: one file
        for specs in groups.values():
            if args.fetch:
                weights.resolve_weights(specs, progress=not args.json)
            found = weights.file_status(specs)
            rows.append({"embedder": info.name, "name": specs[0].name, "files": [spec.file_name for spec in specs],
                         "urls": [spec.url for spec in specs], "status": found.status,
                         "path": str(found.path) if found.path else None})
    where = {"weights_dir": str(weights.weights_dir()), "mirror": weights.mirror(), "offline": weights.is_offline()}
    if args.json:
        print(json.dumps({**where, "weights": rows}))
        return 0
    print(f"weights folder: {where['weights_dir']}  (${weights.WEIGHTS_DIR_ENV}, else torch hub's checkpoints)")
    print(f"mirror:         {where['mirror'] or UNKNOWN}  (${weights.MIRROR_ENV})")
    print(f"offline:        {'yes' if where['offline'] else 'no'}  (${weights.OFFLINE_ENV})")
    _print_table(["EMBEDDER", "FILE", "STATUS", "PATH"],
                 [[row["embedder"], row["files"][0], row["status"], row["path"] or UNKNOWN] for row in rows])
    return 0


def _cmd_cache_ls(args: argparse.Namespace) -> int:
    from frechet.cache import FeatureCache

    cache = FeatureCache(args.cache_dir)
    entries = cache.entries()
    leftovers = cache.leftovers()
    if args.json:
        print(json.dumps({"cache_dir": str(cache.root), "entries": [vars(entry) for entry in entries],
                          "unusable": leftovers.unusable, "foreign": leftovers.foreign}))
        return 0
    total = sum(entry.bytes for entry in entries)
    print(_printable(f"{cache.root}: {len(entries)} cached inputs, {_size(total)}"))
    _print_table(
        ["SIZE", "ITEMS", "SHARDS", "LAST USE", "INPUT", "EMBEDDER: OUTPUTS"],
        [[_size(entry.bytes), str(entry.items), str(entry.shards),
          time.strftime("%Y-%m-%d %H:%M", time.localtime(entry.last_used)), entry.input,
          f"{entry.embedder}: " + ", ".join(f"{output}({'+'.join(kinds)})" for output, kinds in entry.outputs.items())]
         for entry in entries],
    )
    if leftovers.unusable:
        print(_printable(f"{len(leftovers.unusable)} files frechet made but cannot use any more (damaged, of an older "
                         f"format, or left by killed runs), {_size(leftovers.unusable_bytes)}: `frechet cache clear` "
                         "removes them"))
    if leftovers.foreign:
        print(_printable(f"{len(leftovers.foreign)} files frechet did not make, left alone: "
                         f"{_some(leftovers.foreign)}"))
    return 0


def _some(paths: Sequence[str], shown: int = 3) -> str:
    more = f" and {len(paths) - shown} more" if len(paths) > shown else ""
    return ", ".join(paths[:shown]) + more


def _cmd_cache_clear(args: argparse.Namespace) -> int:
    from frechet.cache import FeatureCache

    cache = FeatureCache(args.cache_dir)
    cleared = cache.clear(embedder=args.embedder, input=args.input, older_than=args.older_than)
    if args.json:
        print(json.dumps({"cache_dir": str(cache.root), "files": cleared.files, "bytes": cleared.bytes,
                          "foreign": cleared.foreign}))
        return 0
    print(_printable(f"removed {cleared.files} files ({_size(cleared.bytes)}) from {cache.root}"))
    if cleared.foreign:
        print(_printable(f"left {len(cleared.foreign)} files frechet did not make: {_some(cleared.foreign)}; remove "
                         "them yourself if they are not needed"))
    return 0


# ---------------------------------------------------------------------------------------------------- printing
#: How text output shows a value nobody knows (a count a foreign statistics file does not record, say).
UNKNOWN = "-"


def _print_values(values: dict[str, Any], *, as_json: bool) -> None:
    if as_json:
        print(json.dumps({key: _json_value(value) for key, value in values.items()}))
        return
    width = max(len(key) for key in values)
    for key, value in values.items():
        print(f"{key:<{width}}  {_printable(_text(value))}")


def _text(value: Any) -> str:
    if value is None:
        return UNKNOWN
    if isinstance(value, list):
        return ", ".join(map(str, value)) if value else UNKNOWN
    if isinstance(value, float):
        return f"{value:.10g}"
    return str(value)


def _print_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    """Rows under a header, columns aligned; the last column runs on unpadded."""
    cells = [list(header), *[[_printable(cell) for cell in row] for row in rows]]
    widths = [max(len(row[column]) for row in cells) for column in range(len(header) - 1)]
    for row in cells:
        print("  ".join([cell.ljust(width) for cell, width in zip(row, widths)] + [row[-1]]).rstrip())


def _json_value(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, tuple):
        return list(value)
    return value


def _size(n_bytes: int) -> str:
    value = float(n_bytes)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} TB"


def _printable(text: str) -> str:
    """Control characters (a newline in a file name, say) shown escaped, so no name can forge a line of output."""
    return "".join(char if char.isprintable() or char == " " else repr(char)[1:-1] for char in text)


def _setup_logging(*, quiet: bool) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_Formatter("frechet: %(levelname)s: %(message)s"))
    log.handlers[:] = [handler]
    log.setLevel(logging.WARNING if quiet else logging.INFO)
    log.propagate = False


class _Formatter(logging.Formatter):
    """Lower-case level names, and messages with control characters escaped."""

    def format(self, record: logging.LogRecord) -> str:
        record.levelname = record.levelname.lower()
        record.msg, record.args = _printable(record.getMessage()), None
        return super().format(record)


def _silence_stdout() -> None:
    """After a broken pipe, point stdout at /dev/null so Python's exit flush does not raise again."""
    import os

    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
