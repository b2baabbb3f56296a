"""The first-use pins file (``frechet-pins.json``: canonical URL -> sha256): read within bounds, written under a lock.

The file may be hand-edited, damaged or huge, so it is checked before it is trusted: at most :data:`MAX_BYTES`
bytes, one flat JSON object (nesting is counted before the JSON parser sees it), every value a full sha256 of 64
hex digits (upper case is read as lower case; a prefix is refused, since a pin compares the whole digest). Anything
else is one error naming the file and saying what to do. Updates take an exclusive ``fcntl`` lock on a
``frechet-pins.json.lock`` file beside it, re-read the pins, and replace the file atomically, so concurrent
downloads never lose each other's pins, and the first pin of a URL stays the pin.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
from collections.abc import Iterator
from pathlib import Path

from frechet.errors import OutputError, WeightsError
from frechet.io import atomic_write, current_umask, describe_os_error, open_regular

#: Far above any real pins file (a line is about 150 bytes); a larger file is refused unread.
MAX_BYTES = 1 << 20
_DIGEST = re.compile(r"[0-9a-fA-F]{64}")
_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*(?:\\\Z)?(?:"|\Z)', re.DOTALL)  # unclosed: to the end


def read_pins(path: Path) -> dict[str, str]:
    """URL -> lower-case sha256 from the pins file at ``path`` (empty when there is none); a WeightsError naming it
    when it cannot be trusted."""
    try:
        with open_regular(path) as handle:
            raw = handle.read(min(os.fstat(handle.fileno()).st_size, MAX_BYTES) + 1)
    except FileNotFoundError:
        return {}
    except OSError as error:
        raise _broken(path, f"cannot be read: {error.strerror or error}") from None
    if len(raw) > MAX_BYTES:
        raise _broken(path, f"larger than {MAX_BYTES:,} bytes, far more than any pins file holds")
    return parse_pins(raw, path)


def parse_pins(raw: bytes, path: Path) -> dict[str, str]:
    """The pins in ``raw``, the content of the pins file at ``path`` (named in errors)."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise _broken(path, "not UTF-8 text") from None
    if not text.lstrip().startswith("{"):
        raise _broken(path, "not a JSON object of URL -> sha256")
    if text.count("{") + text.count("[") > 1:  # brackets, perhaps in a URL: counted again outside the strings
        unquoted = _STRING.sub('""', text)
        if unquoted.count("{") + unquoted.count("[") > 1:  # so deep nesting never reaches the JSON parser
            raise _broken(path, "nested values: a pins file is one flat JSON object of URL -> sha256")
    try:
        pairs = json.loads(text, object_pairs_hook=list)
    except json.JSONDecodeError as error:
        raise _broken(path, f"not valid JSON: {error.msg} at line {error.lineno}") from None
    except ValueError as error:  # e.g. a number with more digits than Python converts
        raise _broken(path, f"not valid JSON: {str(error).split(';')[0]}") from None
    for url, digest in pairs:
        if not (isinstance(digest, str) and _DIGEST.fullmatch(digest)):
            shown = digest if isinstance(digest, str) else json.dumps(digest)
            raise _broken(path, f"the pin of {url[:200]!r} is {shown[:70]!r}, not a sha256 (64 hex digits)")
    pins = {url: digest.lower() for url, digest in pairs}
    if len(pins) < len(pairs):  # a URL given twice: only ever to the same digest
        for url, digest in pairs:
            if pins[url] != digest.lower():
                raise _broken(path, f"{url[:200]!r} is pinned twice, to different digests")
    return pins


def add_pin(path: Path, url: str, digest: str) -> str:
    """Record ``digest`` as the pin of ``url`` unless one is recorded already, and return the pin now in force (the
    one another process recorded first, if it did). Raises OutputError when the file cannot be written."""
    digest = digest.lower()
    with _locked(path.with_name(path.name + ".lock")):
        pins = read_pins(path)
        if url in pins:
            return pins[url]
        pins[url] = digest
        with atomic_write(path) as handle:
            handle.write((json.dumps(pins, indent=1, sort_keys=True) + "\n").encode())
    return digest


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o666 & ~current_umask())
    except OSError as error:
        raise OutputError(f"{path}: cannot lock the pins file ({describe_os_error(error)})") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def _broken(path: Path, what: str) -> WeightsError:
    return WeightsError(
        f"{path}: broken pins file ({what}); it records the sha256 of files published without a checksum: repair it "
        "(a JSON object of URL -> 64-hex-digit sha256), or delete it to pin those files again at their next download"
    )
