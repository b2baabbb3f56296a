"""Videos stored as folders of frames: one folder of numbered image files per video, in natural order.

Natural order compares the digit runs of names as numbers (``frame_2.png`` before ``frame_10.png``); for
zero-padded names (``000001.jpg``, as StyleGAN-V's and cd-fvd's conversion scripts write them) it is the plain
sorted order those tools use. Frames are decoded by :func:`frechet_image.decode_image` (Pillow, converted to RGB).
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
from PIL import Image

from frechet.errors import InputError, one_line
from frechet.io import open_regular
from frechet_image.decode import decode_image
from frechet_image.sources import IMAGE_SUFFIXES
from frechet_video.video import Video

_DIGITS = re.compile(r"(\d+)")


def natural_key(name: str) -> tuple[tuple[int, int | str], ...]:
    """Sort key of ``name`` with its digit runs compared as numbers, case-insensitively otherwise."""
    return tuple((0, int(part)) if part.isdigit() else (1, part.lower()) for part in _DIGITS.split(name) if part)


def frame_files(folder: Path) -> list[Path]:
    """The visible image files directly inside ``folder``, in natural order."""
    found = [path for path in folder.iterdir()
             if not path.name.startswith(".") and path.suffix.lower() in IMAGE_SUFFIXES and not path.is_dir()]
    return sorted(found, key=lambda path: (natural_key(path.name), path.name))


class FrameFolderVideo(Video):
    """One video as the image files of a folder; every frame must have the first frame's size."""

    def __init__(self, folder: str | Path, frames: list[Path], *, max_pixels: int | None = None) -> None:
        """Checks, from the files' headers only, that all frames have one size."""
        self.folder, self.paths, self.max_pixels = Path(folder), frames, max_pixels
        super().__init__(str(folder), len(frames))
        sizes = [_header_size(path) for path in frames]
        for path, size in zip(frames, sizes):
            if size != sizes[0]:
                self._refuse_sizes(frames[0], sizes[0], path, size)

    def _read(self, indices: list[int]) -> np.ndarray:
        images = {index: decode_image(self.paths[index], max_pixels=self.max_pixels) for index in set(indices)}
        first = min(images)
        for index, image in images.items():
            if image.shape != images[first].shape:  # a header that lied about its size
                self._refuse_sizes(self.paths[first], images[first].shape[1::-1], self.paths[index],
                                   image.shape[1::-1])
        return np.stack([images[index] for index in indices])

    def _refuse_sizes(self, first: Path, first_size: tuple[int, int], other: Path, size: tuple[int, int]) -> None:
        raise InputError(f"{self.folder}: frames differ in size ({first.name} is {_size(first_size)}, {other.name} "
                         f"is {_size(size)}); resize them to one size")


def _header_size(path: Path) -> tuple[int, int]:
    """(width, height) from an image file's header, without decoding it."""
    try:
        with open_regular(path) as handle, Image.open(handle) as image:
            return image.size
    except (OSError, ValueError, Image.DecompressionBombError) as error:
        raise InputError(f"{path}: not a readable image ({one_line(error)}); remove or replace this frame") from None


def _size(size: tuple[int, int]) -> str:
    return f"{size[0]}×{size[1]}"
