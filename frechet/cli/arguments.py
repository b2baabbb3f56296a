"""The pieces every command's parser shares: one-line usage errors, help with examples and environment, argument
types, the embedding and metric option groups, and the mapping of those arguments onto the API's settings."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from typing import Any, NoReturn

from frechet.cli.output import printable
from frechet.errors import ConfigError
from frechet.precision import DEFAULT_PRECISION, PRECISIONS
from frechet.settings import DEFAULT_BATCH_SIZE, DEFAULT_SHARD_SIZE

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


class Parser(argparse.ArgumentParser):
    """argparse, but usage errors are one line like every other error, with a hint where one helps (a peer tool's
    flag, a misspelt command) and a pointer to the help of the command that was used."""

    def parse_args(self, args: Sequence[str] | None = None, namespace: Any = None) -> Any:  # type: ignore[override]
        self._argv = list(sys.argv[1:] if args is None else args)
        parsed, extras = self.parse_known_args(self._argv, namespace)
        if extras:  # reported by the command's own parser, so that the pointer names its help
            self._command_parser(getattr(parsed, "command", None)).error(
                f"unrecognized arguments: {' '.join(extras)}")
        return parsed

    def error(self, message: str) -> NoReturn:
        from frechet.cli.hints import hint

        advice = hint(message, getattr(self, "_argv", sys.argv[1:]), list(self._subcommands()))
        advice = f"; {advice}" if advice else ""
        print(f"frechet: error: {printable(message)}{printable(advice)} (see `{self.prog} --help`)", file=sys.stderr)
        raise SystemExit(EXIT_ERROR)

    def _subcommands(self) -> dict[str, argparse.ArgumentParser]:
        for action in self._actions:
            if isinstance(action, argparse._SubParsersAction):
                return dict(action.choices)
        return {}

    def _command_parser(self, command: str | None) -> argparse.ArgumentParser:
        return self._subcommands().get(command or "", self)


def add_command(
    commands: argparse._SubParsersAction, name: str, summary: str, description: str, examples: Sequence[str],
    environment: str, run: Callable[[argparse.Namespace], int] | None,
) -> argparse.ArgumentParser:
    """A subcommand with its summary, description, examples and environment; ``run`` handles it."""
    parser = commands.add_parser(
        name, help=summary, description=description, formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=examples_text(*examples) + f"\n\nenvironment: {_ENVIRONMENT[environment]}",
    )
    if run is not None:
        parser.set_defaults(run=run)
    return parser


def examples_text(*lines: str) -> str:
    """An ``examples:`` block for a help epilog, one indented line each."""
    return "examples:\n" + "\n".join(f"  {line}" for line in lines)


#: compute's metric flags: argparse dest -> the metric options it sets, among those the chosen metrics use.
_METRIC_FLAGS = {
    "kid_subsets": ("kid_subsets",),
    "kid_subset_size": ("kid_subset_size",),
    "nearest_k": ("pr_nearest_k", "dc_nearest_k"),
    "bootstrap": ("fd_ci_bootstrap",),
    "confidence": ("fd_ci_confidence",),
}


def add_embedding_options(parser: argparse.ArgumentParser) -> None:
    """The embedding and feature-cache options of every command that runs an embedder."""
    group = parser.add_argument_group("embedding")
    group.add_argument("--embedder", metavar="NAME[,NAME]",
                       help="embedder(s) (`frechet embedders`); default inception, or 'features' for feature files; "
                       "several share one decode of each item. torchscript:PATH and python:MODULE:FACTORY run the "
                       "code they name with your permissions (it can read and write your files), as plugins do: use "
                       "only ones you trust; onnx:PATH (onnxruntime) is the safer format for models from elsewhere")
    group.add_argument("--embedder-option", action="append", type=key_value, default=[], metavar="KEY=VALUE",
                       help="embedder option (repeatable; `frechet embedders NAME` lists them); with several "
                       "embedders NAME.KEY=VALUE")
    group.add_argument("--preprocess", metavar="MODE",
                       help="shorthand for --embedder-option preprocess=MODE (e.g. inception: tf, pytorch-fid, clean)")
    group.add_argument("--weights", metavar="PATH", help="shorthand for --embedder-option weights=PATH")
    add_source_option(group)
    group.add_argument("--layer", metavar="OUTPUT",
                       help="which embedder output FD uses (default: the embedder's; `frechet embedders NAME`)")
    group.add_argument("--batch-size", type=positive_int, default=DEFAULT_BATCH_SIZE, metavar="N",
                       help=f"items per batch ({DEFAULT_BATCH_SIZE})")
    group.add_argument("--device", help="cpu, cuda, cuda:N or mps (default: the best available)")
    group.add_argument("--workers", type=count, metavar="N", help="DataLoader worker processes (default: auto)")
    group.add_argument("--precision", choices=tuple(PRECISIONS), default=DEFAULT_PRECISION,
                       help="forward-pass precision: fp32 (default), or bf16 autocast (faster on hardware with bf16 "
                       "units; FID differs slightly and the embedder id records it)")
    group.add_argument("--skip-bad", action="store_true", help="skip unreadable items and list them")
    group.add_argument("--quiet", action="store_true", help="no progress and no informational messages")
    cache = parser.add_argument_group("feature cache")
    add_cache_dir(cache)
    cache.add_argument("--no-cache", action="store_true", help="neither read nor write the feature cache")
    cache.add_argument("--shard-size", type=positive_int, default=DEFAULT_SHARD_SIZE, metavar="N",
                       help=f"items per cache shard: the unit of resuming and of sharing out over ranks "
                       f"({DEFAULT_SHARD_SIZE})")


def add_source_option(parser: argparse.ArgumentParser | argparse._ArgumentGroup) -> None:
    """``--source-option KEY=VALUE``, repeatable."""
    parser.add_argument("--source-option", action="append", type=key_value, default=[], metavar="KEY=VALUE",
                        help="an option of the inputs' source kind, e.g. column=SMILES for CSV tables or min_gutter=12 "
                        "for webtoon: episodes (repeatable; `frechet sources KIND` lists them)")


def source_options(args: argparse.Namespace) -> dict[str, str]:
    """The ``--source-option`` values, by name."""
    return _options(args.source_option, "--source-option")


def add_cache_dir(parser: argparse.ArgumentParser | argparse._ArgumentGroup) -> None:
    """``--cache-dir DIR``."""
    parser.add_argument("--cache-dir", type=path, metavar="DIR",
                        help="feature cache folder (default: $FRECHET_CACHE_DIR, else ~/.cache/frechet)")


def path(text: str) -> str:
    """Argument type of a file or folder path: refused at once when no filesystem could hold it (a name over 255
    bytes, a path over PATH_MAX), so no command starts work it cannot finish or fails with a raw OSError."""
    from frechet.io import check_path_length, short_path

    try:
        check_path_length(text, short_path(text), ConfigError)
    except ConfigError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    return text


def key_value(text: str) -> tuple[str, str]:
    """Argument type of ``KEY=VALUE``: the pair, with hyphens in the key's last part made underscores."""
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got '{text}'")
    owner, dot, name = key.strip().rpartition(".")  # NAME.KEY: the embedder's or metric's name keeps its hyphens
    return f"{owner}{dot}{name.replace('-', '_')}", value.strip()


def _whole(text: str, minimum: int) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got '{text}'") from None
    if value < minimum:
        raise argparse.ArgumentTypeError(f"must be at least {minimum}, got {value}")
    return value


def positive_int(text: str) -> int:
    """Argument type of a whole number of at least 1."""
    return _whole(text, 1)


def count(text: str) -> int:
    """Argument type of a whole number of at least 0."""
    return _whole(text, 0)


def _fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got '{text}'") from None
    if not 0.0 < value < 1.0:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1 (exclusive), got {value}")
    return value


#: Each metric flag: its argument type, value name and help.
_METRIC_FLAG_HELP: dict[str, tuple[Callable[[str], Any], str, str]] = {
    "kid_subsets": (positive_int, "N", "KID: number of random subsets (100)"),
    "kid_subset_size": (positive_int, "N", "KID: samples per subset (1000, clamped to the smaller side)"),
    "nearest_k": (positive_int, "K", "k of the k-NN balls for pr, dc and prdc (default 3 for precision/recall, 5 "
                  "for density/coverage)"),
    "bootstrap": (positive_int, "N", "fd-ci: bootstrap resamples (200)"),
    "confidence": (_fraction, "C", "fd-ci: interval confidence level (0.95)"),
}


def add_metric_flags(parser: argparse.ArgumentParser, only: Sequence[str] | None = None) -> None:
    """The flags that set metric options (``--kid-subsets``, ``--nearest-k``, …): all, or ``only`` these."""
    group = parser.add_argument_group("metric options (each sets a --metric-option of the metrics that use it)")
    for dest in only or _METRIC_FLAGS:
        kind, metavar, text = _METRIC_FLAG_HELP[dest]
        group.add_argument("--" + dest.replace("_", "-"), dest=dest, type=kind, metavar=metavar, help=text)


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


def metric_options(args: argparse.Namespace, metrics: Sequence[str]) -> dict[str, Any]:
    """--metric-option values plus the metric flags, each mapped onto the options the chosen metrics use."""
    from frechet.plugins import get_registry

    options: dict[str, Any] = _options(args.metric_option, "--metric-option")
    used: set[str] = set()
    for name in metrics:
        used.update(get_registry().metric_info(name).factory().options)
    for dest, names in _METRIC_FLAGS.items():
        value = getattr(args, dest, None)
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


def run_settings(args: argparse.Namespace) -> dict[str, Any]:
    """The settings every command that runs an embedder passes to the API."""
    return {
        "embedder": args.embedder,
        "embedder_options": _embedder_options(args),
        "source_options": source_options(args),
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
