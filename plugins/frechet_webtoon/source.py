"""The ``webtoon:PATH`` input: every episode under PATH cut into panels, each panel (or tile of a tall panel) one
image item named ``episode/panel-007``.

Opening the input reads each episode once, slice by slice, keeping only a few numbers per row (see
:mod:`frechet_webtoon.cutter`); loading an item then decodes just the slices its rows fall in. Memory is bounded by
a slice and a panel tile, whatever the episode's length.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from frechet.errors import InputError
from frechet.io import file_sha256
from frechet.sources import Source
from frechet_webtoon.cutter import Cut, CutSettings, Piece, RowProfile, cut_strip
from frechet_webtoon.episodes import Episode, Slice, find_episodes, read_slice

log = logging.getLogger("frechet")


@dataclass(frozen=True)
class CutEpisode:
    """An episode and where it was cut."""

    episode: Episode
    cut: Cut


def cut_episode(episode: Episode, settings: CutSettings = CutSettings()) -> CutEpisode:
    """Cut one episode, streaming its slices."""
    profile = RowProfile(settings.tolerance)
    for piece in episode.slices:
        profile.add(read_slice(piece, episode.width))
    return CutEpisode(episode, cut_strip(profile.profile(), episode.width, settings))


def cut_input(input: str | Path, settings: CutSettings = CutSettings()) -> list[CutEpisode]:
    """Every episode of ``input`` cut, with one informational line on what was found."""
    episodes = [cut_episode(episode, settings) for episode in find_episodes(input)]
    panels = sum(len(each.cut.panels) for each in episodes)
    items = sum(len(each.cut.pieces) for each in episodes)
    dropped = sum(len(each.cut.fragments) for each in episodes)
    ungutted = [each.episode.name for each in episodes if each.cut.background is None]
    log.info("%s: %d episode(s) cut into %d panels (%d items with the tiles of tall panels); %d fragment(s) under %d "
             "rows dropped%s", input, len(episodes), panels, items, dropped, settings.min_panel,
             f"; no gutter found in {', '.join(ungutted)} (each one panel, tiled)" if ungutted else "")
    return episodes


def rows(episode: Episode, top: int, bottom: int) -> np.ndarray:
    """Rows ``top`` to ``bottom`` (inclusive) of the episode's stitched strip, decoding only the slices they
    cross."""
    parts = []
    for piece in _crossing(episode.slices, top, bottom):
        pixels = _slice_pixels(piece, episode.width)
        parts.append(pixels[max(top - piece.top, 0):bottom + 1 - piece.top])
    return parts[0] if len(parts) == 1 else np.concatenate(parts)


def _crossing(slices: tuple[Slice, ...], top: int, bottom: int) -> Iterator[Slice]:
    return (piece for piece in slices if piece.top <= bottom and piece.top + piece.height > top)


_last: tuple[tuple[Path, int], np.ndarray] | None = None


def _slice_pixels(piece: Slice, width: int) -> np.ndarray:
    """A slice's pixels, remembering the last one decoded (neighbouring panels often share a slice)."""
    global _last
    key = (piece.path, width)
    if _last is None or _last[0] != key:
        _last = (key, read_slice(piece, width))
    return _last[1]


class PanelSource(Source):
    """The panels of cut episodes as image items (uint8 (H, W, 3) arrays), in episode and strip order."""

    domain = "image"

    def __init__(self, episodes: list[CutEpisode], label: str, settings: CutSettings) -> None:
        super().__init__(label)
        self.items: list[tuple[Episode, Piece]] = [(each.episode, piece) for each in episodes
                                                   for piece in each.cut.pieces]
        self.settings = settings
        self._file_digests: dict[Path, str] = {}

    def __len__(self) -> int:
        return len(self.items)

    def load(self, index: int) -> np.ndarray:
        episode, piece = self.items[index]
        return rows(episode, piece.top, piece.bottom)

    def item_name(self, index: int) -> str:
        episode, piece = self.items[index]
        return f"{episode.name}/{piece.name}"

    def item_digest(self, index: int) -> str:
        """sha256 over the bytes of the slices the item's rows cross, where they sit, and the rows: what ``load``
        returns follows from these (with ``config``), so the feature cache can serve repeated runs."""
        episode, piece = self.items[index]
        digest = hashlib.sha256(f"{episode.width}:{piece.top}:{piece.bottom}".encode())
        for part in _crossing(episode.slices, piece.top, piece.bottom):
            if part.path not in self._file_digests:
                self._file_digests[part.path] = file_sha256(part.path)
            digest.update(f"|{self._file_digests[part.path]}:{part.top}:{part.height}:{part.width}".encode())
        return digest.hexdigest()

    def config(self) -> dict[str, Any]:
        return {"webtoon_cut": self.settings.as_dict()}


def open_webtoon(
    input: str | Path,
    *,
    min_gutter: int = CutSettings.min_gutter,
    min_panel: int = CutSettings.min_panel,
    tolerance: int = CutSettings.tolerance,
    tile_ratio: float = CutSettings.tile_ratio,
    overlap: float = CutSettings.overlap,
) -> PanelSource:
    """The ``webtoon:`` source of an episode (folder of slices or tall image) or a folder of episodes, cut with
    these settings (:class:`frechet_webtoon.cutter.CutSettings`; from the command line, the source options of
    :data:`frechet_webtoon.cut_options.CUT_OPTIONS`)."""
    settings = CutSettings(min_gutter, min_panel, tolerance, tile_ratio, overlap)
    source = PanelSource(cut_input(input, settings), f"webtoon:{input}", settings)
    if not len(source):
        raise InputError(f"{input}: no panel of at least {settings.min_panel} rows in it (only gutters and "
                         "fragments); check that these are webtoon episodes")
    return source
