"""The `frechet` command raises glibc's mmap threshold, so a CPU forward pass reuses its activations' memory."""

import platform
import sys

import pytest

from frechet import _malloc
from frechet.cli import main


@pytest.mark.skipif(not sys.platform.startswith("linux") or platform.libc_ver()[0] != "glibc", reason="glibc only")
def test_glibc_accepts_the_raised_mmap_threshold():
    assert _malloc.reuse_large_allocations() is True


def test_only_commands_that_embed_tune_the_allocator(monkeypatch, capsys):
    calls = []
    monkeypatch.setattr("frechet.cli.reuse_large_allocations", lambda: calls.append(1) or True)
    assert main(["metrics"]) == 0
    assert calls == []
    with pytest.raises(SystemExit):
        main(["stats", "--help"])
    assert calls == []  # parsing stops first
    assert main(["stats", "missing-folder", "-o", "out.npz", "--quiet"]) == 2
    assert calls == [1]
