"""One HTTP(S) or file:// download into a verified file: streamed to a temporary file beside the target, hashed on the
way, checked, then renamed into place, so an interrupted, truncated or refused transfer leaves nothing behind."""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import os
import tempfile
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

from tqdm import tqdm

_CHUNK = 1 << 20
#: Seconds a connection may stay silent before the download is abandoned (nothing hangs).
TIMEOUT_S = 60


class DownloadFailed(Exception):
    """A transfer failed; ``reason`` says why in a few words, ``error`` is the OSError behind it if any (a full
    disk, a refused connection)."""

    def __init__(self, reason: str, *, error: OSError | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.error = error


def fetch(url: str, destination: Path, check: Callable[[str], None], *, progress: bool = False) -> str:
    """Download ``url`` to ``destination`` and return its sha256; ``check(sha256)`` may raise to refuse the file
    before it is renamed into place (then nothing is saved). Raises :class:`DownloadFailed` for transfer errors."""
    request = urllib.request.Request(url, headers={"User-Agent": "frechet"})
    try:
        destination.parent.mkdir(parents=True, exist_ok=True)
        with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:
            declared = response.headers.get("Content-Length")
            return _save(response, destination, int(declared) if declared else None, check, progress)
    except urllib.error.HTTPError as error:
        raise DownloadFailed(f"HTTP {error.code}") from None
    except urllib.error.URLError as error:
        raise DownloadFailed(str(error.reason)) from None
    except http.client.HTTPException as error:
        raise DownloadFailed(f"the connection broke off ({type(error).__name__})") from None
    except OSError as error:
        raise DownloadFailed(str(error.strerror or error), error=error) from None
    except ValueError as error:  # an unknown URL scheme
        raise DownloadFailed(str(error)) from None


def _save(
    response: http.client.HTTPResponse, destination: Path, declared: int | None, check: Callable[[str], None],
    progress: bool,
) -> str:
    fd, temporary = tempfile.mkstemp(prefix=f".{destination.name}.", suffix=".part", dir=destination.parent)
    try:
        digest, size = hashlib.sha256(), 0
        with os.fdopen(fd, "wb") as handle, tqdm(
            total=declared, unit="B", unit_scale=True, desc=destination.name, disable=not progress
        ) as bar:
            while chunk := response.read(_CHUNK):
                digest.update(chunk)
                handle.write(chunk)
                size += len(chunk)
                bar.update(len(chunk))
            handle.flush()
            os.fsync(handle.fileno())
        if declared is not None and size != declared:
            raise DownloadFailed(f"the transfer stopped after {size} of {declared} bytes")
        check(digest.hexdigest())
        os.replace(temporary, destination)
        return digest.hexdigest()
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
