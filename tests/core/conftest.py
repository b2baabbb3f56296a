"""Fixtures for the cache and distributed tests: the test projection plugin and feature files to embed."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

PLUGIN_SOURCE = Path(__file__).with_name("projection_plugin.py")


@pytest.fixture
def projection(install_plugin):
    """The test plugin installed as an entry point; the module (with its ``CALLS`` counter) is returned, and its
    folder is ``projection.site`` for subprocesses' PYTHONPATH."""
    site = install_plugin("projection", PLUGIN_SOURCE.read_text(), module="frechet_test_projection")
    module = importlib.import_module("frechet_test_projection")
    module.site = site
    return module


@pytest.fixture(scope="session")
def projection_site(plugin_folder) -> Path:
    """A folder holding the test plugin, for the PYTHONPATH of subprocesses that module- or session-scoped fixtures
    start (not on this process's sys.path)."""
    return plugin_folder("projection", PLUGIN_SOURCE.read_text(), module="frechet_test_projection")


@pytest.fixture
def rows_file(tmp_path):
    """400 float32 feature rows of dimension 8 in ``rows.npy``."""
    path = tmp_path / "rows.npy"
    np.save(path, np.random.default_rng(0).standard_normal((400, 8)).astype(np.float32))
    return path


@pytest.fixture
def run_frechet(projection):
    """``run_frechet(*args, env=None, launcher=())``: ``python [launcher] -m frechet ARGS`` in a subprocess that sees
    the test plugin; the test fails on a non-zero exit."""

    def run(*args: str, env: dict[str, str] | None = None, launcher: tuple[str, ...] = ()):
        full_env = {**os.environ, "PYTHONPATH": str(projection.site), **(env or {})}
        command = [sys.executable, *launcher, "-m", "frechet", *args]
        done = subprocess.run(command, check=False, env=full_env, capture_output=True, text=True, timeout=180)
        assert done.returncode == 0, done.stderr
        return done

    return run

