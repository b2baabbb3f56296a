"""Safe file work for the core and for plugins: atomic writes, hashing, size-checked archive members and validated
``.npy``/``.npz`` reads that never unpickle. Every failure is a frechet error naming the file."""

from __future__ import annotations

import contextlib
import errno
import hashlib
import math
import os
import stat
import struct
import tempfile
import zipfile
import zlib
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from frechet.errors import FrechetError, InputError, OutputError

#: Errors meaning there is no room left: the device is full, or the user's quota on it is spent.
_DISK_FULL = frozenset({errno.ENOSPC, errno.EDQUOT})
#: Members up to this many bytes unpacked are always read: a small file is harmless whatever it compresses to.
BOMB_MIN_BYTES = 64 << 20
#: Above BOMB_MIN_BYTES, a member that unpacks to more than this many times its stored size is refused. Images,
#: audio and feature arrays of real data compress far less (deflate's own ceiling is about 1032:1).
BOMB_MAX_RATIO = 100
_ZIP_MAGIC = b"PK\x03\x04"
_NPY_MAGIC = b"\x93NUMPY"
_CHUNK = 1 << 20
#: The longest file name (bytes, per path component) and path (bytes, with its terminating NUL) Linux and macOS
#: filesystems accept.
_NAME_MAX, _PATH_MAX = 255, 4096
#: What reading a damaged archive can raise besides ValueError (an unsupported or encrypted member included).
_UNREADABLE = (
    OSError, EOFError, zipfile.BadZipFile, zlib.error, struct.error, KeyError, NotImplementedError, RuntimeError
)


# ---------------------------------------------------------------------------------------------------- writing
@contextlib.contextmanager
def atomic_write(path: str | Path) -> Iterator[BinaryIO]:
    """Yield a binary handle whose content replaces ``path`` only if the block finishes without error.

    The new file gets the mode an ordinary write would give it: the mode of the file it replaces, else 0666 less
    the umask (a temporary file alone would be 0600 whatever the umask).
    """
    path = Path(path)
    _refuse_special(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as error:
        raise OutputError(f"{path}: cannot write here ({describe_os_error(error)}); choose another location") from None
    try:
        with os.fdopen(fd, "wb") as handle:
            yield handle
            handle.flush()
            os.fchmod(handle.fileno(), _new_file_mode(path))
            os.fsync(handle.fileno())
        os.replace(tmp_name, path)
    except OSError as error:
        raise OutputError(
            f"{path}: writing failed ({describe_os_error(error)}); the previous file, if any, is unchanged"
        ) from None
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_name)


def _refuse_special(path: Path) -> None:
    """An output that exists and is not a regular file (a device such as /dev/null, a FIFO, a folder) is never
    replaced: renaming over it would swap a system file or a pipe for a data file."""
    try:
        mode = path.stat().st_mode
    except OSError:
        return
    if not stat.S_ISREG(mode):
        raise OutputError(f"{path}: is {file_kind(mode)}, not a file; name a file to write")


def _new_file_mode(path: Path) -> int:
    try:
        return stat.S_IMODE(path.stat().st_mode)
    except OSError:
        return 0o666 & ~current_umask()


def current_umask() -> int:
    """The process's umask (read from /proc where it can be, so no other thread sees it change)."""
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def describe_os_error(error: OSError) -> str:
    """The reason an I/O call failed, in words a user can act on (a full disk says so, and what to do)."""
    if is_disk_full(error):
        return f"the disk is full: {error.strerror} — free some space or write elsewhere"
    return str(error.strerror or error)


def is_disk_full(error: OSError) -> bool:
    """True when ``error`` says there is no room left (a full device, or a spent quota)."""
    return error.errno in _DISK_FULL


# ---------------------------------------------------------------------------------------------------- hashing
def file_sha256(path: str | Path) -> str:
    """Hex sha256 digest of a regular file, read in chunks (anything else, e.g. a FIFO, is refused unread)."""
    digest = hashlib.sha256()
    with open_regular(path) as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def open_regular(path: str | Path) -> BinaryIO:
    """Open ``path`` for reading only if it is a regular file; a FIFO, socket or device raises OSError at once
    instead of blocking or reading without end."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0))
    except OSError as error:
        if error.errno == errno.ENXIO:  # a UNIX socket cannot be opened as a file
            raise OSError(errno.EINVAL, f"not a regular file ({file_kind(os.stat(path).st_mode)})", str(path)) from None
        raise
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise OSError(errno.EINVAL, f"not a regular file ({file_kind(mode)})", str(path))
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def check_regular_file(path: str | Path, name: str | None = None) -> None:
    """Raise InputError naming ``name`` (default: the path) when ``path`` exists but, followed through its links, is
    not a regular file (a FIFO, socket, device or folder): such a thing is never read, as reading it could block or
    never end. A missing file or a broken link passes, for the reader to report as it does."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return
    if not stat.S_ISREG(mode):
        raise InputError(
            f"{name or path}: not a regular file ({file_kind(mode)}); frechet reads only regular files: remove it "
            "from the input or replace it with the file itself"
        )


def file_kind(mode: int) -> str:
    """A file type in words, for messages: "a FIFO (named pipe)", "a socket", "a character device", …"""
    for test, words in (
        (stat.S_ISFIFO, "a FIFO (named pipe)"),
        (stat.S_ISSOCK, "a socket"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISDIR, "a folder"),
    ):
        if test(mode):
            return words
    return "not a regular file"


# ---------------------------------------------------------------------------------------------------- archives
def check_member_size(member: zipfile.ZipInfo, name: str) -> None:
    """Raise InputError naming ``name`` when ``member`` declares a zip-bomb-like unpacked size.

    Python's zipfile never inflates more than the declared size (a member that holds more fails its CRC check), so
    checking the declared size bounds what reading the member can cost.
    """
    unpacked, stored = member.file_size, max(member.compress_size, 1)
    if unpacked > BOMB_MIN_BYTES and unpacked > BOMB_MAX_RATIO * stored:
        raise InputError(
            f"{name}: would unpack {unpacked:,} bytes from {member.compress_size:,} (ratio {unpacked // stored:,}:1), "
            "which looks like a zip bomb; it is not read. If you trust the archive, extract it and pass the files"
        )


# ---------------------------------------------------------------------------------------------------- NumPy files
@dataclass(frozen=True)
class NpyMember:
    """An ``.npy`` array inside an ``.npz``, as its header describes it (checked against the bytes present)."""

    info: zipfile.ZipInfo
    shape: tuple[int, ...]
    fortran: bool
    dtype: np.dtype
    header_bytes: int

    @property
    def data_bytes(self) -> int:
        """How many bytes the header's shape and dtype need."""
        return math.prod(self.shape) * self.dtype.itemsize


def read_npz(
    path: Path, error: type[InputError] = InputError, hint: str = "", keys: Collection[str] | None = None
) -> dict[str, np.ndarray]:
    """The arrays of an ``.npz`` file (only those named in ``keys`` when given: others, such as an image batch stored
    beside statistics, are never read), loaded with ``allow_pickle=False``; ``error(message + hint)`` on any
    problem. Every member's declared size is checked against the bytes present before anything is read."""
    with _open_input(path, error) as handle:
        _expect_magic(handle, path, _ZIP_MAGIC, "an .npz (zip) file", error, hint)
        npz_members(path, error, hint, handle=handle)
        try:
            handle.seek(0)
            with np.load(handle, allow_pickle=False) as npz:
                arrays = {key: npz[key] for key in npz.files if keys is None or key in keys}
        except ValueError as problem:
            raise _as_error(path, problem, error, hint) from None
        except _UNREADABLE as problem:
            raise error(f"{path}: unreadable or truncated .npz ({type(problem).__name__}){hint}") from None
    for key, value in arrays.items():
        if not isinstance(value, np.ndarray):  # numpy hands back raw bytes for a member that is not .npy data
            raise error(f"{path}: member '{key}' is not a NumPy array{hint}")
    return arrays


def npz_members(
    path: Path, error: type[InputError] = InputError, hint: str = "", *, handle: BinaryIO | None = None
) -> dict[str, NpyMember]:
    """The ``.npy`` members of an ``.npz`` by array name, read from their headers only. Refused (``error``) when a
    member lies beyond the end of the file, would unpack like a zip bomb, or when its header claims more data than
    the member holds: nothing is allocated from a size the file cannot back."""
    with contextlib.ExitStack() as stack:
        if handle is None:
            handle = stack.enter_context(_open_input(path, error))
        size = os.fstat(handle.fileno()).st_size
        members = {}
        try:
            handle.seek(0)
            with zipfile.ZipFile(handle) as archive:
                for info in archive.infolist():
                    _check_member_extent(info, size, f"{path}:{info.filename}")
                    if info.filename.endswith(".npy"):
                        members[info.filename[: -len(".npy")]] = _npy_member(archive, info, path, hint)
        except InputError as problem:
            raise error(str(problem)) from None
        except (ValueError, *_UNREADABLE) as problem:
            raise error(f"{path}: unreadable or truncated .npz ({type(problem).__name__}){hint}") from None
    return members


def _check_member_extent(info: zipfile.ZipInfo, file_size: int, name: str) -> None:
    """A member's stored bytes must lie inside the file, a stored member must unpack to exactly them, and its
    unpacked size must not look like a zip bomb (:func:`check_member_size`)."""
    if info.header_offset + info.compress_size > file_size:
        raise InputError(f"{name}: declares {info.compress_size:,} stored bytes beyond the end of the "
                         f"{file_size:,}-byte file; the file is truncated or corrupt")
    if info.compress_type == zipfile.ZIP_STORED and info.file_size != info.compress_size:
        raise InputError(f"{name}: declares {info.file_size:,} bytes but stores {info.compress_size:,}; the file "
                         "is corrupt")
    check_member_size(info, name)


def _npy_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, path: Path, hint: str) -> NpyMember:
    with archive.open(info) as member:
        try:
            shape, fortran, dtype = read_npy_header(member)
        except ValueError as problem:
            raise InputError(f"{path}: '{info.filename}' has an unreadable .npy header ({problem}){hint}") from None
        found = NpyMember(info, tuple(shape), fortran, dtype, member.tell())
    if found.header_bytes + found.data_bytes > info.file_size:
        raise InputError(
            f"{path}: '{info.filename}' claims shape {found.shape} of {dtype} ({found.data_bytes:,} bytes), but the "
            f"member holds {info.file_size:,}; the file is truncated or corrupt{hint}"
        )
    return found


def npz_headers(path: Path) -> dict[str, tuple[tuple[int, ...], np.dtype]]:
    """Shape and dtype of each array in an ``.npz``, read from the headers only (the data is never read); empty when
    the file is not a readable ``.npz`` or claims more than it holds."""
    try:
        return {name: (member.shape, member.dtype) for name, member in npz_members(path).items()}
    except InputError:
        return {}


def read_npy_header(handle: Any) -> tuple[tuple[int, ...], bool, np.dtype]:
    """(shape, fortran order, dtype) of the ``.npy`` data at ``handle``'s position, which is left at the data."""
    version = np.lib.format.read_magic(handle)
    if version == (1, 0):
        return np.lib.format.read_array_header_1_0(handle)
    if version == (2, 0):
        return np.lib.format.read_array_header_2_0(handle)
    raise ValueError(f".npy format version {version} is not supported")


def read_npy(path: Path, error: type[InputError] = InputError, hint: str = "") -> np.ndarray:
    """A ``.npy`` array, loaded with ``allow_pickle=False`` after its header's size is checked against the file's.
    It is read, not memory-mapped: a map of a file that shrinks while in use kills the process (SIGBUS)."""
    with _open_input(path, error) as handle:
        _expect_magic(handle, path, _NPY_MAGIC, "a .npy file", error, hint)
        try:
            handle.seek(0)
            shape, _, dtype = read_npy_header(handle)
            claimed, present = math.prod(shape) * dtype.itemsize, os.fstat(handle.fileno()).st_size - handle.tell()
            if claimed > present:
                raise error(f"{path}: claims shape {tuple(shape)} of {dtype} ({claimed:,} bytes), but holds "
                            f"{present:,}; the file is truncated or corrupt{hint}")
            handle.seek(0)
            return np.load(handle, allow_pickle=False)
        except ValueError as problem:
            raise _as_error(path, problem, error, hint) from None
        except (OSError, EOFError) as problem:
            raise error(f"{path}: unreadable or truncated .npy ({type(problem).__name__}){hint}") from None


@contextlib.contextmanager
def _open_input(path: Path, error: type[InputError]) -> Iterator[BinaryIO]:
    """``path`` opened by :func:`open_regular`, its failure an ``error`` naming it."""
    try:
        handle = open_regular(path)
    except FileNotFoundError:
        raise error(f"{path}: no such file") from None
    except OSError as problem:
        raise error(f"{path}: cannot be read ({problem.strerror or problem})") from None
    with handle:
        yield handle


def _expect_magic(handle: BinaryIO, path: Path, magic: bytes, what: str, error: type[InputError], hint: str) -> None:
    try:
        start = handle.read(len(magic))
    except OSError as problem:
        raise error(f"{path}: cannot be read ({problem.strerror or problem})") from None
    if start != magic:
        raise error(f"{path}: unreadable: not {what}{hint}")


def _as_error(path: Path, problem: ValueError, error: type[InputError], hint: str) -> InputError:
    if "pickle" in str(problem).lower() or "python objects" in str(problem).lower():
        return error(f"{path}: holds pickled Python objects, which frechet never loads; save plain numeric arrays")
    return error(f"{path}: unreadable ({problem}){hint}")


# ---------------------------------------------------------------------------------------------------- paths
def check_path_length(path: str | Path, what: str, error: type[FrechetError] = InputError) -> None:
    """Raise ``error`` naming ``what`` when ``path`` cannot exist: a name longer than the filesystem allows
    (NAME_MAX bytes) or a path longer than PATH_MAX bytes. Checked before the path is used at all, since even
    asking whether it exists fails with an OSError."""
    encoded = os.fsencode(path)
    longest = max((len(part) for part in encoded.split(b"/")), default=0)
    if longest > _NAME_MAX:
        raise error(f"{what}: a file or folder name in it is {longest} bytes long, more than the {_NAME_MAX} a name "
                    "may have; use a shorter name")
    if len(encoded) >= _PATH_MAX:
        raise error(f"{what}: the path is {len(encoded):,} bytes long, more than the {_PATH_MAX - 1:,} a path may "
                    "have; use a shorter path")


def short_path(path: str | Path) -> str:
    """A path as a message shows it: cut short when it is too long to read."""
    text = str(path)
    return text if len(text) <= 80 else f"{text[:77]}..."


# ---------------------------------------------------------------------------------------------------- outputs
def check_outputs_apart(outputs: Iterable[str | Path], inputs: Iterable[str | Path]) -> None:
    """Refuse, before any work, an output (file or folder) that is an input (through links, ``..`` or a hard link)
    or would be written inside an input folder: frechet never replaces or adds to what it reads."""
    inputs = [Path(value) for value in inputs]
    for output in map(Path, outputs):
        target = output.resolve()
        for value in inputs:
            source = value.resolve()
            if target == source or _same_file(output, value):
                raise OutputError(f"{output}: this output would overwrite the input {value}; write it elsewhere")
            if source.is_dir() and target.is_relative_to(source):
                raise OutputError(
                    f"{output}: this output would be written inside the input folder {value}; write it elsewhere"
                )


def check_output_files(outputs: Iterable[str | Path]) -> None:
    """Refuse, before any work, an output file path that exists but is not a regular file (a FIFO, a device, a
    folder) or that is too long to exist: writing it would block, vanish, replace a folder or fail; or whose folder
    cannot be made or written."""
    for output in map(Path, outputs):
        check_path_length(output, short_path(output), OutputError)
        if output.exists() and not output.is_file():
            raise OutputError(f"{output}: is {file_kind(output.stat().st_mode)}, not a file; name a file to write")
        check_output_folder(output)


def check_output_folder(output: Path) -> None:
    """Refuse, before any work, an output under something that is not a folder, or in a folder (the nearest one
    that exists, when the rest is to be made) that cannot be written."""
    above = output.absolute().parent
    while not above.exists() and above != above.parent:
        above = above.parent
    if not above.is_dir():
        raise OutputError(f"{output}: {above} is a file, not a folder, so nothing can be written under it; choose "
                          "another location")
    if not os.access(above, os.W_OK | os.X_OK):
        raise OutputError(f"{output}: the folder {above} cannot be written (permissions or a read-only filesystem); "
                          "choose another location")


def _same_file(first: Path, second: Path) -> bool:
    try:
        return os.path.samefile(first, second)
    except OSError:  # one of them does not exist yet
        return False
