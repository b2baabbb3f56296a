"""Downloads from hostile or broken sources: a file is read as what it should be before it is kept or pinned, a
transfer has a deadline, a broken pins file or mirror setting is one line, and nothing half-written stays behind.

The servers are loopback-only (127.0.0.1, an ephemeral port), serve files generated here, and stop themselves: a
slow-drip handler gives up when the test ends, and never runs for more than a few seconds.
"""

from __future__ import annotations

import dataclasses
import io
import json
import os
import signal
import socket
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Callable

import numpy as np
import pytest
import torch

from frechet import pins, references
from frechet.cli import main
from frechet.errors import ConfigError, StatsFileError, WeightsError
from frechet.io import file_sha256
from frechet.weights import PINS_FILE, WeightsSpec, mirror, resolve_weights, weights_dir

TTUR_CIFAR = references.lookup("ttur-cifar10-train")
NAME = TTUR_CIFAR.spec.file_name
HTML = b"<html><body>Please log in to the guest network</body></html>"[:55]
#: Seconds between the bytes of a slow-drip server, and the most it drips before it stops by itself.
DRIP_S, DRIP_FOR_S = 0.2, 15.0


def _stats_bytes(dim: int, dtype: type = np.float32, **extra: np.ndarray) -> bytes:
    """A statistics .npz in TTUR's layout (float32 mu and sigma)."""
    buffer = io.BytesIO()
    np.savez(buffer, mu=np.zeros(dim, dtype), sigma=np.eye(dim, dtype=dtype), **extra)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def valid_stats() -> bytes:
    return _stats_bytes(2048)


class _Server:
    """A loopback HTTP server whose routes write raw responses; ``stop`` ends the server and any handler still
    dripping."""

    def __init__(self) -> None:
        self.routes: dict[str, bytes | Callable[[socket.socket, threading.Event], None]] = {}
        self.stopped = threading.Event()
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.2)
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while not self.stopped.is_set():
            try:
                connection, _ = self.listener.accept()
            except TimeoutError:
                continue
            threading.Thread(target=self._answer, args=(connection,), daemon=True).start()

    def _answer(self, connection: socket.socket) -> None:
        with connection:
            request = connection.recv(65536).decode("latin-1")
            path = request.split(" ")[1] if request.count(" ") >= 2 else "/"
            route = self.routes.get(path, b"HTTP/1.0 404 Not Found\r\nContent-Length: 0\r\n\r\n")
            try:
                if callable(route):
                    route(connection, self.stopped)
                else:
                    connection.sendall(route)
            except OSError:  # the client gave up
                pass

    def stop(self) -> None:
        self.stopped.set()
        self.thread.join(timeout=10)
        self.listener.close()


def _response(body: bytes, content_type: str = "application/octet-stream", length: int | None = -1) -> bytes:
    declared = len(body) if length == -1 else length
    headers = f"HTTP/1.0 200 OK\r\nContent-Type: {content_type}\r\n"
    if declared is not None:
        headers += f"Content-Length: {declared}\r\n"
    return headers.encode() + b"\r\n" + body


def _drip(data: bytes):
    """A route sending ``data`` one byte every DRIP_S seconds, until the server stops or DRIP_FOR_S have passed."""

    def send(connection: socket.socket, stopped: threading.Event) -> None:
        end = time.monotonic() + DRIP_FOR_S
        for byte in data:
            if stopped.wait(DRIP_S) or time.monotonic() > end:
                return
            connection.sendall(bytes([byte]))

    return send


@pytest.fixture
def server(monkeypatch):
    """The loopback server as FRECHET_MIRROR, network allowed."""
    served = _Server()
    monkeypatch.setenv("FRECHET_MIRROR", served.url)
    monkeypatch.delenv("FRECHET_OFFLINE", raising=False)
    yield served
    served.stop()


def _leftovers() -> list[str]:
    return sorted(path.name for path in weights_dir().iterdir()) if weights_dir().exists() else []


def _fetch_fails(capsys) -> str:
    """Run ``frechet refs ttur-cifar10-train --fetch``; it must fail with one line, pinning and keeping nothing."""
    assert main(["refs", "ttur-cifar10-train", "--fetch", "--json"]) == 2
    lines = [line for line in capsys.readouterr().err.splitlines() if not line.startswith("frechet: info: ")]
    assert len(lines) == 1 and lines[0].startswith("frechet: error: "), lines
    assert _leftovers() == [], _leftovers()
    return lines[0]


# ---------------------------------------------------------------------------------------------------- lost trust
def test_a_captive_portal_page_is_refused_saying_what_arrived_and_nothing_is_pinned(server, capsys):
    server.routes[f"/{NAME}"] = _response(HTML, "text/html")
    line = _fetch_fails(capsys)
    assert "not ref:ttur-cifar10-train reference statistics" in line
    assert "55 bytes, content type text/html, starting '<html><body>Please" in line


@pytest.mark.parametrize("length", [None, "full"], ids=["no-content-length", "shorter-than-content-length"])
def test_a_short_body_is_refused_with_or_without_a_content_length(server, capsys, valid_stats, length):
    body = valid_stats[: len(valid_stats) // 3]
    server.routes[f"/{NAME}"] = _response(body, length=None if length is None else len(valid_stats))
    line = _fetch_fails(capsys)
    expected = "not ref:ttur-cifar10-train reference statistics" if length is None else "the transfer stopped after"
    assert expected in line and f"{len(body):,} bytes" in line


def test_a_truncated_npz_in_a_file_mirror_is_refused(tmp_path, monkeypatch, capsys, valid_stats):
    folder = tmp_path / "shared"
    folder.mkdir()
    (folder / NAME).write_bytes(valid_stats[:-100])
    monkeypatch.setenv("FRECHET_MIRROR", folder.as_uri())
    monkeypatch.delenv("FRECHET_OFFLINE", raising=False)
    assert "not ref:ttur-cifar10-train reference statistics" in _fetch_fails(capsys)


@pytest.mark.parametrize(
    ("content", "refusal"),
    [
        (lambda: _stats_bytes(16), "mu/sigma are 16-dimensional, but ref:ttur-cifar10-train (inception features) has "
         "2048 dimensions"),
        (lambda: _stats_bytes(2048, n=np.int64(1000)), "mu/sigma are of 1,000 items, but ref:ttur-cifar10-train has "
         "50,000"),
        (lambda: _stats_bytes(2048, np.int32), "'mu' has dtype int32, but reference statistics are floating-point"),
    ],
    ids=["16-d", "wrong-n", "integers"],
)
def test_statistics_that_are_not_what_the_catalogue_says_are_refused(server, capsys, content, refusal):
    server.routes[f"/{NAME}"] = _response(content())
    assert refusal in _fetch_fails(capsys)


def test_the_published_file_is_kept_and_pinned_and_an_upper_case_pin_matches_it(server, capsys, valid_stats):
    server.routes[f"/{NAME}"] = _response(valid_stats)
    assert main(["refs", "ttur-cifar10-train", "--fetch", "--json"]) == 0
    digest = file_sha256(weights_dir() / NAME)
    assert json.loads((weights_dir() / PINS_FILE).read_text()) == {TTUR_CIFAR.url: digest}
    (weights_dir() / PINS_FILE).write_text(json.dumps({TTUR_CIFAR.url: digest.upper()}))
    (weights_dir() / NAME).unlink()
    assert main(["refs", "ttur-cifar10-train", "--fetch", "--json"]) == 0


def test_a_cached_file_that_is_not_the_statistics_is_never_pinned(tmp_path, monkeypatch):
    weights_dir().mkdir(parents=True)
    (weights_dir() / NAME).write_bytes(HTML)
    with pytest.raises(WeightsError, match="not ref:ttur-cifar10-train reference statistics.*nothing was pinned"):
        references.local_path(TTUR_CIFAR, progress=False)
    assert not (weights_dir() / PINS_FILE).exists()


def test_an_adm_batch_must_hold_both_statistics_and_images_of_its_resolution(server, monkeypatch):
    from frechet import reference_files

    adm = references.lookup("adm-imagenet64")
    for name, ref in references.CATALOGUE.items():  # small statistics keep the test fast
        monkeypatch.setitem(references.CATALOGUE, name, dataclasses.replace(ref, dim=8))
    monkeypatch.setattr(reference_files, "ADM_SPATIAL_DIM", 6)
    moments = {"mu": np.zeros(8), "sigma": np.eye(8), "mu_s": np.zeros(6), "sigma_s": np.eye(6)}
    for images, accepted in ((np.zeros((4, 32, 32, 3), np.uint8), False), (np.zeros((4, 64, 64, 3), np.uint8), True)):
        buffer = io.BytesIO()
        np.savez(buffer, arr_0=images, **moments)
        server.routes[f"/{adm.spec.file_name}"] = _response(buffer.getvalue())
        if accepted:
            assert references.local_path(adm, progress=False).is_file()
        else:
            with pytest.raises(WeightsError, match=r"'arr_0' is 4 x 32 x 32 x 3 uint8, but ref:adm-imagenet64 holds"):
                references.local_path(adm, progress=False)
            assert _leftovers() == []


def test_pinned_weights_must_load_as_a_state_dict_before_they_are_pinned(server):
    spec = WeightsSpec("demo", "https://example.invalid/demo.pt", pin=True)
    server.routes["/demo.pt"] = _response(HTML, "text/html")
    with pytest.raises(WeightsError, match="not demo weights: not a loadable weights file.*what arrived: 55 bytes"):
        resolve_weights(spec, progress=False)
    assert _leftovers() == []
    buffer = io.BytesIO()
    torch.save({"weight": torch.ones(3)}, buffer)
    server.routes["/demo.pt"] = _response(buffer.getvalue())
    assert resolve_weights(spec, progress=False).read_bytes() == buffer.getvalue()
    assert list(json.loads((weights_dir() / PINS_FILE).read_text())) == [spec.url]


# ---------------------------------------------------------------------------------------------------- pins file
@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (lambda url, digest: json.dumps({url: digest[:16]}), "not a sha256 (64 hex digits)"),
        (lambda url, digest: json.dumps({url: 7}), "the pin of 'http://bioinf.jku.at/research/ttur/ttur_stats/"),
        (lambda url, digest: "[" * 100_000 + "]" * 100_000, "not a JSON object"),
        (lambda url, digest: '{"a": ' * 100_000, "nested values"),
        (lambda url, digest: json.dumps({url: digest})[:-3], "not valid JSON"),
        (lambda url, digest: " " * (pins.MAX_BYTES + 1), "larger than"),
    ],
    ids=["prefix", "a-number", "nested-list", "nested-object", "truncated", "huge"],
)
def test_a_broken_pins_file_is_one_line_naming_it_and_what_to_do(server, capsys, valid_stats, content, problem):
    server.routes[f"/{NAME}"] = _response(valid_stats)
    weights_dir().mkdir(parents=True)
    (weights_dir() / PINS_FILE).write_text(content(TTUR_CIFAR.url, "a" * 64))
    assert main(["refs", "ttur-cifar10-train", "--fetch", "--json"]) == 2
    lines = [line for line in capsys.readouterr().err.splitlines() if not line.startswith("frechet: info: ")]
    assert len(lines) == 1 and f"{weights_dir() / PINS_FILE}: broken pins file (" in lines[0], lines
    assert problem in lines[0] and "delete it to pin those files again" in lines[0]
    assert not (weights_dir() / NAME).exists()


def test_concurrent_processes_adding_pins_lose_none(tmp_path):
    path = tmp_path / PINS_FILE
    code = (
        "import sys; from pathlib import Path; from frechet.pins import add_pin\n"
        "for i in range(25): add_pin(Path(sys.argv[1]), f'https://example.invalid/{sys.argv[2]}/{i}', 'ab' * 32)\n"
    )
    workers = [subprocess.Popen([sys.executable, "-c", code, str(path), str(k)]) for k in range(4)]
    assert [worker.wait(timeout=120) for worker in workers] == [0] * 4
    assert len(pins.read_pins(path)) == 100


def test_the_first_pin_of_a_url_stays_the_pin(tmp_path):
    path = tmp_path / PINS_FILE
    assert pins.add_pin(path, "https://example.invalid/a", "AB" * 32) == "ab" * 32
    assert pins.add_pin(path, "https://example.invalid/a", "cd" * 32) == "ab" * 32


# ---------------------------------------------------------------------------------------------------- hangs
@pytest.mark.parametrize("where", ["body", "headers"])
def test_a_server_dripping_bytes_is_abandoned_at_the_deadline_and_leaves_no_part_file(
    server, capsys, monkeypatch, where
):
    monkeypatch.setenv("FRECHET_DOWNLOAD_TIMEOUT", "1")
    whole = _response(b"x" * 1000)
    head = whole.index(b"\r\n\r\n") + 4
    server.routes[f"/{NAME}"] = _drip(whole) if where == "headers" else (
        lambda connection, stopped: (connection.sendall(whole[:head]), _drip(whole[head:])(connection, stopped))
    )
    line = _fetch_fails(capsys)
    assert "the transfer had not finished after 1 s" in line and "FRECHET_DOWNLOAD_TIMEOUT sets the limit" in line


def test_an_interrupted_fetch_removes_its_part_file(server, tmp_path):
    server.routes[f"/{NAME}"] = _drip(_response(b"x" * 1000))
    env = {**os.environ, "FRECHET_MIRROR": server.url, "FRECHET_WEIGHTS_DIR": str(tmp_path / "w")}
    env.pop("FRECHET_OFFLINE", None)
    command = [sys.executable, "-m", "frechet", "refs", "ttur-cifar10-train", "--fetch", "--json"]
    process = subprocess.Popen(command, env=env, stderr=subprocess.PIPE, text=True)
    try:
        for _ in range(600):  # until the transfer has begun
            if list((tmp_path / "w").glob("*.part")) or process.poll() is not None:
                break
            time.sleep(0.1)
        assert list((tmp_path / "w").glob("*.part")), "the transfer never began"
        process.send_signal(signal.SIGINT)
        code = process.wait(timeout=60)
        assert code == 130, f"exit {code}: {process.stderr.read()}"
    finally:
        process.kill()
        process.wait()
    assert "frechet: interrupted" in process.stderr.read()
    assert list((tmp_path / "w").iterdir()) == []


def test_a_fifo_in_a_file_mirror_is_refused_unread(tmp_path, monkeypatch, capsys):
    folder = tmp_path / "shared"
    folder.mkdir()
    os.mkfifo(folder / NAME)
    monkeypatch.setenv("FRECHET_MIRROR", str(folder))
    monkeypatch.delenv("FRECHET_OFFLINE", raising=False)
    assert "not a regular file (a FIFO (named pipe))" in _fetch_fails(capsys)


# ---------------------------------------------------------------------------------------------------- mirrors
def test_an_absolute_path_is_a_local_mirror(tmp_path, monkeypatch, valid_stats):
    folder = tmp_path / "shared frechet"
    folder.mkdir()
    (folder / NAME).write_bytes(valid_stats)
    monkeypatch.setenv("FRECHET_MIRROR", f"{folder}/")
    monkeypatch.delenv("FRECHET_OFFLINE", raising=False)
    assert mirror() == folder.as_uri()
    assert references.local_path(TTUR_CIFAR, progress=False).read_bytes() == valid_stats


@pytest.mark.parametrize(
    ("value", "what"),
    [
        ("shared/frechet", "is a relative path"),
        ("http://[::1", "is not a valid URL"),
        ("http://host:port/x", "is not a valid URL"),
        ("data:text/plain,hello", "is a data: URL frechet does not fetch from"),
        ("http:///files", "is an incomplete http URL"),
        ("file://server/share", "is an incomplete file URL"),
    ],
)
def test_a_mirror_that_is_not_a_url_or_absolute_path_is_one_line_showing_the_forms(monkeypatch, capsys, value, what):
    monkeypatch.setenv("FRECHET_MIRROR", value)
    monkeypatch.delenv("FRECHET_OFFLINE", raising=False)
    with pytest.raises(ConfigError, match=what):
        mirror()
    line = _fetch_fails(capsys)
    assert f"FRECHET_MIRROR={value!r} {what}" in line
    assert "set FRECHET_MIRROR to http(s)://HOST[:PORT]/FOLDER, file:///ABSOLUTE/FOLDER, or an absolute path " in line


# ---------------------------------------------------------------------------------------------------- file modes
@pytest.mark.parametrize("umask", [0o022, 0o077, 0o002])
def test_a_downloaded_file_honours_the_umask(server, valid_stats, umask):
    server.routes[f"/{NAME}"] = _response(valid_stats)
    previous = os.umask(umask)
    try:
        path = references.local_path(TTUR_CIFAR, progress=False)
    finally:
        os.umask(previous)
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~umask
    assert stat.S_IMODE((weights_dir() / PINS_FILE).stat().st_mode) == 0o666 & ~umask


@pytest.mark.parametrize("value", ["0", "-5", "soon", "inf", "nan"])
def test_a_download_timeout_that_is_not_a_positive_number_is_one_line(server, monkeypatch, capsys, value):
    monkeypatch.setenv("FRECHET_DOWNLOAD_TIMEOUT", value)
    line = _fetch_fails(capsys)
    assert f"FRECHET_DOWNLOAD_TIMEOUT={value!r}: give the seconds a download may take, a number > 0" in line


def test_a_content_check_that_breaks_on_the_file_refuses_it(server):
    def check(path):
        raise ValueError("unexpected layout")

    spec = WeightsSpec("demo", "https://example.invalid/demo.bin", pin=True, check=check)
    server.routes["/demo.bin"] = _response(b"\x00" * 10)
    with pytest.raises(WeightsError, match=r"not demo weights: ValueError: unexpected layout; nothing was pinned"):
        resolve_weights(spec, progress=False)
    assert _leftovers() == []


def test_a_download_that_another_process_pinned_differently_meanwhile_is_refused(server, valid_stats):
    def serve_after_another_pin(connection, stopped):
        pins.add_pin(weights_dir() / PINS_FILE, TTUR_CIFAR.url, "cd" * 32)  # another process, mid-transfer
        connection.sendall(_response(valid_stats))

    server.routes[f"/{NAME}"] = serve_after_another_pin
    with pytest.raises(WeightsError, match=r"but another download pinned cdcdcdcdcdcdcdcd… meanwhile"):
        references.local_path(TTUR_CIFAR, progress=False)
    assert not (weights_dir() / NAME).exists()
    assert pins.read_pins(weights_dir() / PINS_FILE) == {TTUR_CIFAR.url: "cd" * 32}


def test_a_bad_file_pinned_by_an_earlier_version_says_to_delete_it_and_its_pin(server):
    weights_dir().mkdir(parents=True)
    (weights_dir() / NAME).write_bytes(HTML)
    pins.add_pin(weights_dir() / PINS_FILE, TTUR_CIFAR.url, file_sha256(weights_dir() / NAME))
    with pytest.raises(StatsFileError) as error:
        references.load(TTUR_CIFAR, progress=False)
    assert str(error.value) == (
        f"{weights_dir() / NAME}: not usable as ref:ttur-cifar10-train (unreadable: not an .npz (zip) file); delete "
        f"it and its line in {weights_dir() / PINS_FILE} to download it again"
    )


def test_a_fifo_under_the_files_name_in_the_weights_folder_is_never_replaced(server, capsys, valid_stats):
    server.routes[f"/{NAME}"] = _response(valid_stats)
    weights_dir().mkdir(parents=True)
    os.mkfifo(weights_dir() / NAME)
    assert main(["refs", "ttur-cifar10-train", "--fetch", "--json"]) == 2
    assert "is a FIFO (named pipe), not a file: remove it, then fetch again" in capsys.readouterr().err
    assert stat.S_ISFIFO(os.stat(weights_dir() / NAME).st_mode) and _leftovers() == [NAME]
