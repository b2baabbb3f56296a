"""Embedder options as they arrive from the CLI (strings) or the API (Python values), parsed and checked."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from frechet.errors import ConfigError

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


class Options:
    """Takes the options an embedder knows one by one; ``done()`` rejects whatever is left over."""

    def __init__(self, embedder: str, given: Mapping[str, Any]) -> None:
        self.embedder = embedder
        self._left = dict(given)
        self._known: list[str] = []

    def flag(self, name: str, default: bool = False) -> bool:
        """A yes/no option: a bool, or one of true/false, yes/no, on/off, 1/0."""
        self._known.append(name)
        value = self._left.pop(name, default)
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        raise ConfigError(f"embedder '{self.embedder}': option {name} must be true or false, got '{value}'")

    def text(self, name: str) -> str | None:
        """An optional string option (e.g. a file path); None when not given."""
        self._known.append(name)
        value = self._left.pop(name, None)
        return None if value is None else str(value)

    def done(self) -> None:
        """Raise ConfigError naming any option no ``flag``/``text`` call asked for."""
        if self._left:
            raise ConfigError(
                f"embedder '{self.embedder}' has no option(s) {', '.join(sorted(self._left))}; "
                f"its options are {', '.join(self._known)}"
            )
