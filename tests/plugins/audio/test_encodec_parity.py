"""EnCodec embedders against fadtk 1.1.0's encodec-emb / encodec-emb-48k and the encodec package (same random weights,
the same files; goldens from scripts/goldens/fadtk_encodec.py)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

import audio_random_weights
import frechet
from frechet.distance import frechet_distance
from frechet.errors import WeightsError
from frechet.stats import FeatureStats
from frechet_audio.encodec import Encodec24kEmbedder, Encodec48kEmbedder
from frechet_audio.fadtk import float16_rows
from frechet_audio.files import FileClip
from frechet_audio.seanet import EncodecEncoder, encoder_state

GOLDENS = Path(__file__).resolve().parents[2] / "goldens" / "fadtk_encodec"
EMBEDDERS = {"24k": Encodec24kEmbedder, "48k": Encodec48kEmbedder}
#: The two small sets whose FAD the goldens hold; the goldens also hold each clip's first 32 and last 16 frames.
SETS = {"test_a": ("misc/speech_c_22k", "misc/six_channels"),
        "test_b": ("misc/tone_noise_ogg", "eval44k/stereo_noise_tone")}
CLIPS = tuple(key for keys in SETS.values() for key in keys)


@pytest.fixture(scope="module")
def facts() -> dict:
    return json.loads((GOLDENS / "goldens.json").read_text())


@pytest.fixture(scope="module")
def arrays() -> dict[str, np.ndarray]:
    with np.load(GOLDENS / "goldens.npz") as npz:
        return {key: npz[key] for key in npz.files}


@pytest.fixture(scope="module")
def weights(tmp_path_factory) -> dict[str, Path]:
    """Checkpoints in the official layout: the random encoder plus decoder and quantizer tensors, which are ignored."""
    folder = tmp_path_factory.mktemp("encodec")
    paths = {}
    for variant in EMBEDDERS:
        state = audio_random_weights.encodec_encoder_state(variant)
        state["decoder.model.0.conv.conv.bias"] = torch.zeros(512)
        state["quantizer.vq.layers.0._codebook.embed"] = torch.zeros(1024, 128)
        paths[variant] = folder / f"encodec-{variant}-random.th"
        torch.save(state, paths[variant])
    return paths


@pytest.fixture(scope="module")
def embedders(weights) -> dict[str, object]:
    return {variant: cls(weights=weights[variant], float16=False) for variant, cls in EMBEDDERS.items()}


@pytest.fixture(scope="module")
def frames(embedders, corpus) -> dict[str, np.ndarray]:
    """Float32 encoder output of every clip the tests use, "<variant>/<clip>" -> (frames, 128), chain=fadtk."""
    out = {}
    for variant, embedder in embedders.items():
        for key in CLIPS:
            batch = embedder.collate([embedder.transform(FileClip(corpus[key]))])
            with torch.inference_mode():
                out[f"{variant}/{key}"] = embedder.forward(batch)["embedding"].numpy()
    return out


def test_encoder_parameters_are_the_official_checkpoints_encoder_keys_with_weight_norm_folded(facts):
    for variant, embedder in EMBEDDERS.items():
        layout = audio_random_weights.encodec_encoder_layout(variant)
        assert len(layout) == facts["layout_keys"][variant]  # the golden script compared them with encodec's
        folded = {key[: -len("_v")] if key.endswith("_v") else key for key, _ in layout if not key.endswith("_g")}
        assert set(EncodecEncoder(embedder.variant).state_dict()) == folded


def test_the_random_weights_are_the_ones_the_goldens_were_made_with(facts):
    for variant in EMBEDDERS:
        state = audio_random_weights.encodec_encoder_state(variant)
        assert audio_random_weights.state_digest(state) == facts["weights_sha256"][variant]


def test_weight_norm_is_folded_as_torch_computes_it():
    state = audio_random_weights.encodec_encoder_state("24k")
    folded = encoder_state(state)
    for prefix in ("encoder.model.0.conv.conv", "encoder.model.12.conv.conv", "encoder.model.15.conv.conv"):
        expected = torch._weight_norm(state[f"{prefix}.weight_v"], state[f"{prefix}.weight_g"], 0)
        torch.testing.assert_close(folded[f"{prefix}.weight"], expected, rtol=1e-6, atol=0)


def test_a_checkpoint_without_the_encoder_is_refused_with_what_is_missing(tmp_path):
    path = tmp_path / "decoder-only.th"
    torch.save({"decoder.model.0.conv.conv.bias": torch.zeros(512)}, path)
    with pytest.raises(WeightsError, match=r"not encodec-24k weights in the expected layout \(missing: encoder\.model"):
        Encodec24kEmbedder(weights=path)


@pytest.mark.parametrize("variant", list(EMBEDDERS))
@pytest.mark.parametrize("key", CLIPS)
def test_embeddings_match_the_encodec_package_within_1e_4_relative(variant, key, frames, arrays, facts):
    ours = frames[f"{variant}/{key}"]
    assert ours.shape[0] == facts["frames"][f"{variant}/{key}"]
    for part, rows in (("head", ours[:32]), ("tail", ours[-16:])):
        expected = arrays[f"{variant}/{part}/{key}"]
        assert np.abs(rows - expected).max() <= 1e-4 * np.abs(expected).max(), part


@pytest.mark.parametrize("variant", list(EMBEDDERS))
def test_fad_with_float16_statistics_matches_fadtk_within_1e_4_relative(variant, frames, facts):
    stats = {group: FeatureStats() for group in SETS}
    for group, keys in SETS.items():
        for key in keys:
            stats[group].update(float16_rows(torch.from_numpy(frames[f"{variant}/{key}"])))
    assert frechet_distance(*stats.values()) == pytest.approx(facts["fad"][f"{variant}/test_a/test_b"], rel=1e-4)


@pytest.mark.parametrize("variant", list(EMBEDDERS))
def test_fad_with_float32_statistics_is_fadtk_s_embeddings_without_float16_storage(variant, frames, facts):
    stats = [FeatureStats.from_features(np.concatenate([frames[f"{variant}/{key}"] for key in keys]))
             for keys in SETS.values()]
    golden = facts["sensitivity"][f"{variant}/test_a/test_b/float32 statistics"]
    assert frechet_distance(*stats) == pytest.approx(golden["fad"], rel=1e-4)


@pytest.mark.parametrize("variant", list(EMBEDDERS))
def test_inputs_shorter_than_the_kernels_are_padded_as_encodec_pads_them(variant, embedders, arrays):
    """Reflection padding of inputs no longer than the padding: 1 to 4001 samples straight into the encoder."""
    model = embedders[variant].model
    for length in (1, 5, 100, 319, 320, 321, 1000, 4001):
        waveform = np.random.RandomState(length).uniform(-0.5, 0.5, (1, model.encoder.variant.channels, length))
        with torch.inference_mode():
            ours = model(torch.from_numpy(waveform).float()).numpy()
        expected = arrays[f"{variant}/short/{length}"]
        assert ours.shape == expected.shape == (1, 128, -(-length // 320))
        assert np.abs(ours - expected).max() <= 1e-4 * np.abs(expected).max(), length


@pytest.fixture(scope="module")
def test_sets(corpus, tmp_path_factory) -> dict[str, Path]:
    """The two small sets as folders, as fadtk scored them."""
    root = tmp_path_factory.mktemp("encodec-sets")
    for group, keys in SETS.items():
        (root / group).mkdir()
        for key in keys:
            shutil.copy(corpus[key], root / group)
    return {group: root / group for group in SETS}


@pytest.mark.parametrize("chain, golden", [("fadtk", "fad"), ("frechet", "frechet chain")])
def test_frechet_compute_on_two_folders_equals_fadtk_encodec_emb_on_them(chain, golden, test_sets, weights, facts):
    """`frechet compute test_a/ test_b/ --embedder encodec-24k` = `fadtk encodec-emb test_a test_b` (same weights);
    with chain=frechet, the FAD of fadtk's model given frechet's reading (float32 statistics)."""
    result = frechet.compute(test_sets["test_a"], test_sets["test_b"], embedder="encodec-24k",
                             embedder_options={"weights": str(weights["24k"]), "chain": chain}, progress=False)
    expected = facts["fad"]["24k/test_a/test_b"] if golden == "fad" else \
        facts["sensitivity"][f"24k/test_a/test_b/{golden}"]["fad"]
    assert result["fad"] == pytest.approx(expected, rel=1e-4)
    assert (result["n_real_items"], result["n_fake_items"]) == (2, 2)
    assert result["n_real"] == sum(facts["frames"][f"24k/{key}"] for key in SETS["test_a"])
