"""Weights store: download from a loopback server, reuse, checksum and interruption safety, offline, safe loading."""

import hashlib
import io
import json
import os
import http.server
import threading
from pathlib import Path

import numpy as np
import pytest
import torch

from frechet.cli import main
from frechet.errors import WeightsError
from frechet.plugins import get_registry
from frechet.weights import (
    FileStatus,
    WeightsSpec,
    file_status,
    load_state_dict,
    resolve_weights,
    weights_dir,
    weights_identity,
)

def _state_dict_bytes() -> bytes:
    """A 1 MiB checkpoint: what a weights file without a full published sha256 must load as."""
    buffer = io.BytesIO()
    torch.save({"weight": torch.arange(1 << 18, dtype=torch.float32)}, buffer)
    return buffer.getvalue()


PAYLOAD = _state_dict_bytes()
DIGEST = hashlib.sha256(PAYLOAD).hexdigest()


class _Server(http.server.ThreadingHTTPServer):
    """Serves /good.bin whole and /cut.bin cut off half-way (the advertised length is the full one)."""

    requests: list[str]


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 (http.server's naming)
        self.server.requests.append(self.path)
        if self.path not in ("/good.bin", "/cut.bin"):
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(PAYLOAD)))
        self.end_headers()
        body = PAYLOAD if self.path == "/good.bin" else PAYLOAD[: len(PAYLOAD) // 2]
        self.wfile.write(body)
        self.wfile.flush()
        self.close_connection = True

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    httpd = _Server(("127.0.0.1", 0), _Handler)
    httpd.requests = []
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


def _url(server, path):
    return f"http://127.0.0.1:{server.server_address[1]}{path}"


@pytest.fixture
def online(monkeypatch):
    monkeypatch.delenv("FRECHET_OFFLINE", raising=False)


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_download_verifies_and_caches_then_reuses_without_the_network(server, online):
    spec = WeightsSpec("demo", _url(server, "/good.bin"), sha256=DIGEST, filename="demo.bin")
    path = resolve_weights(spec, progress=False)
    assert path == weights_dir() / "demo.bin"
    assert path.read_bytes() == PAYLOAD
    assert resolve_weights(spec, progress=False) == path
    assert server.requests == ["/good.bin"]


def test_the_cache_is_torch_hubs_checkpoints_folder():
    assert weights_dir() == Path(torch.hub.get_dir()) / "checkpoints"


def test_a_hash_prefix_in_the_file_name_is_the_checksum(server, online):
    name = f"model-{DIGEST[:8]}.pth"
    spec = WeightsSpec("demo", _url(server, "/good.bin"), filename=name)
    assert spec.expected_hash == DIGEST[:8]
    assert resolve_weights(spec, progress=False).name == name


def test_a_checksum_mismatch_is_an_error_and_leaves_no_file(server, online):
    spec = WeightsSpec("demo", _url(server, "/good.bin"), sha256="0" * 64, filename="demo.bin")
    with pytest.raises(WeightsError, match="failed its checksum"):
        resolve_weights(spec, progress=False)
    assert _leftovers(weights_dir()) == []


def test_an_interrupted_transfer_leaves_no_file(server, online):
    spec = WeightsSpec("demo", _url(server, "/cut.bin"), sha256=DIGEST, filename="demo.bin")
    with pytest.raises(WeightsError, match="nothing was saved"):
        resolve_weights(spec, progress=False)
    assert _leftovers(weights_dir()) == []


def test_a_full_disk_during_a_download_leaves_no_file_and_says_so(server, online, full_disk, monkeypatch):
    monkeypatch.setenv("FRECHET_WEIGHTS_DIR", str(full_disk))  # 16 KiB of room for a 1 MiB file
    spec = WeightsSpec("demo", _url(server, "/good.bin"), sha256=DIGEST, filename="demo.bin")
    with pytest.raises(WeightsError) as error:
        resolve_weights(spec, progress=False)
    assert str(error.value) == (
        f"{full_disk / 'demo.bin'}: downloading demo weights failed (the disk is full: No space left on device — free "
        "some space or write elsewhere, or set FRECHET_WEIGHTS_DIR to a folder with room); nothing was saved"
    )
    assert _leftovers(full_disk) == []


def test_every_spec_carries_a_checksum():
    with pytest.raises(ValueError, match="unverified downloads are not supported"):
        WeightsSpec("demo", "http://127.0.0.1/model.pth")
    assert WeightsSpec("demo", "http://127.0.0.1/model.pth", pin=True).expected_hash is None


def test_an_http_error_names_the_url(server, online):
    spec = WeightsSpec("demo", _url(server, "/missing.bin"), sha256=DIGEST)
    with pytest.raises(WeightsError, match=r"download failed from http://\S+/missing\.bin \(HTTP 404\)"):
        resolve_weights(spec, progress=False)


def test_a_failed_download_names_every_url_tried_the_file_to_place_where_and_the_variables(server, online):
    first = WeightsSpec("demo", _url(server, "/gone.bin"), sha256=DIGEST, filename="demo.bin")
    second = WeightsSpec("demo", _url(server, "/cut.bin"), sha256=DIGEST, filename="demo-copy.bin")
    with pytest.raises(WeightsError) as error:
        resolve_weights([first, second], progress=False)
    message = str(error.value)
    assert f"{first.url} (HTTP 404)" in message and f"{second.url} (the transfer stopped after" in message
    assert f"save it as {weights_dir() / 'demo.bin'} (or under the name demo-copy.bin)" in message
    assert "FRECHET_MIRROR" in message and "FRECHET_WEIGHTS_DIR" in message
    assert "embedder_options={'weights': 'PATH'}" in message
    assert server.requests == ["/gone.bin", "/cut.bin"] and _leftovers(weights_dir()) == []


def test_alternative_urls_are_tried_in_turn(server, online):
    first = WeightsSpec("demo", _url(server, "/gone.bin"), sha256=DIGEST, filename="demo.bin")
    second = WeightsSpec("demo", _url(server, "/good.bin"), sha256=DIGEST, filename="demo-copy.bin")
    assert resolve_weights([first, second], progress=False) == weights_dir() / "demo-copy.bin"
    assert resolve_weights([first, second], progress=False) == weights_dir() / "demo-copy.bin"
    assert server.requests == ["/gone.bin", "/good.bin"]


def test_offline_mode_never_touches_the_network_and_says_what_to_fetch_where(server):
    spec = WeightsSpec("demo", _url(server, "/good.bin"), sha256=DIGEST, filename="demo.bin")
    with pytest.raises(WeightsError) as error:
        resolve_weights(spec, progress=False)
    message = str(error.value)
    assert spec.url in message and str(weights_dir() / "demo.bin") in message
    assert all(name in message for name in ("FRECHET_OFFLINE", "FRECHET_WEIGHTS_DIR", "FRECHET_MIRROR"))
    assert server.requests == []


def test_a_mirror_serves_every_file_by_its_name_with_the_same_checks(server, online, monkeypatch):
    monkeypatch.setenv("FRECHET_MIRROR", _url(server, "/"))
    spec = WeightsSpec("demo", "https://example.invalid/models/v1/good.bin", sha256=DIGEST)
    assert resolve_weights(spec, progress=False).read_bytes() == PAYLOAD
    assert server.requests == ["/good.bin"]
    tampered = WeightsSpec("demo", "https://example.invalid/models/v1/good.bin", sha256="0" * 64, filename="cut.bin")
    with pytest.raises(WeightsError, match="mirror FRECHET_MIRROR=http"):
        resolve_weights(tampered, progress=False)
    assert _leftovers(weights_dir()) == ["good.bin"]


def test_a_file_without_a_published_checksum_is_pinned_at_first_download(server, online):
    spec = WeightsSpec("demo", _url(server, "/good.bin"), filename="demo.bin", pin=True)
    path = resolve_weights(spec, progress=False)
    assert json.loads((weights_dir() / "frechet-pins.json").read_text()) == {spec.url: DIGEST}
    path.write_bytes(PAYLOAD[:-1] + b"x")  # the cached copy changes: refused from now on
    with pytest.raises(WeightsError, match="was recorded when it was first used"):
        resolve_weights(spec, progress=False)
    path.unlink()
    assert resolve_weights(spec, progress=False).read_bytes() == PAYLOAD  # a fresh download matches the pin


def test_a_pinned_file_is_named_in_embedder_ids_by_its_recorded_sha256(server, online, tmp_path):
    spec = WeightsSpec("demo", _url(server, "/good.bin"), filename="demo.bin", pin=True)
    with pytest.raises(ValueError, match="published or pinned checksum"):
        weights_identity(spec)  # not pinned before its first use
    resolve_weights(spec, progress=False)
    copy = tmp_path / "copy.bin"
    copy.write_bytes(PAYLOAD)
    assert weights_identity(spec) == weights_identity(spec, copy) == DIGEST[:8]
    (tmp_path / "own.bin").write_bytes(b"fine-tuned")
    assert weights_identity(spec, tmp_path / "own.bin").startswith("sha256:")


def test_a_later_download_that_differs_from_the_pin_is_refused(server, online):
    weights_dir().mkdir(parents=True)
    (weights_dir() / "frechet-pins.json").write_text(json.dumps({_url(server, "/good.bin"): "0" * 64}))
    spec = WeightsSpec("demo", _url(server, "/good.bin"), filename="demo.bin", pin=True)
    with pytest.raises(WeightsError, match="failed its checksum.*recorded at its first download"):
        resolve_weights(spec, progress=False)
    assert _leftovers(weights_dir()) == ["frechet-pins.json"]


def test_the_status_of_a_file_says_where_it_is_and_whether_it_is_verified(server, online):
    spec = WeightsSpec("demo", _url(server, "/good.bin"), sha256=DIGEST, filename="demo.bin")
    assert file_status(spec).status == "missing"
    resolve_weights(spec, progress=False)
    assert file_status(spec) == FileStatus((spec,), weights_dir() / "demo.bin", "verified")
    (weights_dir() / "demo.bin").write_bytes(b"other")
    assert file_status(spec).status == "checksum mismatch"
    pinned = WeightsSpec("pinned", _url(server, "/other.bin"), filename="demo.bin", pin=True)
    assert file_status(pinned).status == "not pinned yet"


def test_a_tampered_cached_file_fails_its_checksum(server):
    spec = WeightsSpec("demo", _url(server, "/good.bin"), sha256=DIGEST, filename="demo.bin")
    weights_dir().mkdir(parents=True)
    (weights_dir() / "demo.bin").write_bytes(PAYLOAD[:-1] + b"x")
    with pytest.raises(WeightsError, match="checksum mismatch"):
        resolve_weights(spec, progress=False)


def test_frechet_weights_dir_overrides_the_cache_folder(tmp_path, monkeypatch, server):
    monkeypatch.setenv("FRECHET_WEIGHTS_DIR", str(tmp_path))
    (tmp_path / "demo.bin").write_bytes(PAYLOAD)
    spec = WeightsSpec("demo", _url(server, "/good.bin"), sha256=DIGEST, filename="demo.bin")
    assert resolve_weights(spec) == tmp_path / "demo.bin"


def test_an_explicit_path_is_used_as_given(tmp_path, server):
    own = tmp_path / "mine.pth"
    own.write_bytes(b"anything")
    spec = WeightsSpec("demo", _url(server, "/good.bin"), sha256=DIGEST)
    assert resolve_weights(spec, own) == own
    with pytest.raises(WeightsError, match="weights file not found"):
        resolve_weights(spec, tmp_path / "nope.pth")


def test_a_fifo_or_folder_given_as_weights_is_named_for_what_it_is_never_opened(tmp_path, server):
    spec = WeightsSpec("demo", _url(server, "/good.bin"), sha256=DIGEST)
    fifo = tmp_path / "weights.fifo"
    os.mkfifo(fifo)
    with pytest.raises(WeightsError, match=r"weights.fifo: is a FIFO \(named pipe\), not a weights file"):
        resolve_weights(spec, fifo)  # returns at once: a FIFO opened for reading would wait for a writer
    with pytest.raises(WeightsError, match="is a folder, not a weights file"):
        resolve_weights(spec, tmp_path)


def test_state_dicts_load_but_pickled_objects_do_not(tmp_path):
    torch.save({"w": torch.ones(2)}, tmp_path / "ok.pth")
    assert torch.equal(load_state_dict(tmp_path / "ok.pth")["w"], torch.ones(2))
    torch.save({"w": torch.ones(2), "obj": _Arbitrary()}, tmp_path / "evil.pth")
    with pytest.raises(WeightsError, match="refuses to unpickle"):
        load_state_dict(tmp_path / "evil.pth")


def test_numpy_arrays_load_only_when_allowed_and_arbitrary_objects_never(tmp_path):
    arrays = {"means": np.arange(3.0), "steps": np.int64(7), "order": np.arange(4, dtype=np.int32)}
    torch.save(arrays, tmp_path / "arrays.pth")
    with pytest.raises(WeightsError, match="refuses to unpickle"):
        load_state_dict(tmp_path / "arrays.pth")
    loaded = load_state_dict(tmp_path / "arrays.pth", numpy_arrays=True)
    assert set(loaded) == set(arrays) and all(np.array_equal(loaded[k], arrays[k]) for k in arrays)
    torch.save({"means": np.arange(3.0), "obj": _Arbitrary()}, tmp_path / "evil.pth")
    with pytest.raises(WeightsError, match="refuses to unpickle"):
        load_state_dict(tmp_path / "evil.pth", numpy_arrays=True)


def test_mapped_loading_gives_the_same_tensors_and_still_refuses_objects(tmp_path):
    """mmap=True (for checkpoints a model needs only part of) maps zip files and reads legacy-format files whole."""
    state = {"w": torch.arange(6.0), "nested": {"b": torch.ones(2)}}
    torch.save(state, tmp_path / "zip.pth")
    torch.save(state, tmp_path / "legacy.pth", _use_new_zipfile_serialization=False)
    for name in ("zip.pth", "legacy.pth"):
        loaded = load_state_dict(tmp_path / name, mmap=True)
        assert torch.equal(loaded["w"], state["w"]) and torch.equal(loaded["nested"]["b"], state["nested"]["b"])
    torch.save({"w": torch.ones(2), "obj": _Arbitrary()}, tmp_path / "evil.pth")
    with pytest.raises(WeightsError, match="refuses to unpickle"):
        load_state_dict(tmp_path / "evil.pth", mmap=True)


def test_truncated_and_non_dict_checkpoints_are_errors(tmp_path):
    torch.save({"w": torch.ones(1000)}, tmp_path / "ok.pth")
    data = (tmp_path / "ok.pth").read_bytes()
    (tmp_path / "cut.pth").write_bytes(data[: len(data) // 2])
    with pytest.raises(WeightsError, match="truncated"):
        load_state_dict(tmp_path / "cut.pth")
    torch.save([torch.ones(1)], tmp_path / "list.pth")
    with pytest.raises(WeightsError, match="expected a state dict"):
        load_state_dict(tmp_path / "list.pth")


class _Arbitrary:
    pass


class _WeighedEmbedder:
    """Stands in for an embedder class in the registry: only its ``weights`` attribute is read by the listing."""

    weights = (WeightsSpec("demo", "https://example.invalid/demo.bin", sha256=DIGEST),
               WeightsSpec("demo", "https://example.invalid/v2/demo-copy.bin", sha256=DIGEST))


def test_frechet_weights_lists_each_file_once_with_where_it_is_and_whether_it_verifies(capsys):
    get_registry().add_embedder("demo", _WeighedEmbedder, domain="image", outputs={"x": 1}, description="demo")
    assert main(["weights", "--json"]) == 0
    listing = json.loads(capsys.readouterr().out)
    row = next(row for row in listing["weights"] if row["embedder"] == "demo")
    assert (row["files"], row["status"], row["path"]) == (["demo.bin", "demo-copy.bin"], "missing", None)
    assert listing["offline"] and listing["weights_dir"] == str(weights_dir())
    weights_dir().mkdir(parents=True)
    (weights_dir() / "demo-copy.bin").write_bytes(PAYLOAD)
    assert main(["weights"]) == 0
    line = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("demo "))
    assert "verified" in line and str(weights_dir() / "demo-copy.bin") in line


def test_weights_are_named_by_one_rule_a_copy_of_the_canonical_file_like_the_file_itself(tmp_path):
    canonical, other = tmp_path / "canonical.pth", tmp_path / "other.pth"
    canonical.write_bytes(b"the published weights")
    other.write_bytes(b"someone's fine-tuned weights")
    spec = WeightsSpec("net", "https://example.org/net.pth", sha256=hashlib.sha256(canonical.read_bytes()).hexdigest())
    assert weights_identity(spec) == weights_identity(spec, canonical) == spec.expected_hash[:8]
    assert weights_identity(spec, other) == "sha256:" + hashlib.sha256(other.read_bytes()).hexdigest()[:16]
    assert weights_identity(path=other) == weights_identity(spec, other)


@pytest.mark.parametrize("offline", [True, False])
def test_a_file_of_ones_own_under_the_canonical_name_is_told_to_use_weights_or_another_name(
        server, monkeypatch, offline):
    if not offline:
        monkeypatch.delenv("FRECHET_OFFLINE", raising=False)
    spec = WeightsSpec("demo", _url(server, "/good.bin"), sha256=DIGEST, filename="demo.bin")
    weights_dir().mkdir(parents=True)
    (weights_dir() / "demo.bin").write_bytes(b"my own fine-tuned weights")
    with pytest.raises(WeightsError) as python_error:
        resolve_weights(spec, progress=False)
    message = str(python_error.value)
    assert "checksum mismatch" in message and "not the published file" in message
    assert "give it with embedder_options={'weights': 'PATH'} (or rename it" in message
    if offline:
        assert "on a machine with internet and put it in its place" in message and "delete it" not in message
    else:
        assert f"delete it to download it again from {_url(server, '/good.bin')}" in message


class _Served:
    """An embedder stand-in whose weights files the test server serves (or not)."""

    weights: tuple[WeightsSpec, ...] = ()


def test_weights_fetch_takes_embedder_names_goes_on_past_failures_and_summarises(server, online, capsys):
    class Missing(_Served):
        weights = (WeightsSpec("gone", _url(server, "/gone.bin"), sha256=DIGEST, filename="gone.bin"),)

    class Good(_Served):
        weights = (WeightsSpec("good", _url(server, "/good.bin"), sha256=DIGEST, filename="good.bin"),)

    class Other(_Served):
        weights = (WeightsSpec("other", _url(server, "/good.bin"), sha256=DIGEST, filename="other.bin"),)

    for name, cls in (("demo-missing", Missing), ("demo-good", Good), ("demo-other", Other)):
        get_registry().add_embedder(name, cls, domain="image", outputs={"x": 1}, description=name)
    assert main(["weights", "demo-missing", "demo-good", "--fetch", "--json"]) == 2  # one failed: not zero
    out, err = capsys.readouterr()
    rows = {row["embedder"]: row for row in json.loads(out)["weights"]}
    assert set(rows) == {"demo-missing", "demo-good"}  # only the embedders named; demo-other not fetched
    assert rows["demo-good"]["status"] == "verified" and rows["demo-missing"]["status"] == "missing"
    assert (weights_dir() / "good.bin").read_bytes() == PAYLOAD and not (weights_dir() / "other.bin").exists()
    lines = err.strip().splitlines()
    assert "frechet: fetched 1 file: good.bin; 0 already present; 1 failed" in lines
    failure = next(line for line in lines if line.startswith("frechet: error: demo-missing gone.bin: "))
    assert "HTTP Error 404" in failure or "404" in failure
    assert "--weights PATH" in failure and "`frechet compute … --weights PATH`" in failure
    assert main(["weights", "demo-good", "--fetch"]) == 0
    assert "fetched 0 files; 1 already present; 0 failed" in capsys.readouterr().err
    assert main(["weights", "demo-goood"]) == 2
    assert "did you mean 'demo-good'?" in capsys.readouterr().err
