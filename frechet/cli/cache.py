"""``frechet cache ls`` and ``frechet cache clear``: what the feature cache holds, and removing it."""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Sequence

from frechet.cli.arguments import Parser, add_cache_dir, add_command
from frechet.cli.output import print_table, printable, size_text


def add_cache(commands: argparse._SubParsersAction) -> None:
    """``frechet cache`` with its actions ``ls`` and ``clear``."""
    cache = add_command(
        commands, "cache", "list or clear the feature cache",
        "The feature cache keeps embedder results per shard of items, so re-runs and resumed runs skip the model.",
        ["frechet cache ls", "frechet cache clear --older-than 30d", "frechet cache clear --embedder inception"],
        "cache", None,
    )
    actions = cache.add_subparsers(dest="cache_action", required=True, metavar="ACTION", parser_class=Parser)
    listing = add_command(
        actions, "ls", "cached inputs per embedder: shards, items, outputs, size, last use",
        "Cached inputs per embedder: size, items, shards, last use, input path, embedder id and outputs held.",
        ["frechet cache ls", "frechet cache ls --json", "frechet cache ls --cache-dir /scratch/frechet"],
        "cache", _cmd_cache_ls,
    )
    clear = add_command(
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
        add_cache_dir(action)
        action.add_argument("--json", action="store_true", help="print one JSON object on the last line")


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


def _cmd_cache_ls(args: argparse.Namespace) -> int:
    from frechet.cache import FeatureCache

    cache = FeatureCache(args.cache_dir)
    entries = cache.entries()
    leftovers = cache.leftovers()
    total = cache.total_bytes()  # what `clear` with no filter frees, counted as it counts
    if args.json:
        print(json.dumps({"cache_dir": str(cache.root), "bytes": total, "entries": [vars(entry) for entry in entries],
                          "unusable": leftovers.unusable, "foreign": leftovers.foreign}))
        return 0
    print(printable(f"{cache.root}: {len(entries)} cached inputs, {size_text(total)} in all (`frechet cache clear` "
                    "frees it)"))
    print_table(
        ["SIZE", "ITEMS", "SHARDS", "LAST USE", "INPUT", "EMBEDDER: OUTPUTS"],
        [[size_text(entry.bytes), str(entry.items), str(entry.shards),
          time.strftime("%Y-%m-%d %H:%M", time.localtime(entry.last_used)), entry.input,
          f"{entry.embedder}: " + ", ".join(f"{output}({'+'.join(kinds)})" for output, kinds in entry.outputs.items())]
         for entry in entries],
    )
    if leftovers.unusable:
        print(printable(f"{len(leftovers.unusable)} files frechet made but cannot use any more (damaged, of an older "
                        f"format, or left by killed runs), {size_text(leftovers.unusable_bytes)}: "
                        "`frechet cache clear` removes them"))
    if leftovers.foreign:
        print(printable(f"{len(leftovers.foreign)} files frechet did not make, left alone: "
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
    print(printable(f"removed {cleared.files} files ({size_text(cleared.bytes)}) from {cache.root}"))
    if cleared.foreign:
        print(printable(f"left {len(cleared.foreign)} files frechet did not make: {_some(cleared.foreign)}; remove "
                        "them yourself if they are not needed"))
    return 0
