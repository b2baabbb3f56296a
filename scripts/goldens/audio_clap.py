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
  tests/audio, for a reduced tower (the one the test suite runs) on every folder, and for the full-size ``audio``
  (HTSAT-tiny) and ``music`` (HTSAT-base) models on ``background`` and ``eval``;
- what the choices the embedders must get right change, measured on the peer's side.

Nothing is downloaded. RoBERTa (the text branch, which the audio embedding never touches) and the tokenizers that
laion_clap loads from the Hugging Face hub on import are replaced by a small random RoBERTa and a stub; fadtk's
package is copied into a temporary folder so that the random checkpoints sit where it looks for the real ones.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "tests" / "goldens" / "audio"
sys.path.insert(0, str(ROOT / "tests" / "audio"))

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
    os.environ.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", TORCH_HOME=str(work / "torch"))
    _offline_text_models()
    site = work / "site"
    shutil.copytree(Path(importlib.util.find_spec("fadtk").origin).parent, site / "fadtk")
    sys.path.insert(0, str(site))

    import numpy as np
    import torch

    import audio_corpus
    import clap_random_weights as weights
    import fadtk
    import laion_clap
    from fadtk.fad import FrechetAudioDistance, calc_frechet_distance
    from fadtk.model_loader import CLAPLaionModel
    from fadtk.utils import get_cache_embedding_path

    assert Path(fadtk.__file__).is_relative_to(site), fadtk.__file__
    torch.set_num_threads(2)
    arrays: dict[str, np.ndarray] = {}
    facts: dict = {"source": _versions(), "weights_sha256": {}, "windows": {}, "fad": {}, "sensitivity": {}}
    geometries = {"tiny": weights.TINY, "base": weights.BASE, "reduced": weights.REDUCED}
    amodels = {"tiny": "HTSAT-tiny", "base": "HTSAT-base", "reduced": "HTSAT-tiny"}

    # The network through the laion_clap package, full size.
    inputs = audio_corpus.clap_windows()
    for label in ("tiny", "base"):
        path = work / f"{label}.pt"
        _write_checkpoint(path, amodels[label], geometries[label], facts, label)
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
        facts["sensitivity"][f"{label}/no_int16_round_trip_max_abs"] = _max_abs(unquantised, arrays[f"{label}/embedding"])
        del module

    # fadtk end to end.
    for label, groups, kind in (("reduced", REDUCED_GROUPS, "audio"), ("tiny", FULL_GROUPS, "audio"),
                                ("base", FULL_GROUPS, "music")):
        corpus = audio_corpus.write_corpus(work / f"corpus-{label}")
        if label == "reduced":
            facts["corpus_samples_sha256"] = {key: audio_corpus.samples_digest(path) for key, path in corpus.items()}
        root = next(iter(corpus.values())).parent.parent
        name = "630k-audioset-best.pt" if kind == "audio" else "music_audioset_epoch_15_esc_90.14.pt"
        target = site / "fadtk" / ".model-checkpoints" / name
        target.parent.mkdir(exist_ok=True)
        with _tower(geometries[label] if label == "reduced" else None):
            _write_checkpoint(target, amodels[label], geometries[label], facts, label)
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
            facts["sensitivity"][f"{label}/{baseline}/{evaluated}/float32_storage_fad_relative"] = abs(plain / score - 1)
        del fad, model

    np.savez_compressed(OUT / "clap.npz", **arrays)
    (OUT / "clap.json").write_text(json.dumps(facts, indent=1, sort_keys=True) + "\n")
    print(json.dumps({"fad": facts["fad"], "sensitivity": facts["sensitivity"]}, indent=1))


def _offline_text_models() -> None:
    """The tokenizers laion_clap loads on import and the RoBERTa it builds, without the hub: a stub and a small
    random RoBERTa (its tensors go into the checkpoints as the text branch, which the audio embedding never uses)."""
    import transformers

    class _NoTokenizer:
        def __call__(self, *args, **kwargs):
            raise RuntimeError("no tokenizer in the golden run: only audio is embedded")

    for name in ("BertTokenizer", "RobertaTokenizer", "BartTokenizer"):
        getattr(transformers, name).from_pretrained = classmethod(lambda cls, *args, **kwargs: _NoTokenizer())
    small = transformers.RobertaConfig(vocab_size=64, hidden_size=768, num_hidden_layers=1, num_attention_heads=2,
                                       intermediate_size=32, max_position_embeddings=80)
    transformers.RobertaModel.from_pretrained = classmethod(lambda cls, *args, **kwargs: transformers.RobertaModel(small))


@contextlib.contextmanager
def _tower(geometry):
    """laion_clap builds HTS-AT of ``geometry`` (width, depths, heads) for 'HTSAT-tiny' inside the block (None: as
    it is): the reduced tower the test suite runs, through the peer's own classes and code path."""
    if geometry is None:
        yield
        return
    from laion_clap.clap_module import factory, htsat, model

    width, depths, heads = geometry
    original, config = model.create_htsat_model, factory._MODEL_CONFIGS["HTSAT-tiny"]
    saved = config["embed_dim"]

    def create(audio_cfg, enable_fusion=False, fusion_type="None"):
        return htsat.HTSAT_Swin_Transformer(
            spec_size=256, patch_size=4, patch_stride=(4, 4), num_classes=audio_cfg.class_num, embed_dim=width,
            depths=list(depths), num_heads=list(heads), window_size=8, config=audio_cfg,
            enable_fusion=enable_fusion, fusion_type=fusion_type)

    model.create_htsat_model, config["embed_dim"] = create, width * 2 ** (len(depths) - 1)
    try:
        yield
    finally:
        model.create_htsat_model, config["embed_dim"] = original, saved


def _write_checkpoint(path: Path, amodel: str, geometry, facts: dict, label: str) -> None:
    """The random checkpoint for ``geometry`` in the layout of the peer's model: its key list is checked against
    clap_random_weights' layout; the front end and attention buffers are the peer's own."""
    import torch
    from laion_clap.clap_module import factory

    import clap_random_weights as weights

    model, _ = factory.create_model(amodel, "roberta", precision="fp32", device="cpu", enable_fusion=False)
    state = model.state_dict()
    audio = ("audio_branch.", "audio_projection.")
    computed_keys = set(weights.FRONT_END_KEYS)
    computed_keys |= {key for key in state if key.endswith((".attn_mask", ".relative_position_index"))}
    layout = [(key, tuple(value.shape)) for key, value in state.items()
              if key.startswith(audio) and key not in computed_keys]
    assert layout == weights.learned_layout(geometry), "clap_random_weights.learned_layout differs from laion_clap"
    learned = weights.learned_state(geometry)
    computed = {key: state[key] for key in computed_keys}
    text = {key: value for key, value in state.items() if not key.startswith(audio)}
    text["text_branch.embeddings.position_ids"] = torch.arange(514)[None]  # in the published files; laion_clap drops it
    torch.save(weights.checkpoint(learned, computed, text), path)
    facts["weights_sha256"][label] = weights.state_digest(learned)


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
