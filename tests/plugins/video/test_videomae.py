"""The videomae-v2-g embedder: its positional embeddings, checkpoint layout, weights store, raw input and options,
and cd-fvd's distance options reported as fd_videomae, end to end."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch

from frechet.cli import main
from frechet.errors import InputError, WeightsError
from frechet.weights import pinned_sha256
from frechet_video.video import ArrayVideo
from frechet_video.videomae import VIT_G, positions, sinusoid_table
from frechet_video.videomae_embedder import VideoMAEEmbedder
from frechet_video.videomae_weights import VIDEOMAE_WEIGHTS, load_videomae, resolve_videomae_weights
from videomae_random_weights import TINY, checkpoint, layout, random_state


@pytest.fixture(scope="module")
def tiny_state() -> dict[str, torch.Tensor]:
    return random_state()


@pytest.fixture(scope="module")
def tiny_file(tmp_path_factory: pytest.TempPathFactory, tiny_state) -> Path:
    path = tmp_path_factory.mktemp("videomae") / "tiny.pth"
    torch.save(checkpoint(tiny_state), path)
    return path


def test_sinusoid_table_is_the_transformer_formula_in_float64() -> None:
    expected = [[(math.sin if j % 2 == 0 else math.cos)(pos / 10000 ** (2 * (j // 2) / 6)) for j in range(6)]
                for pos in range(40)]
    np.testing.assert_allclose(sinusoid_table(40, 6)[0].numpy(), np.float32(expected), rtol=0, atol=1e-7)


def test_positions_of_other_lengths_stretch_the_table_by_the_offset_scale_factor() -> None:
    """4 frames are 2 tubelets: output t samples the 8-tubelet table at (t + 0.5) * 8 / 2.1 - 0.5 (a scale of
    2.1 / 8, not the target size, whose positions would be 1.5 and 5.5)."""
    table = sinusoid_table(8 * 256, 4)[0].view(8, 256, 4).double()
    assert torch.equal(positions(4, 16), sinusoid_table(8 * 256, 4))
    stretched = positions(4, 4)[0].view(2, 256, 4).double()
    for t in range(2):
        source = (t + 0.5) * 8 / 2.1 - 0.5
        low, weight = math.floor(source), source - math.floor(source)
        expected = table[low] * (1 - weight) + table[low + 1] * weight
        np.testing.assert_allclose(stretched[t].numpy(), expected.numpy(), rtol=0, atol=1e-6)


def test_the_published_size_is_vit_g_14_in_cd_fvds_layout(tmp_path: Path) -> None:
    from frechet_video.videomae import _layout

    expected = {key: shape for key, shape in layout(1408, 40, 6144).items() if not key.startswith("head.")}
    assert _layout(VIT_G) == expected
    assert (VIT_G.width // VIT_G.heads, VIT_G.hidden) == (88, int(1408 * 48 / 11))


@pytest.mark.parametrize("wrapper", ["model", "module", None])
def test_the_state_dict_loads_from_its_wrapper_or_bare(tmp_path: Path, tiny_state, wrapper) -> None:
    path = tmp_path / "w.pth"
    torch.save(tiny_state if wrapper is None else {wrapper: tiny_state, "epoch": torch.tensor(3)}, path)
    network = load_videomae(path)
    assert (network.arch.width, network.arch.depth, network.arch.heads, network.arch.hidden) == tuple(TINY.values())


@pytest.mark.parametrize(("change", "message"), [
    (lambda s: s.pop("blocks.1.attn.v_bias"), r"missing: blocks\.1\.attn\.v_bias"),
    (lambda s: s.update({"pos_embed": torch.zeros(1, 2048, 176)}), r"unexpected: pos_embed"),
    (lambda s: s.update({"blocks.0.attn.qkv.bias": torch.zeros(528)}), r"unexpected: blocks\.0\.attn\.qkv\.bias"),
    (lambda s: s.update({"fc_norm.weight": torch.ones(175)}), r"wrong shape: fc_norm\.weight"),
    (lambda s: s.update({"patch_embed.proj.weight": torch.zeros(100, 3, 2, 14, 14)}), r"not a whole number of 88"),
])
def test_a_file_in_another_layout_is_refused_naming_what_does_not_fit(tmp_path: Path, tiny_state, change,
                                                                       message) -> None:
    state = dict(tiny_state)
    change(state)
    path = tmp_path / "other.pth"
    torch.save(checkpoint(state), path)
    with pytest.raises(WeightsError, match=message) as error:
        load_videomae(path)
    assert "vit_g_hybrid_pt_1200e_ssv2_ft.pth" in str(error.value)


def test_the_canonical_file_is_pinned_only_once_it_loads_as_the_layout(tmp_path: Path, monkeypatch, tiny_state,
                                                                       tiny_file) -> None:
    monkeypatch.setenv("FRECHET_WEIGHTS_DIR", str(tmp_path))
    assert VIDEOMAE_WEIGHTS.url.endswith("/internvideo/videomaev2/vit_g_hybrid_pt_1200e_ssv2_ft.pth")
    cached = tmp_path / VIDEOMAE_WEIGHTS.file_name
    torch.save({"model": {"head.weight": torch.zeros(174, 176)}}, cached)
    with pytest.raises(WeightsError, match="nothing was pinned"):
        resolve_videomae_weights(None)
    assert pinned_sha256(VIDEOMAE_WEIGHTS) is None
    cached.write_bytes(tiny_file.read_bytes())
    assert resolve_videomae_weights(None) == cached
    assert pinned_sha256(VIDEOMAE_WEIGHTS) is not None
    assert VideoMAEEmbedder().config()["weights"] == pinned_sha256(VIDEOMAE_WEIGHTS)[:8]


def test_raw_refuses_uint8_and_frames_the_network_cannot_take(tiny_file: Path) -> None:
    embedder = VideoMAEEmbedder(weights=tiny_file, raw=True, frames=2)
    with pytest.raises(InputError, match="v0: raw=true .* uint8"):
        embedder.transform(ArrayVideo(np.zeros((2, 224, 224, 3), np.uint8), "v0"))
    with pytest.raises(InputError, match="v1: raw=true: VideoMAE-v2 needs 224x224 frames, got 64x64"):
        embedder.transform(ArrayVideo(np.zeros((2, 64, 64, 3), np.float32), "v1"))
    clip = np.random.default_rng(0).random((2, 224, 224, 3), dtype=np.float32)
    assert np.array_equal(embedder.transform(ArrayVideo(clip, "v2"))[0].permute(1, 2, 3, 0).numpy(), clip)
    with pytest.raises(InputError, match="frames: VideoMAE-v2 needs clips of at least 2 frames"):
        VideoMAEEmbedder(weights=tiny_file, frames=1)


def test_float_frames_in_0_1_give_the_input_of_the_same_uint8_frames() -> None:
    from frechet_video.videomae_input import network_input

    frames = np.random.default_rng(1).integers(0, 256, (1, 2, 30, 40, 3), dtype=np.uint8)
    ours = network_input(frames)
    assert ours.shape == (1, 3, 2, 224, 224) and 0 <= float(ours.min()) and float(ours.max()) <= 1
    np.testing.assert_allclose(network_input(frames.astype(np.float32) / 255).numpy(), ours.numpy(), rtol=0, atol=1e-6)


def test_compute_reports_fd_videomae_with_cd_fvds_covariance(tmp_path: Path, tiny_file: Path, capsys) -> None:
    """Through the CLI under cd-fvd's name: the distance is reported as fd_videomae (not fvd, I3D's), divided by N."""
    rng = np.random.default_rng(5)
    for name, shift in (("real", 0), ("fake", 60)):
        videos = np.clip(rng.integers(0, 196, (3, 6, 32, 40, 3)) + shift, 0, 255).astype(np.uint8)
        np.save(tmp_path / f"{name}.npy", videos)
    code = main(["compute", str(tmp_path / "real.npy"), str(tmp_path / "fake.npy"), "--embedder", "videomae",
                 "--weights", str(tiny_file), "--embedder-option", "frames=2", "--metrics", "fd", "--json"])
    assert code == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["fd_videomae"] == result["fd"] > 0 and "fvd" not in result
    assert result["fd_covariance"] == "population" and result["n_real"] == 3
    assert result["embedder"].startswith("videomae-v2-g(")


def test_a_skipped_short_video_gives_no_row_of_the_loaded_networks_width(tiny_file: Path) -> None:
    embedder = VideoMAEEmbedder(weights=tiny_file, frames=4, short="skip")
    batch = embedder.transform(ArrayVideo(np.zeros((3, 32, 32, 3), np.uint8), "short"))
    assert tuple(embedder.forward(batch)["features"].shape) == (0, TINY["width"])
