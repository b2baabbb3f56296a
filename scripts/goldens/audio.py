"""Goldens for the audio domain: torchvggish and frechet-audio-distance (VGGish and PANN CNN14) on generated audio,
with deterministic random weights in the exact upstream key layouts.

Run in the reference venv (../shared/refenv.sh audio), with torchvggish's hub repository (the code
frechet-audio-distance loads through ``torch.hub.load('harritaylor/torchvggish', 'vggish')``) unpacked locally:

    git clone https://github.com/harritaylor/torchvggish /tmp/torchvggish-hub   # commit f3f9096 was used
    $(../shared/refenv.sh audio) scripts/goldens/audio.py --torchvggish-hub /tmp/torchvggish-hub

Writes tests/goldens/audio/goldens.npz (log-mel inputs, embeddings, PANN's mel matrix) and goldens.json (FAD values,
example counts, digests of the weights and the decoded corpus). Nothing is downloaded: the random weights are saved
where torch hub and frechet-audio-distance look for the real ones.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "tests" / "goldens" / "audio"
sys.path.insert(0, str(ROOT / "tests" / "plugins" / "audio"))

#: Clips whose per-example VGGish log-mel inputs are stored (all examples); other clips keep embeddings only.
VGGISH_LOG_MEL_CLIPS = ("background/chirp_up", "background/silence_tone", "eval/speech_b", "eval44k/chirp_down",
                        "eval48k/stereo_noise_tone", "misc/six_channels", "misc/tone_noise_ogg", "misc/tone_8k")
PANN_LOG_MEL_CLIPS = ("background/speech_a", "eval48k/harmonic330")
#: Clips embedded with torchvggish's optional final ReLU and PCA post-processing.
VGGISH_OPTION_CLIPS = ("background/tone440", "eval/speech_b", "eval/speech_noise")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--torchvggish-hub", required=True, type=Path, help="unpacked harritaylor/torchvggish repo")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="frechet-audio-goldens-"))
    os.environ.update(TORCH_HOME=str(work / "torch"), HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")

    import numpy as np
    import soundfile
    import torch
    from scipy.signal import resample_poly

    import audio_corpus
    import audio_random_weights as weights

    torch.set_num_threads(2)
    hub_load = torch.hub.load
    hub_copy = work / "torchvggish-hub"
    shutil.copytree(args.torchvggish_hub, hub_copy)
    (hub_copy / "torchvggish" / "__init__.py").touch()  # else pip's torchvggish 0.2 (a regular package) shadows it

    def local_hub_load(repo_or_dir: str, model: str, **kwargs):
        """torch.hub.load of torchvggish's hub code from the local copy instead of GitHub."""
        for name in [name for name in sys.modules if name.split(".")[0] == "torchvggish"]:
            del sys.modules[name]
        return hub_load(str(hub_copy), model, source="local", **kwargs)

    torch.hub.load = local_hub_load
    checkpoints = Path(torch.hub.get_dir()) / "checkpoints"
    checkpoints.mkdir(parents=True)
    vggish_state = weights.vggish_state()
    torch.save(vggish_state, checkpoints / "vggish-10086976.pth")
    torch.save(weights.vggish_pca_arrays(), checkpoints / "vggish_pca_params-970ea276.pth")

    from frechet_audio_distance import FrechetAudioDistance
    from frechet_audio_distance.models.pann import Cnn14_16k
    from frechet_audio_distance.utils import load_audio_task

    pann_reference = Cnn14_16k(16000, 512, 160, 64, 50, 8000, 527)
    front_end = {key: value for key, value in pann_reference.state_dict().items() if key in weights.PANN_FRONT_END_KEYS}
    pann_learned = weights.pann_learned_state()
    layout = [(key, tuple(value.shape)) for key, value in pann_reference.state_dict().items()]
    expected = [(key, tuple(front_end[key].shape)) for key in weights.PANN_FRONT_END_KEYS]
    expected += weights.pann_learned_layout()
    assert layout == expected, "CNN14 key layout differs from tests/plugins/audio/audio_random_weights.py"
    torch.save({"model": {**front_end, **pann_learned}}, Path(torch.hub.get_dir()) / "Cnn14_16k_mAP%3D0.438.pth")

    paths = audio_corpus.write_corpus(work / "corpus")
    arrays: dict[str, np.ndarray] = {}
    facts: dict = {
        "source": "torchvggish (hub, f3f9096) + frechet-audio-distance 0.3.4 on torch " + torch.__version__,
        "vggish_weights_sha256": weights.state_digest(vggish_state),
        "pann_weights_sha256": weights.state_digest(pann_learned),
        "corpus_samples_sha256": {key: audio_corpus.samples_digest(path) for key, path in paths.items()},
        "examples": {},
        "fad": {},
    }

    def same_resampler(path: Path) -> np.ndarray:
        """Mono float64 at 16 kHz through scipy's resample_poly (frechet's resampler), not resampy."""
        samples, rate = soundfile.read(path, dtype="float64", always_2d=True)
        mono = samples.mean(axis=1)
        if rate == 16000:
            return mono
        common = np.gcd(rate, 16000)
        return resample_poly(mono, 16000 // common, rate // common, window=("kaiser", 5.0))

    # ---------------------------------------------------------------- VGGish
    fad = FrechetAudioDistance(model_name="vggish", sample_rate=16000, use_pca=False, use_activation=False)
    vggish_input = sys.modules["torchvggish.vggish_input"]
    assert [(k, tuple(v.shape)) for k, v in fad.model.state_dict().items() if not k.startswith("pproc")] == \
        weights.vggish_layout(), "VGGish key layout differs from tests/plugins/audio/audio_random_weights.py"
    for key, path in paths.items():
        audio = load_audio_task(str(path), 16000, 1, "float32")  # exactly what FrechetAudioDistance.score reads
        arrays[f"vggish/fad/{key}"] = fad.get_embeddings([audio], sr=16000).astype(np.float32)
        facts["examples"][key] = int(arrays[f"vggish/fad/{key}"].shape[0])
        if not key.startswith(("background/", "eval/")):
            poly = same_resampler(path)
            arrays[f"vggish/poly/{key}"] = fad.get_embeddings([poly], sr=16000).astype(np.float32)
        if key in VGGISH_LOG_MEL_CLIPS:  # torchvggish's own input path: float64 samples, its own channel mean
            samples, rate = soundfile.read(str(path), dtype="float64")
            signal = samples if rate == 16000 else same_resampler(path)
            arrays[f"vggish/log_mel/{key}"] = vggish_input.waveform_to_examples(signal, 16000).detach().numpy()[:, 0]
    for real, fake in audio_corpus.FAD_PAIRS:
        score = fad.score(str(work / "corpus" / real), str(work / "corpus" / fake))
        facts["fad"][f"vggish/{real}/{fake}"] = float(score)
    for real, fake in audio_corpus.FAD_PAIRS[1:]:  # the same pairs with frechet's resampler instead of resampy
        first = np.concatenate([arrays[f"vggish/fad/{k}"] for k in paths if k.startswith(real + "/")])
        second = np.concatenate([arrays[f"vggish/poly/{k}"] for k in paths if k.startswith(fake + "/")])
        facts["fad"][f"vggish_poly/{real}/{fake}"] = float(_peer_fd(fad, first, second))
    facts["resampler_deviation"] = _resampler_deviation(paths, arrays, vggish_input, same_resampler, load_audio_task)
    for relu, pca in ((True, False), (False, True), (True, True)):
        variant = FrechetAudioDistance(model_name="vggish", sample_rate=16000, use_pca=pca, use_activation=relu)
        for key in VGGISH_OPTION_CLIPS:
            audio = load_audio_task(str(paths[key]), 16000, 1, "float32")
            arrays[f"vggish/relu={relu},pca={pca}/{key}"] = variant.get_embeddings([audio], sr=16000).astype(np.float32)

    # ---------------------------------------------------------------- PANN CNN14 (16 kHz checkpoint)
    fad = FrechetAudioDistance(model_name="pann", sample_rate=16000)
    arrays["pann/melW"] = fad.model.logmel_extractor.melW.detach().numpy()
    for key, path in paths.items():
        audio = load_audio_task(str(path), 16000, 1, "float32")
        if not key.startswith("misc/"):
            arrays[f"pann/fad/{key}"] = fad.get_embeddings([audio], sr=16000).astype(np.float32)
        if not key.startswith(("background/", "eval/")):
            arrays[f"pann/poly/{key}"] = fad.get_embeddings([same_resampler(path)], sr=16000).astype(np.float32)
        if key in PANN_LOG_MEL_CLIPS:
            signal = audio if soundfile.info(str(path)).samplerate == 16000 else same_resampler(path)
            with torch.no_grad():
                waveform = torch.tensor(signal).float()[None]
                log_mel = fad.model.logmel_extractor(fad.model.spectrogram_extractor(waveform))
            arrays[f"pann/log_mel/{key}"] = log_mel[0, 0].numpy()
    # frechet-audio-distance 0.3.4 flattens PANN's per-clip embeddings into one 1-D vector, so its own score() takes a
    # scalar mean and variance (gudgud96/frechet-audio-distance#37; with SciPy 1.17 it then fails and returns -1).
    # The goldens apply its Fréchet distance to the (clips, 2048) matrix of its embeddings instead: the FAD it means.
    for variant, groups in (("fad", audio_corpus.FAD_PAIRS), ("poly", audio_corpus.FAD_PAIRS[1:])):
        for real, fake in groups:
            first = np.stack([arrays[f"pann/fad/{k}"] for k in paths if k.startswith(real + "/")])
            second = np.stack([arrays[f"pann/{variant}/{k}"] for k in paths if k.startswith(fake + "/")])
            name = "pann" if variant == "fad" else "pann_poly"
            facts["fad"][f"{name}/{real}/{fake}"] = float(_peer_fd(fad, first, second))

    assert all(value >= 0 for value in facts["fad"].values()), facts["fad"]  # the peer returns -1 on any error
    OUT.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(OUT / "goldens.npz", **arrays)
    (OUT / "goldens.json").write_text(json.dumps(facts, indent=1, sort_keys=True) + "\n")
    print(json.dumps(facts["fad"], indent=1, sort_keys=True))


def _resampler_deviation(paths, arrays, vggish_input, same_resampler, load_audio_task) -> dict:
    """How much resampy (torchvggish, frechet-audio-distance) and resample_poly (frechet) differ, per source rate:
    VGGish log-mel inputs and random-weight embeddings of the same clips, max and mean absolute difference."""
    import numpy as np

    report = {}
    for group in ("eval44k", "eval48k"):
        keys = [key for key in paths if key.startswith(group + "/")]
        log_mel = []
        for key in keys:
            with_resampy = load_audio_task(str(paths[key]), 16000, 1, "float32")
            first = vggish_input.waveform_to_examples(with_resampy, 16000, return_tensor=False)
            second = vggish_input.waveform_to_examples(same_resampler(paths[key]), 16000, return_tensor=False)
            log_mel.append(np.abs(first - second))
        embedding = [np.abs(arrays[f"vggish/fad/{key}"] - arrays[f"vggish/poly/{key}"]) for key in keys]
        report[group] = {
            "log_mel_max_abs": float(max(d.max() for d in log_mel)),
            "log_mel_mean_abs": float(np.mean(np.concatenate([d.ravel() for d in log_mel]))),
            "vggish_embedding_max_abs": float(max(d.max() for d in embedding)),
            "vggish_embedding_mean_abs": float(np.mean(np.concatenate([d.ravel() for d in embedding]))),
        }
    return report


def _peer_fd(fad, first, second) -> float:
    """frechet-audio-distance's own statistics and Fréchet distance of two embedding matrices."""
    mu1, sigma1 = fad.calculate_embd_statistics(first)
    mu2, sigma2 = fad.calculate_embd_statistics(second)
    return fad.calculate_frechet_distance(mu1, sigma1, mu2, sigma2)


if __name__ == "__main__":
    main()
