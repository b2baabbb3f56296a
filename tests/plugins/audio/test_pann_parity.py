"""PANN CNN14 against frechet-audio-distance's Cnn14_16k with torchlibrosa's front end (same random weights)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import audio_random_weights
import frechet
from frechet_audio.files import FileClip
from frechet_audio.pann import Cnn14, PannEmbedder
from frechet_audio.logmel import dft_kernels

#: One clip per kind: 16 kHz mono, stereo and speech; 44.1 and 48 kHz; 22.05 kHz speech; 6 channels; Ogg Vorbis.
CLIPS = ["background/tone440", "background/am_stereo", "eval/speech_b", "eval44k/stereo_noise_tone",
         "eval48k/chirp_down", "misc/speech_c_22k", "misc/six_channels", "misc/tone_noise_ogg"]


def _embed(embedder: PannEmbedder, path) -> np.ndarray:
    waveform = embedder.transform(FileClip(path))
    with torch.inference_mode():
        return embedder.forward(embedder.collate([waveform]))["embedding"].numpy()[0]


def test_cnn14_has_exactly_the_16k_checkpoint_parameter_names_and_shapes():
    layout = [(key, tuple(value.shape)) for key, value in Cnn14().state_dict().items()]
    front_end = [(key, shape) for key, shape in layout if key in audio_random_weights.PANN_FRONT_END_KEYS]
    assert front_end == [("spectrogram_extractor.stft.conv_real.weight", (257, 1, 512)),
                         ("spectrogram_extractor.stft.conv_imag.weight", (257, 1, 512)),
                         ("logmel_extractor.melW", (257, 64))]
    assert layout[3:] == audio_random_weights.pann_learned_layout()

def test_the_random_weights_are_the_ones_the_goldens_were_made_with(pann_learned_state, golden_facts):
    assert audio_random_weights.state_digest(pann_learned_state) == golden_facts["pann_weights_sha256"]


def test_mel_filterbank_equals_librosa_slaney_filters_bit_for_bit(goldens):
    assert np.array_equal(Cnn14().logmel_extractor.melW.detach().numpy(), goldens["pann/melW"])


def test_dft_kernels_are_windowed_exact_dft_rows_in_float32():
    real, imag = dft_kernels()
    n = np.arange(512)
    window = np.hanning(513)[:512]  # periodic Hann
    for k in (0, 1, 100, 256):
        np.testing.assert_allclose(real[k, 0], np.cos(2 * np.pi * k * n / 512) * window, rtol=0, atol=1e-7)
        np.testing.assert_allclose(imag[k, 0], -np.sin(2 * np.pi * k * n / 512) * window, rtol=0, atol=1e-7)


@pytest.mark.parametrize("key", ["background/speech_a", "eval48k/harmonic330"])
def test_log_mel_matches_torchlibrosa(key, pann, corpus, goldens):
    waveform = pann.transform(FileClip(corpus[key]))
    with torch.inference_mode():
        log_mel = pann.model.log_mel(waveform[None])[0, 0].numpy()
    expected = goldens[f"pann/log_mel/{key}"]
    np.testing.assert_allclose(log_mel, expected, rtol=0, atol=1e-4 * np.abs(expected).max())


@pytest.mark.parametrize("key", CLIPS)
def test_clip_embeddings_match_frechet_audio_distance_within_1e_4(key, pann, corpus, goldens):
    variant = "fad" if key.startswith(("background/", "eval/")) else "poly"  # other rates: the same resampler
    np.testing.assert_allclose(_embed(pann, corpus[key]), goldens[f"pann/{variant}/{key}"], rtol=0, atol=1e-4)


def test_fad_at_16_khz_matches_frechet_audio_distance_within_1e_4_relative(pann_weights, corpus, golden_facts):
    """Through the runner: one batch of clips of different lengths (embedded length by length)."""
    root = corpus["background/tone440"].parent.parent
    result = frechet.compute(root / "background", root / "eval", embedder="pann",
                             embedder_options={"weights": str(pann_weights)}, progress=False)
    assert result["fad"] == pytest.approx(golden_facts["fad"]["pann/background/eval"], rel=1e-4)
    assert (result["n_real"], result["n_fake"]) == (8, 8)  # one embedding per clip

