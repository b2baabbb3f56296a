"""Declared embedder options: name, type, choices, default and help, parsed and checked by the core before an
embedder is built, whether the values come from the command line (strings) or from Python."""

from __future__ import annotations

import difflib
import inspect
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from frechet.caller import spell_embedder_option
from frechet.errors import ConfigError

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


@dataclass(frozen=True)
class Option:
    """One option an embedder takes. ``type`` is ``str``, ``int``, ``float``, ``bool``, ``Path`` or a parser
    ``callable(value) -> value`` that raises ``ValueError`` with a short reason; ``choices`` lists the accepted
    values of a text option (compared in lower case); ``default`` is what the embedder gets when the option is not
    given (``None``: not given)."""

    name: str
    type: Callable[[Any], Any] = str
    default: Any = None
    choices: tuple[str, ...] | None = None
    help: str = ""

    def parse(self, value: Any) -> Any:
        """The value in this option's type; ``ValueError`` saying what is expected otherwise."""
        if self.type is bool:
            return _boolean(value)
        if self.type is int:
            return _whole(value)
        if self.type is float:
            return _real(value)
        if self.type is Path:
            return Path(str(value)).expanduser()
        if self.type is str:
            text = str(value).strip()
            if self.choices is not None:
                text = text.lower()
                if text not in self.choices:
                    raise ValueError(f"choose one of {', '.join(self.choices)}")
            return text
        return self.type(value)

    @property
    def kind(self) -> str:
        """The type in words, for listings: "yes/no", "whole number", "number", "path", "text" or "one of …"."""
        if self.choices is not None:
            return "one of " + "|".join(self.choices)
        names = {bool: "yes/no", int: "whole number", float: "number", Path: "path", str: "text"}
        return names.get(self.type, getattr(self.type, "__doc__", None) and _first_line(self.type.__doc__) or "value")


def in_range(kind: type[int] | type[float], accepts: Callable[[Any], bool], describe: str) -> Callable[[Any], Any]:
    """An ``Option.type`` for a whole number (``kind`` int) or a number (float) for which ``accepts(value)`` holds;
    ``describe`` says which in listings and errors (``"a whole number from 0 to 255"``)."""
    convert = _whole if kind is int else _real

    def parse(value: Any) -> Any:
        number = convert(value)
        if not accepts(number):
            raise ValueError("out of range")
        return number

    parse.__doc__ = describe
    return parse


def parse_options(
    embedder: str,
    declared: Sequence[Option] | None,
    given: Mapping[str, Any],
    *,
    target: str | None = None,
    defaults: bool = True,
) -> dict[str, Any]:
    """The options to build embedder ``embedder`` with: each given one parsed by its declaration, and with
    ``defaults`` the declared defaults of the rest. ``declared=None`` passes options through as given (an embedder that forwards them, e.g. to a user's
    factory). An unknown name or a bad value is a ConfigError listing what the embedder accepts."""
    if declared is None:
        return {**given, **({"target": target} if target is not None else {})}
    by_name = {option.name: option for option in declared}
    parsed: dict[str, Any] = {}
    for name, value in given.items():
        option = by_name.get(name)
        if option is None:
            accepted = ", ".join(by_name) or "no options"
            hint = did_you_mean(name, by_name)
            raise ConfigError(
                f"embedder '{embedder}' has no option {name!r}{hint}; it takes {accepted} "
                f"(see `frechet embedders {embedder.rstrip(':')}`)"
            )
        if value is None:
            continue
        try:
            parsed[name] = option.parse(value)
        except (ValueError, TypeError) as error:
            raise ConfigError(
                f"embedder '{embedder}': {spell_embedder_option(name, value)} is not valid ({error}; {name} is "
                f"{option.kind})"
            ) from None
    for option in declared if defaults else ():
        if option.name not in parsed and option.default is not None:
            parsed[option.name] = option.default
    if target is not None:
        parsed["target"] = target
    return parsed


def parameters_as_options(factory: Callable[..., Any], embedder: str) -> tuple[Option, ...] | None:
    """Options read off a factory that declares none: its keyword parameters, taken as given (text); None when it
    takes any keyword (``**options``) or has no signature to read, so whatever is given is passed on."""
    try:
        parameters = inspect.signature(factory).parameters.values()
    except (TypeError, ValueError):
        return None
    if any(parameter.kind is parameter.VAR_KEYWORD for parameter in parameters):
        return None
    return tuple(
        Option(parameter.name, _as_given)
        for parameter in parameters
        if parameter.kind in (parameter.POSITIONAL_OR_KEYWORD, parameter.KEYWORD_ONLY) and parameter.name != "target"
    )


def _as_given(value: Any) -> Any:
    """as given"""
    return value


def _boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError("use true or false")


def _whole(value: Any) -> int:
    if isinstance(value, bool):
        raise ValueError("not a whole number")
    if isinstance(value, float):
        if not value.is_integer():
            raise ValueError("not a whole number")
        return int(value)
    try:
        return int(str(value).strip())
    except ValueError:
        raise ValueError("not a whole number") from None


def _real(value: Any) -> float:
    if isinstance(value, bool):
        raise ValueError("not a number")
    try:
        number = float(str(value).strip()) if isinstance(value, str) else float(value)
    except (TypeError, ValueError):
        raise ValueError("not a number") from None
    if not math.isfinite(number):
        raise ValueError("not a finite number")
    return number


def did_you_mean(name: str, known: Iterable[str]) -> str:
    """`` (did you mean 'closest'?)`` for a misspelt name, or nothing when no known name is close."""
    close = difflib.get_close_matches(name, list(known), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0].rstrip(".")
