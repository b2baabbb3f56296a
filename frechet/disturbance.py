"""The Disturbance contract: a seeded damage applied to a copy of an input at increasing strengths, for sanity curves.

A disturbance turns a :class:`frechet.sources.Source` into another Source of the same items, damaged (noise, blur,
…) or partly replaced (mixing in another input). Damaged items keep the identity the feature cache keys on (their
path or digest) and the disturbed source's ``config()`` names the disturbance, its strength and seed, so a re-run
reads its features from the cache. Domain plugins register theirs with ``frechet_register_disturbances``; the core
provides ``mix:OTHER`` for every domain.
"""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any, ClassVar

import numpy as np

from frechet.errors import InputError
from frechet.sources import Source

#: The domain of a disturbance that applies to inputs of every domain.
ANY_DOMAIN = "*"


class Disturbance(ABC):
    """A damage of one domain's inputs, whose strength grows with ``t`` in (0, 1].

    ``strength(t)`` maps the level ``t = k / levels`` (k = 1 … levels) to the strength in ``unit``, weakest first;
    ``disturb`` returns the damaged copy of a source at one strength, the same for the same seed. A *family*
    (``family = True``, named ``name:TARGET`` like ``mix:OTHER``) is built with ``target=`` and ``open_source=`` (a
    callable opening an input of the run's domain); other disturbances are built with no arguments.
    """

    #: Registry name, e.g. "blur".
    name: ClassVar[str]
    #: Domain of the items it damages ("image", "audio", …), or ``ANY_DOMAIN``.
    domain: ClassVar[str]
    #: What the strength measures, with its unit (e.g. "Gaussian σ in pixels").
    unit: ClassVar[str]
    #: One line for ``frechet disturbances``.
    description: ClassVar[str] = ""
    #: True for a ``name:TARGET`` family.
    family: ClassVar[bool] = False
    #: Whether ``frechet sanity`` runs it when no ``--disturbances`` are named (False: a damage of one kind of
    #: input, such as webtoon screen tones, run only when named).
    by_default: ClassVar[bool] = True

    @abstractmethod
    def strength(self, t: float) -> float:
        """The strength at level ``t`` in (0, 1]; damage grows with t (the number itself may fall, e.g. an SNR)."""

    @abstractmethod
    def disturb(self, source: Source, strength: float, seed: int) -> Source:
        """The items of ``source`` damaged at ``strength``, determined by the items, the strength and ``seed``."""

    def strengths(self, levels: int) -> list[float]:
        """The strengths of ``levels`` evenly spaced levels t = 1/levels … 1."""
        return [self.strength(k / levels) for k in range(1, levels + 1)]

    def config(self) -> dict[str, Any]:
        """Settings of the disturbance that change the damaged items beside the strength (part of the cache key)."""
        return {}


class ItemDisturbance(Disturbance):
    """A disturbance applied to each item on its own: ``apply(item, strength, seed)``.

    ``apply`` must depend only on the item's content, the strength and the seed (draw randomness from
    :func:`content_rng`), so equal items are damaged equally and the feature cache, which knows items by content,
    stays exact.
    """

    @abstractmethod
    def apply(self, item: Any, strength: float, seed: int) -> Any:
        """The damaged copy of one decoded item (the item itself is left unchanged)."""

    def disturb(self, source: Source, strength: float, seed: int) -> Source:
        return DisturbedSource(source, self, strength, seed)


def content_rng(seed: int, strength: float, *contents: np.ndarray | bytes | str) -> np.random.Generator:
    """A random generator determined by the seed, the strength and the contents (arrays by dtype, shape and bytes)."""
    digest = hashlib.sha256(f"{seed}:{float(strength)!r}".encode())
    for content in contents:
        if isinstance(content, np.ndarray):
            digest.update(f"{content.dtype.str}{content.shape}".encode())
            digest.update(np.ascontiguousarray(content).tobytes())
        else:
            digest.update(content.encode() if isinstance(content, str) else content)
    return np.random.default_rng(int.from_bytes(digest.digest()[:16], "little"))


def _source_config(source: Source) -> dict[str, Any]:
    options = {"source_options": dict(source.source_options)} if source.source_options else {}
    return {"kind": f"{type(source).__module__}.{type(source).__qualname__}", **source.config(), **options}


class DisturbedSource(Source):
    """Another source's items, each damaged by an :class:`ItemDisturbance` when loaded (keeping its identity)."""

    def __init__(self, inner: Source, disturbance: ItemDisturbance, strength: float, seed: int) -> None:
        super().__init__(f"{inner.label} [{disturbance.name} {strength:g}]")
        self.inner, self.disturbance, self.strength, self.seed = inner, disturbance, strength, seed
        self.domain = inner.domain
        self.parallel_load = inner.parallel_load

    def __len__(self) -> int:
        return len(self.inner)

    def load(self, index: int) -> Any:
        return self.disturbance.apply(self.inner.load(index), self.strength, self.seed)

    def item_name(self, index: int) -> str:
        return self.inner.item_name(index)

    def item_path(self, index: int) -> Any:
        return self.inner.item_path(index)

    def item_digest(self, index: int) -> str | None:
        return self.inner.item_digest(index)

    def config(self) -> dict[str, Any]:
        return {
            "inner": _source_config(self.inner),
            "disturbance": {"name": self.disturbance.name, "strength": self.strength, "seed": self.seed,
                            **self.disturbance.config()},
        }


class MixedSource(Source):
    """Another source's items with exactly round(fraction · N) of them, at seeded positions, replaced by items of
    ``other`` (drawn without replacement while it has enough, then again)."""

    def __init__(self, inner: Source, other: Source, fraction: float, seed: int) -> None:
        super().__init__(f"{inner.label} [mix {fraction:g} of {other.label}]")
        if not 0.0 <= fraction <= 1.0:
            raise InputError(f"mix: the fraction of items replaced must be in [0, 1], got {fraction}")
        if len(other) == 0:
            raise InputError(f"{other.label}: no items to mix in")
        self.inner, self.other, self.fraction, self.seed = inner, other, fraction, seed
        self.domain = inner.domain
        self.parallel_load = inner.parallel_load and other.parallel_load
        rng = np.random.default_rng(seed)
        count = int(np.floor(fraction * len(inner) + 0.5))
        positions = np.sort(rng.permutation(len(inner))[:count])
        drawn = np.resize(rng.permutation(len(other)), count)
        #: Position in this source -> index of the item of ``other`` that replaces it.
        self.replaced = dict(zip(positions.tolist(), drawn.tolist()))

    def _owner(self, index: int) -> tuple[Source, int]:
        replacement = self.replaced.get(index)
        return (self.inner, index) if replacement is None else (self.other, replacement)

    def __len__(self) -> int:
        return len(self.inner)

    def load(self, index: int) -> Any:
        source, position = self._owner(index)
        return source.load(position)

    def item_name(self, index: int) -> str:
        source, position = self._owner(index)
        return source.item_name(position)

    def item_path(self, index: int) -> Any:
        source, position = self._owner(index)
        return source.item_path(position)

    def item_digest(self, index: int) -> str | None:
        source, position = self._owner(index)
        return source.item_digest(position)

    def config(self) -> dict[str, Any]:
        return {"inner": _source_config(self.inner), "other": _source_config(self.other)}


class Mix(Disturbance):
    """mix:OTHER — replaces a fraction of the items by items of another input (contamination), any domain."""

    name = "mix"
    domain = ANY_DOMAIN
    description = "replace a fraction of the items by items of another input (contamination)"
    unit = "fraction of the items replaced by items of OTHER"
    family = True

    def __init__(self, target: str, open_source: Callable[[str], Source]) -> None:
        self.target = target
        self.other = open_source(target)

    def strength(self, t: float) -> float:
        return 0.5 * t

    def disturb(self, source: Source, strength: float, seed: int) -> Source:
        return MixedSource(source, self.other, strength, seed)
