"""Reading metric options, which arrive as Python values from the API or as strings from ``--metric-option``."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from frechet.errors import ConfigError


def whole_number(options: Mapping[str, Any], name: str, minimum: int = 1) -> int:
    """Option ``name`` as an int ≥ ``minimum``; a ConfigError naming the option otherwise."""
    value = options[name]
    try:
        number = int(value) if not isinstance(value, float) or value.is_integer() else None
    except (TypeError, ValueError):
        number = None
    if number is None or isinstance(value, bool) or number < minimum:
        raise ConfigError(f"metric option {name} must be a whole number ≥ {minimum}, got {value!r}")
    return number


def real_number(
    options: Mapping[str, Any], name: str, *, above: float | None = None, below: float | None = None
) -> float:
    """Option ``name`` as a finite float, strictly between ``above`` and ``below`` where given."""
    value = options[name]
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = math.nan
    if (
        isinstance(value, bool)
        or not math.isfinite(number)
        or (above is not None and number <= above)
        or (below is not None and number >= below)
    ):
        bounds = " and ".join(
            part for part in (f"> {above:g}" if above is not None else "", f"< {below:g}" if below is not None else "")
            if part
        )
        raise ConfigError(f"metric option {name} must be a number{' ' + bounds if bounds else ''}, got {value!r}")
    return number
