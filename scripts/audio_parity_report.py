"""Measured deviations of frechet's audio embedders from the reference tools, for docs/guide/audio.md.

    .venv/bin/python scripts/audio_parity_report.py

Regenerates the golden corpus and random weights (as the tests do), runs VGGish and PANN CNN14 over every clip, and
prints the largest differences from tests/goldens/audio (torchvggish / frechet-audio-distance outputs): log-mel
inputs, embeddings, FAD; and, at 44.1 and 48 kHz, how far frechet (scipy resample_poly) lands from the peers
(resampy).
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "plugins" / "audio"))

import audio_corpus  # noqa: E402
import audio_random_weights  # noqa: E402
from frechet.distance import frechet_distance  # noqa: E402
from frechet.stats import FeatureStats  # noqa: E402
from frechet_audio import PannEmbedder, VGGishEmbedder  # noqa: E402
from frechet_audio.files import FileClip  # noqa: E402
from frechet_audio.pann import Cnn14  # noqa: E402


def main() -> None:
    goldens = dict(np.load(ROOT / "tests" / "goldens" / "audio" / "goldens.npz"))
    facts = json.loads((ROOT / "tests" / "goldens" / "audio" / "goldens.json").read_text())
    work = Path(tempfile.mkdtemp(prefix="frechet-audio-parity-"))
    paths = audio_corpus.write_corpus(work / "corpus")
    torch.save(audio_random_weights.vggish_state(), work / "vggish.pth")
    fresh = Cnn14().state_dict()
    front_end = {key: fresh[key] for key in audio_random_weights.PANN_FRONT_END_KEYS}
    torch.save({"model": {**front_end, **audio_random_weights.pann_learned_state()}}, work / "pann.pth")
    rows = []
    for name, embedder in (("vggish", VGGishEmbedder(weights=str(work / "vggish.pth"))),
                           ("pann", PannEmbedder(weights=str(work / "pann.pth")))):
        ours, log_mel = {}, {}
        for key, path in paths.items():
            clip_input = embedder.transform(FileClip(path))
            batch = clip_input if name == "vggish" else embedder.collate([clip_input])
            with torch.inference_mode():
                ours[key] = embedder.forward(batch)["embedding"].numpy()
                if name == "pann":
                    log_mel[key] = embedder.model.log_mel(clip_input[None])[0, 0].numpy()
                else:
                    log_mel[key] = clip_input[:, 0].numpy()
        same_rate = [k for k in paths if k.startswith(("background/", "eval/"))]
        resampled = [k for k in paths if f"{name}/poly/{k}" in goldens]
        mel_keys = [k for k in paths if f"{name}/log_mel/{k}" in goldens]
        rows.append((name, "log-mel input, max abs", max(_max_abs(log_mel[k], goldens[f"{name}/log_mel/{k}"])
                                                          for k in mel_keys)))
        rows.append((name, "embedding at 16 kHz, max abs", max(_max_abs(ours[k], goldens[f"{name}/fad/{k}"])
                                                               for k in same_rate)))
        rows.append((name, "embedding, other rates/channels (same resampler), max abs",
                     max(_max_abs(ours[k], goldens[f"{name}/poly/{k}"]) for k in resampled)))
        for fake in ("eval", "eval44k", "eval48k"):
            fad = frechet_distance(_stats(ours, "background"), _stats(ours, fake))
            peer = facts["fad"][f"{name}/background/{fake}"]
            if fake == "eval":
                rows.append((name, "FAD at 16 kHz, relative", abs(fad / peer - 1)))
            else:
                same = facts["fad"][f"{name}_poly/background/{fake}"]
                rows.append((name, f"FAD from {fake[4:]} (same resampler), relative", abs(fad / same - 1)))
                rows.append((name, f"FAD from {fake[4:]}: frechet vs peer with resampy, relative", abs(fad / peer - 1)))
                rows.append((name, f"embedding from {fake[4:]}: frechet vs peer with resampy, max abs",
                             max(_max_abs(ours[k], goldens[f"{name}/fad/{k}"]) for k in paths
                                 if k.startswith(fake + "/"))))
    for name, what, value in rows:
        print(f"| {name} | {what} | {value:.2g} |")
    print(json.dumps(facts["resampler_deviation"], indent=1))


def _max_abs(ours: np.ndarray, reference: np.ndarray) -> float:
    return float(np.abs(ours.reshape(reference.shape) - reference).max())


def _stats(embeddings: dict[str, np.ndarray], group: str) -> FeatureStats:
    rows = [np.atleast_2d(value) for key, value in embeddings.items() if key.startswith(group + "/")]
    return FeatureStats.from_features(np.concatenate(rows))


if __name__ == "__main__":
    main()
