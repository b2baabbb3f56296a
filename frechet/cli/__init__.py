"""The ``frechet`` command: parses arguments onto the Python API and prints what it returns; errors become one line
on stderr and exit code 2. Nothing heavy (torch, plugins) is imported until a command needs it."""

from __future__ import annotations

import argparse
import shlex
import sys
from collections.abc import Sequence

from frechet._openmp import sleep_idle_threads
from frechet.caller import command_line
from frechet.cli.arguments import EXIT_ERROR, Parser, examples_text
from frechet.cli.cache import add_cache
from frechet.cli.listings import add_listings, add_store
from frechet.cli.output import printable, setup_logging, silence_stdout
from frechet.cli.plugin_commands import add_plugin_commands
from frechet.cli.report import add_report, add_sanity
from frechet.cli.running import add_compute, add_distance, add_stats
from frechet.errors import FrechetError
from frechet.version import __version__


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``frechet`` console script and ``python -m frechet``."""
    sleep_idle_threads()  # before anything imports torch
    args = build_parser(sys.argv[1:] if argv is None else argv).parse_args(argv)
    args.command_line = shlex.join(["frechet", *(sys.argv[1:] if argv is None else argv)])
    from frechet import distributed

    setup_logging(quiet=getattr(args, "quiet", False) or not distributed.is_main_process())
    try:
        with command_line():
            return args.run(args)
    except FrechetError as error:
        print(f"frechet: error: {printable(str(error))}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("frechet: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # the reader (e.g. `| head`) stopped reading: not an error of ours
        silence_stdout()
        return 0
    finally:
        distributed.shutdown()


def build_parser(argv: Sequence[str] = ()) -> argparse.ArgumentParser:
    """The argument parser for ``frechet``: the built-in commands, and the plugins' commands when ``argv`` names
    none of those."""
    parser = Parser(
        prog="frechet",
        description="Fréchet distances (FID, FAD, FD with any backbone) and the metrics around them. Plugins may add "
        "commands of their own (`frechet plugins` lists the hooks each implements).",
        epilog=examples_text(
            "frechet compute real/ fake/ --embedder inception --metrics fid,kid",
            "frechet stats real/ -o real.npz",
            "frechet distance real.npz fake.npz",
            "frechet report real/ fake/ -o report.html",
            "frechet sanity real/ --embedder inception",
            "frechet embedders",
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"frechet {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=Parser)
    add_compute(commands)
    add_stats(commands)
    add_distance(commands)
    add_report(commands)
    add_sanity(commands)
    add_listings(commands)
    add_store(commands)
    add_cache(commands)
    add_plugin_commands(commands, argv)
    return parser
