"""The LAION-CLAP embedders' behaviour: fadtk's windows, the checkpoint forms they read, options, ids, chains."""

from __future__ import annotations

import functools
import http.server
import json
import shutil
import threading

import numpy as np
import pytest
import torch

import clap_random_weights
import frechet
from frechet.errors import ConfigError, WeightsError
from frechet.io import file_sha256
from frechet.weights import weights_dir
from frechet_audio import AudioClips
from frechet_audio.checkpoints import CLAP_LAION_AUDIO
from frechet_audio.clap import ClapLaionAudioEmbedder, ClapLaionMusicEmbedder, windows
from frechet_audio.clips import ArrayClip
from frechet_audio.fadtk import fadtk_windows, int16_round_trip
from frechet_audio.files import FileClip
from frechet_audio.resample import RESAMPLER


def _embed(embedder, clip) -> np.ndarray:
    with torch.inference_mode():
        return embedder.forward(embedder.collate([embedder.transform(clip)]))["embedding"].numpy()


@pytest.mark.parametrize("seconds", [0.3, 1.0, 2.5, 10.0, 11.2, 13.0])
def test_windows_start_every_second_before_the_end_and_are_zero_padded_as_fadtk_cuts_them(seconds):
    signal = np.random.RandomState(0).uniform(-1, 1, int(seconds * 48000)).astype(np.float32)
    ours = torch.cat(windows(torch.from_numpy(signal))).numpy()
    assert np.array_equal(ours, fadtk_windows(signal, 480000, 48000))
    assert len(ours) == int(np.ceil(seconds))


def test_int16_round_trip_truncates_towards_zero_like_laion_clap():
    signal = np.array([0.5, -0.5, 1.7, -1.2, 1e-5, -1e-5, 3.0 / 32767])
    expected = np.trunc(np.clip(signal, -1, 1) * 32767) / 32767
    np.testing.assert_array_equal(int16_round_trip(signal), expected.astype(np.float32))


def test_text_branch_and_head_are_ignored_and_module_prefix_optional(tmp_path, clap_weights):
    """A bare state dict without ``module.`` (no text branch at all) gives the same embeddings as the published form."""
    wrapped = clap_random_weights.checkpoint(clap_random_weights.REDUCED)
    bare = {key[len("module."):]: value for key, value in wrapped["state_dict"].items()
            if key.startswith(("module.audio_branch.", "module.audio_projection."))}
    torch.save(bare, tmp_path / "bare.pt")
    clip = ArrayClip(np.sin(np.arange(30000) / 7.0) * 0.3, 48000, "tone")
    first = _embed(ClapLaionAudioEmbedder(weights=str(clap_weights)), clip)
    second = _embed(ClapLaionAudioEmbedder(weights=str(tmp_path / "bare.pt")), clip)
    np.testing.assert_array_equal(first, second)


def test_a_checkpoint_without_the_audio_tower_is_refused_in_one_line(tmp_path):
    torch.save({"state_dict": {"module.text_projection.0.weight": torch.zeros(2, 2)}}, tmp_path / "text.pt")
    with pytest.raises(WeightsError, match=r"text\.pt: not a LAION-CLAP checkpoint .*630k-audioset-best\.pt$"):
        ClapLaionAudioEmbedder(weights=str(tmp_path / "text.pt"))


def test_a_checkpoint_missing_a_tensor_names_it(tmp_path):
    state = clap_random_weights.checkpoint(clap_random_weights.REDUCED)
    del state["state_dict"]["module.audio_branch.layers.1.blocks.0.mlp.fc2.weight"]
    torch.save(state, tmp_path / "partial.pt")
    with pytest.raises(WeightsError, match=r"missing: audio_branch\.layers\.1\.blocks\.0\.mlp\.fc2\.weight \(1\)"):
        ClapLaionMusicEmbedder(weights=str(tmp_path / "partial.pt"))


def test_options_are_checked_and_float16_follows_the_chain(clap_weights):
    with pytest.raises(ConfigError, match="chain"):
        ClapLaionAudioEmbedder(weights=str(clap_weights), chain="sox")
    assert ClapLaionAudioEmbedder(weights=str(clap_weights)).float16
    assert not ClapLaionAudioEmbedder(weights=str(clap_weights), chain="frechet").float16
    assert ClapLaionAudioEmbedder(weights=str(clap_weights), chain="frechet", float16="yes").float16


def test_id_names_weights_chain_and_float16(clap_weights):
    fadtk = ClapLaionAudioEmbedder(weights=str(clap_weights)).id()
    own = ClapLaionAudioEmbedder(weights=str(clap_weights), chain="frechet").id()
    assert fadtk.startswith("clap-laion-audio(") and "fadtk-1.1.0" in fadtk and "float16=True" in fadtk
    assert "resample_poly" in own and "float16=False" in own and "weights=sha256:" in own


def test_float16_rows_carry_fadtk_float16_mean_and_exact_scatter(clap_weights):
    clip = ArrayClip(np.random.RandomState(3).uniform(-0.5, 0.5, 3 * 48000), 48000, "noise")
    rows = _embed(ClapLaionAudioEmbedder(weights=str(clap_weights)), clip)
    plain = _embed(ClapLaionAudioEmbedder(weights=str(clap_weights), float16=False), clip).astype(np.float16)
    assert rows.dtype == np.float64 and rows.shape == (3, 512)
    np.testing.assert_allclose(rows.mean(axis=0), np.mean(plain, axis=0).astype(np.float64), rtol=0, atol=1e-15)
    exact = plain.astype(np.float64)
    np.testing.assert_allclose(np.cov(rows, rowvar=False), np.cov(exact, rowvar=False), rtol=0, atol=1e-15)


def test_in_memory_clips_at_48_khz_through_the_runner(clap_weights):
    rng = np.random.RandomState(4)
    real = AudioClips([rng.uniform(-0.3, 0.3, 48000 * 2) for _ in range(2)], sample_rate=48000)
    fake = AudioClips([rng.uniform(-0.3, 0.3, 48000) for _ in range(2)], sample_rate=48000)
    result = frechet.compute(real, fake, embedder="clap-laion-audio", embedder_options={"weights": str(clap_weights)},
                             progress=False)
    assert (result["n_real"], result["n_fake"], result["n_real_items"]) == (4, 2, 2)
    assert result["fad"] == result["fd"] > 0


def test_chains_differ_beyond_the_parity_tolerance_when_resampling(clap_weights, corpus):
    """fadtk's resampler and 16-bit file against frechet's resample_poly in float64: from 16 kHz the windows'
    embeddings move by ten times the parity tolerance; a 16-bit file at 48 kHz (nothing resampled, and its samples
    survive fadtk's 16-bit file unchanged) gives the same embeddings."""
    fadtk = ClapLaionAudioEmbedder(weights=str(clap_weights), float16=False)
    own = ClapLaionAudioEmbedder(weights=str(clap_weights), chain="frechet")
    moved = {}
    for key in ("eval/noise_quiet", "eval48k/noise_quiet"):
        clip = FileClip(corpus[key])
        moved[key] = np.abs(_embed(fadtk, clip) - _embed(own, clip)).max()
    assert moved["eval/noise_quiet"] > 1e-3
    assert moved["eval48k/noise_quiet"] == 0


def test_the_canonical_checkpoint_is_downloaded_pinned_and_named_like_a_local_copy(clap_weights, monkeypatch):
    """No checksum is published: the first copy's sha256 is recorded; the id names it as it names the same file
    given with weights=, so statistics made either way compare."""
    folder = clap_weights.parent / "mirror"
    folder.mkdir(exist_ok=True)
    shutil.copyfile(clap_weights, folder / "630k-audioset-best.pt")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(folder))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    monkeypatch.delenv("FRECHET_OFFLINE", raising=False)
    monkeypatch.setenv("FRECHET_MIRROR", f"http://127.0.0.1:{httpd.server_address[1]}")
    try:
        downloaded = ClapLaionAudioEmbedder(chain="frechet")
    finally:
        httpd.shutdown()
        httpd.server_close()
    digest = file_sha256(clap_weights)
    assert json.loads((weights_dir() / "frechet-pins.json").read_text()) == {CLAP_LAION_AUDIO.url: digest}
    local = ClapLaionAudioEmbedder(chain="frechet", weights=str(clap_weights))
    assert downloaded.id() == local.id() == f"clap-laion-audio(chain=frechet,float16=False,resampler={RESAMPLER},weights={digest[:8]})"
