"""Importing the optional packages some backbones need, with one-line messages saying what to install."""

from __future__ import annotations

import importlib
from types import ModuleType

import torch

from frechet.errors import ConfigError, one_line


def import_optional(package: str, label: str, install: str) -> ModuleType:
    """Import ``package`` for the embedder ``label``; ``install`` says how to get it (e.g. "pip install 'frechet[onnx]'").

    A package that is missing, or installed but failing to import (often a build for another torch), is a
    :class:`ConfigError` naming the package and what to do.
    """
    try:
        return importlib.import_module(package)
    except ModuleNotFoundError as error:
        if error.name != package and not (error.name or "").startswith(f"{package}."):
            raise _broken(package, label, error) from None
        raise ConfigError(f"{label}: needs the optional package '{package}', which is not installed; {install}") from None
    except Exception as error:  # a broken install raises anything from ImportError to RuntimeError
        raise _broken(package, label, error) from None


def _broken(package: str, label: str, error: BaseException) -> ConfigError:
    return ConfigError(
        f"{label}: the package '{package}' is installed but cannot be loaded ({one_line(error)}); install a {package} build "
        f"that matches torch {torch.__version__}"
    )
