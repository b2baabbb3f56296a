"""Decode image files to uint8 (H, W, 3) RGB arrays exactly as the reference FID tools do, with a pixel-count guard.

The references all decode with ``Image.open(path).convert("RGB")``: alpha is dropped (not composited), palettes
are expanded, CMYK is converted without colour management, 16-bit/32-bit/float grayscale is clipped to 0–255, EXIF
orientation and ICC profiles are ignored, and multi-frame files give their first frame. frechet does the same, so
its features equal theirs; docs/guide/images.md explains each rule.
"""

from __future__ import annotations

import io
import logging
import os
import re
import warnings
from pathlib import Path
from typing import IO

import numpy as np
from PIL import Image

from frechet.errors import ConfigError, InputError
from frechet.io import check_regular_file

log = logging.getLogger("frechet")

#: Environment variable holding the largest image, in pixels, frechet decodes (0: no limit).
MAX_PIXELS_ENV = "FRECHET_MAX_IMAGE_PIXELS"
#: Pillow modes whose values can exceed 8 bits; converting them to RGB clips, as in the reference tools.
_WIDE_MODES = frozenset({"I", "I;16", "I;16B", "I;16L", "I;16N", "F"})
#: Pillow's limit as it was when frechet loaded (89,478,485 pixels by default): frechet's default.
_PILLOW_LIMIT = Image.MAX_IMAGE_PIXELS
_warned_wide = False


def pixel_limit() -> int | None:
    """The decompression-bomb limit in pixels: ``FRECHET_MAX_IMAGE_PIXELS`` if set (0: none), else Pillow's
    ``Image.MAX_IMAGE_PIXELS`` as it was when frechet loaded (89,478,485 by default); None means no limit."""
    raw = os.environ.get(MAX_PIXELS_ENV, "").strip()
    if not raw:
        return _PILLOW_LIMIT
    try:
        limit = int(raw.replace("_", ""))
    except ValueError:
        limit = -1
    if limit < 0:
        raise ConfigError(f"{MAX_PIXELS_ENV}={raw!r}: expected a whole number of pixels (0 for no limit)")
    return limit or None


def decode_image(
    file: str | Path | bytes | IO[bytes], *, name: str | None = None, max_pixels: int | None = None
) -> np.ndarray:
    """Decode an image file (a path, its bytes, or a binary file object) to a uint8 (H, W, 3) RGB array, as the
    reference tools do.

    ``name`` labels the image in errors (default: the path). ``max_pixels`` caps width × height before any pixel
    is decoded (None: :func:`pixel_limit`; 0: no limit). Unreadable, truncated, empty and oversized files raise
    :class:`frechet.errors.InputError` naming the file.
    """
    label = name or (str(file) if isinstance(file, (str, Path)) else f"<{type(file).__name__}>")
    limit = pixel_limit() if max_pixels is None else (max_pixels or None)
    if isinstance(file, (str, Path)):
        check_regular_file(file, label)  # a FIFO or a device would block or never end
    if _is_empty(file, label):
        raise InputError(f"{label}: empty file (0 bytes); remove it or regenerate it")
    _let_pillow_open(limit)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # the limit is checked below
            with Image.open(io.BytesIO(file) if isinstance(file, bytes) else file) as image:
                _check_pixels(image.size, limit, label)
                _note_wide(image.mode, label)
                rgb = np.array(image.convert("RGB"))
    except InputError:
        raise
    except Image.DecompressionBombError as error:  # Pillow refused at open: more than twice its own limit
        found = re.search(r"\((\d+) pixels\)", str(error))
        raise _too_large(label, int(found.group(1)) if found else None, limit) from None
    except Exception as error:  # Pillow reports corrupt data with many exception types
        raise _undecodable(label, error) from None
    return rgb


def _undecodable(label: str, error: Exception) -> InputError:
    """A failure of the file system (it carries an errno: permissions, links, I/O) or of the data (Pillow's own)."""
    if isinstance(error, OSError) and error.errno is not None:
        return _unreadable(label, error)
    reason = str(error).splitlines()[0] if str(error) else type(error).__name__
    return InputError(f"{label}: cannot decode this image ({reason}); it is corrupt, truncated or not an image")


def _unreadable(label: str, error: OSError) -> InputError:
    return InputError(f"{label}: cannot read ({error.strerror or error}); check the file and its permissions")


def _is_empty(file: str | Path | bytes | IO[bytes], label: str) -> bool:
    if isinstance(file, bytes):
        return not file
    if not isinstance(file, (str, Path)):
        return False  # a file object: an empty one fails to decode like any other unreadable data
    try:
        return Path(file).stat().st_size == 0
    except OSError as error:
        raise _unreadable(label, error) from None


def _let_pillow_open(limit: int | None) -> None:
    """Raise Pillow's process-wide limit (never lower it) so that frechet's own check is the one that applies."""
    if Image.MAX_IMAGE_PIXELS is not None and (limit is None or limit > Image.MAX_IMAGE_PIXELS):
        Image.MAX_IMAGE_PIXELS = limit


def _check_pixels(size: tuple[int, int], limit: int | None, label: str) -> None:
    width, height = size
    if limit is not None and width * height > limit:
        raise _too_large(label, width * height, limit)
    if width == 0 or height == 0:
        raise InputError(f"{label}: the image has no pixels ({width}x{height})")


def _too_large(label: str, pixels: int | None, limit: int | None) -> InputError:
    count = f"{pixels:,} pixels is" if pixels is not None else "the image is"
    return InputError(
        f"{label}: {count} above the limit of {limit:,} pixels that guards against decompression bombs; if you "
        f"trust the file, raise it with {MAX_PIXELS_ENV}={pixels or 'N'} (0: no limit)"
    )


def _note_wide(mode: str, label: str) -> None:
    """Say once per process that high-bit-depth images are clipped to 8 bits (what the reference tools do)."""
    global _warned_wide
    if mode in _WIDE_MODES and not _warned_wide:
        _warned_wide = True
        log.warning(
            "%s: %s image; values outside 0-255 are clipped when converting to 8-bit RGB, as pytorch-fid, "
            "torch-fidelity and clean-fid do (convert such images to 8 bits yourself to keep their range)",
            label,
            mode,
        )
