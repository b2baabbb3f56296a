"""One-line summaries of exceptions raised by code frechet does not control (models, onnxruntime, user factories)."""

from __future__ import annotations

#: Characters of a foreign message kept; some libraries put a paragraph on one line.
_LONGEST = 160
#: How TorchScript starts an error raised inside a scripted model; the error itself is the last line.
_TORCHSCRIPT_PREAMBLE = "The following operation failed in the TorchScript interpreter."


def summary(error: BaseException) -> str:
    """``Type: first line of the message`` (shortened; or just the type), for errors that must stay on one line."""
    lines = [line.strip() for line in str(error).strip().splitlines() if line.strip()]
    if not lines:
        return type(error).__name__
    if lines[0] == _TORCHSCRIPT_PREAMBLE:
        return _shorten(lines[-1])
    return f"{type(error).__name__}: {_shorten(lines[0])}"


def _shorten(line: str) -> str:
    return line if len(line) <= _LONGEST else line[: _LONGEST - 1] + "…"
