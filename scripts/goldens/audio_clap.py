"""Goldens for the LAION-CLAP embedders: the laion_clap package and fadtk, run on generated audio with deterministic
random weights in the exact layout of the official checkpoints.

Run in the reference venv that holds fadtk and laion_clap (../shared/refenv.sh fadtk), under the heavy-job lock:

    flock /tmp/frechet-heavy.lock $(../shared/refenv.sh fadtk) scripts/goldens/audio_clap.py

Writes tests/goldens/audio/clap.npz and clap.json:

- the network (``laion_clap.CLAP_Module(enable_fusion=False).get_audio_embedding_from_data``, which applies CLAP's
  int16 round trip itself) on two 10 s windows, for HTSAT-tiny and HTSAT-base at full size: embeddings, and the
  log-mel frames torchlibrosa computes inside the model; librosa's mel matrix;
- fadtk end to end (``CLAPLaionModel`` + ``FrechetAudioDistance``: its reading, resampling and 16-bit chain, 10 s
  windows every 1 s, float16 embedding files, its online statistics and Fréchet distance) on the audio corpus of
  tests/plugins/audio, for a reduced tower (the one the test suite runs) on every folder, and for the full-size
  ``audio`` (HTSAT-tiny) and ``music`` (HTSAT-base) models on ``background`` and ``eval``;
- what the choices the embedders must get right change, measured on the peer's side.

Nothing is downloaded (tests/plugins/audio/clap_peer.py: a small random RoBERTa and stub tokenizers stand in for the
hub's, and fadtk runs from a temporary copy beside which the random checkpoints sit where it looks for the real
ones).
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "tests" / "goldens" / "audio"
sys.path.insert(0, str(ROOT / "tests" / "plugins" / "audio"))

import clap_peer  # noqa: E402

#: Folders of the corpus each fadtk run embeds, and the FADs it scores (baseline, eval).
REDUCED_GROUPS = ("background", "eval", "eval44k", "eval48k", "misc")
FULL_GROUPS = ("background", "eval")
PAIRS = {"reduced": (("background", "eval"), ("background", "eval44k"), ("background", "eval48k"),
                     ("background", "misc")),
         "tiny": (("background", "eval"),), "base": (("background", "eval"),)}
#: Log-mel frames of the first window stored (of 1001).
LOG_MEL_FRAMES = 200


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="frechet-clap-goldens-"))
    checkpoints = clap_peer.offline_fadtk(work)

    import numpy as np
    import torch

    import audio_corpus
    import clap_random_weights as weights
    import laion_clap
    from fadtk.fad import FrechetAudioDistance, calc_frechet_distance
    from fadtk.model_loader import CLAPLaionModel
    from fadtk.utils import get_cache_embedding_path

    torch.set_num_threads(2)
    arrays: dict[str, np.ndarray] = {}
    facts: dict = {"source": _versions(), "weights_sha256": {}, "windows": {}, "fad": {}, "sensitivity": {}}
    geometries = {"tiny": weights.TINY, "base": weights.BASE, "reduced": weights.REDUCED}
    amodels = {"tiny": "HTSAT-tiny", "base": "HTSAT-base", "reduced": "HTSAT-tiny"}

    # The network through the laion_clap package, full size.
    inputs = audio_corpus.clap_windows()
    for label in ("tiny", "base"):
        path = work / f"{label}.pt"
        facts["weights_sha256"][label] = clap_peer.write_checkpoint(path, amodels[label], geometries[label])
        module = laion_clap.CLAP_Module(enable_fusion=False, amodel=amodels[label])
        module.load_ckpt(str(path), verbose=False)
        module.eval()
        with torch.no_grad():
            arrays[f"{label}/embedding"] = module.get_audio_embedding_from_data(x=inputs, use_tensor=False)
            unquantised = module.get_audio_embedding_from_data(x=torch.from_numpy(inputs), use_tensor=True).numpy()
            branch = module.model.audio_branch
            quantised = torch.from_numpy((np.clip(inputs[:1], -1, 1) * 32767.0).astype(np.int16) / 32767.0).float()
            log_mel = branch.logmel_extractor(branch.spectrogram_extractor(quantised))[0, 0]
        arrays[f"{label}/log_mel"] = log_mel[:LOG_MEL_FRAMES].numpy()
        arrays["mel_matrix"] = branch.logmel_extractor.melW.detach().numpy()
        moved = _max_abs(unquantised, arrays[f"{label}/embedding"])
        facts["sensitivity"][f"{label}/no_int16_round_trip_max_abs"] = moved
        del module

    # fadtk end to end.
    for label, groups, kind in (("reduced", REDUCED_GROUPS, "audio"), ("tiny", FULL_GROUPS, "audio"),
                                ("base", FULL_GROUPS, "music")):
        corpus = audio_corpus.write_corpus(work / f"corpus-{label}")
        if label == "reduced":
            facts["corpus_samples_sha256"] = {key: audio_corpus.samples_digest(path) for key, path in corpus.items()}
        root = next(iter(corpus.values())).parent.parent
        name = "630k-audioset-best.pt" if kind == "audio" else "music_audioset_epoch_15_esc_90.14.pt"
        with clap_peer.tower(geometries[label] if label == "reduced" else None):
            facts["weights_sha256"][label] = clap_peer.write_checkpoint(checkpoints / name, amodels[label],
                                                                        geometries[label])
            model = CLAPLaionModel(kind)
            fad = FrechetAudioDistance(model, audio_load_worker=1, load_model=True)
        float32_rows = {}
        for group in groups:
            for file in sorted((root / group).glob("*.*")):
                fad.cache_embedding_file(file)
                key = f"{group}/{file.stem}"
                stored = np.load(get_cache_embedding_path(model.name, file))
                arrays[f"{label}/fadtk/{key}"] = stored
                facts["windows"].setdefault(label, {})[key] = int(stored.shape[0])
                with torch.no_grad():
                    float32_rows[key] = model._get_embedding(fad.load_audio(file)).numpy()
        for baseline, evaluated in PAIRS[label]:
            score = float(fad.score(str(root / baseline), str(root / evaluated)))
            facts["fad"][f"{label}/{baseline}/{evaluated}"] = score
            # the same files without fadtk's float16 storage: its Fréchet distance on float32 statistics
            unrounded = [_stats(np, [rows for key, rows in float32_rows.items() if key.startswith(group + "/")])
                         for group in (baseline, evaluated)]
            plain = float(np.real(calc_frechet_distance(*unrounded[0], *unrounded[1])))
            name = f"{label}/{baseline}/{evaluated}/float32_storage_fad_relative"
            facts["sensitivity"][name] = abs(plain / score - 1)
        del fad, model

    np.savez_compressed(OUT / "clap.npz", **arrays)
    (OUT / "clap.json").write_text(json.dumps(facts, indent=1, sort_keys=True) + "\n")
    print(json.dumps({"fad": facts["fad"], "sensitivity": facts["sensitivity"]}, indent=1))


def _stats(np, parts):
    rows = np.concatenate(parts).astype(np.float64)
    return rows.mean(axis=0), np.cov(rows, rowvar=False)


def _max_abs(first, second) -> float:
    import numpy as np

    return float(np.abs(np.asarray(first, np.float64) - np.asarray(second, np.float64)).max())


def _versions() -> str:
    from importlib.metadata import version

    import soundfile

    packages = ("fadtk", "laion_clap", "torch", "torchaudio", "torchlibrosa", "librosa", "transformers", "numpy")
    names = ", ".join(f"{name} {version(name.replace('_', '-'))}" for name in packages)
    return f"{names}, libsndfile {soundfile.__libsndfile_version__}"


if __name__ == "__main__":
    main()
