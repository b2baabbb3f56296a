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


def forward_calls(log: Path) -> int:
    """Forward calls recorded in a PROJECTION_CALLS file."""
    return len(log.read_text().splitlines()) if log.exists() else 0


@pytest.fixture
def calls_log(tmp_path):
    """A PROJECTION_CALLS file and a function counting the forward calls it recorded."""
    log = tmp_path / "calls.log"
    return log, lambda: forward_calls(log)
