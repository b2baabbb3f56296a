"""Walking nested values built from an untrusted file, without recursion and with every visit counted: a value
shared through a pickle's memo counts at each use, so a few kilobytes cannot stand for billions of paths."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any


class WalkLimit(ValueError):
    """The value holds more than the walk's limit of visits or levels; the message says which."""


def bounded_walk(
    root: Any, children: Callable[[Any], Iterable[tuple[str, Any]]], *, max_nodes: int, max_depth: int
) -> Iterator[tuple[Any, str]]:
    """Each value reachable from ``root`` with its path (the concatenated steps ``children`` names), depth first and
    in order; a value's children are asked for after the caller has seen it. WalkLimit past ``max_nodes`` visits or
    ``max_depth`` levels."""
    pending: list[tuple[Any, str, int]] = [(root, "", 0)]
    visits = 0
    while pending:
        value, where, depth = pending.pop()
        visits += 1
        if visits > max_nodes:
            raise WalkLimit(f"more than {max_nodes:,} values (shared ones counted at each use)")
        if depth > max_depth:
            raise WalkLimit(f"nesting deeper than {max_depth} levels")
        yield value, where
        pending.extend((item, where + step, depth + 1) for step, item in reversed(list(children(value))))
