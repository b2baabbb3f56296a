"""Molecule inputs: SMILES files (``.smi``/``.smiles``/``.txt``, one per line, an optional name after it), CSV tables
(``.csv``/``.csv.gz``, the column chosen with the ``column`` source option, else the one named ``SMILES`` or
``smiles``), MOSES' SMILES sets (``moses:train``, ``moses:test``, ``moses:test-scaffolds``, from an installed
molsets package), and Python lists of SMILES strings.

Items are :class:`Molecule` objects named by file and line number (``mols.smi:12``), or by list index. A line that
cannot be a SMILES — empty, not UTF-8, over :data:`MAX_SMILES` characters — is a bad item naming its line, never
dropped unsaid. Files are read whole and bounded by what they can hold: regular files only (a FIFO is refused
unread), at most :data:`MAX_TEXT_BYTES` of text (a ``.csv.gz`` is decompressed only that far).
"""

from __future__ import annotations

import csv
import gzip
import io
import os
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from frechet.caller import spell_source_option
from frechet.errors import ConfigError, InputError
from frechet.io import describe_os_error, open_regular
from frechet.optional import package_file
from frechet.options import Option
from frechet.sources import Source

SMILES_SUFFIXES = (".smi", ".smiles", ".txt")
CSV_SUFFIXES = (".csv", ".gz")
#: The most text a molecule file may hold once decompressed (MOSES' 1.6M-molecule training set is 75 MB).
MAX_TEXT_BYTES = 2 << 30
#: Longer lines are bad items: no molecule a SMILES model reads is that long.
MAX_SMILES = 100_000
#: Column names read as SMILES when no column is chosen.
SMILES_COLUMNS = ("SMILES", "smiles")
#: The ``smiles-csv`` source kind's options.
CSV_OPTIONS = (Option("column", str, help="the column holding the SMILES (default: SMILES or smiles, else the only "
                      "column)"),)
#: MOSES' SMILES sets by input name (``moses:NAME``, as ``ref:moses-NAME``), and their files in the molsets wheel.
MOSES_SETS = {"train": "train.csv.gz", "test": "test.csv.gz", "test-scaffolds": "test_scaffolds.csv.gz"}
MOSES_FOLDER = "dataset/data"


@dataclass(frozen=True)
class Molecule:
    """One SMILES as its input gives it, the longest SMILES of that input (``fcd`` pads a set to it), and the
    item's name for messages."""

    smiles: str
    longest: int
    name: str


class MoleculeSource(Source):
    """SMILES strings with their names; ``problems`` holds why an entry is not a SMILES (None where it may be)."""

    domain = "molecule"

    def __init__(self, entries: Sequence[tuple[str, str, str | None]], label: str) -> None:
        super().__init__(label)
        self.entries = list(entries)  # (name, smiles, problem)
        self.longest = max((len(smiles) for _, smiles, problem in self.entries if problem is None), default=0)

    def __len__(self) -> int:
        return len(self.entries)

    def load(self, index: int) -> Molecule:
        name, smiles, problem = self.entries[index]
        if problem is not None:
            raise InputError(f"{name}: {problem}")
        return Molecule(smiles, self.longest, name)

    def item_name(self, index: int) -> str:
        return self.entries[index][0]

    def smiles(self) -> list[str]:
        """The SMILES as read, bad entries included (as their text), in order."""
        return [smiles for _, smiles, _ in self.entries]


def open_smiles_file(path: str | Path) -> MoleculeSource:
    """One SMILES per line; text after the first whitespace is the molecule's name; a first line reading
    ``SMILES`` (any case) is a header."""
    path = Path(path)
    lines = _read_text(path).split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()  # the file's final newline
    entries = []
    for number, raw in enumerate(lines, 1):
        text, problem = _decode(raw.rstrip(b"\r"))
        smiles, name = (text.split(None, 1) + ["", ""])[:2]
        if number == 1 and smiles.upper() == "SMILES" and problem is None:
            continue
        label = f"{path}:{number}" + (f" ({name.strip()[:40]!r})" if name.strip() else "")
        entries.append((label, smiles, problem or _line_problem(smiles)))
    return MoleculeSource(entries, str(path))


def open_smiles_csv(path: str | Path, column: str | None = None) -> MoleculeSource:
    """The SMILES column of a CSV table (``.csv``, or gzip-compressed ``.csv.gz``): ``column`` when given, else the
    one named SMILES or smiles, else the only column."""
    return _read_table(Path(path), column, str(path))


def open_moses(name: str) -> MoleculeSource:
    """MOSES' SMILES set ``name`` (``train``, ``test``, ``test-scaffolds``), read from the data files of an installed
    molsets package (found without importing it: its code never runs); items are named ``moses:test:2`` by line."""
    if name not in MOSES_SETS:
        raise InputError(f"moses:{name}: no such MOSES set; they are {', '.join(MOSES_SETS)}")
    path = package_file("moses", f"{MOSES_FOLDER}/{MOSES_SETS[name]}")
    if path is None:
        raise ConfigError(f"moses:{name}: MOSES' SMILES sets are read from the molsets package, which is not "
                          "installed here; pip install molsets --no-deps (frechet reads its data files only)")
    return _read_table(path, "SMILES", f"moses:{name}")


def _read_table(path: Path, column: str | None, shown: str) -> MoleculeSource:
    """The SMILES column of the table at ``path``, its items named ``shown:LINE``."""
    if path.suffix.lower() == ".gz" and not path.name.lower().endswith(".csv.gz"):
        raise InputError(f"{path}: a .gz file is read as a gzip-compressed CSV table only when named *.csv.gz; "
                         "rename it, or decompress it")
    text, problem = _decode(_read_text(path))
    if problem is not None:
        raise InputError(f"{path}: {problem}; save the table as UTF-8")
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader, None)
        if not header:
            raise InputError(f"{path}: empty table; a molecule table has a header row naming its SMILES column")
        position = _column(path, header, column)
        entries = []
        for row in reader:
            label = f"{shown}:{reader.line_num}"
            if not row:
                entries.append((label, "", "empty line"))
            elif len(row) != len(header):
                entries.append((label, "", f"{len(row)} fields where the header has {len(header)}"))
            else:
                entries.append((label, row[position].strip(), _line_problem(row[position].strip())))
    except csv.Error as error:
        raise InputError(f"{path}:{reader.line_num}: not a readable CSV row ({error}); fix the table") from None
    return MoleculeSource(entries, shown)


def open_smiles_list(smiles: Any) -> MoleculeSource:
    """A Python list or tuple of SMILES strings."""
    entries = [(f"<SMILES list>[{index}]", text, _line_problem(text)) for index, text in enumerate(smiles)]
    return MoleculeSource(entries, f"<{len(entries)} SMILES>")


def is_smiles_list(value: Any) -> bool:
    """True for a non-empty list or tuple of strings."""
    return isinstance(value, (list, tuple)) and bool(value) and all(isinstance(item, str) for item in value)


# ---------------------------------------------------------------------------------------------------- reading
def _read_text(path: Path) -> bytes:
    """The file's bytes (decompressed for ``.gz``), at most :data:`MAX_TEXT_BYTES`."""
    try:
        with open_regular(path) as handle:
            if path.suffix.lower() != ".gz":
                if os.fstat(handle.fileno()).st_size > MAX_TEXT_BYTES:
                    raise InputError(f"{path}: larger than {MAX_TEXT_BYTES >> 30} GiB; split it into several files")
                return handle.read()
            data = gzip.GzipFile(fileobj=handle).read(MAX_TEXT_BYTES + 1)
    except InputError:
        raise
    except OSError as error:
        if isinstance(error, gzip.BadGzipFile) or error.errno is None:
            raise InputError(f"{path}: not a readable gzip file ({error}); decompress it or fix it") from None
        raise InputError(f"{path}: cannot be read ({describe_os_error(error)})") from None
    except (EOFError, zlib.error) as error:
        raise InputError(f"{path}: truncated or corrupt gzip data ({type(error).__name__}); fix the file") from None
    if len(data) > MAX_TEXT_BYTES:
        raise InputError(f"{path}: decompresses to more than {MAX_TEXT_BYTES >> 30} GiB; split it into several files")
    return data


def _decode(raw: bytes) -> tuple[str, str | None]:
    try:
        return raw.decode("utf-8"), None
    except UnicodeDecodeError as error:
        return raw.decode("utf-8", errors="replace"), f"not UTF-8 text (byte {error.start + 1})"


def _line_problem(smiles: str) -> str | None:
    if not smiles:
        return "empty line"
    if len(smiles) > MAX_SMILES:
        return f"{len(smiles):,} characters, more than the {MAX_SMILES:,} a SMILES read here may have"
    return None


def _column(path: Path, header: list[str], column: str | None) -> int:
    names = [name.strip() for name in header]
    wanted = [column] if column is not None else [name for name in SMILES_COLUMNS if name in names]
    for name in wanted:
        if name in names:
            return names.index(name)
    if column is None and len(names) == 1:
        return 0
    choose = f"choose the SMILES column with {spell_source_option('column', 'NAME')}"
    shown = ", ".join(repr(name) for name in names[:12]) + (" …" if len(names) > 12 else "")
    what = f"no column {column!r}" if column is not None else "no SMILES or smiles column"
    raise InputError(f"{path}: {what} among {shown}; {choose}")
