"""Model files named after ``KIND:``: existence check and the sha256 prefix that goes into the embedder id."""

from __future__ import annotations

from pathlib import Path

from frechet.errors import WeightsError
from frechet.weights import file_sha256

#: Hex digits of the model file's sha256 kept in the embedder id: enough to tell any two files apart.
SHA256_PREFIX = 16


def model_file(target: str, label: str) -> Path:
    """The model file ``target`` names; a missing one is an error naming it."""
    path = Path(target).expanduser()
    if not path.is_file():
        raise WeightsError(f"{label}: no such model file {str(path)!r}; give the path after the ':'")
    return path


def sha256_prefix(path: Path) -> str:
    """The first hex digits of the file's sha256: editing or replacing the model changes the embedder id."""
    return file_sha256(path)[:SHA256_PREFIX]
