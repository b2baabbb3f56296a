"""Model files named after ``KIND:``: existence check and how the embedder id names the file."""

from __future__ import annotations

from pathlib import Path

from frechet.errors import WeightsError
from frechet.io import check_regular_file
from frechet.weights import weights_identity


def model_file(target: str, label: str) -> Path:
    """The model file ``target`` names; a missing one, or one that is not a regular file (a FIFO would block the
    load), is an error naming it."""
    path = Path(target).expanduser()
    check_regular_file(path, label)
    if not path.is_file():
        raise WeightsError(f"{label}: no such model file {str(path)!r}; give the path after the ':'")
    return path


def model_identity(path: Path) -> dict[str, str]:
    """The model file's part of the embedder id (its sha256 prefix): editing or replacing the model changes it."""
    return {"weights": weights_identity(path=path)}
