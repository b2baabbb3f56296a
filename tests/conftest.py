"""Shared fixtures: every test runs offline, with private weights/cache folders and freshly loaded plugins."""

from __future__ import annotations

import pytest

from frechet.plugins import reset_plugins


@pytest.fixture(autouse=True)
def _isolated_environment(tmp_path_factory, monkeypatch):
    """No network, no user caches: weights and torch hub under a temp folder; plugins reloaded per test."""
    home = tmp_path_factory.mktemp("torch-home")
    monkeypatch.setenv("FRECHET_OFFLINE", "1")
    monkeypatch.setenv("TORCH_HOME", str(home))
    monkeypatch.delenv("FRECHET_WEIGHTS_DIR", raising=False)
    monkeypatch.delenv("FRECHET_PLUGINS", raising=False)
    reset_plugins()
    yield
    reset_plugins()
