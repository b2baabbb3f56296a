"""Shared fixtures: every test runs offline, with private weights/cache folders and freshly loaded plugins."""

from __future__ import annotations

import importlib
import sys
import textwrap
from pathlib import Path

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


@pytest.fixture
def install_plugin(tmp_path, monkeypatch):
    """Install a throwaway plugin distribution: ``install_plugin(name, source)`` writes module ``source`` and an
    entry point ``name`` in group "frechet" into a folder on sys.path (returned, for subprocesses' PYTHONPATH)."""
    folder = tmp_path / "site"
    folder.mkdir()
    monkeypatch.syspath_prepend(str(folder))

    def install(name: str, source: str, *, module: str | None = None) -> Path:
        module = module or f"frechet_test_{name.replace('-', '_')}"
        (folder / f"{module}.py").write_text(textwrap.dedent(source))
        info = folder / f"{module}-0.1.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {module}\nVersion: 0.1\n")
        (info / "entry_points.txt").write_text(f"[frechet]\n{name} = {module}\n")
        monkeypatch.delitem(sys.modules, module, raising=False)
        importlib.invalidate_caches()
        reset_plugins()
        return folder

    return install
