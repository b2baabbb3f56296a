"""What plugins hand to a report: media for gallery items, sections of their own, and the data they are given."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

#: MIME types a report embeds, and the element that shows each kind.
IMAGE_TYPES = ("image/png", "image/jpeg", "image/webp", "image/gif", "image/svg+xml")  # SVG shown by <img>: no script runs
AUDIO_TYPES = ("audio/wav", "audio/ogg", "audio/flac", "audio/mpeg")


@dataclass(frozen=True)
class Media:
    """One embedded image or sound: its bytes and MIME type (one of ``IMAGE_TYPES`` or ``AUDIO_TYPES``), and for
    images the size to show it at in CSS pixels. Keep it small: it is inlined into the page as a data: URI."""

    mime: str
    data: bytes
    width: int | None = None
    height: int | None = None


@dataclass(frozen=True)
class Section:
    """A section a plugin adds to a report: a title, paragraphs of plain text, an optional table (header row, then
    rows of plain-text cells) and optional media. Text is escaped by the report; no HTML or script passes through."""

    title: str
    paragraphs: tuple[str, ...] = ()
    table: tuple[tuple[str, ...], ...] = ()
    media: tuple[Media, ...] = ()


@dataclass
class ReportData:
    """What a report is built from: the result's values, the embedder (its id, name, config, domain), per side
    ("real", "fake") the Side and the Source of its items (None for saved statistics), and the output used."""

    values: dict[str, Any]
    embedder: Any
    output: str
    sides: dict[str, Any] = field(default_factory=dict)
    sources: dict[str, Any] = field(default_factory=dict)
