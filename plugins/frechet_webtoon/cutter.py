"""Cutting a strip into panels from one streaming pass over its rows.

Each row is reduced to its mean colour and the number of its pixels further than ``tolerance`` levels from that mean
(in any channel), slice by slice, so an episode of any length is read with the memory of one slice. A row is
*uniform* when (almost) no pixel is an outlier; the strip's background colour is the colour of the most numerous
uniform bands at least ``min_gutter`` rows tall; gutters are the runs of uniform rows of that colour at least
``min_gutter`` tall, and panels are what lies between them. A bordered panel's frame, or a balloon or art crossing a
gutter, puts outliers in every row it spans, so it is never cut; slice boundaries play no part. Panels shorter than
``min_panel`` rows are dropped (and counted); panels taller than ``tile_ratio`` × the width are cut into tiles of
that height that overlap by at least ``overlap`` of a tile.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict, dataclass

import numpy as np

#: Rows reduced at a time (bounds the temporaries of one slice's reduction).
_CHUNK_ROWS = 256
#: How far (levels) a gutter's row colours may spread, and how many rows at each end of a band are left out of that.
_FLAT_LEVELS, _EDGE_ROWS = 4.0, 8
#: Width (levels) of the colour bins votes for the background fall in; neighbouring bins count as one colour.
_COLOUR_BIN = 8
#: Largest change of a row's mean colour from the row above within one band.
_STEP_LEVELS = 4.0


@dataclass(frozen=True)
class CutSettings:
    """How a strip is cut: every value is in rows of the stitched strip, or levels of 0-255, or a ratio."""

    min_gutter: int = 8
    min_panel: int = 32
    tolerance: int = 32
    tile_ratio: float = 2.0
    overlap: float = 0.25

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


@dataclass(frozen=True)
class Piece:
    """One item: rows ``top`` to ``bottom`` (inclusive) of the strip; ``panel`` counts kept panels from 1 and
    ``tile`` a tall panel's tiles from 1 (0: the whole panel)."""

    top: int
    bottom: int
    panel: int
    tile: int = 0

    @property
    def name(self) -> str:
        return f"panel-{self.panel:03d}" + (f"-tile-{self.tile}" if self.tile else "")


@dataclass(frozen=True)
class Cut:
    """A strip's panels (first and last row each), its background colour (None: no gutter found), the pieces fed
    to an embedder, and the fragments under ``min_panel`` rows that were dropped (first and last row each)."""

    panels: tuple[tuple[int, int], ...]
    background: tuple[int, int, int] | None
    pieces: tuple[Piece, ...]
    fragments: tuple[tuple[int, int], ...]


@dataclass(frozen=True)
class Profile:
    """A strip's rows reduced: (h, 3) float32 mean colours, and (h,) int32 counts of the pixels further than
    ``tolerance`` (``outliers``) and twice that (``strong``) from their row's mean in some channel."""

    means: np.ndarray
    outliers: np.ndarray
    strong: np.ndarray


class RowProfile:
    """A :class:`Profile` filled slice by slice."""

    def __init__(self, tolerance: int) -> None:
        self.tolerance = tolerance
        self._parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []

    def add(self, pixels: np.ndarray) -> None:
        """Reduce the rows of ``pixels`` (uint8 (h, w, 3)), appended below those added before."""
        for start in range(0, pixels.shape[0], _CHUNK_ROWS):
            block = pixels[start:start + _CHUNK_ROWS].astype(np.int16)
            means = block.mean(axis=1, dtype=np.float32)
            deviation = np.abs(block - np.rint(means).astype(np.int16)[:, None, :]).max(axis=2)
            self._parts.append((means, (deviation > self.tolerance).sum(axis=1, dtype=np.int32),
                                (deviation > 2 * self.tolerance).sum(axis=1, dtype=np.int32)))

    def profile(self) -> Profile:
        """Every row added so far."""
        if not self._parts:
            return Profile(np.zeros((0, 3), np.float32), np.zeros(0, np.int32), np.zeros(0, np.int32))
        return Profile(*(np.concatenate(part) for part in zip(*self._parts)))


def cut_strip(profile: Profile, width: int, settings: CutSettings) -> Cut:
    """Panels and pieces of a strip of ``width`` from its row profile."""
    allowed = width // 256  # outliers a gutter row may hold (a speck of noise)
    uniform = profile.outliers <= allowed
    background = _background(profile.means, uniform, settings)
    gutter = np.zeros(len(uniform), bool)
    if background is not None:
        near = np.abs(profile.means - np.asarray(background, np.float32)).max(axis=1) <= settings.tolerance
        gutter = uniform & near
        _widen(gutter, near & (profile.strong <= allowed), settings.min_gutter)
    content = ~gutter
    for start, stop in _runs(gutter):  # background bands too short to be gutters belong to the panel around them
        if stop - start < settings.min_gutter:
            content[start:stop] = True
    panels, fragments = [], []
    for start, stop in _runs(content):
        (fragments if stop - start < settings.min_panel else panels).append((start, stop - 1))
    pieces = tuple(piece for number, (top, bottom) in enumerate(panels, start=1)
                   for piece in _tiles(top, bottom, number, width, settings))
    return Cut(tuple(panels), background, pieces, tuple(fragments))


def _widen(gutter: np.ndarray, loose: np.ndarray, min_gutter: int) -> None:
    """Extend each gutter of at least ``min_gutter`` rows by up to ``_EDGE_ROWS`` rows at either end over rows that
    are background but for compression ringing (``loose``: no pixel twice the tolerance away), in place."""
    for start, stop in list(_runs(gutter)):
        if stop - start < min_gutter:
            continue
        low = start
        while low > 0 and start - low < _EDGE_ROWS and loose[low - 1]:
            low -= 1
        high = stop
        while high < len(gutter) and high - stop < _EDGE_ROWS and loose[high]:
            high += 1
        gutter[low:high] = True


def _runs(mask: np.ndarray) -> Iterable[tuple[int, int]]:
    """(start, stop) of each run of True in ``mask``."""
    padded = np.concatenate(([False], mask, [False])).astype(np.int8)
    edges = np.flatnonzero(np.diff(padded))
    return zip(edges[0::2].tolist(), edges[1::2].tolist())


def _background(means: np.ndarray, uniform: np.ndarray, settings: CutSettings) -> tuple[int, int, int] | None:
    """The colour shared by the most flat uniform bands of at least ``min_gutter`` rows (then by the most rows);
    None when there is no such band. Colours within a bin or two of each other count as one, and so do bands of one
    colour only briefly interrupted."""
    steady = uniform.copy()  # a uniform run is split where its colour changes from one row to the next
    steady[1:] &= np.abs(np.diff(means, axis=0)).max(axis=1) <= _STEP_LEVELS
    bands = [(start, stop) for start, stop in _runs(steady)
             if stop - start >= settings.min_gutter and _flat(means[start:stop])]
    if not bands:
        return None
    votes: Counter[tuple[int, int, int]] = Counter()
    rows: Counter[tuple[int, int, int]] = Counter()
    colours = {}
    previous, previous_stop = None, -len(means)
    for start, stop in bands:
        colour = np.median(means[start:stop], axis=0)
        key = tuple(int(c) for c in colour // _COLOUR_BIN)
        colours.setdefault(key, colour)
        # the same colour again after a short interruption (a figure in front of a sky): one band, one vote
        continued = previous in set(_near(key)) and start - previous_stop <= 2 * settings.min_panel
        votes[key] += 0 if continued else 1
        rows[key] += stop - start
        previous, previous_stop = key, stop
    score = {key: (sum(votes[n] for n in _near(key)), sum(rows[n] for n in _near(key))) for key in votes}
    best = max(score, key=lambda key: score[key])
    return tuple(int(round(c)) for c in colours[best])


def _flat(means: np.ndarray) -> bool:
    """True when a band's rows share one colour (a gutter), not a gradient (sky, scroll scenery): within
    ``_FLAT_LEVELS`` over its middle, leaving out the rows nearest its ends where compression smears its edges."""
    core = means[_EDGE_ROWS:-_EDGE_ROWS] if len(means) > 3 * _EDGE_ROWS else means
    return float((core.max(axis=0) - core.min(axis=0)).max()) <= _FLAT_LEVELS


def _near(key: tuple[int, int, int]) -> Iterable[tuple[int, int, int]]:
    a, b, c = key
    return ((a + i, b + j, c + k) for i in (-1, 0, 1) for j in (-1, 0, 1) for k in (-1, 0, 1))


def _tiles(top: int, bottom: int, number: int, width: int, settings: CutSettings) -> list[Piece]:
    """The panel as one piece, or as evenly spaced tiles ``tile_ratio`` × ``width`` tall, the first flush with its
    top and the last with its bottom, neighbours sharing at least ``overlap`` of a tile."""
    height, tile = bottom - top + 1, max(1, round(settings.tile_ratio * width))
    if height <= tile:
        return [Piece(top, bottom, number)]
    count = math.ceil((height - tile) / max(1.0, tile * (1 - settings.overlap))) + 1
    starts = np.rint(np.linspace(top, bottom + 1 - tile, count)).astype(int)
    return [Piece(int(start), int(start) + tile - 1, number, index) for index, start in enumerate(starts, start=1)]
