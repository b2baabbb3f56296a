"""One HTTP(S) or file:// download into a verified file: streamed to a ``.part`` file beside the target, hashed on the
way, checked (checksum and content), then renamed into place, so an interrupted, truncated, refused or overlong
transfer leaves nothing behind.

Two clocks bound a transfer: a connection silent for :data:`STALL_S` seconds is abandoned, and the whole transfer
(connecting, headers and body) must end within ``FRECHET_DOWNLOAD_TIMEOUT`` seconds (default
:data:`DEFAULT_DEADLINE_S`), so a server that trickles a byte now and then cannot hold a run forever.
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import os
import stat
import tempfile
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from tqdm import tqdm

from frechet.errors import ConfigError
from frechet.io import current_umask, file_kind, open_regular

_CHUNK = 1 << 20
#: Seconds a connection may stay silent before the download is abandoned.
STALL_S = 60
#: The variable that sets how many seconds a whole transfer may take.
DEADLINE_ENV = "FRECHET_DOWNLOAD_TIMEOUT"
#: Seconds a whole transfer may take when ``FRECHET_DOWNLOAD_TIMEOUT`` is not set: a 2 GB checkpoint at 1 MB/s.
DEFAULT_DEADLINE_S = 3600.0
#: Bytes of the start of a refused file kept to say what arrived.
_HEAD = 64


class DownloadFailed(Exception):
    """A transfer failed or its file was refused; ``reason`` says why in a few words, ``error`` is the OSError behind
    it if any (a full disk, a refused connection)."""

    def __init__(self, reason: str, *, error: OSError | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.error = error


def deadline_s() -> float:
    """Seconds a whole transfer may take: ``FRECHET_DOWNLOAD_TIMEOUT``, else :data:`DEFAULT_DEADLINE_S`."""
    raw = os.environ.get(DEADLINE_ENV, "").strip()
    if not raw:
        return DEFAULT_DEADLINE_S
    try:
        value = float(raw)
    except ValueError:
        value = float("nan")
    if not 0 < value < float("inf"):
        raise ConfigError(f"{DEADLINE_ENV}={raw!r}: give the seconds a download may take, a number > 0 (e.g. 600)")
    return value


@dataclass
class Arrival:
    """What a transfer brought: its size, the content type the server named, and its first bytes."""

    size: int = 0
    content_type: str | None = None
    head: bytes = b""

    def describe(self) -> str:
        """In words, for the message that refuses it (an HTML page from a captive portal shows its first text)."""
        kind = f"content type {self.content_type}" if self.content_type else "no content type"
        text = self.head.decode("utf-8", "replace")
        if not self.head:
            start = ""
        elif all(char.isprintable() or char in "\t\r\n" for char in text) and "\ufffd" not in text:
            start = f", starting {' '.join(text.split())[:48]!r}"
        else:
            start = f", starting with bytes {self.head[:8].hex(' ')}"
        return f"{self.size:,} bytes, {kind}{start}"


def fetch(url: str, destination: Path, check: Callable[[str, Path], None], *, progress: bool = False) -> str:
    """Download ``url`` to ``destination`` and return its sha256.

    ``check(sha256, path)`` sees the complete temporary file before it is renamed into place and raises
    :class:`DownloadFailed` to refuse it (then nothing is saved, and the message says what arrived). Raises
    :class:`DownloadFailed` for transfer errors and for a transfer still running after :func:`deadline_s` seconds.
    """
    deadline = deadline_s()
    _refuse_special(destination)
    try:
        destination.parent.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(prefix=f".{destination.name}.", suffix=".part", dir=destination.parent)
    except OSError as error:
        raise DownloadFailed(str(error.strerror or error), error=error) from None
    transfer = _Transfer(url, os.fdopen(fd, "wb"), destination.name, progress)
    try:
        transfer.start()
        transfer.join(deadline)
        if transfer.is_alive():
            raise DownloadFailed(
                f"the transfer had not finished after {deadline:g} s ({transfer.arrival.size:,} bytes arrived); "
                f"{DEADLINE_ENV} sets the limit"
            )
        if transfer.failure is not None:
            raise transfer.failure
        arrival = transfer.arrival
        if transfer.declared is not None and arrival.size != transfer.declared:
            raise DownloadFailed(
                f"the transfer stopped after {arrival.size:,} of {transfer.declared:,} bytes; what arrived: "
                f"{arrival.describe()}"
            )
        digest = transfer.digest.hexdigest()
        try:
            check(digest, Path(temporary))
        except DownloadFailed as refused:
            raise DownloadFailed(f"{refused.reason}; what arrived: {arrival.describe()}") from None
        try:
            os.chmod(temporary, 0o666 & ~current_umask())  # a temporary file is 0600 whatever the umask
            os.replace(temporary, destination)
        except OSError as error:
            raise DownloadFailed(str(error.strerror or error), error=error) from None
        return digest
    finally:
        transfer.cancel()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)


def _refuse_special(destination: Path) -> None:
    """A FIFO, device or folder in the way of the download is never renamed over."""
    try:
        mode = os.stat(destination).st_mode
    except OSError:
        return
    if not stat.S_ISREG(mode):
        raise DownloadFailed(f"{destination} is {file_kind(mode)}, not a file: remove it, then fetch again")


class _Transfer(threading.Thread):
    """Streams one URL into an open file on a daemon thread, so the caller can give up at the deadline (a thread
    still blocked on a silent connection ends by itself within :data:`STALL_S` seconds, writing nothing more)."""

    def __init__(self, url: str, handle: BinaryIO, label: str, progress: bool) -> None:
        super().__init__(name=f"frechet download {label}", daemon=True)
        self.url, self.handle, self.label, self.progress = url, handle, label, progress
        self.digest = hashlib.sha256()
        self.arrival = Arrival()
        self.declared: int | None = None
        self.failure: DownloadFailed | None = None
        self._cancelled = threading.Event()

    def cancel(self) -> None:
        """Stop at the next chunk; nothing more is written."""
        self._cancelled.set()

    def run(self) -> None:
        try:
            with self.handle, _open(self.url) as response:
                self.arrival.content_type = response.headers.get("Content-Type") if response.headers else None
                self.declared = _declared_length(response.headers)
                self._copy(response)
        except DownloadFailed as failure:
            self.failure = failure
        except BaseException as error:  # noqa: BLE001 - reported to the waiting caller, never lost on this thread
            self.failure = _as_failure(error)

    def _copy(self, response: Any) -> None:
        with tqdm(total=self.declared, unit="B", unit_scale=True, desc=self.label, disable=not self.progress) as bar:
            while chunk := self._next_chunk(response):
                self.digest.update(chunk)
                self.handle.write(chunk)
                if len(self.arrival.head) < _HEAD:
                    self.arrival.head = (self.arrival.head + chunk)[:_HEAD]
                self.arrival.size += len(chunk)
                bar.update(len(chunk))
            if self._cancelled.is_set():
                return
        self.handle.flush()
        os.fsync(self.handle.fileno())

    def _next_chunk(self, response: Any) -> bytes:
        """Up to _CHUNK bytes, gathered one read at a time (``read1`` returns what one read brings), so a
        cancellation is seen after every read however slowly the bytes come; empty at the end or once cancelled."""
        chunk = bytearray()
        while len(chunk) < _CHUNK and not self._cancelled.is_set():
            part = response.read1(_CHUNK - len(chunk))
            if not part:
                break
            chunk += part
        return b"" if self._cancelled.is_set() else bytes(chunk)


class _Response:
    """A local file opened for a ``file://`` URL: no headers, read in chunks."""

    headers = None

    def __init__(self, handle: BinaryIO) -> None:
        self._handle = handle

    def read1(self, size: int) -> bytes:
        return self._handle.read1(size)

    def __enter__(self) -> _Response:
        return self

    def __exit__(self, *exc: object) -> None:
        self._handle.close()


def _open(url: str) -> Any:
    """A response to read ``url`` from. A ``file://`` URL is opened here, only if it names a regular file (a FIFO
    would block the open, a device never end); other schemes go through urllib with the stall timeout."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme == "file":
        if parts.netloc not in ("", "localhost"):
            raise DownloadFailed(f"a file:// URL names a file on this machine (file:///PATH), not on {parts.netloc}")
        return _Response(open_regular(urllib.request.url2pathname(parts.path)))
    request = urllib.request.Request(url, headers={"User-Agent": "frechet"})
    return urllib.request.urlopen(request, timeout=STALL_S)


def _declared_length(headers: Any) -> int | None:
    raw = headers.get("Content-Length") if headers else None
    try:
        return int(raw) if raw is not None else None
    except ValueError:
        return None


def _as_failure(error: BaseException) -> DownloadFailed:
    """A transfer error in a few words."""
    if isinstance(error, urllib.error.HTTPError):
        return DownloadFailed(f"HTTP {error.code}")
    if isinstance(error, urllib.error.URLError):
        return DownloadFailed(str(error.reason))
    if isinstance(error, http.client.HTTPException):
        return DownloadFailed(f"the connection broke off ({type(error).__name__})")
    if isinstance(error, TimeoutError):
        return DownloadFailed(f"the connection was silent for {STALL_S} s")
    if isinstance(error, OSError):
        return DownloadFailed(str(error.strerror or error), error=error)
    if isinstance(error, ValueError):  # an unknown URL scheme, a malformed URL
        return DownloadFailed(str(error))
    return DownloadFailed(f"{type(error).__name__}: {error}")
