"""Each warning once per run: within an API call (and so a command) every distinct warning frechet logs is shown the
first time only, however often a loop over levels, embedders or sides meets the same condition again."""

from __future__ import annotations

import contextlib
import contextvars
import logging
from collections.abc import Iterator

_SEEN: contextvars.ContextVar[set[str] | None] = contextvars.ContextVar("frechet_warnings_seen", default=None)


class _OncePerRun(logging.Filter):
    """Drops a warning whose message this run has shown already; outside a run everything passes."""

    def filter(self, record: logging.LogRecord) -> bool:
        seen = _SEEN.get()
        if seen is None or record.levelno < logging.WARNING:
            return True
        message = record.getMessage()
        if message in seen:
            return False
        seen.add(message)
        return True


logging.getLogger("frechet").addFilter(_OncePerRun())


@contextlib.contextmanager
def one_run() -> Iterator[None]:
    """A run: the warnings logged within show once each; a run inside another (``fd`` calls ``compute``) is part of it.
    Usable as a decorator."""
    if _SEEN.get() is not None:
        yield
        return
    token = _SEEN.set(set())
    try:
        yield
    finally:
        _SEEN.reset(token)
