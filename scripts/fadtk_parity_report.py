"""Measured agreement of frechet's EnCodec embedders with fadtk 1.1.0, for docs/guide/audio.md.

    .venv/bin/python scripts/fadtk_parity_report.py

Regenerates the golden corpus and random weights (as the tests do), embeds every clip with ``encodec-24k`` and
``encodec-48k`` in both chains, and prints, against tests/goldens/fadtk_encodec (fadtk's and the encodec package's
outputs): converted 16-bit files identical to fadtk's and samples one step off, the largest embedding deviations, the FAD of every scored
folder pair with and without float16 statistics and with frechet's own chain, and how far each of fadtk's reading
steps moves its FAD.
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
GOLDENS = ROOT / "tests" / "goldens" / "fadtk_encodec"
sys.path.insert(0, str(ROOT / "tests" / "plugins" / "audio"))

import audio_corpus  # noqa: E402
import audio_random_weights  # noqa: E402
from frechet.distance import frechet_distance  # noqa: E402
from frechet.stats import FeatureStats  # noqa: E402
from frechet_audio.encodec import Encodec24kEmbedder, Encodec48kEmbedder  # noqa: E402
from fadtk_converted import STEPS, digest, fadtk_pcm16, key  # noqa: E402
from frechet_audio.fadtk import converted_pcm16, float16_rows, mono_float32  # noqa: E402
from frechet_audio.files import FileClip  # noqa: E402

EMBEDDERS = {"24k": Encodec24kEmbedder, "48k": Encodec48kEmbedder}
TEST_SETS = {"test_a": ("misc/speech_c_22k", "misc/six_channels"),
             "test_b": ("misc/tone_noise_ogg", "eval44k/stereo_noise_tone")}


def converted_agreement(paths: dict[str, Path], facts: dict) -> str:
    """Per rate: converted files identical to fadtk's, and samples that differ (all by one step at most)."""
    lines = []
    with np.load(STEPS) as steps:
        for rate in ("24000", "48000"):
            names = [name for name in facts["converted"] if name.startswith(rate + "/")]
            identical = moved = total = worst = 0
            for name in names:
                clip = FileClip(paths[name.split("/", 1)[1]])
                ours = converted_pcm16(clip, int(rate))
                theirs = fadtk_pcm16(mono_float32(clip), clip.sample_rate, int(rate), steps[key(name)])
                difference = np.abs(ours.astype(np.int32) - theirs)
                identical += digest(ours) == facts["converted"][name]
                moved, total = moved + int(np.count_nonzero(difference)), total + ours.size
                worst = max(worst, int(difference.max(initial=0)))
            lines.append(f"{rate} Hz: converted files identical to fadtk's {identical} of {len(names)}; "
                         f"samples off {moved} of {total}, by at most {worst} step(s)")
    return "\n".join(lines)


def main() -> None:
    arrays = dict(np.load(GOLDENS / "goldens.npz"))
    facts = json.loads((GOLDENS / "goldens.json").read_text())
    work = Path(tempfile.mkdtemp(prefix="frechet-fadtk-parity-"))
    paths = audio_corpus.write_corpus(work / "corpus")
    print(converted_agreement(paths, facts))
    groups = {group: [key for key in paths if key.startswith(group + "/")] for group in ("background", "eval",
                                                                                          "eval44k", "eval48k")}
    groups.update(TEST_SETS)
    for variant, cls in EMBEDDERS.items():
        weights = work / f"encodec-{variant}.th"
        torch.save(audio_random_weights.encodec_encoder_state(variant), weights)
        frames = {chain: _embed(cls(weights=weights, chain=chain, float16=False), paths)
                  for chain in ("fadtk", "frechet")}
        worst = max(np.abs(frames["fadtk"][key][part] - arrays[f"{variant}/{name}/{key}"]).max()
                    / np.abs(arrays[f"{variant}/{name}/{key}"]).max()
                    for key in (k for keys in TEST_SETS.values() for k in keys)
                    for name, part in (("head", slice(0, 32)), ("tail", slice(-16, None))))
        print(f"\n{variant}: embeddings vs the encodec package, max relative (4 clips, first 32 + last 16 frames): "
              f"{worst:.2g}")
        print("| pair | fadtk FAD | float16 (default) | float32 vs fadtk's float32 | chain=frechet vs fadtk's model "
              "on it | fadtk: float16 storage | fadtk: 16-bit file | frechet chain vs fadtk |")
        print("|---|---:|---:|---:|---:|---:|---:|---:|")
        for name, golden in facts["fad"].items():
            if not name.startswith(variant + "/"):
                continue
            _, first, second = name.split("/")
            ours16 = _fad(frames["fadtk"], groups[first], groups[second], float16=True)
            ours32 = _fad(frames["fadtk"], groups[first], groups[second], float16=False)
            chain = _fad(frames["frechet"], groups[first], groups[second], float16=False)
            effect = {label: facts["sensitivity"][f"{name}/{label}"] for label in
                      ("float32 statistics", "no 16-bit rounding", "frechet chain")}
            print(f"| {first} / {second} | {golden:.6g} | {_rel(ours16, golden)} | "
                  f"{_rel(ours32, effect['float32 statistics']['fad'])} | "
                  f"{_rel(chain, effect['frechet chain']['fad'])} | "
                  + " | ".join(f"{effect[label]['relative']:.2g}" for label in effect) + " |")
    shutil.rmtree(work)


def _embed(embedder, paths: dict[str, Path]) -> dict[str, np.ndarray]:
    out = {}
    for key, path in paths.items():
        batch = embedder.collate([embedder.transform(FileClip(path))])
        with torch.inference_mode():
            out[key] = embedder.forward(batch)["embedding"].numpy()
    return out


def _fad(frames: dict[str, np.ndarray], first: list[str], second: list[str], float16: bool) -> float:
    stats = []
    for keys in (first, second):
        accumulated = FeatureStats()
        for key in keys:
            rows = torch.from_numpy(frames[key])
            accumulated.update(float16_rows(rows) if float16 else rows)
        stats.append(accumulated)
    return frechet_distance(*stats)


def _rel(value: float, reference: float) -> str:
    return f"{abs(value - reference) / abs(reference):.1e}"


if __name__ == "__main__":
    main()
