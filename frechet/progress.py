"""Progress of long work: a tqdm bar on a terminal, otherwise a few plain lines in the ``frechet`` log."""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Iterable, Iterator
from typing import TypeVar

from tqdm import tqdm

log = logging.getLogger("frechet")
Item = TypeVar("Item")

#: Without a terminal, a line is logged each time another tenth of the work is done, if this many seconds have
#: passed since the last line (work that ends in seconds gets its start and end lines only).
_LOG_STEPS = 10
_LOG_EVERY_S = 2.0


class Progress:
    """Counts finished units of ``total`` and shows them.

    ``show``: None shows a bar when stderr is a terminal and otherwise logs a start line, a line every ~10 % (at most
    one per 2 s) and an end line with the rate (INFO on the ``frechet`` logger); True always draws the bar on stderr;
    False shows nothing.
    """

    def __init__(self, total: int, description: str, *, unit: str = "item", show: bool | None = None) -> None:
        self.total, self.description, self.unit = max(0, int(total)), description, unit
        self.done = 0
        self._mode = "off" if show is False else "bar" if show or sys.stderr.isatty() else "log"
        self._bar: tqdm | None = None
        self._logged_step = 0
        self._start = self._last_line = 0.0

    def __enter__(self) -> Progress:
        self._start = self._last_line = time.perf_counter()
        if self._mode == "bar":
            self._bar = tqdm(total=self.total, desc=self.description, unit=self.unit, file=sys.stderr)
        elif self._mode == "log":
            log.info("%s: %d %s to do", self.description, self.total, _plural(self.unit, self.total))
        return self

    def update(self, count: int = 1) -> None:
        """Record ``count`` more finished units."""
        self.done += count
        if self._bar is not None:
            self._bar.update(count)
        elif self._mode == "log" and self.total:
            step = min(_LOG_STEPS, self.done * _LOG_STEPS // self.total)
            if self._logged_step < step < _LOG_STEPS and time.perf_counter() - self._last_line >= _LOG_EVERY_S:
                self._logged_step, self._last_line = step, time.perf_counter()
                log.info("%s: %d %% (%d of %d %s, %.0f s)", self.description, 100 * self.done // self.total,
                         self.done, self.total, _plural(self.unit, self.total), self._elapsed())

    def __exit__(self, kind: type[BaseException] | None, *rest: object) -> None:
        if self._bar is not None:
            self._bar.close()
        if self._mode == "log" and kind is None:
            elapsed = self._elapsed()
            rate = f", {self.done / elapsed:.3g} {_plural(self.unit, 2)}/s" if elapsed > 0 else ""
            log.info("%s: %d %s in %.1f s%s", self.description, self.done, _plural(self.unit, self.done), elapsed, rate)

    def _elapsed(self) -> float:
        return time.perf_counter() - self._start


def track(
    items: Iterable[Item], total: int, description: str, *, unit: str = "item", show: bool | None = None
) -> Iterator[Item]:
    """Yield ``items`` while showing their progress (see :class:`Progress`)."""
    with Progress(total, description, unit=unit, show=show) as progress:
        for item in items:
            yield item
            progress.update()


def _plural(unit: str, count: int) -> str:
    return unit if count == 1 or unit.endswith("s") else unit + "s"
