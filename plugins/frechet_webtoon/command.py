"""``frechet webtoon panels INPUT -o OUT``: the panels the ``webtoon:`` input feeds an embedder, written as lossless
PNG files (``OUT/EPISODE/panel-007.png``), with a contact sheet per episode showing where the strip was cut."""

from __future__ import annotations

import argparse
import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PIL import Image

from frechet.cli.arguments import add_source_option, source_options
from frechet.errors import ConfigError, OutputError
from frechet.io import check_outputs_apart
from frechet.source_options import check_taken, source_values
from frechet_webtoon.contact import contact_sheet
from frechet_webtoon.cut_options import CUT_OPTIONS, add_cut_flags, flag_values
from frechet_webtoon.cutter import CutSettings
from frechet_webtoon.source import CutEpisode, PanelSource, cut_input

log = logging.getLogger("frechet")

SUMMARY = "cut webtoon episodes into panels: the webtoon:PATH input, written out"
DESCRIPTION = (
    "webtoon panels INPUT -o OUT cuts each episode of INPUT (a folder of slices stitched top to bottom in natural "
    "order, one tall image, or a folder of episodes) at its gutters, exactly as the webtoon:INPUT input does, and "
    "writes every item it would feed an embedder as a lossless PNG file OUT/EPISODE/panel-007.png (tiles of tall "
    "panels: panel-007-tile-2.png), and a contact sheet per episode (OUT-contact/EPISODE.png: kept panels framed in "
    "green, tiles marked in blue at the left, dropped fragments in red). --json prints each item's file and its "
    "first and last row in the stitched strip (rows from 0 at the top of the first slice)."
)
EXAMPLES = ("frechet webtoon panels episode-01/ -o panels/", "frechet webtoon panels episodes/ -o panels/ --json",
            "frechet stats panels/ -o panels.npz   # the same statistics as: frechet stats webtoon:episodes/")


def build(parser: argparse.ArgumentParser) -> Callable[[argparse.Namespace], int]:
    """``frechet webtoon``'s subcommands (``panels``); returns the function that runs the chosen one."""
    commands = parser.add_subparsers(dest="webtoon_command", required=True, metavar="COMMAND")
    panels = commands.add_parser("panels", help="write the panels of episodes as PNG files, with contact sheets",
                                 description=DESCRIPTION)
    panels.add_argument("input", metavar="INPUT", help="an episode folder of slices, a tall image, or a folder of "
                        "episodes (a webtoon:INPUT prefix is accepted too)")
    panels.add_argument("-o", "--out", required=True, type=Path, metavar="OUT",
                        help="new or empty folder for the PNG panels")
    panels.add_argument("--contact", type=Path, metavar="DIR",
                        help="folder for the contact sheets (default: OUT-contact beside OUT)")
    add_source_option(panels)
    add_cut_flags(panels)
    panels.add_argument("--json", action="store_true", help="print one JSON object on the last line")
    panels.add_argument("--quiet", action="store_true", help="no informational messages")
    return run_panels


def run_panels(args: argparse.Namespace) -> int:
    """Cut, then write the panels and contact sheets; prints a summary (or JSON)."""
    input = args.input.removeprefix("webtoon:")
    contact = args.contact or args.out.with_name(args.out.name + "-contact")
    for folder in (args.out, contact):
        if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
            raise OutputError(f"{folder}: exists and is not an empty folder; name a new folder (nothing is "
                              "overwritten)")
    check_outputs_apart([args.out, contact], [input])
    settings = CutSettings(**source_values("webtoon", CUT_OPTIONS, _cut_options(args)))
    episodes = cut_input(input, settings)
    source = PanelSource(episodes, f"webtoon:{input}", settings)
    report = write_panels(source, episodes, args.out, contact)
    if args.json:
        print(json.dumps(report))
    else:
        for episode in report["episodes"]:
            print(f"{episode['name']}: {len(episode['items'])} items from {episode['panels']} panels, "
                  f"{episode['dropped']} fragment(s) dropped; contact sheet {episode['contact']}")
        print(f"{len(source)} PNG panels in {args.out}")
    return 0


def _cut_options(args: argparse.Namespace) -> dict[str, Any]:
    """The cutting settings given as flags or as ``--source-option`` (one way each), checked as the ``webtoon:``
    input checks them."""
    given = source_options(args)
    flags = flag_values(args)
    both = sorted(given.keys() & flags.keys())
    if both:
        raise ConfigError(f"--{both[0].replace('_', '-')} and --source-option {both[0]}=… both given; use one")
    check_taken(given, {"webtoon": CUT_OPTIONS})
    return {**given, **flags}


def write_panels(source: PanelSource, episodes: list[CutEpisode], out: Path, contact: Path) -> dict[str, Any]:
    """Write every item of ``source`` under ``out`` and each episode's contact sheet under ``contact``; return what
    was written, per episode."""
    report: dict[str, Any] = {"out": str(out), "contact": str(contact), "settings": source.settings.as_dict(),
                              "episodes": []}
    index = 0
    for each in episodes:
        episode, cut = each.episode, each.cut
        items = []
        for piece in cut.pieces:
            path = out / episode.name / f"{piece.name}.png"
            path.parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray(source.load(index)).save(path)
            items.append({"item": source.item_name(index), "file": str(path), "first_row": piece.top,
                          "last_row": piece.bottom, "panel": piece.panel, "tile": piece.tile})
            index += 1
        sheet = contact / f"{episode.name}.png"
        sheet.parent.mkdir(parents=True, exist_ok=True)
        contact_sheet(episode, cut).save(sheet)
        report["episodes"].append({
            "name": episode.name, "width": episode.width, "height": episode.height,
            "slices": [str(piece.path) for piece in episode.slices],
            "background": list(cut.background) if cut.background is not None else None,
            "panels": len(cut.panels), "dropped": len(cut.fragments),
            "fragments": [list(rows) for rows in cut.fragments], "contact": str(sheet), "items": items,
        })
    return report
