"""The ``frechet`` command makes idle OpenMP threads sleep (set before torch loads; a user's own policy stands)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

_PROBE = (
    "import os, sys\n"
    "from frechet.cli import main\n"
    "try:\n"
    "    main(['--version'])\n"
    "except SystemExit:\n"
    "    pass\n"
    "print(os.environ.get('OMP_WAIT_POLICY'))\n"
)


def _probe(env: dict[str, str]) -> str:
    done = subprocess.run([sys.executable, "-c", _PROBE], env=env, capture_output=True, text=True, check=True)
    return done.stdout.split()[-1]


def test_the_command_sets_a_passive_wait_policy_before_torch_loads() -> None:
    env = {key: value for key, value in os.environ.items() if key != "OMP_WAIT_POLICY"}
    assert _probe(env) == "PASSIVE"


def test_a_policy_the_user_set_is_kept() -> None:
    assert _probe({**os.environ, "OMP_WAIT_POLICY": "ACTIVE"}) == "ACTIVE"


def test_nothing_is_set_once_torch_is_loaded(monkeypatch: pytest.MonkeyPatch) -> None:
    import torch  # noqa: F401 - loaded, as in any process that ran a network

    from frechet._openmp import sleep_idle_threads

    monkeypatch.delenv("OMP_WAIT_POLICY", raising=False)
    assert sleep_idle_threads() is False
    assert "OMP_WAIT_POLICY" not in os.environ
