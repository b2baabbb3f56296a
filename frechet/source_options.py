"""Source options: the values a source kind declares (``column`` of a CSV table, ``min_gutter`` of webtoon episodes),
given once per run as ``--source-option KEY=VALUE`` or ``source_options={...}``; each input's source takes those its
kind declares, parsed by the declaration, and an option that no input of the run takes is an error."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from frechet.caller import spell_source_option
from frechet.errors import ConfigError
from frechet.options import Option, did_you_mean


def source_values(kind: str, declared: Sequence[Option], given: Mapping[str, Any]) -> dict[str, Any]:
    """The options a source of ``kind`` is opened with: each declared one as given (parsed) or its default (one
    whose default is None and that was not given is left out); given options it does not declare are not its."""
    values = {}
    for option in declared:
        value = given.get(option.name)
        if value is None:
            if option.default is not None:
                values[option.name] = option.default
            continue
        try:
            values[option.name] = option.parse(value)
        except (ValueError, TypeError) as error:
            raise ConfigError(
                f"'{kind}' inputs: {spell_source_option(option.name, value)} is not valid ({error}; {option.name} "
                f"is {option.kind})"
            ) from None
    return values


def check_taken(given: Mapping[str, Any], kinds: Mapping[str, Sequence[Option]],
                elsewhere: Iterable[tuple[str, Sequence[Option]]] = ()) -> None:
    """Every given option must be declared by one of ``kinds`` (the source kinds of the run's inputs, by name);
    ``elsewhere`` (the other registered kinds) only helps say where a misplaced option belongs."""
    taken = {option.name for options in kinds.values() for option in options}
    for name, value in given.items():
        if name in taken:
            continue
        inputs = ", ".join(kinds) or "none"
        accepted = f"they take {', '.join(sorted(taken))}" if taken else "they take no source options"
        owners = sorted(kind for kind, options in elsewhere if name in {option.name for option in options})
        belongs = f"; it is an option of {', '.join(owners)} inputs" if owners else ""
        raise ConfigError(
            f"{spell_source_option(name, value)}: no input of this run takes source option {name!r}"
            f"{did_you_mean(name, taken)} (its inputs are read as {inputs}; {accepted}){belongs}; "
            "`frechet sources` lists each kind's options"
        )
