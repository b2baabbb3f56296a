"""CLIP weights: OpenAI's TorchScript archives read without running them, state dicts and safetensors in OpenAI's
or transformers' layout, the canonical download, and a clear error for anything else."""

from __future__ import annotations

import hashlib
import http.server
import json
import os
import pickle
import struct
import threading
import zipfile

import numpy as np
import pytest
import torch
from torch import nn

from frechet.errors import WeightsError
from frechet.weights import WeightsSpec
from frechet_clip.checkpoint import read_tower_state
from frechet_clip.embedder import ClipVitL14At336
from frechet_clip.network import VisionTransformer, build_tower, tower_shape
from clip_random_weights import SMALL_SHAPES, random_clip_state, visual_part

MODEL = "clip-vitl14-336"
#: Tracing writes the archives these tests read; torch marks tracing deprecated.
TRACING = pytest.mark.filterwarnings("ignore:`torch.jit.trace:DeprecationWarning")


@pytest.fixture(scope="module")
def tower_state() -> dict[str, torch.Tensor]:
    return {key: value.float() for key, value in visual_part(random_clip_state(SMALL_SHAPES[MODEL])).items()}


class _WholeModel(nn.Module):
    """OpenAI's CLIP as far as an archive shows it: a ``visual`` tower beside text-side tensors."""

    def __init__(self, tower: VisionTransformer) -> None:
        super().__init__()
        self.visual = tower
        self.text_projection = nn.Parameter(torch.ones(4, tower.shape.output_dim))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.visual(images) @ self.text_projection.T


def _archive(path, tower_state):
    model = _WholeModel(build_tower(tower_state))
    size = model.visual.shape.resolution
    torch.jit.trace(model, torch.zeros(1, 3, size, size)).save(str(path))
    return path


@TRACING
def test_a_torchscript_archive_is_read_without_running_it(tmp_path, tower_state, monkeypatch):
    archive = _archive(tmp_path / "ViT-L-14-336px.pt", tower_state)

    def refuse(*args, **kwargs):
        raise AssertionError("the archive was loaded as TorchScript")

    monkeypatch.setattr(torch.jit, "load", refuse)
    found = read_tower_state(archive)
    assert found.keys() == tower_state.keys()
    assert all(torch.equal(found[key], tower_state[key]) for key in tower_state)


def test_an_archive_naming_any_other_callable_is_refused_and_nothing_runs(tmp_path):
    marker = tmp_path / "ran"

    class _Payload:
        def __reduce__(self):
            return os.system, (f"touch {marker}",)

    path = tmp_path / "evil.pt"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("evil/data.pkl", pickle.dumps({"visual": _Payload()}, protocol=2))
        archive.writestr("evil/code/__torch__/evil.py", "")
    with pytest.raises(WeightsError, match="does not admit"):
        read_tower_state(path)
    assert not marker.exists()


def _write_safetensors(path, state):
    """A .safetensors file as the format defines it (header length, JSON header, raw little-endian bytes)."""
    header, blobs, offset = {}, [], 0
    names = {torch.float16: "F16", torch.float32: "F32"}
    for key, value in state.items():
        raw = value.contiguous().numpy().tobytes()
        header[key] = {"dtype": names[value.dtype], "shape": list(value.shape),
                       "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    encoded = json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(encoded)) + encoded + b"".join(blobs))
    return path


def _transformers_layout(tower):
    """The tower in transformers' CLIPVisionModelWithProjection keys (q/k/v split, projection transposed)."""
    mapped = {
        "vision_model.embeddings.patch_embedding.weight": tower["conv1.weight"],
        "vision_model.embeddings.class_embedding": tower["class_embedding"],
        "vision_model.embeddings.position_embedding.weight": tower["positional_embedding"],
        "vision_model.pre_layrnorm.weight": tower["ln_pre.weight"],
        "vision_model.pre_layrnorm.bias": tower["ln_pre.bias"],
        "vision_model.post_layernorm.weight": tower["ln_post.weight"],
        "vision_model.post_layernorm.bias": tower["ln_post.bias"],
        "visual_projection.weight": tower["proj"].T.contiguous(),
        "text_model.embeddings.token_embedding.weight": torch.zeros(3, 2),
    }
    names = {"ln_1": "layer_norm1", "ln_2": "layer_norm2", "mlp.c_fc": "mlp.fc1", "mlp.c_proj": "mlp.fc2",
             "attn.out_proj": "self_attn.out_proj"}
    for index in range(tower_shape(tower).layers):
        source, target = f"transformer.resblocks.{index}.", f"vision_model.encoder.layers.{index}."
        for kind in ("weight", "bias"):
            for part, chunk in zip("qkv", tower[f"{source}attn.in_proj_{kind}"].chunk(3)):
                mapped[f"{target}self_attn.{part}_proj.{kind}"] = chunk.contiguous()
            for ours, theirs in names.items():
                mapped[f"{target}{theirs}.{kind}"] = tower[f"{source}{ours}.{kind}"]
    return mapped


def test_safetensors_in_openai_and_transformers_layouts_and_state_dicts_give_the_same_tower(tmp_path, tower_state):
    full = random_clip_state(SMALL_SHAPES[MODEL])
    torch.save(visual_part(full), tmp_path / "tower_only.pt")
    files = [
        _write_safetensors(tmp_path / "openai.safetensors", full),
        _write_safetensors(tmp_path / "transformers.safetensors", _transformers_layout(tower_state)),
        tmp_path / "tower_only.pt",
    ]
    for path in files:
        found = read_tower_state(path)
        assert found.keys() == tower_state.keys(), path
        assert all(torch.equal(found[key].float(), tower_state[key]) for key in tower_state), path


@pytest.mark.parametrize("damage", ["truncated", "not-json", "bad-range"])
def test_a_damaged_safetensors_file_is_a_weights_error_naming_it(tmp_path, tower_state, damage):
    path = _write_safetensors(tmp_path / "tower.safetensors", tower_state)
    data = path.read_bytes()
    if damage == "truncated":
        data = data[: len(data) // 2]
    elif damage == "not-json":
        data = data[:8] + b"{" * (len(data) - 8)
    else:
        data = data.replace(b'"data_offsets": [0, ', b'"data_offsets": [1, ', 1)
    path.write_bytes(data)
    with pytest.raises(WeightsError, match="tower.safetensors"):
        read_tower_state(path)


def test_a_file_without_a_clip_tower_is_named_with_what_to_pass(tmp_path):
    path = tmp_path / "other.pt"
    torch.save({"fc.weight": torch.zeros(2, 2)}, path)
    with pytest.raises(WeightsError, match="no CLIP image tower found"):
        read_tower_state(path)


def test_weights_of_another_resolution_are_refused_naming_the_embedder(tmp_path):
    path = tmp_path / "b32.pt"
    torch.save(random_clip_state(SMALL_SHAPES["clip-vitb32"]), path)
    with pytest.raises(WeightsError, match="takes 224x224 images, but 'clip-vitl14-336'"):
        ClipVitL14At336(weights=path)


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 (http.server's naming)
        body = self.server.body
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@TRACING
def test_canonical_weights_are_downloaded_verified_and_read_as_an_archive(tmp_path, tower_state, monkeypatch):
    body = _archive(tmp_path / "served.pt", tower_state).read_bytes()
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.body = body
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        digest = hashlib.sha256(body).hexdigest()
        url = f"http://127.0.0.1:{httpd.server_address[1]}/{digest}/ViT-L-14-336px.pt"
        monkeypatch.setattr(ClipVitL14At336, "spec", WeightsSpec("test CLIP", url, sha256=digest))
        monkeypatch.delenv("FRECHET_OFFLINE", raising=False)
        embedder = ClipVitL14At336()
        images = torch.zeros(1, 3, 336, 336)
        with torch.inference_mode():
            features = embedder.forward(images)
        assert embedder.id() == f"clip-vitl14-336(preprocess=cmmd,weights={digest[:8]})"
    finally:
        httpd.shutdown()
        httpd.server_close()
    expected = build_tower(tower_state)(images)
    assert torch.allclose(features["projected"], expected, atol=1e-6)
    assert np.allclose(features["normalized"].norm(dim=1).numpy(), 1.0)


# ------------------------------------------------------------------------------------------------- bounded reading
class _Storage:
    def __init__(self, key: str, numel: int) -> None:
        self.key, self.numel = key, numel


class _View:
    def __init__(self, storage: _Storage, size: tuple[int, ...], stride: tuple[int, ...], offset: int = 0) -> None:
        self.storage, self.size, self.stride, self.offset = storage, size, stride, offset


class _Module:
    """Pickled as a TorchScript module would be (a ``__torch__`` class whose state is its attributes)."""

    def __init__(self, **attributes) -> None:
        self.attributes = attributes


class _ArchivePickler(pickle.Pickler):
    """Writes ``data.pkl`` as TorchScript does: storages as persistent ids, tensors through _rebuild_tensor_v2."""

    def persistent_id(self, obj):
        if isinstance(obj, _Storage):
            return ("storage", torch.FloatStorage, obj.key, "cpu", obj.numel)
        return None

    def reducer_override(self, obj):
        if isinstance(obj, _View):
            return torch._utils._rebuild_tensor_v2, (obj.storage, obj.offset, obj.size, obj.stride, False, {})
        if isinstance(obj, _Module):
            return _torch_module_class(), (), obj.attributes
        return NotImplemented


def _torch_module_class():
    import sys
    import types

    module = sys.modules.setdefault("__torch__", types.ModuleType("__torch__"))
    if not hasattr(module, "Module"):
        module.Module = type("Module", (), {"__module__": "__torch__", "__setstate__": lambda self, state: None})
    return module.Module


def _crafted_archive(path, root, storages, *, compress=()):
    """A TorchScript-shaped archive holding ``root`` as data.pkl and ``storages`` (key -> bytes)."""
    buffer = __import__("io").BytesIO()
    _ArchivePickler(buffer, protocol=2).dump(root)
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("m/data.pkl", buffer.getvalue(),
                         compress_type=zipfile.ZIP_DEFLATED if "data.pkl" in compress else zipfile.ZIP_STORED)
        archive.writestr("m/code/__torch__/m.py", "")
        for key, data in storages.items():
            archive.writestr(f"m/data/{key}", data,
                             compress_type=zipfile.ZIP_DEFLATED if key in compress else zipfile.ZIP_STORED)
    return path


def test_a_stride_zero_tensor_standing_for_gigabytes_is_refused_before_it_is_copied(tmp_path):
    storage = _Storage("0", 4)
    root = _Module(visual=_Module(proj=_View(storage, (600_000_000,), (0,))))
    path = _crafted_archive(tmp_path / "stride.pt", root, {"0": bytes(16)})
    assert path.stat().st_size < 2048
    with pytest.raises(WeightsError, match=r"stride\.pt: .*shape \(600000000,\) \(strides \(0,\), offset 0\) reaches "
                                           r"beyond or repeats its storage of 4 values"):
        read_tower_state(path)


def test_a_storage_declaring_more_than_its_member_holds_or_unpacking_like_a_bomb_is_refused_unread(tmp_path):
    root = _Module(visual=_Module(proj=_View(_Storage("0", 10**9), (10**9,), (1,))))
    with pytest.raises(WeightsError, match=r"huge\.pt: storage 0 holds 16 bytes, not the 1,000,000,000 values"):
        read_tower_state(_crafted_archive(tmp_path / "huge.pt", root, {"0": bytes(16)}))
    count = 20 << 20  # 80 MB of float32 zeros deflate to about 80 KB
    root = _Module(visual=_Module(proj=_View(_Storage("0", count), (count,), (1,))))
    path = _crafted_archive(tmp_path / "bomb.pt", root, {"0": bytes(4 * count)}, compress=("0",))
    with pytest.raises(WeightsError, match=r"bomb\.pt: m/data/0: would unpack 83,886,080 bytes .* zip bomb"):
        read_tower_state(path)


def test_a_module_tree_sharing_modules_to_stand_for_billions_of_paths_is_refused(tmp_path):
    node = _Module(proj=_View(_Storage("0", 1), (1,), (1,)))
    for _ in range(12):  # 10**12 attribute paths through 12 shared modules
        node = _Module(**{f"b{index}": node for index in range(10)})
    path = _crafted_archive(tmp_path / "laughs.pt", _Module(visual=node), {"0": bytes(4)})
    with pytest.raises(WeightsError, match=r"laughs\.pt: the module tree holds more than 1,000,000 values"):
        read_tower_state(path)


def test_a_data_pkl_unpacking_to_more_than_a_model_needs_is_refused_unread(tmp_path):
    root = _Module(visual=_Module(pad=bytes(70 << 20)))
    path = _crafted_archive(tmp_path / "pkl-bomb.pt", root, {}, compress=("data.pkl",))
    with pytest.raises(WeightsError, match=r"pkl-bomb\.pt: m/data\.pkl would unpack to 73,400,\d+ bytes"):
        read_tower_state(path)


def test_a_safetensors_header_nested_too_deep_is_one_line_naming_the_file(tmp_path):
    header = b"[" * 100_000 + b"]" * 100_000
    (tmp_path / "deep.safetensors").write_bytes(struct.pack("<Q", len(header)) + header)
    with pytest.raises(WeightsError, match=r"deep\.safetensors: the header is nested 100000 levels deep"):
        read_tower_state(tmp_path / "deep.safetensors")
