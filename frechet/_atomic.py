"""Atomic file writes: write to a temporary file beside the target, then rename, so readers never see half a file."""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from frechet.errors import OutputError

#: Errors meaning there is no room left: the device is full, or the user's quota on it is spent.
_DISK_FULL = frozenset({errno.ENOSPC, errno.EDQUOT})


@contextlib.contextmanager
def atomic_write(path: str | Path) -> Iterator[BinaryIO]:
    """Yield a binary handle whose content replaces ``path`` only if the block finishes without error."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as error:
        raise OutputError(f"{path}: cannot write here ({describe_os_error(error)}); choose another location") from None
    try:
        with os.fdopen(fd, "wb") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_name, path)
    except OSError as error:
        raise OutputError(
            f"{path}: writing failed ({describe_os_error(error)}); the previous file, if any, is unchanged"
        ) from None
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_name)


def describe_os_error(error: OSError) -> str:
    """The reason an I/O call failed, in words a user can act on (a full disk says so, and what to do)."""
    if is_disk_full(error):
        return f"the disk is full: {error.strerror} — free some space or write elsewhere"
    return str(error.strerror or error)


def is_disk_full(error: OSError) -> bool:
    """True when ``error`` says there is no room left (a full device, or a spent quota)."""
    return error.errno in _DISK_FULL
