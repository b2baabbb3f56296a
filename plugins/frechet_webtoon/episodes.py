"""Episodes: finding them (a folder of slices, one tall image, or a folder of episodes), ordering their slices
naturally (``2.jpg`` before ``10.jpg``), and reading slices one at a time at the episode's width."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from frechet.errors import InputError
from frechet.sources import list_files
from frechet_image.decode import decode_image
from frechet_image.sources import IMAGE_SUFFIXES

log = logging.getLogger("frechet")

#: Narrowest strip cut into panels: a narrower one has no room for art beside a gutter.
MIN_WIDTH = 32


@dataclass(frozen=True)
class Slice:
    """One slice file and the rows it covers in the stitched strip, once scaled to the episode's width."""

    path: Path
    top: int
    height: int
    width: int  # the file's own width (scaled to the episode's when it differs)


@dataclass(frozen=True)
class Episode:
    """An episode's name (relative to the input), width and slices, in stitching order."""

    name: str
    width: int
    slices: tuple[Slice, ...]

    @property
    def height(self) -> int:
        return self.slices[-1].top + self.slices[-1].height if self.slices else 0


def natural_key(name: str) -> list[object]:
    """Sort key putting ``2.jpg`` before ``10.jpg``: digit runs compare as numbers, the rest case-blind."""
    return [(0, int(part), part) if part.isdigit() else (1, part.lower(), part) for part in re.split(r"(\d+)", name)]


def find_episodes(input: str | Path) -> list[Episode]:
    """The episodes of ``input``: a tall image file is one; a folder holding image files is one (its slices);
    every folder below it holding image files is one more, named by its path relative to ``input``."""
    root = Path(input)
    if root.is_file():
        return [_episode(root.stem, [root])]
    files = list_files(root, IMAGE_SUFFIXES)
    groups: dict[Path, list[Path]] = {}
    for path in files:
        groups.setdefault(path.parent, []).append(path)
    if not groups:
        raise InputError(f"{root}: no episode here (no slice images {', '.join(IMAGE_SUFFIXES)} in it or in its "
                         "subfolders); give an episode's folder of slices, a tall image, or a folder of episodes")
    episodes = []
    for folder in sorted(groups, key=lambda f: natural_key(f.relative_to(root).as_posix())):
        name = root.name if folder == root else folder.relative_to(root).as_posix()
        slices = sorted(groups[folder], key=lambda p: natural_key(p.name))
        episodes.append(_episode(name or "episode", slices))
    return episodes


def _episode(name: str, paths: list[Path]) -> Episode:
    """Stitch the slices' sizes: every slice is scaled to the first one's width, as webtoon viewers show them."""
    sizes = [_size(path) for path in paths]
    width = sizes[0][0]
    if width < MIN_WIDTH:
        raise InputError(f"{paths[0]}: {width} px wide; a webtoon strip of under {MIN_WIDTH} px has no room for "
                         "panels and gutters (is it rotated, or a stray file?); move it out of the input")
    slices, top = [], 0
    for path, (w, h) in zip(paths, sizes):
        height = h if w == width else max(1, round(h * width / w))
        if w != width:
            log.warning("%s: %d px wide where the episode's first slice is %d px; scaled to %d x %d, as a webtoon "
                        "viewer shows it", path, w, width, width, height)
        slices.append(Slice(path, top, height, w))
        top += height
    return Episode(name, width, tuple(slices))


def _size(path: Path) -> tuple[int, int]:
    try:
        with Image.open(path) as image:
            return image.size
    except (OSError, ValueError, Image.DecompressionBombError) as error:
        raise InputError(f"{path}: not a readable image ({error}); replace it or move it out of the episode") from None


def read_slice(piece: Slice, width: int) -> np.ndarray:
    """The slice's pixels, uint8 (height, width, 3), scaled to the episode's ``width`` when its own differs."""
    pixels = decode_image(piece.path)
    if pixels.shape[1] != piece.width:
        raise InputError(f"{piece.path}: changed while being read (now {pixels.shape[1]} px wide, was "
                         f"{piece.width}); read it again")
    if piece.width == width:
        return pixels
    return np.asarray(Image.fromarray(pixels).resize((width, piece.height), Image.Resampling.LANCZOS))

