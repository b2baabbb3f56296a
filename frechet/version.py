"""The version of frechet, in one place: the package metadata and every file frechet writes read it here."""

__version__ = "0.1.0"
