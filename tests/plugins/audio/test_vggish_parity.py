"""VGGish against torchvggish and frechet-audio-distance (goldens: scripts/goldens/audio.py, same random weights)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import audio_corpus
import audio_random_weights
import frechet
from frechet.distance import frechet_distance
from frechet.stats import FeatureStats
from frechet_audio.files import FileClip
from frechet_audio.vggish import VGGish, VGGishEmbedder

SIXTEEN_K = [spec for spec in audio_corpus.CLIPS if spec.rate == 16000 and spec.group in ("background", "eval")]
OTHER = [spec for spec in audio_corpus.CLIPS if spec not in SIXTEEN_K]
#: Clips whose every log-mel example is in the goldens: 16 kHz mono and stereo, 44.1/48/8 kHz, 6 channels, Ogg.
LOG_MEL_CLIPS = ["background/chirp_up", "background/silence_tone", "eval/speech_b", "eval44k/chirp_down",
                 "eval48k/stereo_noise_tone", "misc/six_channels", "misc/tone_noise_ogg", "misc/tone_8k"]


def _key(spec: audio_corpus.ClipSpec) -> str:
    return f"{spec.group}/{spec.name}"


def _embed(embedder: VGGishEmbedder, path) -> tuple[torch.Tensor, np.ndarray]:
    examples = embedder.transform(FileClip(path))
    with torch.inference_mode():
        return examples, embedder.forward(examples)["embedding"].numpy()


@pytest.fixture(scope="module")
def ours(vggish, corpus):
    """Log-mel examples and embeddings of a corpus clip, each computed once per module."""
    cache: dict[str, tuple[torch.Tensor, np.ndarray]] = {}

    def get(key: str) -> tuple[torch.Tensor, np.ndarray]:
        if key not in cache:
            cache[key] = _embed(vggish, corpus[key])
        return cache[key]

    return get


def _stats(ours, corpus, group: str) -> FeatureStats:
    return FeatureStats.from_features(np.concatenate([ours(key)[1] for key in corpus if key.startswith(group + "/")]))


def test_the_regenerated_corpus_and_weights_are_the_ones_the_goldens_were_made_from(corpus, vggish_state, golden_facts):
    digests = {key: audio_corpus.samples_digest(path) for key, path in corpus.items()}
    assert digests == golden_facts["corpus_samples_sha256"]
    assert audio_random_weights.state_digest(vggish_state) == golden_facts["vggish_weights_sha256"]


def test_vggish_has_exactly_torchvggish_parameter_names_and_shapes():
    layout = [(key, tuple(value.shape)) for key, value in VGGish().state_dict().items()]
    assert layout == audio_random_weights.vggish_layout()


@pytest.mark.parametrize("key", LOG_MEL_CLIPS)
def test_log_mel_examples_match_torchvggish_within_1e_5(key, ours, goldens):
    examples, _ = ours(key)
    expected = goldens[f"vggish/log_mel/{key}"]
    assert examples.shape == (expected.shape[0], 1, 96, 64)
    np.testing.assert_allclose(examples[:, 0].numpy(), expected, rtol=0, atol=1e-5)


@pytest.mark.parametrize("spec", SIXTEEN_K, ids=_key)
def test_embeddings_at_16_khz_match_frechet_audio_distance_within_1e_4(spec, ours, goldens, golden_facts):
    _, embeddings = ours(_key(spec))
    expected = goldens[f"vggish/fad/{_key(spec)}"]
    assert embeddings.shape[0] == golden_facts["examples"][_key(spec)]
    np.testing.assert_allclose(embeddings, expected, rtol=0, atol=1e-4)


@pytest.mark.parametrize("spec", OTHER, ids=_key)
def test_embeddings_at_other_rates_and_channel_counts_match_the_peer_given_the_same_resampler(spec, ours, goldens):
    _, embeddings = ours(_key(spec))
    np.testing.assert_allclose(embeddings, goldens[f"vggish/poly/{_key(spec)}"], rtol=0, atol=1e-4)


def test_fad_at_16_khz_matches_frechet_audio_distance_within_1e_4_relative(vggish_weights, corpus, golden_facts):
    root = corpus["background/tone440"].parent.parent
    result = frechet.compute(root / "background", root / "eval", embedder="vggish",
                             embedder_options={"weights": str(vggish_weights)}, progress=False)
    expected = golden_facts["fad"]["vggish/background/eval"]
    assert result["fad"] == result["fd"]
    assert result["fad"] == pytest.approx(expected, rel=1e-4)
    assert (result["n_real_items"], result["n_fake_items"]) == (8, 8)  # clips
    examples = golden_facts["examples"]
    assert result["n_real"] == sum(count for key, count in examples.items() if key.startswith("background/"))
    assert result["n_fake"] == sum(count for key, count in examples.items() if key.startswith("eval/"))


@pytest.mark.parametrize("rate", ["44k", "48k"])
def test_fad_from_44_1_and_48_khz_matches_the_peer_given_the_same_resampler(rate, ours, corpus, golden_facts):
    real, fake = _stats(ours, corpus, "background"), _stats(ours, corpus, f"eval{rate}")
    expected = golden_facts["fad"][f"vggish_poly/background/eval{rate}"]
    assert frechet_distance(real, fake) == pytest.approx(expected, rel=1e-4)


@pytest.mark.parametrize("rate", ["44k", "48k"])
def test_resampy_and_resample_poly_move_the_fad_by_less_than_half_a_percent(rate, ours, corpus, golden_facts):
    """The measured cost of the resampler choice (documented in docs/guide/audio.md): 0.20 % at 44.1 kHz and 0.22 % at
    48 kHz with these weights and clips, against frechet-audio-distance, which resamples with resampy."""
    real, fake = _stats(ours, corpus, "background"), _stats(ours, corpus, f"eval{rate}")
    with_resampy = golden_facts["fad"][f"vggish/background/eval{rate}"]
    assert frechet_distance(real, fake) == pytest.approx(with_resampy, rel=5e-3)
    assert frechet_distance(real, fake) != pytest.approx(with_resampy, rel=1e-4)


@pytest.mark.parametrize(("relu", "pca"), [(True, False), (False, True), (True, True)])
def test_final_relu_and_pca_options_match_torchvggish_post_processing(relu, pca, vggish_weights, vggish_pca_weights,
                                                                      corpus, goldens):
    embedder = VGGishEmbedder(weights=str(vggish_weights), pca_weights=str(vggish_pca_weights),
                              relu=str(relu).lower(), pca=str(pca).lower())
    for key in ("background/tone440", "eval/speech_b", "eval/speech_noise"):
        examples, embeddings = _embed(embedder, corpus[key])
        expected = goldens[f"vggish/relu={relu},pca={pca}/{key}"]
        if not pca:
            np.testing.assert_allclose(embeddings, expected, rtol=0, atol=1e-4)
            continue
        # quantised to whole steps: a value within float32 rounding of a half step may round either way, as it may
        # between two BLAS builds of torchvggish itself; every other value must be the same step
        steps = _unrounded_pca_steps(embedder, examples)
        at_half_step = np.abs(np.abs(steps - np.floor(steps)) - 0.5) < 1e-3
        differ = embeddings != expected
        assert np.all(np.abs(embeddings - expected)[differ] == 1) and np.all(at_half_step[differ])


def _unrounded_pca_steps(embedder: VGGishEmbedder, examples: torch.Tensor) -> np.ndarray:
    """The PCA post-processor's output before rounding, in quantisation steps."""
    with torch.inference_mode():
        raw = embedder.model(examples, final_relu=embedder.relu)
        pca = embedder.postprocessor
        projected = torch.mm(pca.eigen_vectors, raw.t() - pca.means).t()
    return ((torch.clamp(projected, -2.0, 2.0) + 2.0) * (255.0 / 4.0)).numpy()

