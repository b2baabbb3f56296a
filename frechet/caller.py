"""Who is asking — the ``frechet`` command or Python code — so that messages name settings in the caller's words:
``--skip-bad`` on the command line, ``skip_bad=True`` from Python."""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator
from typing import Any

_CLI = contextvars.ContextVar("frechet_cli", default=False)


@contextlib.contextmanager
def command_line() -> Iterator[None]:
    """Within the block, messages speak the command line's words (the ``frechet`` command runs in one)."""
    token = _CLI.set(True)
    try:
        yield
    finally:
        _CLI.reset(token)


def from_command_line() -> bool:
    """True inside :func:`command_line`."""
    return _CLI.get()


def spell(setting: str, value: Any = True) -> str:
    """A run setting as the caller writes it: ``--batch-size 8`` / ``batch_size=8``; flags (``value=True``) as
    ``--skip-bad`` / ``skip_bad=True``."""
    if from_command_line():
        flag = "--" + setting.replace("_", "-")
        return flag if value is True else f"{flag} {value}"
    return f"{setting}={value!r}"


def spell_embedder_option(name: str, value: Any = "…") -> str:
    """An embedder option as the caller writes it: ``--embedder-option size=224`` / ``embedder_options={'size': 224}``."""
    return _option("embedder", name, value)


def spell_metric_option(name: str, value: Any = "…") -> str:
    """A metric option as the caller writes it: ``--metric-option is_splits=5`` / ``metric_options={'is_splits': 5}``."""
    return _option("metric", name, value)


def spell_source_option(name: str, value: Any = "…") -> str:
    """A source option as the caller writes it: ``--source-option column=smiles`` /
    ``source_options={'column': 'smiles'}``."""
    return _option("source", name, value)


def spell_call(command: str, function: str) -> str:
    """A whole operation: ```frechet distance``` on the command line, ``frechet.fd()`` from Python."""
    return f"`frechet {command}`" if from_command_line() else f"frechet.{function}()"


def _option(kind: str, name: str, value: Any) -> str:
    if from_command_line():
        return f"--{kind}-option {name}={value}"
    shown = "…" if value == "…" else repr(value)
    return f"{kind}_options={{{name!r}: {shown}}}"
