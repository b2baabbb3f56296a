"""The options the audio embedders share, declared once."""

from __future__ import annotations

from pathlib import Path

from frechet.embedder import Option

#: Zero-pad clips shorter than the model's window instead of refusing them as bad items.
PAD_SHORT = Option("pad_short", bool, default=False, help="zero-pad clips shorter than the model accepts")


def weights_option(what: str, name: str = "weights") -> Option:
    """A local file to use instead of the canonical ``what`` weights."""
    return Option(name, Path, help=f"a local {what} weights file instead of the canonical download")
