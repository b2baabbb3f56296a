"""The audio embedders as plugins: registration, options, weights files and the command line."""

from __future__ import annotations

import re
import json

import numpy as np
import pytest
import soundfile
import torch

import frechet
from frechet import cli
from frechet.errors import ConfigError, WeightsError
from frechet.plugins import get_registry
from frechet_audio.checkpoints import PANN_CNN14_16K, VGGISH, VGGISH_PCA
from frechet_audio.pann import PannEmbedder
from frechet_audio.vggish import VGGishEmbedder


def test_vggish_and_pann_are_registered_as_audio_embedders_with_the_fad_key():
    registry = get_registry()
    for name, cls, outputs in (("vggish", VGGishEmbedder, {"embedding": 128}),
                               ("pann", PannEmbedder, {"embedding": 2048, "clipwise": 527})):
        info, _ = registry.embedder_info(name)
        assert (info.factory, info.domain, dict(info.outputs)) == (cls, "audio", outputs)
        assert cls.fd_key == "fad"
    assert registry.embedder_info("cnn14")[0].name == "pann"
    assert {info.kind for info in registry.sources() if info.domain == "audio"} == {"audio-file", "audio-folder",
                                                                                   "audio-clips"}


def test_every_weights_file_is_downloaded_over_https_and_checked_against_a_sha256():
    for spec in (VGGISH, VGGISH_PCA, PANN_CNN14_16K):
        assert spec.url.startswith("https://")
        assert re.fullmatch(r"[0-9a-f]{8,64}", spec.expected_hash)
        named = re.search(r"-([0-9a-f]{8})\.pth$", spec.file_name)  # torch hub's convention, where the name has it
        assert named is None or spec.expected_hash.startswith(named.group(1))


def test_missing_weights_offline_say_what_to_download_and_where():
    message = r"vggish weights are not cached.*vggish-10086976\.pth.*embedder_options=\{.weights.: .PATH.\}"
    with pytest.raises(WeightsError, match=message):
        VGGishEmbedder()


def test_default_id_names_the_fad_convention_and_changes_with_every_option(vggish_weights, vggish_pca_weights):
    plain = VGGishEmbedder(weights=str(vggish_weights))
    assert plain.id().startswith("vggish(") and "pca=False" in plain.id() and "relu=False" in plain.id()
    ids = {plain.id(), VGGishEmbedder(weights=str(vggish_weights), relu="true").id(),
           VGGishEmbedder(weights=str(vggish_weights), pad_short="on").id(),
           VGGishEmbedder(weights=str(vggish_weights), pca="1", pca_weights=str(vggish_pca_weights)).id()}
    assert len(ids) == 4
    assert "weights=sha256:" in plain.id()  # a local file that is not the canonical one is named by its digest


def test_pca_parameters_load_from_numpy_arrays_or_tensors(vggish_weights, vggish_pca_weights, tmp_path):
    arrays = torch.load(vggish_pca_weights, weights_only=False)
    tensors = tmp_path / "pca-tensors.pth"
    torch.save({key: torch.from_numpy(value) for key, value in arrays.items()}, tensors)
    batch = torch.randn(5, 1, 96, 64)
    embedders = [VGGishEmbedder(weights=str(vggish_weights), pca="true", pca_weights=str(path))
                 for path in (vggish_pca_weights, tensors)]
    outputs = [embedder.forward(batch)["embedding"] for embedder in embedders]
    assert torch.equal(*outputs)
    assert ((outputs[0] >= 0) & (outputs[0] <= 255) & (outputs[0] == outputs[0].round())).all()


@pytest.mark.parametrize(
    ("options", "message"),
    [({"pca": "maybe"}, r"embedder_options=\{'pca': 'maybe'\} is not valid \(use true or false; pca is yes/no\)"),
     ({"colour": "red"}, r"embedder 'vggish' has no option 'colour'; it takes pca, relu, pad_short, weights")],
)
def test_invalid_options_are_config_errors(options, message, vggish_weights):
    with pytest.raises(ConfigError, match=message):
        VGGishEmbedder(weights=str(vggish_weights), **options)


def test_weights_in_another_layout_are_refused_naming_the_missing_keys(tmp_path):
    path = tmp_path / "other.pth"
    torch.save({"features.0.weight": torch.zeros(64, 1, 3, 3)}, path)
    with pytest.raises(WeightsError, match=r"other\.pth: not vggish weights in the expected layout \(missing: "
                                           r"[\w.]+, [\w.]+, [\w.]+ … \(\d+\)\)"):
        VGGishEmbedder(weights=str(path))


def test_cli_prints_fad_beside_fd_with_clip_and_example_counts(vggish_weights, tmp_path, capsys):
    for side, frequency in (("real", 440.0), ("fake", 470.0)):
        (tmp_path / side / "sub").mkdir(parents=True)
        for k in range(3):
            t = np.arange(int(16000 * (2.0 + k * 0.5))) / 16000
            samples = 0.4 * np.sin(2 * np.pi * (frequency + 37 * k) * t)
            soundfile.write(tmp_path / side / ("sub" if k else "") / f"{k}.flac", samples, 16000)
    code = cli.main(["compute", str(tmp_path / "real"), str(tmp_path / "fake"), "--embedder", "vggish",
                     "--weights", str(vggish_weights), "--json", "--quiet"])
    assert code == 0
    values = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert values["fad"] == values["fd"] > 0
    assert (values["n_real_items"], values["n_real"]) == (3, 2 + 2 + 3)  # clips, 0.96 s examples


def test_cli_reports_a_bad_audio_file_in_one_line(vggish_weights, tmp_path, capsys):
    (tmp_path / "bad.wav").write_bytes(b"")
    code = cli.main(["compute", str(tmp_path / "bad.wav"), str(tmp_path / "bad.wav"), "--embedder", "vggish",
                     "--weights", str(vggish_weights), "--quiet"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1
    assert "bad.wav: unreadable audio file" in err


def test_a_second_run_on_the_same_audio_files_reads_their_embeddings_from_the_feature_cache(vggish_weights, corpus,
                                                                                             monkeypatch):
    root = corpus["background/tone440"].parent.parent
    options = {"weights": str(vggish_weights)}
    first = frechet.compute(root / "background", root / "eval", embedder="vggish", embedder_options=options,
                            progress=False)

    def no_decoding(self, clip):
        raise AssertionError("decoded again although cached")

    monkeypatch.setattr(VGGishEmbedder, "transform", no_decoding)
    second = frechet.compute(root / "background", root / "eval", embedder="vggish", embedder_options=options,
                             progress=False)
    assert second["fad"] == first["fad"] and second["n_real"] == first["n_real"]
