"""Shared fixtures: every test runs offline, outside the user's home, with private weights/cache folders and freshly
loaded plugins."""

from __future__ import annotations

import functools
import http.server
import importlib
import importlib.util
import os
import re
import shutil
import subprocess
import sys
import tempfile
import textwrap
import threading
from pathlib import Path
from typing import Any

import pytest

from frechet._openmp import sleep_idle_threads

#: The OpenMP wait policy the suite was started with (restored at the end).
_WAIT_POLICY = os.environ.get("OMP_WAIT_POLICY")
# Idle OpenMP threads sleep in the test processes and every process they start, as in the ``frechet`` command: with
# two workers and their subprocesses sharing the cores, a spinning thread takes the time slice of the one it waits
# for. Thread counts stay as they are, and nothing computed changes. Before anything imports torch:
sleep_idle_threads()

from frechet.plugins import reset_plugins  # noqa: E402 (imports torch: after the wait policy is set)

#: Environment variables naming folders a run, or a library it loads, may write to (HOME itself: pip runs
#: ``rustc --version``, which writes ~/.rustup); the whole suite points them at one temporary folder.
_WRITABLE_HOMES = ("HOME", "FRECHET_CACHE_DIR", "TORCH_HOME", "XDG_CACHE_HOME", "XDG_CONFIG_HOME", "MPLCONFIGDIR")
#: frechet's default cache folder in the user's home: the suite fails if it writes there.
_USER_CACHE = Path.home() / ".cache" / "frechet"
_SESSION: dict[str, Any] = {}
#: Thread counts of the numeric libraries, read by the processes a test starts.
_THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")
#: The page of a documented block's test id (``tests/docs/test_documented_blocks.py::test_…[docs/cli.md:12]``).
_DOCUMENTED_PAGE = re.compile(r"^tests/docs/test_documented_blocks\.py::\w+\[(.+\.md):\d+\]$")


def pytest_configure(config: pytest.Config) -> None:
    """Before any test module is imported (some import matplotlib and onnxruntime, which make folders in the home as
    they load): caches, weights, configuration and HOME under one temporary folder, never the user's home; offline."""
    root = Path(tempfile.mkdtemp(prefix="frechet-tests-"))
    names = (*_WRITABLE_HOMES, *_THREAD_VARIABLES, "FRECHET_OFFLINE", "FRECHET_WEIGHTS_DIR")
    _SESSION.update(root=root, saved={name: os.environ.get(name) for name in names}, user_cache=_folders(_USER_CACHE))
    for name in _WRITABLE_HOMES:
        (root / name.lower()).mkdir()
        os.environ[name] = str(root / name.lower())
    os.environ["FRECHET_OFFLINE"] = "1"
    os.environ.pop("FRECHET_WEIGHTS_DIR", None)
    _share_the_cores()


def _share_the_cores() -> None:
    """Under pytest-xdist (``-n N``), give the processes a worker starts (CLI runs, documented blocks) an equal share
    of the cores, so N workers' subprocesses never run more threads than there are cores. The worker's own torch keeps
    its thread count: some results are bit-exact only at the count their goldens were made with."""
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    if workers <= 1:
        return
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    for name in _THREAD_VARIABLES:
        os.environ[name] = str(max(1, cores // workers))


if importlib.util.find_spec("xdist") is not None:

    def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
        """``--dist loadfile`` as pytest-xdist does it (a file's tests run in one worker, its module-scoped fixtures
        built once), except that each documented page is a unit of its own: its blocks run in one worker, in order,
        and the pages spread over the workers. Other ``--dist`` modes are pytest-xdist's."""
        if config.getvalue("dist") != "loadfile":
            return None
        from xdist.scheduler import LoadFileScheduling

        class _PerFileAndPage(LoadFileScheduling):
            def _split_scope(self, nodeid: str) -> str:
                page = _DOCUMENTED_PAGE.search(nodeid)
                return f"{nodeid.split('::', 1)[0]}::{page.group(1)}" if page else super()._split_scope(nodeid)

        return _PerFileAndPage(config, log)


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Fail the session if anything was written to (or removed from) frechet's cache folder in the user's home."""
    if "user_cache" in _SESSION and _folders(_USER_CACHE) != _SESSION["user_cache"]:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_line(f"\nFAILED: the tests changed {_USER_CACHE} in the user's home (or another frechet run "
                                "did meanwhile)", red=True)


def _folders(root: Path) -> dict[str, int]:
    """Every folder under ``root`` with its modification time: a file written or removed in one changes it."""
    return {folder: os.stat(folder).st_mtime_ns for folder, _, _ in os.walk(root)}


def pytest_unconfigure(config: pytest.Config) -> None:
    """Restore the environment and remove the session's folder."""
    if _WAIT_POLICY is None:
        os.environ.pop("OMP_WAIT_POLICY", None)
    else:
        os.environ["OMP_WAIT_POLICY"] = _WAIT_POLICY
    for name, value in _SESSION.pop("saved", {}).items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    shutil.rmtree(_SESSION.pop("root", ""), ignore_errors=True)


@pytest.fixture(autouse=True)
def _isolated_environment(tmp_path_factory, monkeypatch):
    """No network, no user caches: weights, torch hub and the feature cache under temp folders; plugins reloaded."""
    home = tmp_path_factory.mktemp("torch-home")
    monkeypatch.setenv("FRECHET_OFFLINE", "1")
    monkeypatch.setenv("TORCH_HOME", str(home))
    monkeypatch.setenv("FRECHET_CACHE_DIR", str(tmp_path_factory.mktemp("feature-cache")))
    monkeypatch.delenv("FRECHET_WEIGHTS_DIR", raising=False)
    monkeypatch.delenv("FRECHET_PLUGINS", raising=False)
    reset_plugins()
    yield
    reset_plugins()


def write_plugin(folder: Path, name: str, source: str, module: str | None = None) -> str:
    """Write module ``source`` and a distribution with entry point ``name`` in group "frechet" into ``folder``;
    returns the module's name."""
    module = module or f"frechet_test_{name.replace('-', '_')}"
    (folder / f"{module}.py").write_text(textwrap.dedent(source))
    info = folder / f"{module}-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {module}\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(f"[frechet]\n{name} = {module}\n")
    return module


@pytest.fixture(scope="session")
def plugin_folder(tmp_path_factory):
    """``plugin_folder(name, source, module=None)``: a new folder holding a throwaway plugin (as
    :func:`install_plugin` writes it) for subprocesses' PYTHONPATH, shared by module- or session-scoped fixtures;
    not on this process's sys.path."""

    def write(name: str, source: str, *, module: str | None = None) -> Path:
        folder = tmp_path_factory.mktemp("plugin-site")
        write_plugin(folder, name, source, module)
        return folder

    return write


@pytest.fixture
def install_plugin(tmp_path, monkeypatch):
    """Install a throwaway plugin distribution: ``install_plugin(name, source)`` writes module ``source`` and an
    entry point ``name`` in group "frechet" into a folder on sys.path (returned, for subprocesses' PYTHONPATH)."""
    folder = tmp_path / "site"
    folder.mkdir()
    monkeypatch.syspath_prepend(str(folder))

    def install(name: str, source: str, *, module: str | None = None) -> Path:
        module = write_plugin(folder, name, source, module)
        monkeypatch.delitem(sys.modules, module, raising=False)
        importlib.invalidate_caches()
        reset_plugins()
        return folder

    return install


@pytest.fixture
def full_disk(tmp_path):
    """A folder on a 16 KiB tmpfs, so writes run out of space for real; skipped where mounting is not permitted."""
    folder = tmp_path / "full-disk"
    folder.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=16k", "tmpfs", str(folder)], capture_output=True, check=False
    ) if shutil.which("mount") else None
    if mounted is None or mounted.returncode != 0:
        pytest.skip("mounting a small tmpfs is not permitted here")
    yield folder
    subprocess.run(["umount", str(folder)], check=True)


@pytest.fixture
def run_unprivileged():
    """``run_unprivileged(code)`` runs Python ``code`` in a subprocess that file permissions apply to, even when the
    tests run as root (setpriv drops the capabilities that override them); skipped where that cannot be arranged."""
    prefix: list[str] = []
    if os.geteuid() == 0:
        prefix = ["setpriv", "--bounding-set=-dac_override,-dac_read_search", "--"]
        probe = subprocess.run([*prefix, "true"], capture_output=True, check=False) if shutil.which("setpriv") else None
        if probe is None or probe.returncode != 0:
            pytest.skip("running as root, and setpriv cannot drop the permission-overriding capabilities")

    def run(code: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [*prefix, sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=120,
            check=False,
        )

    return run


class _FolderHandler(http.server.SimpleHTTPRequestHandler):
    """Serves the files of one folder, recording each request's path on the server."""

    def do_GET(self):  # noqa: N802 (http.server's naming)
        self.server.requests.append(self.path)
        super().do_GET()

    def log_message(self, *args):
        pass


@pytest.fixture
def file_server(tmp_path):
    """A loopback HTTP server on an ephemeral port serving ``file_server.folder``; ``file_server.url`` is its base URL
    and ``file_server.requests`` the paths asked for. Shut down when the test ends."""
    folder = tmp_path / "served"
    folder.mkdir()
    httpd = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(_FolderHandler, directory=str(folder))
    )
    httpd.requests = []
    httpd.folder = folder
    httpd.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()
    thread.join(timeout=10)
