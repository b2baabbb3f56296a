"""The ``meta`` JSON that statistics files and cache shards carry, read within size and nesting limits and checked
against a schema of the keys frechet reads, so that a hand-edited or hostile file is refused in one line instead of
breaking a command (a deeply nested array, a list where a name belongs, a format from a newer frechet)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from frechet.version import __version__

#: The longest ``meta`` read, in characters (a statistics file lists its skipped items: room for ~500k names).
MAX_CHARS = 64 << 20
#: The deepest nesting of arrays and objects read (frechet writes 3 levels; the JSON parser recurses per level).
MAX_DEPTH = 32
_STRINGS = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_OPEN, _CLOSE = frozenset(b"[{"), frozenset(b"]}")


class MetaError(ValueError):
    """``meta`` cannot be used; the message says what is wrong with it (the caller adds which file)."""


class NewerFormatError(MetaError):
    """The file was written by a newer frechet, in a format version this one does not know."""


def parse_json(text: str, what: str = "'meta'") -> Any:
    """``json.loads(text)``, refused as :class:`MetaError` when it is too long, nested too deep or not JSON.

    The nesting is measured before parsing (strings blanked out, brackets counted), since the parser itself
    recurses once per level and a few thousand levels overflow the interpreter's stack.
    """
    if len(text) > MAX_CHARS:
        raise MetaError(f"{what} holds {len(text):,} characters, more than the {MAX_CHARS:,} frechet reads")
    depth = nesting_depth(text)
    if depth > MAX_DEPTH:
        raise MetaError(f"{what} is nested {depth} levels deep, more than the {MAX_DEPTH} frechet reads")
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as error:
        reason = error.msg if isinstance(error, json.JSONDecodeError) else type(error).__name__
        raise MetaError(f"{what} is not valid JSON ({reason})") from None


def nesting_depth(text: str) -> int:
    """How deeply JSON arrays and objects nest in ``text`` (brackets inside strings do not count)."""
    brackets = np.frombuffer(_STRINGS.sub('""', text).encode("utf-8", "surrogatepass"), dtype=np.uint8)
    steps = np.zeros(brackets.shape, dtype=np.int64)
    steps[np.isin(brackets, list(_OPEN))] = 1
    steps[np.isin(brackets, list(_CLOSE))] = -1
    return int(np.cumsum(steps).max(initial=0))


# ---------------------------------------------------------------------------------------------------- schemas
Check = Callable[[Any], bool]


def _text(value: Any) -> bool:
    return isinstance(value, str)


def _count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _optional(check: Check) -> Check:
    return lambda value: value is None or check(value)


def _texts(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(item, str) for item in value)


def _object(value: Any) -> bool:
    return isinstance(value, dict)


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _bad_items(value: Any) -> bool:
    return isinstance(value, list) and all(
        isinstance(item, list) and len(item) == 2 and _count(item[0]) and isinstance(item[1], str) for item in value
    )


def _outputs(value: Any) -> bool:
    return isinstance(value, list) and all(
        isinstance(entry, dict) and _text(entry.get("name")) and _texts(entry.get("kinds"))
        and set(entry["kinds"]) <= {"stats", "features"}
        for entry in value
    )


#: The keys statistics files record (docs/formats.md) and their types; other keys are kept as they are.
STATS_SCHEMA: dict[str, tuple[Check, str]] = {
    "format": (_text, "a text"),
    "format_version": (_count, "a whole number"),
    "embedder": (_text, "a text"),
    "embedder_name": (_text, "a text"),
    "config": (_object, "an object"),
    "precision": (_text, "a text"),
    "output": (_text, "a text"),
    "fd_key": (_optional(_text), "a text or null"),
    "fd_options": (_object, "an object"),
    "source_options": (_object, "an object"),
    "n_items": (_optional(_count), "a whole number ≥ 0 or null"),
    "n_skipped": (_count, "a whole number ≥ 0"),
    "skipped": (_texts, "a list of texts"),
    "frechet_version": (_text, "a text"),
}

#: The keys a cache shard records, all required.
SHARD_SCHEMA: dict[str, tuple[Check, str]] = {
    "format": (_text, "a text"),
    "format_version": (_count, "a whole number"),
    "embedder": (_text, "a text"),
    "key": (_text, "a text"),
    "label": (_text, "a text"),
    "start": (_count, "a whole number ≥ 0"),
    "stop": (_count, "a whole number ≥ 0"),
    "n_good": (_count, "a whole number ≥ 0"),
    "skipped": (_bad_items, "a list of [offset, reason] pairs"),
    "outputs": (_outputs, "a list of {name, kinds} objects"),
    "device": (_text, "a text"),
    "created": (_number, "a number"),
    "frechet_version": (_text, "a text"),
    "digest": (_text, "a text"),
}


def check_meta(
    meta: Any, schema: Mapping[str, tuple[Check, str]], *, format: str, version: int, required: bool = False
) -> dict[str, Any]:
    """``meta`` as a dict whose known keys have their types; a ``format_version`` above ``version`` is a
    :class:`NewerFormatError` naming both. ``required``: every key of the schema must be present."""
    if not isinstance(meta, dict):
        raise MetaError(f"'meta' must be a JSON object, not {type(meta).__name__}")
    if "format" in meta and meta["format"] != format:
        raise MetaError(f"'meta' says format {str(meta['format'])[:40]!r}, not {format!r}")
    found = meta.get("format_version")
    if _count(found) and found > version:
        raise NewerFormatError(
            f"written by a newer frechet ({format} format version {found}; this frechet {__version__} reads up to "
            f"version {version}); upgrade frechet to read it"
        )
    for key, (check, kind) in schema.items():
        if key not in meta:
            if required:
                raise MetaError(f"'meta' lacks the key '{key}'")
            continue
        if not check(meta[key]):
            raise MetaError(f"'meta' key '{key}' must be {kind}, got {_describe(meta[key])}")
    return meta


def _describe(value: Any) -> str:
    shown = json.dumps(value)
    return shown if len(shown) <= 40 else f"{type(value).__name__} {shown[:37]}…"
