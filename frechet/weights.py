"""Weights store: canonical URL + checksum per file, found in torch hub's cache, downloaded safely, loaded safely.

Lookup order for a spec: an explicit path (``--weights PATH``, not checked against the canonical checksum since it
may be the user's own file), then ``FRECHET_WEIGHTS_DIR``, then torch hub's ``checkpoints`` folder (so files already
fetched by pytorch-fid or torchvision are reused). Missing files are downloaded into the first of those folders to a
temporary file, verified, then renamed; ``FRECHET_OFFLINE=1`` forbids the network and says what to fetch where.
"""

from __future__ import annotations

import contextlib
import http.client
import logging
import os
import re
import urllib.error
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from frechet.io import describe_os_error, file_sha256, is_disk_full
from frechet.errors import WeightsError

log = logging.getLogger("frechet")

#: torch hub's convention: "name-<sha256 prefix>.ext" (e.g. pt_inception-2015-12-05-6726825d.pth -> 6726825d).
_HASH_IN_NAME = re.compile(r"-([a-f0-9]+)\.")


@dataclass(frozen=True)
class WeightsSpec:
    """One downloadable weights file: where it lives canonically and how to recognise it."""

    name: str
    url: str
    sha256: str | None = None  # full digest or a prefix; None: the prefix in the file name (torch hub convention)
    filename: str | None = None  # None: the URL's last component
    description: str = ""

    def __post_init__(self) -> None:
        if self.expected_hash is None:
            raise ValueError(
                f"weights '{self.name}': give sha256= (or a file name with torch hub's '-<sha256 prefix>.' part); "
                "unverified downloads are not supported"
            )

    @property
    def file_name(self) -> str:
        """Name of the file in the cache folder."""
        return self.filename or self.url.rstrip("/").rsplit("/", 1)[-1]

    @property
    def expected_hash(self) -> str | None:
        """The sha256 (or its prefix) the file must have, lower-case hex."""
        if self.sha256:
            return self.sha256.lower()
        match = _HASH_IN_NAME.search(self.file_name)
        return match.group(1) if match else None


#: Hex digits of a file's sha256 that name weights other than the canonical file in an embedder id.
IDENTITY_DIGITS = 16


def weights_identity(spec: WeightsSpec | None = None, path: str | Path | None = None) -> str:
    """How an embedder id names the weights it runs: the canonical file of ``spec`` by the first 8 hex digits of
    its sha256 (without reading it), and any other file by ``sha256:`` and the first 16 of its own — a local copy
    of the canonical file is recognised as such, so statistics made from either stay comparable."""
    if path is None:
        if spec is None:
            raise ValueError("weights_identity needs a spec or a path")
        return spec.expected_hash[:8]
    path = Path(path).expanduser()
    if not path.is_file():
        raise WeightsError(f"{path}: weights file not found")
    digest = file_sha256(path)
    if spec is not None and digest.startswith(spec.expected_hash):
        return spec.expected_hash[:8]
    return f"sha256:{digest[:IDENTITY_DIGITS]}"


def is_offline() -> bool:
    """True when ``FRECHET_OFFLINE`` is set to a true value: no network access at all."""
    return os.environ.get("FRECHET_OFFLINE", "").strip().lower() in {"1", "true", "yes", "on"}


def weights_dir() -> Path:
    """Folder weights are looked up in and downloaded to: ``FRECHET_WEIGHTS_DIR`` or torch hub's checkpoints."""
    override = os.environ.get("FRECHET_WEIGHTS_DIR")
    if override:
        return Path(override).expanduser()
    return Path(torch.hub.get_dir()) / "checkpoints"


def verify(path: Path, spec: WeightsSpec) -> None:
    """Raise WeightsError unless ``path`` has the spec's checksum."""
    expected = spec.expected_hash
    if expected is None:
        return
    actual = file_sha256(path)
    if not actual.startswith(expected):
        raise WeightsError(
            f"{path}: checksum mismatch for {spec.name} (sha256 {actual[:16]}…, expected {expected}…); "
            f"delete the file to download it again from {spec.url}"
        )


def resolve_weights(spec: WeightsSpec, path: str | Path | None = None, *, progress: bool = True) -> Path:
    """Local path of the weights for ``spec``: the given file, a verified cached copy, or a fresh verified download."""
    if path is not None:
        explicit = Path(path).expanduser()
        if not explicit.is_file():
            raise WeightsError(f"{explicit}: weights file not found (given for {spec.name})")
        return explicit
    destination = weights_dir() / spec.file_name
    if destination.is_file():
        verify(destination, spec)
        return destination
    if is_offline():
        raise WeightsError(
            f"{spec.name} weights are not cached and FRECHET_OFFLINE is set: download {spec.url} "
            f"and save it as {destination} (or pass --weights PATH)"
        )
    _download(spec, destination, progress=progress)
    return destination


def _download(spec: WeightsSpec, destination: Path, *, progress: bool) -> None:
    log.info("downloading %s weights from %s to %s", spec.name, spec.url, destination)
    try:
        destination.parent.mkdir(parents=True, exist_ok=True)
        torch.hub.download_url_to_file(spec.url, str(destination), hash_prefix=spec.expected_hash, progress=progress)
    except RuntimeError as error:
        if "invalid hash value" not in str(error):
            raise
        raise WeightsError(
            f"{spec.url}: the downloaded file failed its checksum ({error}); nothing was saved. Try again later, "
            f"or fetch it yourself and save it as {destination}"
        ) from None
    except (OSError, urllib.error.URLError, http.client.HTTPException, ValueError) as error:
        if isinstance(error, OSError) and is_disk_full(error):
            raise WeightsError(
                f"{destination}: downloading {spec.name} weights failed ({describe_os_error(error)}, or set "
                "FRECHET_WEIGHTS_DIR to a folder with room); nothing was saved"
            ) from None
        raise WeightsError(
            f"{spec.url}: download failed ({_reason(error)}); nothing was saved. Check the network, or fetch the "
            f"file yourself and save it as {destination} (or pass --weights PATH)"
        ) from None


def _reason(error: BaseException) -> str:
    if isinstance(error, urllib.error.HTTPError):
        return f"HTTP {error.code}"
    if isinstance(error, urllib.error.URLError):
        return str(error.reason)
    return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__


def load_state_dict(path: str | Path, *, numpy_arrays: bool = False, mmap: bool = False) -> dict[str, Any]:
    """Load a checkpoint with ``torch.load(weights_only=True)`` (tensors only, never arbitrary objects).

    ``numpy_arrays=True`` also admits plain NumPy arrays, dtypes and scalars, which some published checkpoints hold
    (e.g. a training sampler's state, or parameters saved as arrays); they are rebuilt by NumPy's own array
    reconstructor, never by arbitrary callables. ``mmap=True`` maps the file instead of reading it, so only the
    tensors used are read (for large checkpoints of which a model needs a part); a file in torch's legacy
    (non-zip) format is read whole.
    """
    allowed = torch.serialization.safe_globals(_numpy_globals()) if numpy_arrays else contextlib.nullcontext()
    mmap = mmap and zipfile.is_zipfile(path)
    try:
        with allowed:
            state = torch.load(path, map_location="cpu", weights_only=True, mmap=mmap)
    except FileNotFoundError:
        raise WeightsError(f"{path}: weights file not found") from None
    except Exception as error:  # torch raises many types for corrupt, truncated or pickled-object files
        raise WeightsError(
            f"{path}: not a loadable weights file ({type(error).__name__}); it may be truncated, corrupt, or hold "
            "Python objects that frechet refuses to unpickle"
        ) from None
    if not isinstance(state, dict):
        raise WeightsError(f"{path}: expected a state dict of tensors, found {type(state).__name__}")
    return state


def _numpy_globals() -> list[Any]:
    """What a pickled NumPy array or scalar refers to, under NumPy 1's and NumPy 2's module names."""
    multiarray = np.core.multiarray if not hasattr(np, "_core") else np._core.multiarray
    names = []
    for module in ("numpy.core.multiarray", "numpy._core.multiarray"):
        names += [(multiarray._reconstruct, f"{module}._reconstruct"), (multiarray.scalar, f"{module}.scalar")]
    dtypes = getattr(np, "dtypes", None)  # NumPy >= 1.25 pickles dtypes by their class
    dtype_classes = [getattr(dtypes, name) for name in dir(dtypes) if name.endswith("DType")] if dtypes else []
    return [*names, np.ndarray, np.dtype, *dtype_classes]
