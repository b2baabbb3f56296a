"""Atomic file writes: write to a temporary file beside the target, then rename, so readers never see half a file."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from frechet.errors import OutputError


@contextlib.contextmanager
def atomic_write(path: str | Path) -> Iterator[BinaryIO]:
    """Yield a binary handle whose content replaces ``path`` only if the block finishes without error."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as error:
        raise OutputError(f"{path}: cannot write here ({error.strerror or error}); choose another location") from None
    try:
        with os.fdopen(fd, "wb") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_name, path)
    except OSError as error:
        raise OutputError(
            f"{path}: writing failed ({error.strerror or error}); the previous file, if any, is unchanged"
        ) from None
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_name)

