"""LAION-CLAP against the laion_clap package (the network) and fadtk (end to end), with the same random weights."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import audio_corpus
import clap_random_weights
import frechet
from frechet_audio.clap import ClapLaionAudioEmbedder
from frechet_audio.fadtk import int16_round_trip
from frechet_audio.files import FileClip
from frechet_audio.htsat import ClapAudio, Geometry
from frechet_audio.logmel import dft_kernels

GEOMETRIES = {"tiny": clap_random_weights.TINY, "base": clap_random_weights.BASE,
              "reduced": clap_random_weights.REDUCED}
#: The AudioSet classification head: in the checkpoints, not in the embedding.
HEAD = ("audio_branch.tscam_conv.", "audio_branch.head.")
#: Clips compared window by window with fadtk's stored embeddings: 44.1 kHz mono and stereo (fadtk's resampler),
#: 22.05 kHz FLAC, 8 kHz, six channels, Ogg Vorbis.
EMBEDDING_CLIPS = ("eval44k/chirp_down", "eval44k/stereo_noise_tone", "misc/speech_c_22k", "misc/tone_8k",
                   "misc/six_channels", "misc/tone_noise_ogg")


@pytest.fixture(scope="module")
def learned() -> dict[str, dict[str, torch.Tensor]]:
    """The random trained tensors of every tower the goldens were made with."""
    return {label: clap_random_weights.learned_state(geometry) for label, geometry in GEOMETRIES.items()}


def _tower(label: str, learned: dict[str, dict[str, torch.Tensor]]) -> ClapAudio:
    """The tower with the random tensors (the AudioSet head left out) and its own front end."""
    model = ClapAudio(Geometry(*GEOMETRIES[label])).eval()
    state = {key: value for key, value in learned[label].items() if not key.startswith(HEAD)}
    missing, unexpected = model.load_state_dict(state, strict=False)
    assert set(missing) == set(clap_random_weights.FRONT_END_KEYS) and not unexpected
    return model


@pytest.fixture(scope="module")
def reduced(clap_weights) -> ClapLaionAudioEmbedder:
    return ClapLaionAudioEmbedder(weights=str(clap_weights), float16=False)


@pytest.mark.parametrize("label", ["tiny", "base", "reduced"])
def test_random_weights_are_the_ones_the_goldens_were_made_with(label, learned, clap_facts):
    assert clap_random_weights.state_digest(learned[label]) == clap_facts["weights_sha256"][label]


@pytest.mark.parametrize("label", ["tiny", "base", "reduced"])
def test_tower_has_the_checkpoint_parameter_names_and_shapes(label):
    model = ClapAudio(Geometry(*GEOMETRIES[label]))
    ours = [(key, tuple(value.shape)) for key, value in model.state_dict().items()
            if key not in clap_random_weights.FRONT_END_KEYS]
    assert ours == [(key, shape) for key, shape in clap_random_weights.learned_layout(GEOMETRIES[label])
                    if not key.startswith(HEAD)]


def test_mel_matrix_equals_librosa_slaney_filters_bit_for_bit(clap_goldens):
    melW = ClapAudio().audio_branch.logmel_extractor.melW.detach().numpy()
    assert np.array_equal(melW, clap_goldens["mel_matrix"])


def test_dft_kernels_are_windowed_exact_dft_rows_for_1024_points():
    real, imag = dft_kernels(1024)
    n = np.arange(1024)
    window = np.hanning(1025)[:1024]
    for k in (0, 3, 300, 512):
        np.testing.assert_allclose(real[k, 0], np.cos(2 * np.pi * k * n / 1024) * window, rtol=0, atol=1e-7)
        np.testing.assert_allclose(imag[k, 0], -np.sin(2 * np.pi * k * n / 1024) * window, rtol=0, atol=1e-7)


def test_log_mel_matches_torchlibrosa_inside_laion_clap(clap_goldens):
    window = torch.from_numpy(int16_round_trip(audio_corpus.clap_windows()[:1]))
    with torch.inference_mode():
        log_mel = ClapAudio().audio_branch.log_mel(window)[0, 0].numpy()
    expected = clap_goldens["tiny/log_mel"]
    np.testing.assert_allclose(log_mel[: len(expected)], expected, rtol=0, atol=1e-4)


@pytest.mark.parametrize("label", ["tiny", "base"])
def test_embeddings_match_laion_clap_within_1e_4_relative(label, learned, clap_goldens):
    """Full-size HTSAT-tiny and HTSAT-base, through laion_clap's get_audio_embedding_from_data."""
    windows = torch.from_numpy(int16_round_trip(audio_corpus.clap_windows()))
    with torch.inference_mode():
        ours = _tower(label, learned)(windows).numpy()
    expected = clap_goldens[f"{label}/embedding"]
    assert np.abs(ours - expected).max() <= 1e-4 * np.abs(expected).max()


@pytest.mark.parametrize("key", EMBEDDING_CLIPS)
def test_window_embeddings_match_fadtk_files_to_float16_rounding(key, reduced, corpus, clap_goldens, clap_facts):
    """fadtk's chain, windows and stored float16 embeddings: the same number of windows, and every value within half
    a float16 step of fadtk's (plus 1e-4 of the largest)."""
    with torch.inference_mode():
        ours = reduced.forward(reduced.collate([reduced.transform(FileClip(corpus[key]))]))["embedding"].numpy()
    stored = clap_goldens[f"reduced/fadtk/{key}"].astype(np.float32)
    assert ours.shape == (clap_facts["windows"]["reduced"][key], 512)
    assert (np.abs(ours - stored) <= np.abs(stored) * 2.0**-11 + 1e-4 * np.abs(stored).max()).all()


@pytest.fixture(scope="module")
def fadtk_statistics(clap_weights, corpus, tmp_path_factory) -> dict:
    """Statistics of the background and eval folders (16 kHz: fadtk's resampler to 48 kHz) with clap-laion-audio's
    defaults (fadtk's chain and float16 storage), through the runner."""
    root = corpus["background/tone440"].parent.parent
    folder = tmp_path_factory.mktemp("clap-stats")
    paths = {}
    for group in ("background", "eval"):
        paths[group] = folder / f"{group}.npz"
        frechet.compute_stats(root / group, save=paths[group], embedder="clap-laion-audio",
                              embedder_options={"weights": str(clap_weights)}, progress=False, cache=False)
    return paths


def test_fad_equals_fadtk_within_1e_4_relative(fadtk_statistics, clap_facts):
    """``frechet compute background/ eval/ --embedder clap-laion-audio`` against ``fadtk clap-laion-audio``."""
    result = frechet.fd(fadtk_statistics["background"], fadtk_statistics["eval"])
    assert result["fd"] == pytest.approx(clap_facts["fad"]["reduced/background/eval"], rel=1e-4)


def test_statistics_count_windows(fadtk_statistics, clap_facts):
    stats = frechet.load_stats(fadtk_statistics["eval"])
    windows = clap_facts["windows"]["reduced"]
    assert stats.n == sum(count for key, count in windows.items() if key.startswith("eval/"))
