"""Weights store: canonical URL + checksum per file, found in torch hub's cache, downloaded safely, loaded safely.

Lookup order for a spec: an explicit path (``--weights PATH``, not checked against the canonical checksum since it
may be the user's own file), then ``FRECHET_WEIGHTS_DIR``, then torch hub's ``checkpoints`` folder (so files already
fetched by pytorch-fid or torchvision are reused). Missing files are downloaded into the first of those folders
(:mod:`frechet.download`: temporary file, verified, renamed) from the canonical URL, or from
``$FRECHET_MIRROR/<file name>`` when a mirror is set (a URL, or an absolute path of a shared folder);
``FRECHET_OFFLINE=1`` forbids the network and says what to fetch where. A download is checked completely before it
is renamed into place: its checksum, and its content (what the spec's ``check`` reads, by default a loadable state
dict for weights without a full published sha256). Files whose publisher gives no checksum are pinned: the sha256
of the first copy seen, once it passed its content check, is recorded in the folder's ``frechet-pins.json``
(:mod:`frechet.pins`) and every later copy must match it.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import urllib.parse
import urllib.request
import zipfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from frechet.caller import from_command_line, spell_embedder_option
from frechet.download import DownloadFailed, fetch
from frechet.errors import ConfigError, FrechetError, OutputError, WeightsError, one_line
from frechet.io import describe_os_error, file_kind, file_sha256, is_disk_full, open_regular
from frechet.pins import add_pin, read_pins
from frechet.tensor_files import archive_problem, tensors_problem

log = logging.getLogger("frechet")

OFFLINE_ENV = "FRECHET_OFFLINE"
WEIGHTS_DIR_ENV = "FRECHET_WEIGHTS_DIR"
MIRROR_ENV = "FRECHET_MIRROR"
#: The first-use pins (canonical URL -> sha256) of files published without a checksum, in the weights folder.
PINS_FILE = "frechet-pins.json"
#: torch hub's convention: "name-<sha256 prefix>.ext" (e.g. pt_inception-2015-12-05-6726825d.pth -> 6726825d).
_HASH_IN_NAME = re.compile(r"-([a-f0-9]+)\.")


@dataclass(frozen=True)
class WeightsSpec:
    """One downloadable file (weights, or reference statistics): where it lives canonically and how to recognise it.

    ``pin=True`` is for files whose publisher gives no checksum: the first copy's sha256 is recorded and later
    copies must match it. Several specs with the same checksum are the same file under other names and URLs.
    ``check(path)`` raises a :class:`~frechet.errors.FrechetError` saying why the file at ``path`` is not this
    file's content (a reference's statistics of the wrong dimension, an HTML page; what it returns is unused); it
    runs on every download and before a first pin. None: weights without a full published sha256 must load as a
    state dict.
    """

    name: str
    url: str
    sha256: str | None = None  # full digest or a prefix; None: the prefix in the file name (torch hub convention)
    filename: str | None = None  # None: the URL's last component
    description: str = ""
    pin: bool = False
    kind: str = "weights"  # what the file is, for messages ("weights", "reference statistics")
    check: Callable[[Path], object] | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.expected_hash is None and not self.pin:
            raise ValueError(
                f"weights '{self.name}': give sha256= (or a file name with torch hub's '-<sha256 prefix>.' part), or "
                "pin=True where the publisher gives no checksum; unverified downloads are not supported"
            )

    @property
    def file_name(self) -> str:
        """Name of the file in the cache folder (and on a mirror)."""
        return self.filename or urllib.parse.unquote(self.url.rstrip("/").rsplit("/", 1)[-1].split("?")[0])

    @property
    def expected_hash(self) -> str | None:
        """The published sha256 (or its prefix) the file must have, lower-case hex; None when it is pinned."""
        if self.sha256:
            return self.sha256.lower()
        match = _HASH_IN_NAME.search(self.file_name)
        return match.group(1) if match else None

    def check_content(self, path: Path) -> None:
        """Raise a FrechetError unless ``path`` holds what this file should (see ``check``); a file whose full
        published sha256 it matches needs no more."""
        if self.check is not None:
            self.check(path)
        elif self.kind == "weights" and len(self.expected_hash or "") < _FULL_DIGEST:
            load_state_dict(path, numpy_arrays=True, mmap=True)


#: Hex digits of a whole sha256.
_FULL_DIGEST = 64
#: Hex digits of a file's sha256 that name weights other than the canonical file in an embedder id.
IDENTITY_DIGITS = 16


def _not_a_file(path: Path) -> str:
    """Why ``path`` cannot be read as a weights file: missing, or a FIFO, device or folder (never opened)."""
    try:
        mode = path.stat().st_mode
    except OSError:
        return "weights file not found"
    return f"is {file_kind(mode)}, not a weights file; name the file itself"


def weights_identity(spec: WeightsSpec | None = None, path: str | Path | None = None) -> str:
    """How an embedder id names the weights it runs: the canonical file of ``spec`` by the first 8 hex digits of
    its sha256 (the published one without reading the file; for a pinned file, the one recorded at its first use,
    so call this after :func:`resolve_weights`), and any other file by ``sha256:`` and the first 16 of its own — a
    local copy of the canonical file is recognised as such, so statistics made from either stay comparable."""
    known = None if spec is None else spec.expected_hash or (pinned_sha256(spec) if spec.pin else None)
    if path is None:
        if known is None:
            raise ValueError("weights_identity needs a spec with a published or pinned checksum, or a path")
        return known[:8]
    path = Path(path).expanduser()
    if not path.is_file():
        raise WeightsError(f"{path}: {_not_a_file(path)}")
    digest = file_sha256(path)
    if known is not None and digest.startswith(known):
        return known[:8]
    return f"sha256:{digest[:IDENTITY_DIGITS]}"


def is_offline() -> bool:
    """True when ``FRECHET_OFFLINE`` is set to a true value: no network access at all."""
    return os.environ.get(OFFLINE_ENV, "").strip().lower() in {"1", "true", "yes", "on"}


def weights_dir() -> Path:
    """Folder weights are looked up in and downloaded to: ``FRECHET_WEIGHTS_DIR`` or torch hub's checkpoints."""
    override = os.environ.get(WEIGHTS_DIR_ENV)
    if override:
        return Path(override).expanduser()
    return Path(torch.hub.get_dir()) / "checkpoints"


def mirror() -> str | None:
    """``FRECHET_MIRROR`` as a URL without a trailing slash, or None: a server (``http(s)://``) or a folder
    (``file:///PATH``, or an absolute path) serving every file by name. Anything else is a ConfigError."""
    base = os.environ.get(MIRROR_ENV, "").strip()
    if not base:
        return None
    if base.startswith("/"):
        return "file://" + urllib.request.pathname2url(base).rstrip("/")
    forms = (
        f"set {MIRROR_ENV} to http(s)://HOST[:PORT]/FOLDER, file:///ABSOLUTE/FOLDER, or an absolute path "
        "/ABSOLUTE/FOLDER"
    )
    try:
        parts = urllib.parse.urlsplit(base)
        parts.port  # noqa: B018 - parsing the port refuses a malformed one
    except ValueError as error:
        raise ConfigError(f"{MIRROR_ENV}={base!r} is not a valid URL ({error}); {forms}") from None
    if parts.scheme in ("http", "https") and parts.hostname:
        return base.rstrip("/")
    if parts.scheme == "file" and parts.netloc in ("", "localhost") and parts.path.startswith("/"):
        return base.rstrip("/")
    what = "a relative path" if not parts.scheme else f"a {parts.scheme}: URL frechet does not fetch from"
    if parts.scheme in ("http", "https", "file"):
        what = f"an incomplete {parts.scheme} URL"
    raise ConfigError(f"{MIRROR_ENV}={base!r} is {what}; {forms}")


def download_url(spec: WeightsSpec) -> str:
    """Where ``spec`` is downloaded from: ``$FRECHET_MIRROR/<file name>`` when a mirror is set, else its URL."""
    base = mirror()
    return f"{base}/{urllib.parse.quote(spec.file_name)}" if base else spec.url


# ---------------------------------------------------------------------------------------------------- first-use pins
def pins_path() -> Path:
    """The pins file of the current weights folder."""
    return weights_dir() / PINS_FILE


def pinned_sha256(spec: WeightsSpec) -> str | None:
    """The sha256 recorded for ``spec``'s canonical URL at its first use (lower case), or None."""
    return read_pins(pins_path()).get(spec.url)


def _record_pin(spec: WeightsSpec, digest: str, path: Path) -> str:
    """Pin ``digest`` for ``spec`` and return the pin in force: ``digest``, or the one another process recorded
    first. A pins file that cannot be written is a warning: the file is checked again at its next use."""
    try:
        pinned = add_pin(pins_path(), spec.url, digest)
    except OutputError as error:
        log.warning("could not record the sha256 of %s (%s); it is checked again at its next use", path, error)
        return digest
    if pinned == digest:
        log.info(
            "%s: no checksum is published for %s; recorded its sha256 %s… in %s, later copies must match it",
            path, spec.url, digest[:16], pins_path(),
        )
    return pinned


def _content_problem(spec: WeightsSpec, path: Path) -> str | None:
    """Why the file at ``path`` is not ``spec``'s content, in words that do not name ``path`` (a temporary file,
    for a download), or None when it passes."""
    try:
        spec.check_content(path)
    except FrechetError as error:
        reason = str(error)
    except Exception as error:  # noqa: BLE001 - a check (a plugin's) that breaks on the file refuses it
        reason = one_line(error)
    else:
        return None
    reason = reason.replace(f"{path}: ", "").replace(str(path), "the file").split("; ")[0]
    return f"not {spec.name} {spec.kind}: {reason}"


# ---------------------------------------------------------------------------------------------------- lookup
def verify(path: Path, spec: WeightsSpec) -> None:
    """Raise WeightsError unless ``path`` has the spec's checksum (pinning it on first use when none is published)."""
    expected = spec.expected_hash
    pinned = None if expected else pinned_sha256(spec)
    actual = file_sha256(path)
    if expected is not None and not actual.startswith(expected):
        raise WeightsError(
            f"{path}: checksum mismatch for {spec.name} (sha256 {actual[:16]}…, expected {expected}…): not the "
            f"published file; {_mismatch_advice(spec)}"
        )
    if expected is None and pinned is None:
        problem = _content_problem(spec, path)
        if problem is not None:
            raise WeightsError(
                f"{path}: {problem}; nothing was pinned. Delete the file to download it again from "
                f"{download_url(spec)}, or replace it with the file from {spec.url}"
            )
        pinned = _record_pin(spec, actual, path)
    if pinned is not None and actual != pinned:
        raise WeightsError(
            f"{path}: checksum mismatch for {spec.name} (sha256 {actual[:16]}…, but {pinned[:16]}… was recorded "
            f"when it was first used, in {pins_path()}); {_mismatch_advice(spec)}; or, if its publisher replaced "
            "it on purpose, remove its line from the pins file"
        )


def _mismatch_advice(spec: WeightsSpec) -> str:
    """What to do with a file under a canonical name that is not the canonical file: a file of one's own is given
    by path (the canonical name is only for the published bytes); otherwise the published file replaces it."""
    own = "--weights PATH" if from_command_line() else spell_embedder_option("weights", "PATH")
    fetch = (f"download {download_url(spec)} on a machine with internet and put it in its place" if is_offline()
             else f"delete it to download it again from {download_url(spec)}")
    return (f"if it is a file of your own, give it with {own} (or rename it: this name is for the published "
            f"file); else {fetch}")


def cached_path(specs: WeightsSpec | Sequence[WeightsSpec]) -> Path | None:
    """The cached copy of the file (under any of its specs' names), unverified, or None."""
    for spec in _as_specs(specs):
        candidate = weights_dir() / spec.file_name
        if candidate.is_file():
            return candidate
    return None


def resolve_weights(
    specs: WeightsSpec | Sequence[WeightsSpec],
    path: str | Path | None = None,
    *,
    progress: bool = True,
    instead: str | None = None,
) -> Path:
    """Local path of a file: the given ``path``, a verified cached copy, or a fresh verified download.

    ``specs`` is one spec or several for the same file (same bytes under other names and URLs): a copy cached under
    any name is used, and downloads try each URL in turn. ``instead`` tells the user, in messages, how to give a
    file of their own (default: the ``weights`` embedder option, in the caller's words).
    """
    specs = _as_specs(specs)
    if instead is None:
        instead = "pass --weights PATH" if from_command_line() else f"pass {spell_embedder_option('weights', 'PATH')}"
    if path is not None:
        explicit = Path(path).expanduser()
        if not explicit.is_file():
            raise WeightsError(f"{explicit}: {_not_a_file(explicit)} (given for {specs[0].name})")
        return explicit
    for spec in specs:
        cached = weights_dir() / spec.file_name
        if cached.is_file():
            verify(cached, spec)
            return cached
    destination = weights_dir() / specs[0].file_name
    if is_offline():
        raise WeightsError(_unavailable_offline(specs, destination, instead))
    failures: list[tuple[str, str]] = []
    for spec in specs:
        url = download_url(spec)
        try:
            return _download(spec, url, weights_dir() / spec.file_name, progress=progress)
        except DownloadFailed as failure:
            if failure.error is not None and is_disk_full(failure.error):
                raise WeightsError(
                    f"{weights_dir() / spec.file_name}: downloading {spec.name} {spec.kind} failed "
                    f"({describe_os_error(failure.error)}, or set {WEIGHTS_DIR_ENV} to a folder with room); "
                    "nothing was saved"
                ) from None
            failures.append((url, failure.reason))
    raise WeightsError(_unavailable_online(specs, destination, failures, instead))


def _as_specs(specs: WeightsSpec | Sequence[WeightsSpec]) -> tuple[WeightsSpec, ...]:
    return (specs,) if isinstance(specs, WeightsSpec) else tuple(specs)


def _download(spec: WeightsSpec, url: str, destination: Path, *, progress: bool) -> Path:
    log.info("downloading %s %s from %s to %s", spec.name, spec.kind, url, destination)
    expected = spec.expected_hash
    pinned = None if expected else pinned_sha256(spec)

    def check(actual: str, arrived: Path) -> None:
        if expected is not None and not actual.startswith(expected):
            raise DownloadFailed(f"the file failed its checksum: sha256 {actual[:16]}…, expected {expected[:16]}…")
        if pinned is not None and actual != pinned:
            raise DownloadFailed(
                f"the file failed its checksum: sha256 {actual[:16]}…, but {pinned[:16]}… was recorded at its "
                f"first download ({pins_path()})"
            )
        problem = _content_problem(spec, arrived)
        if problem is not None:
            raise DownloadFailed(f"{problem}; nothing was pinned")
        if expected is None and pinned is None:
            in_force = _record_pin(spec, actual, destination)
            if in_force != actual:
                raise DownloadFailed(
                    f"the file failed its checksum: sha256 {actual[:16]}…, but another download pinned "
                    f"{in_force[:16]}… meanwhile ({pins_path()})"
                )

    fetch(url, destination, check, progress=progress)
    return destination


def _unavailable_offline(specs: Sequence[WeightsSpec], destination: Path, instead: str) -> str:
    urls = " or ".join(dict.fromkeys(download_url(spec) for spec in specs))
    return (
        f"{specs[0].name} {specs[0].kind} are not cached and {OFFLINE_ENV} is set: download {urls} on a machine "
        f"with internet and save it as {destination}{_other_names(specs)}; or set {WEIGHTS_DIR_ENV} to a folder "
        f"that holds it, or unset {OFFLINE_ENV} and set {MIRROR_ENV} to a server that serves it; or {instead}"
    )


def _unavailable_online(
    specs: Sequence[WeightsSpec], destination: Path, failures: Sequence[tuple[str, str]], instead: str
) -> str:
    tried = "; ".join(f"{url} ({reason})" for url, reason in failures)
    base = mirror()
    names = " or ".join(dict.fromkeys(spec.file_name for spec in specs))
    check = (
        f"check that the mirror {MIRROR_ENV}={base} serves {names}" if base
        else f"check the network, or set {MIRROR_ENV} to a server that serves {names}"
    )
    return (
        f"{specs[0].name} {specs[0].kind}: download failed from {tried}; nothing was saved. To fix: {check}; or "
        f"fetch it on a machine with internet and save it as {destination}{_other_names(specs)} "
        f"({WEIGHTS_DIR_ENV} sets the folder); or {instead}"
    )


def _other_names(specs: Sequence[WeightsSpec]) -> str:
    others = list(dict.fromkeys(spec.file_name for spec in specs[1:] if spec.file_name != specs[0].file_name))
    return f" (or under the name {' or '.join(others)})" if others else ""


# ---------------------------------------------------------------------------------------------------- listing
@dataclass(frozen=True)
class FileStatus:
    """Whether a file is in the weights folder, where, and whether it passed its checksum (``status``: "verified",
    "pinned" (matches its first-use pin), "not pinned yet", "checksum mismatch", "unchecked" or "missing")."""

    specs: tuple[WeightsSpec, ...]
    path: Path | None
    status: str


def file_status(specs: WeightsSpec | Sequence[WeightsSpec], *, check: bool = True) -> FileStatus:
    """The state of a file in the weights folder, hashing it when ``check`` (never records a pin)."""
    specs = _as_specs(specs)
    path = cached_path(specs)
    if path is None:
        return FileStatus(specs, None, "missing")
    if not check:
        return FileStatus(specs, path, "unchecked")
    spec = next(spec for spec in specs if spec.file_name == path.name)
    actual = file_sha256(path)
    if spec.expected_hash is not None:
        return FileStatus(specs, path, "verified" if actual.startswith(spec.expected_hash) else "checksum mismatch")
    pinned = pinned_sha256(spec)
    if pinned is None:
        return FileStatus(specs, path, "not pinned yet")
    return FileStatus(specs, path, "pinned" if actual == pinned else "checksum mismatch")


def layout_mismatch(
    state: Mapping[str, Any], expected: Mapping[str, torch.Tensor], *, optional: Callable[[str], bool] | None = None
) -> str | None:
    """What keeps ``state`` from loading into a model whose state dict is ``expected`` — keys missing (except those
    ``optional`` admits), unexpected, or of the wrong shape, the first few of each named — or None when it fits."""
    missing = [key for key in expected if key not in state and not (optional and optional(key))]
    unexpected = [key for key in state if key not in expected]
    misshaped = [
        f"{key} {tuple(state[key].shape)} (expected {tuple(expected[key].shape)})"
        for key in expected
        if key in state and tuple(state[key].shape) != tuple(expected[key].shape)
    ]
    problems = [
        f"{label}: {', '.join(keys[:3])}{' …' if len(keys) > 3 else ''} ({len(keys)})"
        for label, keys in (("missing", missing), ("unexpected", unexpected), ("wrong shape", misshaped))
        if keys
    ]
    return "; ".join(problems) or None


def load_state_dict(path: str | Path, *, numpy_arrays: bool = False, mmap: bool = False) -> dict[str, Any]:
    """Load a checkpoint with ``torch.load(weights_only=True)`` (tensors only, never arbitrary objects).

    ``numpy_arrays=True`` also admits plain NumPy arrays, dtypes and scalars, which some published checkpoints hold
    (e.g. a training sampler's state, or parameters saved as arrays); they are rebuilt by NumPy's own array
    reconstructor, never by arbitrary callables. ``mmap=True`` maps the file instead of reading it, so only the
    tensors used are read (for large checkpoints of which a model needs a part); a file in torch's legacy
    (non-zip) format is read whole.
    """
    allowed = torch.serialization.safe_globals(_numpy_globals()) if numpy_arrays else contextlib.nullcontext()
    try:
        with open_regular(path) as handle:  # a FIFO or a device is refused here, never read
            is_zip = zipfile.is_zipfile(handle)
            problem = archive_problem(zipfile.ZipFile(handle), os.fstat(handle.fileno()).st_size) if is_zip else None
    except FileNotFoundError:
        raise WeightsError(f"{path}: weights file not found") from None
    except OSError as error:
        raise WeightsError(
            f"{path}: cannot be read ({error.strerror or error}); name the weights file itself"
        ) from None
    except (zipfile.BadZipFile, ValueError, EOFError):
        problem = "its zip directory is corrupt"
    if problem is not None:
        raise WeightsError(f"{path}: not a loadable weights file: {problem}")
    try:
        with allowed:
            state = torch.load(path, map_location="cpu", weights_only=True, mmap=mmap and is_zip)
    except FileNotFoundError:
        raise WeightsError(f"{path}: weights file not found") from None
    except Exception as error:  # torch raises many types for corrupt, truncated or pickled-object files
        raise WeightsError(
            f"{path}: not a loadable weights file ({type(error).__name__}); it may be truncated, corrupt, or hold "
            "Python objects that frechet refuses to unpickle"
        ) from None
    if not isinstance(state, dict):
        raise WeightsError(f"{path}: expected a state dict of tensors, found {type(state).__name__}")
    problem = tensors_problem(state)
    if problem is not None:
        raise WeightsError(f"{path}: not a loadable weights file: {problem}; the file is corrupt or crafted")
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
