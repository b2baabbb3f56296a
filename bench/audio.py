"""Benchmark: seconds of audio embedded per wall-clock second, frechet vs frechet-audio-distance and fadtk, on the same
files.

    python bench/audio.py --peer-python $(../shared/refenv.sh audio) --torchvggish-hub /tmp/torchvggish-hub \
        [--clips 12] [--seconds 8] [--rounds 2] [--out bench/results/audio.md]
    python bench/audio.py --fadtk-python $(../shared/refenv.sh fadtk) [--models encodec-24k,…] \
        [--out bench/results/audio_fadtk.md]

Two folders of generated clips (16 kHz mono; 44.1 kHz stereo, which both tools resample to 16 kHz: frechet with
scipy's resample_poly, frechet-audio-distance with resampy) are embedded with VGGish and PANN CNN14, both tools using
the same random weights in the upstream layouts (no real weights are downloadable here; the speed does not depend on
their values). Timed: decoding, mixing down, resampling, front end and network, from the files to the embeddings;
not timed: loading the model. frechet-audio-distance runs as a subprocess in its own environment and times itself
the same way. The rounds alternate between the tools and each time is the best of them, so background load hits both.

With ``--fadtk-python`` the fadtk backbones (EnCodec 24 and 48 kHz, LAION-CLAP audio and music, or those named by
``--models``) are timed against fadtk 1.1.0 instead: frechet in its fadtk chain (the default, which reproduces
fadtk's numbers), fadtk through the per-file path its command line takes (``FrechetAudioDistance.cache_embedding_file``:
convert to a 16-bit file, read it back, embed, save float16 embeddings), in one process, both with the same random
weights (for LAION-CLAP, fadtk reads frechet's checkpoint file completed with its model's text branch).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "plugins" / "audio"))
CORPORA = {"16 kHz mono": (16000, 1), "44.1 kHz stereo": (44100, 2)}
EMBEDDERS = ("vggish", "pann")
#: frechet embedder -> fadtk model name, for the --fadtk-python comparison.
FADTK_MODELS = {"encodec-24k": "encodec-emb", "encodec-48k": "encodec-emb-48k",
                "clap-laion-audio": "clap-laion-audio", "clap-laion-music": "clap-laion-music"}


def write_inputs(folder: Path, clips: int, seconds: float) -> dict[str, Path]:
    """The benchmark folders (tones, chirps and noise, 16-bit WAV) and random weights where each tool looks."""
    import numpy as np
    import soundfile
    import torch

    import audio_random_weights

    folders = {}
    for label, (rate, channels) in CORPORA.items():
        target = folder / f"{rate}-{channels}ch"
        target.mkdir(parents=True)
        rng = np.random.RandomState(rate)
        t = np.arange(int(seconds * rate)) / rate
        for index in range(clips):
            base = 0.3 * np.sin(2 * np.pi * (200 + 97 * index) * t * (1 + t / (4 * seconds)))
            samples = np.stack([base + rng.uniform(-0.05, 0.05, t.size) for _ in range(channels)], axis=1)
            soundfile.write(target / f"clip{index:03d}.wav", samples, rate, subtype="PCM_16")
        folders[label] = target
    checkpoints = folder / "torch" / "hub" / "checkpoints"
    checkpoints.mkdir(parents=True)
    torch.save(audio_random_weights.vggish_state(), checkpoints / "vggish-10086976.pth")
    torch.save(audio_random_weights.vggish_pca_arrays(), checkpoints / "vggish_pca_params-970ea276.pth")
    from frechet_audio.pann import Cnn14

    fresh = Cnn14().state_dict()
    front_end = {key: fresh[key] for key in audio_random_weights.PANN_FRONT_END_KEYS}
    torch.save({"model": {**front_end, **audio_random_weights.pann_learned_state()}},
               folder / "torch" / "hub" / "Cnn14_16k_mAP%3D0.438.pth")
    return folders


def time_frechet(folders: dict[str, Path], work: Path) -> dict[str, float]:
    """Seconds frechet takes per (embedder, corpus), from files to embeddings, the model already loaded."""
    import torch

    from frechet.plugins import get_registry
    from frechet.embedding import Task, embed
    from frechet.settings import Settings
    from frechet_audio import PannEmbedder, VGGishEmbedder

    torch.set_num_threads(os.cpu_count() or 1)
    checkpoints = work / "torch" / "hub"
    builders = {"vggish": lambda: VGGishEmbedder(weights=str(checkpoints / "checkpoints" / "vggish-10086976.pth")),
                "pann": lambda: PannEmbedder(weights=str(checkpoints / "Cnn14_16k_mAP%3D0.438.pth"))}
    times = {}
    for name in EMBEDDERS:
        embedder = builders[name]()
        for label, folder in folders.items():
            source = get_registry().open_source(folder, "audio")
            start = time.perf_counter()
            [side] = embed(source, [Task(embedder, {"embedding": {"stats"}})], Settings(progress=False))
            times[f"{name}/{label}"] = time.perf_counter() - start
            assert side.n_items == len(source)
        del embedder
    return times


def time_peer(python: str, hub: Path, folders: dict[str, Path], work: Path) -> dict[str, float]:
    """The same timings from frechet-audio-distance, run by ``python`` (its environment) on this file."""
    env = {**os.environ, "TORCH_HOME": str(work / "torch"), "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    request = json.dumps({"hub": str(hub), "work": str(work), "folders": {k: str(v) for k, v in folders.items()}})
    done = subprocess.run([python, __file__, "--as-peer", request], env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"frechet-audio-distance run failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _peer_main(request: str) -> None:
    """Runs inside the reference environment: frechet-audio-distance's loading and embedding, timed."""
    import shutil

    import torch

    arguments = json.loads(request)
    torch.set_num_threads(os.cpu_count() or 1)
    hub = Path(arguments["work"]) / "torchvggish-hub"
    if not hub.exists():
        shutil.copytree(arguments["hub"], hub)
        (hub / "torchvggish" / "__init__.py").touch()  # else pip's torchvggish 0.2 shadows the hub code
    hub_load = torch.hub.load
    torch.hub.load = lambda repo_or_dir, model, **kwargs: hub_load(str(hub), model, source="local", **kwargs)
    from frechet_audio_distance import FrechetAudioDistance

    times = {}
    for name in EMBEDDERS:
        fad = FrechetAudioDistance(model_name=name, sample_rate=16000, use_pca=False, use_activation=False)
        for label, folder in arguments["folders"].items():
            start = time.perf_counter()
            audio = fad._FrechetAudioDistance__load_audio_files(folder)  # what score() does per folder
            embeddings = fad.get_embeddings(audio, sr=16000)
            times[f"{name}/{label}"] = time.perf_counter() - start
            assert embeddings.size > 0
    print(json.dumps(times))


def write_fadtk_weights(work: Path, models: list[str]) -> dict[str, Path]:
    """Random weights in the official layouts, one file per frechet embedder: EnCodec's encoder, LAION-CLAP's
    full-size audio tower (HTSAT-tiny for audio, HTSAT-base for music)."""
    import torch

    import audio_random_weights
    import clap_random_weights

    paths = {}
    for name in models:
        paths[name] = work / f"{name}-random.th"
        if name.startswith("clap-"):
            geometry = clap_random_weights.TINY if name == "clap-laion-audio" else clap_random_weights.BASE
            torch.save(clap_random_weights.checkpoint(geometry), paths[name])
        else:
            torch.save(audio_random_weights.encodec_encoder_state(name.split("-")[1]), paths[name])
    return paths


def time_frechet_fadtk(folders: dict[str, Path], weights: dict[str, Path]) -> dict[str, float]:
    """Seconds frechet takes per (fadtk backbone, corpus) in its fadtk chain, from files to embeddings."""
    import torch

    from frechet.embedding import Task, embed
    from frechet.plugins import get_registry
    from frechet.settings import Settings

    torch.set_num_threads(os.cpu_count() or 1)
    registry = get_registry()
    times = {}
    for name in weights:
        embedder = registry.create_embedder(name, weights=str(weights[name]))
        warm_up = registry.open_source(sorted(next(iter(folders.values())).glob("*.wav"))[0], "audio")
        embed(warm_up, [Task(embedder, {"embedding": {"stats"}})], Settings(progress=False))
        for label, folder in folders.items():
            source = registry.open_source(folder, "audio")
            start = time.perf_counter()
            [side] = embed(source, [Task(embedder, {"embedding": {"stats"}})], Settings(progress=False))
            times[f"{name}/{label}"] = time.perf_counter() - start
            assert side.n_items == len(source)
        del embedder
    return times


def time_fadtk(python: str, folders: dict[str, Path], weights: dict[str, Path], work: Path) -> dict[str, float]:
    """The same timings from fadtk, run by ``python`` (its environment) on this file."""
    request = json.dumps({"work": str(work), "folders": {k: str(v) for k, v in folders.items()},
                          "weights": {k: str(v) for k, v in weights.items()}})
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONWARNINGS": "ignore"}
    done = subprocess.run([python, __file__, "--as-fadtk", request], env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"fadtk run failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _fadtk_main(request: str) -> None:
    """Runs inside fadtk's environment: its per-file conversion and embedding on a fresh copy of each folder, timed."""
    import logging
    import shutil

    import torch

    import clap_peer

    arguments = json.loads(request)
    checkpoints = clap_peer.offline_fadtk(Path(tempfile.mkdtemp(dir=arguments["work"])))
    from encodec import EncodecModel
    from fadtk.fad import FrechetAudioDistance
    from fadtk.model_loader import CLAPLaionModel, EncodecEmbModel

    logging.disable(logging.INFO)
    torch.set_num_threads(os.cpu_count() or 1)
    variants = {"encodec-24k": "24k", "encodec-48k": "48k"}
    times = {}
    for name, weights in arguments["weights"].items():
        def pretrained(checkpoint_name: str, repository=None, _weights=weights):
            """The encodec package's checkpoint loader, answering with a fresh model's tensors and our encoder."""
            build = EncodecModel.encodec_model_24khz if "24khz" in checkpoint_name else EncodecModel.encodec_model_48khz
            state = build(pretrained=False).state_dict()
            state.update(torch.load(_weights))
            return state

        if name.startswith("clap-"):
            kind = name.rsplit("-", 1)[1]
            file = "630k-audioset-best.pt" if kind == "audio" else "music_audioset_epoch_15_esc_90.14.pt"
            clap_peer.complete_checkpoint(checkpoints / file, Path(weights), "HTSAT-tiny" if kind == "audio"
                                          else "HTSAT-base")
            model = CLAPLaionModel(kind)
        else:
            EncodecModel._get_pretrained = staticmethod(pretrained)
            model = EncodecEmbModel(variants[name])
        model.load_model()
        assert model.name == FADTK_MODELS[name]
        fad = FrechetAudioDistance(model, audio_load_worker=1, load_model=False)
        warm_up = Path(tempfile.mkdtemp(dir=arguments["work"]))
        shutil.copy(sorted(Path(next(iter(arguments["folders"].values()))).glob("*.wav"))[0], warm_up)
        fad.cache_embedding_file(next(warm_up.glob("*.wav")))
        for label, folder in arguments["folders"].items():
            copy = Path(tempfile.mkdtemp(dir=arguments["work"])) / "clips"
            shutil.copytree(folder, copy)
            files = sorted(copy.glob("*.*"))
            start = time.perf_counter()
            for file in files:
                fad.cache_embedding_file(file)
            times[f"{name}/{label}"] = time.perf_counter() - start
    print(json.dumps(times))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--peer-python", help="python of the frechet-audio-distance env (../shared/refenv.sh audio)")
    parser.add_argument("--torchvggish-hub", type=Path, help="unpacked harritaylor/torchvggish repo")
    parser.add_argument("--fadtk-python", help="python of the fadtk env (../shared/refenv.sh fadtk): its backbones")
    parser.add_argument("--models", default=",".join(FADTK_MODELS), help="fadtk backbones to time (comma-separated)")
    parser.add_argument("--clips", type=int, default=12)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--out", type=Path, help="report (default bench/results/audio.md, or audio_fadtk.md)")
    args = parser.parse_args()
    if bool(args.fadtk_python) == bool(args.peer_python) or (args.peer_python and not args.torchvggish_hub):
        parser.error("give --peer-python with --torchvggish-hub, or --fadtk-python")
    work = Path(tempfile.mkdtemp(prefix="frechet-bench-audio-"))
    folders = write_inputs(work, args.clips, args.seconds)
    if args.fadtk_python:
        models = args.models.split(",")
        if not set(models) <= set(FADTK_MODELS):
            parser.error(f"--models: choose from {', '.join(FADTK_MODELS)}")
        weights = write_fadtk_weights(work, models)
        tools = {"frechet": lambda: time_frechet_fadtk(folders, weights),
                 "peer": lambda: time_fadtk(args.fadtk_python, folders, weights, work)}
        peer_name, out = "fadtk 1.1.0", args.out or ROOT / "bench" / "results" / "audio_fadtk.md"
        warm_up = " and a warm-up clip"
    else:
        tools = {"frechet": lambda: time_frechet(folders, work),
                 "peer": lambda: time_peer(args.peer_python, args.torchvggish_hub, folders, work)}
        peer_name, out = "frechet-audio-distance 0.3.4", args.out or ROOT / "bench" / "results" / "audio.md"
        warm_up = ""
    load_before = os.getloadavg()
    best: dict[str, dict[str, float]] = {"frechet": {}, "peer": {}}
    for _ in range(args.rounds):
        for tool, timed in tools.items():
            for key, seconds in timed().items():
                best[tool][key] = min(best[tool].get(key, float("inf")), seconds)
    audio_seconds = args.clips * args.seconds
    lines = [
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, shared with other jobs (load average "
        f"{load_before[0]:.1f} before, {os.getloadavg()[0]:.1f} after); torch threads = cores for both tools.",
        f"Inputs: {args.clips} clips of {args.seconds:g} s per folder (16-bit WAV); same random weights for both "
        "tools;",
        f"best of {args.rounds} alternating rounds; model loading{warm_up} not timed. Peer: {peer_name}.",
        "",
        f"| embedder | input | frechet | {peer_name.split()[0]} | audio s / s (frechet) | audio s / s (peer) "
        "| speed-up |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for key in best["frechet"]:
        ours, peer = best["frechet"][key], best["peer"][key]
        name, label = key.split("/")
        lines.append(f"| {name} | {label} | {ours:.2f} s | {peer:.2f} s | {audio_seconds / ours:.1f} | "
                     f"{audio_seconds / peer:.1f} | {peer / ours:.2f}× |")
    text = "\n".join(lines) + "\n"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    print(text)


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--as-peer":
        _peer_main(sys.argv[2])
    elif len(sys.argv) == 3 and sys.argv[1] == "--as-fadtk":
        _fadtk_main(sys.argv[2])
    else:
        main()
