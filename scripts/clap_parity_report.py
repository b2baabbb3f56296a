"""Measured deviations of frechet's LAION-CLAP embedders from laion_clap and fadtk, for docs/guide/audio.md.

    flock /tmp/frechet-heavy.lock .venv/bin/python scripts/clap_parity_report.py

Rebuilds the golden corpus and the random checkpoints (as the tests do), runs the full-size HTSAT-tiny and HTSAT-base
towers and the reduced one over the clips fadtk embedded in scripts/goldens/audio_clap.py, and prints the largest
differences from tests/goldens/audio/clap.*: the network against laion_clap, every window against fadtk's stored
float16 embeddings, FAD against fadtk's; then how far the other choices move the FAD: frechet's own reading chain
instead of fadtk's, and no float16 emulation.
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
import clap_random_weights  # noqa: E402
from frechet.distance import frechet_distance  # noqa: E402
from frechet.stats import FeatureStats  # noqa: E402
from frechet_audio.clap import ClapLaionAudioEmbedder  # noqa: E402
from frechet_audio.fadtk import float16_rows, int16_round_trip  # noqa: E402
from frechet_audio.files import FileClip  # noqa: E402
from frechet_audio.htsat import ClapAudio, Geometry  # noqa: E402

GEOMETRIES = {"tiny": clap_random_weights.TINY, "base": clap_random_weights.BASE,
              "reduced": clap_random_weights.REDUCED}


def main() -> None:
    goldens = dict(np.load(ROOT / "tests" / "goldens" / "audio" / "clap.npz"))
    facts = json.loads((ROOT / "tests" / "goldens" / "audio" / "clap.json").read_text())
    work = Path(tempfile.mkdtemp(prefix="frechet-clap-parity-"))
    paths = audio_corpus.write_corpus(work / "corpus")
    torch.set_num_threads(2)
    rows = ["| model | quantity | measured | required |", "|---|---|---:|---:|"]
    windows = torch.from_numpy(int16_round_trip(audio_corpus.clap_windows()))
    for label in ("tiny", "base"):
        state = clap_random_weights.checkpoint(GEOMETRIES[label])["state_dict"]
        model = ClapAudio(Geometry(*GEOMETRIES[label])).eval()
        model.load_state_dict({key[7:]: value for key, value in state.items() if _audio(key[7:])})
        with torch.inference_mode():
            ours = model(windows).numpy()
            log_mel = model.audio_branch.log_mel(windows[:1])[0, 0].numpy()
        expected = goldens[f"{label}/embedding"]
        rows.append(f"| {label} | embeddings vs laion_clap, max abs / max relative (2 windows) | "
                    f"{_abs(ours, expected):.1e} / {_abs(ours, expected) / np.abs(expected).max():.1e} | ≤ 1e-4 |")
        reference = goldens[f"{label}/log_mel"]
        rows.append(f"| {label} | log-mel vs torchlibrosa, max abs (dB, {len(reference)} frames) | "
                    f"{_abs(log_mel[: len(reference)], reference):.1e} | |")
    melW = ClapAudio().audio_branch.logmel_extractor.melW.detach().numpy()
    same = np.array_equal(melW, goldens["mel_matrix"])
    rows.append(f"| all | mel matrix vs librosa | {'bit-identical' if same else _abs(melW, goldens['mel_matrix'])} | |")

    sensitivity = []
    for label in facts["windows"]:  # the towers fadtk ran end to end
        checkpoint = work / f"{label}.pt"
        torch.save(clap_random_weights.checkpoint(GEOMETRIES[label]), checkpoint)
        keys = sorted(facts["windows"][label])
        fadtk = _embed_all(ClapLaionAudioEmbedder(weights=str(checkpoint), float16=False), paths, keys)
        own = _embed_all(ClapLaionAudioEmbedder(weights=str(checkpoint), chain="frechet"), paths, keys)
        steps, flips, values = 0.0, 0, 0
        for key in keys:
            stored = goldens[f"{label}/fadtk/{key}"]
            assert fadtk[key].shape[0] == stored.shape[0] == facts["windows"][label][key], key
            step = np.spacing(np.abs(stored)).astype(np.float64)  # the float16 step at each of fadtk's values
            steps = max(steps, float((np.abs(fadtk[key] - stored.astype(np.float64)) / step).max()))
            flips += int((fadtk[key].astype(np.float16) != stored).sum())
            values += stored.size
        rows.append(f"| {label} | every window ({len(keys)} clips) vs fadtk's float16 files, max in float16 steps | "
                    f"{steps:.2f} | ≈ 0.5 (rounding) |")
        rows.append(f"| {label} | float16 values that round the other way than fadtk's | {flips} of {values} | |")
        for pair in [name for name in facts["fad"] if name.startswith(label + "/")]:
            _, baseline, evaluated = pair.split("/")
            peer = facts["fad"][pair]
            emulated = _fad(fadtk, baseline, evaluated, float16=True)
            rows.append(f"| {label} | FAD {baseline} vs {evaluated}, relative to fadtk's {peer:.6g} | "
                        f"{abs(emulated / peer - 1):.1e} | ≤ 1e-4 |")
            plain = _fad(fadtk, baseline, evaluated, float16=False)
            chained = _fad(own, baseline, evaluated, float16=False)
            sensitivity.append(f"| {label} | {baseline} vs {evaluated} | {abs(plain / emulated - 1):.1e} | "
                               f"{abs(chained / plain - 1):.1e} |")
    print("\n".join(rows))
    print("\n| model | FAD | float16 emulation off (relative change) | chain=frechet instead of fadtk (relative) |")
    print("|---|---|---:|---:|")
    print("\n".join(sensitivity))


def _audio(key: str) -> bool:
    return (key.startswith(("audio_branch.", "audio_projection.")) and "tscam" not in key and ".head." not in key
            and not key.endswith((".attn_mask", ".relative_position_index")))


def _embed_all(embedder, paths: dict[str, Path], keys: list[str]) -> dict[str, np.ndarray]:
    out = {}
    for key in keys:
        with torch.inference_mode():
            out[key] = embedder.forward(embedder.collate([embedder.transform(FileClip(paths[key]))]))["embedding"]
        out[key] = out[key].numpy()
    return out


def _fad(rows: dict[str, np.ndarray], baseline: str, evaluated: str, *, float16: bool) -> float:
    sides = []
    for group in (baseline, evaluated):
        stats = FeatureStats()
        for key, values in rows.items():
            if key.startswith(group + "/"):
                stats.update(float16_rows(torch.from_numpy(values)) if float16 else values)
        sides.append(stats)
    return float(frechet_distance(*sides))


def _abs(first: np.ndarray, second: np.ndarray) -> float:
    return float(np.abs(np.asarray(first, np.float64) - np.asarray(second, np.float64)).max())


if __name__ == "__main__":
    main()
