"""Image inputs: folders, single files, .zip archives, in-memory arrays/tensors and generator callables.

Every source yields items as uint8 (H, W, 3) RGB numpy arrays; embedders resize each item on its own, so sizes
may differ between items.
"""

from __future__ import annotations

import logging
import os
import re
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np
import torch

from frechet.io import check_member_size, check_regular_file
from frechet.errors import InputError
from frechet.sources import Source, list_files
from frechet_image.decode import decode_image, pixel_limit

#: File suffixes read as images (matched case-insensitively): those pytorch-fid and clean-fid look for.
IMAGE_SUFFIXES = (".bmp", ".jpeg", ".jpg", ".pgm", ".png", ".ppm", ".tif", ".tiff", ".webp")
log = logging.getLogger("frechet")
_UNSAFE_MEMBER = re.compile(r"^([/\\]|[A-Za-z]:)|(^|[/\\])\.\.([/\\]|$)")


class ImageFileSource(Source):
    """Image files listed in a fixed order; item i is file i decoded."""

    domain = "image"

    def __init__(self, paths: list[Path], label: str, *, max_pixels: int | None = None) -> None:
        super().__init__(label)
        self.paths = paths
        self.max_pixels = max_pixels

    def __len__(self) -> int:
        return len(self.paths)

    def load(self, index: int) -> np.ndarray:
        return decode_image(self.paths[index], max_pixels=self.max_pixels)

    def item_name(self, index: int) -> str:
        return str(self.paths[index])

    def item_path(self, index: int) -> Path:
        return self.paths[index]

    def config(self) -> dict[str, Any]:
        limit = pixel_limit() if self.max_pixels is None else (self.max_pixels or None)
        return {"max_pixels": limit}  # which images are refused as too large


def open_image_folder(folder: str | Path, *, max_pixels: int | None = None) -> ImageFileSource:
    """The images under ``folder``: recursive, sorted by relative path, suffixes in any case, hidden ones skipped.

    Files and folders whose name starts with '.' are ignored; symbolic links to folders are not followed.
    """
    found = list_files(folder, IMAGE_SUFFIXES)
    if not found:
        raise InputError(
            f"{folder}: no image files found (looked recursively for {', '.join(IMAGE_SUFFIXES)}; hidden files "
            "are skipped)"
        )
    return ImageFileSource(found, str(folder), max_pixels=max_pixels)


def open_image_file(path: str | Path, *, max_pixels: int | None = None) -> ImageFileSource:
    """A single image file as a one-item source."""
    return ImageFileSource([Path(path)], str(path), max_pixels=max_pixels)


def _is_image_name(name: str) -> bool:
    return not name.startswith(".") and os.path.splitext(name)[1].lower() in IMAGE_SUFFIXES


# ---------------------------------------------------------------------------------------------------- .zip
class ZipImageSource(Source):
    """The images inside a .zip archive, read in place (never extracted), sorted by member name.

    Directories, non-image members and hidden members (a path part starting with '.', or macOS's __MACOSX folder)
    are skipped, and so are nested archives (with a warning: they are never opened). An archive with an absolute
    member name or one containing '..' is refused as a whole; a member that would unpack far beyond its stored size
    (a zip bomb) is a bad item, refused before it is inflated.
    """

    domain = "image"

    def __init__(self, path: str | Path, *, max_pixels: int | None = None) -> None:
        super().__init__(str(path))
        self.path = Path(path)
        self.max_pixels = max_pixels
        check_regular_file(self.path)
        try:
            with zipfile.ZipFile(self.path) as archive:
                members = archive.infolist()
        except (OSError, zipfile.BadZipFile) as error:
            raise InputError(f"{path}: not a readable .zip archive ({error})") from None
        unsafe = [member.filename for member in members if _UNSAFE_MEMBER.search(member.filename)]
        if unsafe:
            raise InputError(
                f"{path}: member name '{unsafe[0]}' is absolute or climbs out with '..'; frechet refuses such "
                "archives — repack it with relative member names"
            )
        self.members = sorted(
            (member for member in members if not member.is_dir() and _is_visible_image_member(member.filename)),
            key=lambda member: member.filename,
        )
        nested = [member.filename for member in members if member.filename.lower().endswith(".zip")]
        unopened = f"; nested archives such as '{nested[0]}' are not opened: extract them" if nested else ""
        if not self.members:
            raise InputError(f"{path}: no image members found (looked for {', '.join(IMAGE_SUFFIXES)}){unopened}")
        if nested:
            log.warning("%s: %d nested archive(s) not read%s", path, len(nested), unopened)
        self._archive: zipfile.ZipFile | None = None
        self._archive_pid = -1

    def __len__(self) -> int:
        return len(self.members)

    def load(self, index: int) -> np.ndarray:
        member = self.members[index]
        name = self.item_name(index)
        if member.file_size == 0:
            raise InputError(f"{name}: empty file (0 bytes); remove it from the archive or regenerate it")
        check_member_size(member, name)
        try:
            with self._open_archive().open(member) as handle:
                return decode_image(handle, name=name, max_pixels=self.max_pixels)
        except (OSError, RuntimeError, zipfile.BadZipFile, zlib.error) as error:  # CRC, encryption, I/O
            raise InputError(f"{name}: cannot read this archive member ({error})") from None

    def item_name(self, index: int) -> str:
        return f"{self.path}:{self.members[index].filename}"

    def _open_archive(self) -> zipfile.ZipFile:
        """One open archive per process: DataLoader workers must not share a file position."""
        if self._archive is None or self._archive_pid != os.getpid():
            self._archive = zipfile.ZipFile(self.path)
            self._archive_pid = os.getpid()
        return self._archive

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_archive": None, "_archive_pid": -1}


def _is_visible_image_member(name: str) -> bool:
    parts = PurePosixPath(name).parts
    return _is_image_name(parts[-1]) and not any(part.startswith(".") or part == "__MACOSX" for part in parts)


def open_image_zip(path: str | Path, *, max_pixels: int | None = None) -> ZipImageSource:
    """The images inside a .zip archive."""
    return ZipImageSource(path, max_pixels=max_pixels)


# ---------------------------------------------------------------------------------------------------- in memory
class ImageArraySource(Source):
    """Images held in memory: a numpy array or torch tensor of (N, H, W, 3) or (N, 3, H, W) images, uint8 (0-255)
    or floating point (0-1). Floats are rounded to the nearest of the 256 levels when an item is loaded. Where both
    layouts fit (3×3 images), numpy arrays are read channels-last and tensors channels-first. A tensor stays on its
    device: :meth:`load_batch` hands whole batches over there, :meth:`load` reads a CPU copy made once."""

    domain = "image"

    def __init__(self, images: np.ndarray | torch.Tensor) -> None:
        super().__init__(f"<{'array' if isinstance(images, np.ndarray) else 'tensor'} {tuple(images.shape)}>")
        self.images = channels_first(images, self.label)
        self._on_cpu: torch.Tensor | None = None

    def __len__(self) -> int:
        return self.images.shape[0]

    def load(self, index: int) -> np.ndarray:
        if self._on_cpu is None:
            self._on_cpu = self.images.cpu()
        return _to_uint8_image(self._on_cpu[index], self.item_name(index))

    def load_batch(self, start: int, stop: int) -> torch.Tensor | None:
        """Images ``start:stop`` as one uint8 (N, 3, H, W) tensor on their own device, floats rounded to the 256
        levels there exactly as :meth:`load` rounds them (in float64; None on a device without it)."""
        batch = self.images[start:stop]
        if not batch.is_floating_point():
            return batch
        if batch.device.type == "mps":
            return None
        outside = ~((batch >= 0) & (batch <= 1))  # NaN too
        if bool(outside.any()):
            first = start + int(outside.flatten(1).any(dim=1).nonzero()[0])
            return _to_uint8_image(self.images[first].cpu(), self.item_name(first))  # raises, naming the item
        return batch.double().mul_(255).round_().to(torch.uint8)

    def item_name(self, index: int) -> str:
        return f"{self.label}[{index}]"


def is_image_batch(obj: Any) -> bool:
    """True for a 4-D numpy array or torch tensor (a batch of images; its layout is checked when opened), and for a
    3-D one, refused when opened with how to give grey images their 3 channels."""
    return isinstance(obj, (np.ndarray, torch.Tensor)) and obj.ndim in (3, 4)


def open_image_array(images: np.ndarray | torch.Tensor) -> ImageArraySource:
    """A source over an in-memory batch of images."""
    return ImageArraySource(images)


def channels_first(images: np.ndarray | torch.Tensor, label: str) -> torch.Tensor:
    """A batch of RGB images as an (N, 3, H, W) tensor on its own device (a view where it can be), from either
    layout; anything that cannot be RGB images of uint8 or float values is an InputError saying what is expected."""
    is_array = isinstance(images, np.ndarray)
    batch = torch.from_numpy(images) if is_array else images.detach()
    shape = tuple(batch.shape)
    if len(shape) == 3:
        fix = "np.repeat(images[..., None], 3, axis=-1)" if is_array else "images[:, None].expand(-1, 3, -1, -1)"
        raise InputError(f"{label}: a 3-D array is a batch of grey (N, H, W) images; give them 3 RGB channels first, "
                         f"e.g. {fix}")
    if len(shape) != 4 or (shape[1] != 3 and shape[3] != 3):
        raise InputError(f"{label}: images must be laid out as (N, H, W, 3) or (N, 3, H, W) with 3 RGB channels, "
                         f"got shape {shape}")
    if not (batch.is_floating_point() or batch.dtype == torch.uint8):
        raise InputError(f"{label}: images must be uint8 (0-255) or floating point (0-1), got {images.dtype}")
    if 0 in shape:
        raise InputError(f"{label}: holds no image pixels (shape {shape})")
    return batch.permute(0, 3, 1, 2) if shape[3] == 3 and (shape[1] != 3 or is_array) else batch


def _to_uint8_image(image: torch.Tensor, name: str) -> np.ndarray:
    """(3, H, W) uint8, or float in [0, 1] rounded to the nearest of 256 levels -> (H, W, 3) uint8 numpy."""
    if image.is_floating_point():
        low, high = float(image.min()), float(image.max())
        if not (0.0 <= low and high <= 1.0):  # also catches NaN
            raise InputError(
                f"{name}: float images must hold values in [0, 1], found [{low:g}, {high:g}]; scale them, or "
                "pass uint8"
            )
        image = image.double().mul_(255).round_().to(torch.uint8)  # float64: exact levels even from float16
    return np.ascontiguousarray(image.permute(1, 2, 0).numpy())


# ---------------------------------------------------------------------------------------------------- generators
class ImageGenerator:
    """Images drawn from a callable, and how many: ``ImageGenerator(fn, num_samples, batch_size=64)``.

    ``fn(b)`` returns b images as a (b, 3, H, W) uint8 tensor (or float in [0, 1]; numpy arrays are accepted
    too). It is called in order from the main process under ``torch.inference_mode()``, with b = ``batch_size``
    except for a smaller last call, until ``num_samples`` images are drawn. Give it to ``frechet.compute`` in place
    of a folder: ``frechet.compute("real/", ImageGenerator(G, 10_000))``.
    """

    def __init__(self, fn: Callable[[int], Any], num_samples: int, batch_size: int = 64) -> None:
        if not callable(fn):
            raise InputError(f"ImageGenerator needs a callable fn(batch_size), got {type(fn).__name__}")
        for name, value in (("num_samples", num_samples), ("batch_size", batch_size)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise InputError(f"ImageGenerator {name} must be a positive whole number, got {value!r}")
        self.fn, self.num_samples, self.batch_size = fn, num_samples, batch_size

    def __repr__(self) -> str:
        return f"ImageGenerator({getattr(self.fn, '__name__', type(self.fn).__name__)}, {self.num_samples})"


class GeneratorSource(Source):
    """Images drawn batch by batch from an :class:`ImageGenerator`; items must be loaded in increasing order.

    Under torch.distributed a rank reads only its own shards of the items, so its indices skip ahead: a later
    index simply starts the next draw (each draw is a fresh sample), an earlier one is refused.
    """

    domain = "image"
    parallel_load = False

    def __init__(self, generator: ImageGenerator) -> None:
        super().__init__(f"<{generator!r}>")
        self.generator = generator
        self._batch_index = -1
        self._batch: torch.Tensor | None = None
        self._error: str | None = None

    def __len__(self) -> int:
        return self.generator.num_samples

    def load(self, index: int) -> np.ndarray:
        batch_index, position = divmod(index, self.generator.batch_size)
        if batch_index != self._batch_index:
            if batch_index < self._batch_index:
                raise InputError(f"{self.label}: items must be read in order (asked for {index} out of turn)")
            self._draw(batch_index)
        if self._error is not None:
            raise InputError(self._error)
        return _to_uint8_image(self._batch[position], self.item_name(index))

    def item_name(self, index: int) -> str:
        return f"{self.label}[{index}]"

    def _draw(self, batch_index: int) -> None:
        start = batch_index * self.generator.batch_size
        count = min(self.generator.batch_size, self.generator.num_samples - start)
        self._batch_index, self._batch, self._error = batch_index, None, None
        where = f"{self.label}: call {batch_index + 1} (items {start}-{start + count - 1})"
        with torch.inference_mode():
            images = self.generator.fn(count)
        if isinstance(images, np.ndarray):
            images = torch.from_numpy(images)
        if not isinstance(images, torch.Tensor) or images.ndim != 4:
            self._error = f"{where} returned {_describe(images)}; fn(b) must return a (b, 3, H, W) tensor"
        elif images.shape[0] != count:
            self._error = f"{where} returned {images.shape[0]} images for fn({count})"
        else:
            try:
                self._batch = channels_first(images, where).cpu()
            except InputError as error:
                self._error = str(error)


def _describe(obj: Any) -> str:
    shape = getattr(obj, "shape", None)
    return f"a {type(obj).__name__} of shape {tuple(shape)}" if shape is not None else f"a {type(obj).__name__}"


def accepts_generator(obj: Any) -> bool:
    """True for an :class:`ImageGenerator`, and for a bare callable (refused with advice when opened)."""
    return isinstance(obj, ImageGenerator) or (callable(obj) and not isinstance(obj, type))


def open_image_generator(generator: ImageGenerator | Callable[[int], Any]) -> GeneratorSource:
    """A source drawing from ``generator``; a bare callable is refused because the sample count is unknown."""
    if not isinstance(generator, ImageGenerator):
        raise InputError(
            f"{_describe(generator)}: a generator needs a sample count; pass "
            "frechet_image.ImageGenerator(fn, num_samples=N) instead of the bare callable"
        )
    return GeneratorSource(generator)
