"""Inputs: the Source contract, and listing a folder's files safely."""

from __future__ import annotations

import logging
import os
from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Collection, Mapping
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from frechet.errors import InputError

if TYPE_CHECKING:
    from frechet.stats import FeatureStats

log = logging.getLogger("frechet")


class Source(ABC):
    """An ordered, indexable collection of items of one domain (image files, clips, feature rows, …).

    ``load(i)`` decodes item i and raises :class:`frechet.errors.InputError` naming it when it is bad, so the runner
    can stop with that message or, with ``skip_bad``, skip the item and report it.

    Item identity, for the feature cache (:mod:`frechet.cache`): a source whose items are whole files returns each
    one's path from ``item_path(i)`` and the cache hashes the bytes (remembering digests by size and timestamps, so
    unchanged files are not read again); a source whose items are not files of their own (array rows, archive
    members) returns a content digest from ``item_digest(i)`` instead. Either must determine ``load(i)`` completely,
    together with ``config()``, which names the settings that change what ``load`` returns, and with the source
    options it was opened with (``source_options``, filled in by the registry), which the cache keys on too. A
    source that provides neither is simply not cached.
    """

    #: Domain of the items; an embedder of the same domain consumes them.
    domain: ClassVar[str]
    #: False when items must be loaded in order by the calling process (e.g. drawn from a generator callable);
    #: the runner then loads them without DataLoader worker processes, in increasing index order — with gaps under
    #: torch.distributed, where each rank reads only its own shards.
    parallel_load: ClassVar[bool] = True
    #: True when the items are the rows of one matrix and :meth:`load_rows` reads a block of them at once (feature
    #: files): the loading stage then reads large blocks for embedders that take them, whatever the batch size.
    row_blocks: ClassVar[bool] = False
    #: The values of the options its kind declares that it was opened with (``--source-option KEY=VALUE`` and the
    #: declared defaults), set by :meth:`frechet.registry.Registry.open_source`; empty when it was built directly.
    source_options: Mapping[str, Any] = MappingProxyType({})

    def __init__(self, label: str) -> None:
        #: The input as the user named it (a path, or a short description of an in-memory object).
        self.label = label

    @abstractmethod
    def __len__(self) -> int:
        """Number of items."""

    @abstractmethod
    def load(self, index: int) -> Any:
        """Decode item ``index`` (0 ≤ index < len)."""

    @abstractmethod
    def item_name(self, index: int) -> str:
        """Human-readable name of item ``index`` for messages (e.g. its path)."""

    def load_rows(self, start: int, stop: int) -> tuple[np.ndarray, list[tuple[int, str]]]:
        """Items ``start:stop`` at once, for a source with ``row_blocks``: the good ones as one float64 (k, d)
        block in order, and the bad ones as (index, message) — the message ``load`` would raise."""
        raise NotImplementedError(f"{type(self).__name__} does not read blocks of rows")

    def load_batch(self, start: int, stop: int) -> Any | None:
        """Items ``start:stop`` at once in the form an embedder's ``transform_batch`` takes (in-memory images: one
        uint8 (N, 3, H, W) tensor on the device they live on), or None when the source has no such form."""
        return None

    def item_path(self, index: int) -> str | Path | None:
        """The file holding exactly item ``index`` (its bytes determine ``load(index)``), or None if it has none."""
        return None

    def item_digest(self, index: int) -> str | None:
        """A digest of item ``index``'s content (e.g. sha256 hex of its bytes), for items that are not whole files;
        None to fall back on ``item_path``. Equal digests must mean equal ``load`` results."""
        return None

    def config(self) -> dict[str, Any]:
        """Source options that change what ``load`` returns (e.g. a sample rate); part of the cache key."""
        return {}

    def stored_stats(self) -> dict[str, FeatureStats]:
        """Statistics the input already holds, by embedder output (e.g. an ADM reference batch's, computed over a
        whole dataset of which it holds only a sample). Each carries ``meta`` naming the embedder that made it
        (``embedder`` id, or ``embedder_name`` and the ``config`` it used); a run with that embedder uses them as
        given instead of embedding the items for them."""
        return {}


def source_identity(source: Source) -> dict[str, Any]:
    """What determines a source's ``load`` besides its items' digests: its class, ``config()`` and, when it has
    any, its ``source_options`` (part of every feature cache key)."""
    identity = {"source": f"{type(source).__module__}.{type(source).__qualname__}", "source_config": source.config()}
    if source.source_options:
        identity["source_options"] = dict(source.source_options)
    return identity


def list_files(folder: str | Path, suffixes: Collection[str]) -> list[Path]:
    """The files under ``folder`` whose suffix (any case) is in ``suffixes``, recursively, sorted by relative path.

    Names starting with '.' are skipped, and so are the folders they name; other files left out for their type
    are counted by suffix in one informational line, so that none goes missing unsaid. Links to folders are not
    followed (so a link loop cannot recurse); links to files are listed, a broken or looping one too, so that
    reading it fails by name instead of the item silently going missing. A subfolder that cannot be listed is an
    InputError.
    """
    folder = Path(folder)
    wanted = {suffix.lower() for suffix in suffixes}
    found = []
    left_out: Counter[str] = Counter()
    for root, folders, files in os.walk(folder, onerror=_refuse_unlistable):
        folders[:] = [name for name in folders if not name.startswith(".")]
        found.extend(Path(root) / name for name in files if _is_listed(name, wanted))
        left_out.update(os.path.splitext(name)[1].lower() or "no suffix" for name in files
                        if not name.startswith(".") and not _is_listed(name, wanted))
    if left_out:
        kinds = ", ".join(f"{suffix} ×{count}" for suffix, count in sorted(left_out.items()))
        log.info("%s: %d files left out, of types not read here (%s); read are %s", folder, sum(left_out.values()),
                 kinds, ", ".join(sorted(wanted)))
    return sorted(found, key=lambda path: path.relative_to(folder).as_posix())


def _is_listed(name: str, suffixes: set[str]) -> bool:
    return not name.startswith(".") and os.path.splitext(name)[1].lower() in suffixes


def _refuse_unlistable(error: OSError) -> None:
    """os.walk's error handler: a folder it cannot list would silently lose its files, so stop and name it."""
    raise InputError(
        f"{error.filename}: cannot list this folder ({error.strerror or error}); fix its permissions, or move it out "
        "of the input"
    )
