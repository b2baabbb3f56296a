"""Importing optional packages (extras) with one error saying what to install, raised once for the whole run.

A missing extra is a problem of the environment, not of an item: it is a :class:`~frechet.errors.ConfigError`, so a
run stops with one line instead of skipping every file for the same reason.
"""

from __future__ import annotations

import importlib
import importlib.util
from pathlib import Path
from types import ModuleType

from frechet.errors import ConfigError, one_line


def import_optional(package: str, needed_for: str, install: str, *, repair: str | None = None) -> ModuleType:
    """Import ``package``, which ``needed_for`` (e.g. "embedder 'onnx:m.onnx'", "reading audio files") needs.

    ``install`` says how to get it (:func:`install_extra`); ``repair`` what to do when it is installed but
    fails to import (default: reinstall it that way). Either problem is one :class:`ConfigError`.
    """
    try:
        return importlib.import_module(package)
    except ModuleNotFoundError as error:
        if error.name == package or (error.name or "").startswith(f"{package}."):
            raise ConfigError(
                f"{needed_for}: needs the optional package '{package}', which is not installed; {install}"
            ) from None
        raise _broken(package, needed_for, error, repair or install) from None
    except Exception as error:  # a broken install raises anything from ImportError to OSError or RuntimeError
        raise _broken(package, needed_for, error, repair or install) from None


def package_file(package: str, inside: str) -> Path | None:
    """The file ``inside`` (a path relative to the package's folder) of an installed top-level ``package``, found
    without importing it (none of its code runs), or None when the package or the file is not there."""
    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        return None
    for folder in (spec.submodule_search_locations or []) if spec is not None else []:
        candidate = Path(folder) / inside
        if candidate.is_file():
            return candidate
    return None


def _broken(package: str, needed_for: str, error: BaseException, repair: str) -> ConfigError:
    return ConfigError(
        f"{needed_for}: the package '{package}' is installed but cannot be loaded ({one_line(error)}); {repair}"
    )


def install_extra(extra: str, packages: str) -> str:
    """How to install an extra: its packages by name, or the extra itself from frechet's checkout (frechet is
    installed from its source, not from a package index)."""
    return f"pip install {packages} (or, in frechet's checkout, pip install -e '.[{extra}]')"


def matching_build(package: str) -> str:
    """What to do when a package built against torch (torchvision, timm's torchvision) fails to import."""
    import torch

    return f"install a {package} build that matches torch {torch.__version__}"
