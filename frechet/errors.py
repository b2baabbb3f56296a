"""The exceptions frechet raises for problems a user can fix; the CLI prints them as one line and exits 2."""

from __future__ import annotations


class FrechetError(Exception):
    """Base class: a problem with the user's input, configuration or environment, with a message saying what to do."""


class InputError(FrechetError, ValueError):
    """An input (file, folder, array, argument value) cannot be used as given."""


class StatsFileError(InputError):
    """A statistics ``.npz`` file is unreadable, malformed or inconsistent."""


class IncompatibleStatsError(FrechetError):
    """Two sets of statistics come from different embedders or outputs and must not be compared."""


class ConfigError(FrechetError, ValueError):
    """An option, embedder name, metric name or plugin setting is unknown or invalid."""


class WeightsError(FrechetError):
    """Model weights are missing, cannot be downloaded, or fail their checksum."""


class PluginError(FrechetError):
    """A plugin could not be loaded or registered something invalid."""


class OutputError(FrechetError):
    """An output file (statistics, cache shard, weights) could not be written; the previous file, if any, is intact."""


class UnsavedResultError(OutputError):
    """Files recording a finished run could not be written (none was); ``result`` holds the run's result."""

    def __init__(self, message: str, result: object) -> None:
        super().__init__(message)
        self.result = result


#: Characters of a foreign message kept; some libraries put a paragraph on one line.
_LONGEST = 160
#: How TorchScript starts an error raised inside a scripted model; the error itself is the last line.
_TORCHSCRIPT_PREAMBLE = "The following operation failed in the TorchScript interpreter."


def one_line(error: BaseException) -> str:
    """``Type: first line of the message`` (shortened; or just the type), for errors raised by code frechet does not
    control (models, plugins, user factories) that must still be reported on one line."""
    lines = [line.strip() for line in str(error).strip().splitlines() if line.strip()]
    if not lines:
        return type(error).__name__
    if lines[0] == _TORCHSCRIPT_PREAMBLE:
        return _shorten(lines[-1])
    return f"{type(error).__name__}: {_shorten(lines[0])}"


def _shorten(line: str) -> str:
    return line if len(line) <= _LONGEST else line[: _LONGEST - 1] + "…"
