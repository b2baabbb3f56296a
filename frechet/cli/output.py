"""How the command prints: values and aligned tables, sizes, control characters escaped, and its log lines."""

from __future__ import annotations

import json
import logging
import math
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

log = logging.getLogger("frechet")


#: How text output shows a value nobody knows (a count a foreign statistics file does not record, say).
UNKNOWN = "-"


def print_values(values: dict[str, Any], *, as_json: bool) -> None:
    """One ``key  value`` line per entry, or one JSON object with ``as_json``."""
    if as_json:
        print(json.dumps({key: json_value(value) for key, value in values.items()}))
        return
    width = max(len(key) for key in values)
    for key, value in values.items():
        print(f"{key:<{width}}  {printable(value_text(value))}")


def value_text(value: Any) -> str:
    """How text output shows a value: ``-`` for none, lists joined by commas, floats to 10 digits."""
    if value is None:
        return UNKNOWN
    if isinstance(value, list):
        return ", ".join(map(str, value)) if value else UNKNOWN
    if isinstance(value, float):
        return f"{value:.10g}"
    return str(value)


def print_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    """Rows under a header, columns aligned; the last column runs on unpadded."""
    cells = [list(header), *[[printable(cell) for cell in row] for row in rows]]
    widths = [max(len(row[column]) for row in cells) for column in range(len(header) - 1)]
    for row in cells:
        print("  ".join([cell.ljust(width) for cell, width in zip(row, widths)] + [row[-1]]).rstrip())


def json_value(value: Any) -> Any:
    """A value as JSON can hold it: NaN and infinities as null, paths as text, tuples as lists."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, tuple):
        return list(value)
    return value


def size_text(n_bytes: int) -> str:
    """A size in bytes as B, KB, MB, GB or TB (powers of 1024)."""
    value = float(n_bytes)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} TB"


def printable(text: str) -> str:
    """Control characters (a newline in a file name, say) shown escaped, so no name can forge a line of output."""
    return "".join(char if char.isprintable() or char == " " else repr(char)[1:-1] for char in text)


def setup_logging(*, quiet: bool) -> None:
    """frechet's log lines on stderr as ``frechet: level: message``; warnings only when ``quiet``."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_Formatter("frechet: %(levelname)s: %(message)s"))
    log.handlers[:] = [handler]
    log.setLevel(logging.WARNING if quiet else logging.INFO)
    log.propagate = False


class _Formatter(logging.Formatter):
    """Lower-case level names, and messages with control characters escaped."""

    def format(self, record: logging.LogRecord) -> str:
        record.levelname = record.levelname.lower()
        record.msg, record.args = printable(record.getMessage()), None
        return super().format(record)


def silence_stdout() -> None:
    """After a broken pipe, point stdout at /dev/null so Python's exit flush does not raise again."""
    import os

    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
