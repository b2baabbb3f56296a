"""Goldens for fadtk's reading chain and the EnCodec embedders: fadtk 1.1.0 (``encodec-emb``, ``encodec-emb-48k``) and
the encodec package on the generated audio corpus, with deterministic random weights in the official layouts.

Run in the reference venv with fadtk (``../shared/refenv.sh fadtk``: fadtk 1.1.0, encodec 0.1.1, torch and
torchaudio 2.8 — whose only audio backend there is soundfile, libsndfile 1.2.2):

    /tmp/frechet-refenv-fadtk/bin/python scripts/goldens/fadtk_encodec.py

fadtk runs as its command line does, minus the process pool: its ``EncodecEmbModel`` loads the model (the encodec
package's loader is pointed at a checkpoint holding the random encoder weights), ``FrechetAudioDistance`` converts
every file (``convert/<rate>/``), caches its float16 embeddings and scores folder pairs. Writes
tests/goldens/fadtk_encodec/goldens.npz (float32 encoder outputs from the encodec package, fadtk's mean vectors) and
goldens.json (digests of every converted file, FAD values, frame counts, how far other reading choices move the FAD,
versions). Nothing is downloaded.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "tests" / "goldens" / "fadtk_encodec"
sys.path.insert(0, str(ROOT / "tests" / "plugins" / "audio"))

#: fadtk's model names and the rates of the two variants.
MODELS = {"24k": ("encodec-emb", 24000), "48k": ("encodec-emb-48k", 48000)}
#: Two small folders of corpus clips (8.4 s in all) whose FAD the test suite recomputes.
TEST_SETS = {"test_a": ("misc/speech_c_22k", "misc/six_channels"),
             "test_b": ("misc/tone_noise_ogg", "eval44k/stereo_noise_tone")}
#: Folder pairs scored: the test sets, and the corpus groups (documented in docs/guide/audio.md).
FAD_PAIRS = (("test_a", "test_b"), ("background", "eval"), ("background", "eval44k"), ("background", "eval48k"))
#: Clips whose encoder output (float32, before fadtk's float16) is stored: first 32 and last 16 frames.
EMBEDDING_CLIPS = tuple(key for keys in TEST_SETS.values() for key in keys)
HEAD, TAIL = 32, 16
#: Lengths of short random waveforms given straight to the encoders (padding of inputs shorter than a kernel).
SHORT_LENGTHS = (1, 5, 100, 319, 320, 321, 1000, 4001)


def pcm_digest(samples) -> str:
    """sha256 of int16 samples as little-endian bytes."""
    import numpy as np

    return hashlib.sha256(np.ascontiguousarray(samples, dtype="<i2").tobytes()).hexdigest()


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="frechet-fadtk-goldens-"))
    os.environ.update(TORCH_HOME=str(work / "torch"), HF_HUB_OFFLINE="1")

    import numpy as np
    import soundfile
    import torch
    import torchaudio
    from scipy.signal import resample_poly

    import audio_corpus
    import audio_random_weights as weights
    from encodec import EncodecModel
    from fadtk.fad import FrechetAudioDistance, calc_frechet_distance
    from fadtk.model_loader import EncodecEmbModel

    torch.set_num_threads(2)
    corpus = audio_corpus.write_corpus(work / "corpus")
    originals = set(corpus)
    for group, keys in TEST_SETS.items():
        (work / "corpus" / group).mkdir()
        for key in keys:
            corpus[f"{group}/{key.split('/')[1]}"] = Path(shutil.copy(corpus[key], work / "corpus" / group))
    checkpoints = {}
    layouts = {}
    for variant in MODELS:
        build = EncodecModel.encodec_model_24khz if variant == "24k" else EncodecModel.encodec_model_48khz
        full = build(pretrained=False).state_dict()
        official = [(key, tuple(value.shape)) for key, value in full.items() if key.startswith("encoder.")]
        assert official == weights.encodec_encoder_layout(variant), f"{variant}: layout differs from encodec's"
        layouts[variant] = len(official)
        encoder = weights.encodec_encoder_state(variant)
        full.update(encoder)
        checkpoints[variant] = work / f"encodec-{variant}-random.th"
        torch.save(full, checkpoints[variant])

    def pretrained(checkpoint_name: str, repository=None):
        """The encodec package's checkpoint loader, reading the random checkpoint of the variant asked for."""
        return torch.load(checkpoints["24k" if "24khz" in checkpoint_name else "48k"], map_location="cpu")

    EncodecModel._get_pretrained = staticmethod(pretrained)

    packages = ("fadtk", "encodec", "torch", "torchaudio", "soundfile", "numpy", "scipy")
    facts: dict = {"versions": {name: importlib.metadata.version(name) for name in packages},
                   "libsndfile": soundfile.__libsndfile_version__,
                   "torchaudio_backends": torchaudio.list_audio_backends(),
                   "weights_sha256": {v: weights.state_digest(weights.encodec_encoder_state(v)) for v in MODELS},
                   "layout_keys": layouts, "converted": {}, "frames": {}, "fad": {}, "sensitivity": {}}
    arrays: dict[str, np.ndarray] = {}
    groups = sorted({key.split("/")[0] for key in corpus})
    for variant, (name, rate) in MODELS.items():
        model = EncodecEmbModel(variant)
        model.load_model()
        fad = FrechetAudioDistance(model, audio_load_worker=1, load_model=False)
        captured: list[np.ndarray] = []
        embed = model._get_embedding
        model._get_embedding = lambda audio: captured.append(embed(audio)) or captured[-1]  # keep the float32 output
        raw: dict[str, np.ndarray] = {}
        stored: dict[str, np.ndarray] = {}
        for key, path in sorted(corpus.items()):
            fad.cache_embedding_file(path)  # converts the file, embeds it, caches float16 embeddings
            converted = path.parent / "convert" / str(rate) / (path.stem + ".wav")
            if key in originals:
                facts["converted"][f"{rate}/{key}"] = pcm_digest(soundfile.read(converted, dtype="int16")[0])
            stored[key] = fad.read_embedding_file(path)
            raw[key] = captured.pop().numpy()
            assert np.array_equal(raw[key].astype(np.float16), stored[key]), key
            facts["frames"][f"{variant}/{key}"] = int(stored[key].shape[0])
            if key in EMBEDDING_CLIPS:
                arrays[f"{variant}/head/{key}"] = raw[key][:HEAD]
                arrays[f"{variant}/tail/{key}"] = raw[key][-TAIL:]
        for length in SHORT_LENGTHS:
            waveform = np.random.RandomState(length).uniform(-0.5, 0.5, (1, model.model.channels, length))
            with torch.no_grad():
                arrays[f"{variant}/short/{length}"] = model.model.encoder(torch.from_numpy(waveform).float()).numpy()
        for group in groups:
            mu, _ = fad.load_stats(corpus[next(k for k in corpus if k.startswith(group + "/"))].parent)
            arrays[f"{variant}/mu/{group}"] = mu
        model._get_embedding = embed
        scored = {key: path for key, path in corpus.items() if key.split("/")[0] in {g for p in FAD_PAIRS for g in p}}
        variants = {"float32 statistics": raw,
                    "no 16-bit rounding": _embed_all(model, scored, rate, _fadtk_float, torch),
                    "frechet chain": _embed_all(model, scored, rate, _poly_float, torch, resample_poly)}
        for first, second in FAD_PAIRS:
            score = float(fad.score(corpus_dir(corpus, first), corpus_dir(corpus, second)))
            facts["fad"][f"{variant}/{first}/{second}"] = score
            for label, embeddings in variants.items():
                other = _fad(embeddings, first, second, calc_frechet_distance, np)
                facts["sensitivity"][f"{variant}/{first}/{second}/{label}"] = {
                    "fad": other, "relative": abs(other - score) / score}
    OUT.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(OUT / "goldens.npz", **arrays)
    (OUT / "goldens.json").write_text(json.dumps(facts, indent=1, sort_keys=True) + "\n")
    print(json.dumps({"fad": facts["fad"], "sensitivity": facts["sensitivity"]}, indent=1))


def corpus_dir(corpus: dict, group: str) -> Path:
    """The folder of one corpus group."""
    return corpus[next(key for key in corpus if key.startswith(group + "/"))].parent


def _fadtk_float(path: Path, rate: int, torch, resample_poly=None):
    """fadtk's reading and resampling without the 16-bit file in between (float32 straight to the encoder)."""
    import torchaudio

    x, source_rate = torchaudio.load(str(path), backend="soundfile")
    x = torch.mean(x, 0).unsqueeze(0)
    resampler = torchaudio.transforms.Resample(source_rate, rate, lowpass_filter_width=64,
                                               rolloff=0.9475937167399596, resampling_method="sinc_interp_kaiser",
                                               beta=14.769656459379492)
    return resampler(x)


def _poly_float(path: Path, rate: int, torch, resample_poly):
    """frechet's own chain: float64 samples, channels averaged in float64, scipy's resample_poly, float32."""
    import math

    import soundfile

    samples, source_rate = soundfile.read(str(path), dtype="float64", always_2d=True)
    mono = samples.mean(axis=1)
    common = math.gcd(source_rate, rate)
    if source_rate != rate:
        mono = resample_poly(mono, rate // common, source_rate // common, window=("kaiser", 5.0))
    return torch.from_numpy(mono.astype("float32"))[None]


def _embed_all(model, corpus: dict, rate: int, read, torch, resample_poly=None) -> dict:
    """Float32 embeddings of every clip read by ``read`` and given to fadtk's model as its load_wav would."""
    out = {}
    for key, path in corpus.items():
        wav = read(path, rate, torch, resample_poly)[:, : 3 * 60 * rate]
        wav = wav.expand(model.model.channels, -1) if model.model.channels == 2 else wav
        with torch.no_grad():
            out[key] = model._get_embedding(wav.unsqueeze(0)).numpy()
    return out


def _fad(embeddings: dict, first: str, second: str, frechet_distance, np) -> float:
    """FAD between two groups from float32 embeddings pooled over their clips (np.mean, np.cov)."""
    stats = []
    for group in (first, second):
        rows = np.concatenate([value for key, value in sorted(embeddings.items()) if key.startswith(group + "/")])
        stats += [rows.astype(np.float64).mean(axis=0), np.cov(rows.astype(np.float64), rowvar=False)]
    return float(frechet_distance(*stats))


if __name__ == "__main__":
    main()
