"""The cutter's settings as options of the ``webtoon:`` input (``--source-option min_gutter=12``) and flags of
``frechet webtoon panels`` (``--min-gutter 12``): one declaration for both, with the defaults of
:class:`frechet_webtoon.cutter.CutSettings`."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from frechet.options import Option, in_range
from frechet_webtoon.cutter import CutSettings

#: The tallest gutter or smallest panel a setting may ask for, in rows (far beyond any strip's needs).
_MAX_ROWS = 1 << 20
_ROWS = in_range(int, lambda rows: 1 <= rows <= _MAX_ROWS, f"a whole number of rows from 1 to {_MAX_ROWS:,}")
_DEFAULTS = CutSettings()

#: The ``webtoon:`` source kind's options: the fields of CutSettings, by the same names.
CUT_OPTIONS = (
    Option("min_gutter", _ROWS, _DEFAULTS.min_gutter,
           help="fewest rows of background colour that make a gutter; shorter bands stay inside their panel"),
    Option("min_panel", _ROWS, _DEFAULTS.min_panel,
           help="fewest rows a panel has; shorter pieces between gutters are fragments, dropped and counted"),
    Option("tolerance", in_range(int, lambda levels: 0 <= levels <= 255, "a whole number of levels from 0 to 255"),
           _DEFAULTS.tolerance,
           help="how far (levels of 0-255, any channel) a gutter's pixels may stray from the background colour"),
    Option("tile_ratio", in_range(float, lambda ratio: 0 < ratio <= 1000, "a number above 0, at most 1,000"),
           _DEFAULTS.tile_ratio,
           help="a panel taller than this many times the width is cut into tiles this many widths tall"),
    Option("overlap", in_range(float, lambda share: 0 <= share < 1, "a number from 0 up to (not including) 1"),
           _DEFAULTS.overlap,
           help="least share of a tile that neighbouring tiles of a tall panel have in common"),
)


def add_cut_flags(parser: argparse.ArgumentParser) -> None:
    """``--min-gutter ROWS``, ``--min-panel ROWS``, ``--tolerance LEVELS``, ``--tile-ratio R``, ``--overlap F``: the
    options of the ``webtoon:`` input, checked as they are there."""
    group = parser.add_argument_group("cutting (the options of the webtoon: input, with the same names)")
    for option in CUT_OPTIONS:
        group.add_argument("--" + option.name.replace("_", "-"), dest=option.name, type=_flag_type(option),
                           metavar=option.name.upper(), help=f"{option.help} ({option.default})")


def flag_values(args: argparse.Namespace) -> dict[str, Any]:
    """The cutting flags given on the command line, by option name."""
    return {option.name: getattr(args, option.name) for option in CUT_OPTIONS
            if getattr(args, option.name) is not None}


def _flag_type(option: Option) -> Callable[[str], Any]:
    def parse(text: str) -> Any:
        try:
            return option.parse(text)
        except ValueError as error:
            raise argparse.ArgumentTypeError(f"{error}; {option.name} is {option.kind}") from None

    return parse
