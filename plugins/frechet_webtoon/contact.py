"""Contact sheets: an episode's strip shrunk to a narrow column, folded into side-by-side columns, with where it was
cut drawn on it. Built slice by slice, so its memory is that of one slice and the (small) sheet."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

from frechet_webtoon.cutter import Cut
from frechet_webtoon.episodes import Episode, read_slice

#: Width of the shrunk strip, and the tallest column of the sheet, in pixels.
SHEET_WIDTH, COLUMN_HEIGHT, GAP = 120, 1600, 12
PANEL, TILE, FRAGMENT = (0, 200, 0), (40, 90, 255), (230, 0, 0)


def contact_sheet(episode: Episode, cut: Cut) -> Image.Image:
    """The strip at ``SHEET_WIDTH`` px wide, kept panels framed in green, tiles of tall panels as blue bars at the
    left edge, dropped fragments framed in red; folded into columns at most ``COLUMN_HEIGHT`` px tall."""
    scale = SHEET_WIDTH / episode.width
    height = max(1, round(episode.height * scale))
    strip = Image.new("RGB", (SHEET_WIDTH, height), (128, 128, 128))
    for piece in episode.slices:
        top, bottom = round(piece.top * scale), round((piece.top + piece.height) * scale)
        if bottom > top:
            shrunk = Image.fromarray(read_slice(piece, episode.width)).resize((SHEET_WIDTH, bottom - top),
                                                                               Image.Resampling.BOX)
            strip.paste(shrunk, (0, top))
    draw = ImageDraw.Draw(strip)
    for first, last in cut.panels:
        draw.rectangle((0, round(first * scale), SHEET_WIDTH - 1, round(last * scale)), outline=PANEL, width=2)
    for number, piece in enumerate(p for p in cut.pieces if p.tile):
        x = 4 + 6 * (number % 2)
        draw.rectangle((x, round(piece.top * scale), x + 3, round(piece.bottom * scale)), fill=TILE)
    for first, last in cut.fragments:
        draw.rectangle((0, round(first * scale), SHEET_WIDTH - 1, round(last * scale)), outline=FRAGMENT, width=2)
    return _fold(strip)


def _fold(strip: Image.Image) -> Image.Image:
    """A tall column cut into columns of at most ``COLUMN_HEIGHT`` px, side by side."""
    count = max(1, int(np.ceil(strip.height / COLUMN_HEIGHT)))
    rows = min(strip.height, COLUMN_HEIGHT)
    sheet = Image.new("RGB", (count * (SHEET_WIDTH + GAP) - GAP, rows), (255, 255, 255))
    for column in range(count):
        sheet.paste(strip.crop((0, column * rows, SHEET_WIDTH, min(strip.height, (column + 1) * rows))),
                    (column * (SHEET_WIDTH + GAP), 0))
    return sheet
