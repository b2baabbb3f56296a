"""Corrections that rebuild fadtk's converted 16-bit files from frechet's float64 resampling, on any CPU.

fadtk's files (their sha256 digests are in tests/goldens/fadtk_encodec/goldens.json, written by fadtk_encodec.py)
come from a float32 convolution whose last bits depend on the CPU; frechet's float32 path is the same call, so on the
machine that ran fadtk it gives the same files. This script takes frechet's float32 samples on the machine where it
runs; where one differs from fadtk's digest (another CPU), it tries moving the samples nearest a 16-bit step to the
other side of it, a few at a time, until the digest matches. It then stores, per file, where and by how much fadtk's
samples differ from the float64 resampling's (tests/goldens/fadtk_encodec/converted_steps.npz): a few hundred
positions per file instead of the samples. Run in the project's environment; nothing is downloaded:

    .venv/bin/python scripts/goldens/fadtk_converted_steps.py
"""

from __future__ import annotations

import itertools
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "plugins" / "audio"))

import audio_corpus  # noqa: E402
from fadtk_converted import STEPS, digest, float64_resampled, key  # noqa: E402

from frechet_audio.fadtk import converted_pcm16, mono_float32, to_pcm16  # noqa: E402
from frechet_audio.files import FileClip  # noqa: E402

#: Samples nearest a 16-bit step tried, and how many of them may be moved at once.
CANDIDATES, MOVED = 16, 3


def fadtk_samples(clip: FileClip, rate: int, expected: str, exact: np.ndarray) -> np.ndarray:
    """fadtk's converted samples of ``clip``: frechet's float32 conversion, repaired near the steps if needed
    (``exact``: the float64 resampling)."""
    samples = converted_pcm16(clip, rate)
    if digest(samples) == expected:
        return samples
    scaled = exact * 2.0**15
    nearest = np.argsort(np.abs(scaled - np.round(scaled)))[:CANDIDATES]
    for count in range(1, MOVED + 1):
        for chosen in itertools.combinations(nearest, count):
            repaired = samples.copy()
            for i in chosen:  # the other side of the step nearest sample i
                step = int(np.round(scaled[i]))
                repaired[i] = step - 1 if samples[i] >= step else step
            if digest(repaired) == expected:
                return repaired
    raise SystemExit(f"{clip.name} at {rate} Hz: no repair of up to {MOVED} samples matches fadtk's digest")


def main() -> None:
    facts = json.loads((ROOT / "tests" / "goldens" / "fadtk_encodec" / "goldens.json").read_text())
    corpus = audio_corpus.write_corpus(Path(tempfile.mkdtemp(prefix="frechet-fadtk-steps-")))
    arrays = {}
    for name, expected in sorted(facts["converted"].items()):
        rate, clip_key = name.split("/", 1)
        clip = FileClip(corpus[clip_key])
        exact = float64_resampled(mono_float32(clip), clip.sample_rate, int(rate))
        fadtk = fadtk_samples(clip, int(rate), expected, exact)
        difference = fadtk.astype(np.int32) - to_pcm16(exact)
        assert np.abs(difference).max(initial=0) <= 1, name
        at = np.flatnonzero(difference)
        arrays[key(name)] = np.stack([at, difference[at]]).astype(np.int32)
        print(f"{name}: {at.size} of {fadtk.size} samples one step from the float64 resampling's")
    np.savez_compressed(STEPS, **arrays)


if __name__ == "__main__":
    main()
