"""Zip members that would inflate far beyond their stored size (zip bombs) are refused before a byte is inflated."""

from __future__ import annotations

import zipfile

from frechet.errors import InputError

#: Members up to this many bytes unpacked are always read: a small file is harmless whatever it compresses to.
BOMB_MIN_BYTES = 64 << 20
#: Above BOMB_MIN_BYTES, a member that unpacks to more than this many times its stored size is refused. Images,
#: audio and feature arrays of real data compress far less (deflate's own ceiling is about 1032:1).
BOMB_MAX_RATIO = 100


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
