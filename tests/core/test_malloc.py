"""The `frechet` command lets glibc reuse a CPU forward pass's activations, only when its items are decoded in the
same process (with DataLoader workers beside it, the raised threshold lets the main process's heap grow with N)."""

import platform
import subprocess
import sys

import numpy as np
import pytest
import torch

import frechet
from frechet.cli import main
from frechet.loading import decodes_in_main_process
from frechet.settings import Settings


@pytest.mark.skipif(not sys.platform.startswith("linux") or platform.libc_ver()[0] != "glibc", reason="glibc only")
def test_glibc_accepts_the_raised_mmap_threshold():
    # in a child process: the setting would otherwise stay with the test process
    code = "from frechet._malloc import reuse_large_allocations; print(reuse_large_allocations())"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "True"


@pytest.fixture
def calls(monkeypatch):
    found = []
    monkeypatch.setattr("frechet.loading.reuse_large_allocations", lambda: found.append(1) or True)
    return found


@pytest.fixture
def rows_file(tmp_path):
    path = tmp_path / "rows.npy"
    np.save(path, np.random.default_rng(0).normal(size=(40, 3)))
    return path


def test_the_command_reuses_allocations_when_the_cpu_decodes_in_process(calls, rows_file, tmp_path):
    assert main(["stats", str(rows_file), "-o", str(tmp_path / "a.npz"), "--device", "cpu", "--workers", "0",
                 "--quiet", "--no-cache"]) == 0
    assert calls == [1]


def test_the_command_leaves_the_allocator_alone_beside_workers(calls, rows_file, tmp_path):
    assert main(["stats", str(rows_file), "-o", str(tmp_path / "a.npz"), "--device", "cpu", "--workers", "2",
                 "--quiet", "--no-cache"]) == 0
    assert calls == []


def test_library_calls_leave_the_allocator_alone_unless_asked(calls, rows_file):
    frechet.compute_stats(rows_file, device="cpu", workers=0, cache=False, progress=False)
    assert calls == []
    frechet.compute_stats(rows_file, device="cpu", workers=0, cache=False, progress=False,
                          reuse_large_allocations=True)
    assert calls == [1]


def test_commands_that_embed_nothing_leave_the_allocator_alone(calls):
    assert main(["metrics"]) == 0
    assert calls == []


@pytest.mark.parametrize(
    ("workers", "device", "cores", "expected"),
    [(0, "cuda", 16, True), (2, "cpu", 2, False), (None, "cpu", 2, True), (None, "cpu", 4, False),
     (None, "cuda", 2, False)],
)
def test_which_runs_decode_in_the_main_process(monkeypatch, workers, device, cores, expected):
    monkeypatch.setattr("frechet.loading.os.sched_getaffinity", lambda pid: set(range(cores)))
    assert decodes_in_main_process(Settings(workers=workers), torch.device(device), 1) is expected
