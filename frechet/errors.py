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
