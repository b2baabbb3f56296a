"""The folder documented blocks run in: tiny inputs under the names the docs use (real/, fake/, real.npy, …), the
project's Python and ``frechet`` first on PATH, offline, with stand-in weights (``standins/``) and one feature cache
for the whole session, so the same images are embedded once however many blocks score them."""

from __future__ import annotations

import importlib.util
import io
import os
import shutil
import subprocess
import sys
import wave
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
import torch
from PIL import Image

from docblocks import BLOCK_TIMEOUT, REPO

STANDINS = Path(__file__).resolve().parent / "standins"
#: Image folders of the docs: name -> (items, height, width, style). real/ and fake/ have 32 items, the fewest
#: for which every documented metric runs (CMMD's batch of 32; fd-inf's 15 subset sizes need 20).
_IMAGE_FOLDERS = {
    "real": (32, 48, 48, "smooth"), "fake": (32, 48, 48, "noisy"),
    "real_panels": (6, 96, 32, "smooth"), "generated_panels": (6, 96, 32, "noisy"),
    "model_a_samples": (6, 96, 32, "noisy"), "model_b_samples": (6, 96, 32, "smooth"),
    "other_panels": (6, 96, 32, "noisy"),
}
#: Folders holding the same images as another (the feature cache serves them from the first one's shards).
_SAME_AS = {"dataset": "real", "samples": "fake"}
_AUDIO_FOLDERS = {"background": 0.0, "eval": 0.3, "real_audio": 0.0, "fake_audio": 0.3}
#: Example image folders the docs read (examples/images/NAME), cut to their first images: the sanity guide embeds
#: every real one 31 times with Inception. 13 a side is the fewest with which the README's ``--kid-subset-size 12``
#: draws subsets that differ (with 12 a side, KID would warn that every subset is the same).
_EXAMPLE_IMAGES = {"real": 13, "fake": 13}
#: Pages whose folder keeps fewer example images still: the sanity guide damages examples/images/real at every level
#: of every disturbance (26 Inception passes a run, three runs); its curves, verdicts, plots and KID (whose 10 subsets
#: need 5 items) come out of 6 images as out of 13.
_PAGE_EXAMPLE_IMAGES = {"docs/guide/sanity.md": 6}
#: Inception statistics files the docs name, each the statistics of real/.
_INCEPTION_STATS = ("ref.npz", "mine.npz", "stats/cifar10-train.npz")


@pytest.fixture(scope="session")
def example_plugin(tmp_path_factory) -> Path:
    """The example plugin (``plugins/frechet-webtoon-example``) installed into a folder of its own, as the guides
    have the reader install it; built from a copy, so nothing is written into the checkout."""
    root = tmp_path_factory.mktemp("example-plugin")
    source = shutil.copytree(REPO / "plugins" / "frechet-webtoon-example", root / "source",
                             ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation", "--no-index",
                    "--target", str(root / "site"), str(source)], check=True, capture_output=True)
    return root / "site"


@pytest.fixture(scope="session")
def docs_env(tmp_path_factory, example_plugin) -> dict[str, str]:
    """The environment of every block: offline, stand-in weights, one session-wide feature cache, homes in temp,
    the example plugin installed."""
    root = tmp_path_factory.mktemp("docs-env")
    env = {key: value for key, value in os.environ.items() if not key.startswith(("FRECHET_", "PYTHON"))}
    env.update({
        "PATH": os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "/usr/bin:/bin")]),
        "PYTHONPATH": os.pathsep.join([str(STANDINS), str(example_plugin)]),
        "FRECHET_OFFLINE": "1",
        "FRECHET_WEIGHTS_DIR": str(root / "weights"),
        "FRECHET_CACHE_DIR": str(root / "feature-cache"),
        "TORCH_HOME": str(root / "torch"),
        "XDG_CACHE_HOME": str(root / "xdg-cache"),
        "MPLCONFIGDIR": str(root / "matplotlib"),
        "MPLBACKEND": "Agg",
        "PYTHONDONTWRITEBYTECODE": "1",
        "DOCS_REPO": str(REPO),
    })
    return env


@pytest.fixture(scope="session")
def docs_inputs(tmp_path_factory, docs_env) -> Path:
    """The inputs every page's folder starts with (its files are hard links to these)."""
    root = tmp_path_factory.mktemp("docs-inputs")
    rng = np.random.default_rng(20)
    for name, (count, height, width, style) in _IMAGE_FOLDERS.items():
        folder = root / name
        folder.mkdir()
        for index in range(count):
            Image.fromarray(_image(rng, height, width, style)).save(folder / f"{index:03d}.png")
    for name, original in _SAME_AS.items():
        shutil.copytree(root / original, root / name)
    for name, noise in _AUDIO_FOLDERS.items():
        _write_audio_folder(root / name, rng, noise)
    _write_features(root, rng)
    _write_adm_batch(root / "samples.npz", rng)
    _write_torchscript(root / "webtoon_encoder.pt")
    _standins().dinov2(root / "dinov2_vitl14_pretrain.pth")
    _standins().wd_tagger(root / "wd-vit-tagger-v3.safetensors")
    subprocess.run([sys.executable, "-c", "import torch, frechet_webtoon_example as w; "
                    "torch.save(w.PanelNet(dims=64).state_dict(), 'panelnet.pth')"],
                   cwd=root, env=docs_env, check=True, capture_output=True)
    shutil.copytree(REPO / "examples", root / "examples")
    for name, count in _EXAMPLE_IMAGES.items():
        for extra in sorted((root / "examples" / "images" / name).iterdir())[count:]:
            extra.unlink()
    shutil.copytree(REPO / "plugins" / "frechet-webtoon-example", root / "plugins" / "frechet-webtoon-example",
                    ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
    _embed_once(root, docs_env)
    return root


def _image(rng: np.random.Generator, height: int, width: int, style: str) -> np.ndarray:
    """A colour gradient with a rectangle; "noisy" images are blurred by noise, as a weak generator's might be."""
    ramp = np.linspace(0.0, 1.0, height)[:, None, None]
    image = rng.uniform(0, 255, 3) * (1 - ramp) + rng.uniform(0, 255, 3) * ramp
    image = np.broadcast_to(image, (height, width, 3)).copy()
    top, left = rng.integers(0, height // 2), rng.integers(0, width // 2)
    image[top : top + height // 3, left : left + width // 3] = rng.uniform(0, 255, 3)
    if style == "noisy":
        image += rng.normal(0, 40, image.shape)
    return np.clip(image, 0, 255).astype(np.uint8)


def _write_audio_folder(folder: Path, rng: np.random.Generator, noise: float) -> None:
    """Three 2-second 16 kHz mono WAV clips: tones, with noise in the "generated" folders."""
    folder.mkdir()
    rate = 16_000
    time = np.arange(2 * rate) / rate
    for index in range(3):
        signal = 0.3 * np.sin(2 * np.pi * rng.uniform(200, 900) * time) + noise * rng.standard_normal(time.size)
        with wave.open(str(folder / f"clip{index}.wav"), "wb") as handle:
            handle.setnchannels(1)
            handle.setsampwidth(2)
            handle.setframerate(rate)
            handle.writeframes((np.clip(signal, -1, 1) * 32767).astype("<i2").tobytes())


def _write_features(root: Path, rng: np.random.Generator) -> None:
    """Feature files: real.npy/fake.npy (600 × 16), b_features.npy, and a_stats.npz (statistics of 16-d rows)."""
    from frechet.stats import FeatureStats

    np.save(root / "real.npy", rng.standard_normal((600, 16)).astype(np.float32))
    np.save(root / "fake.npy", (rng.standard_normal((600, 16)) * 1.2 + 0.3).astype(np.float32))
    np.save(root / "b_features.npy", rng.standard_normal((100, 16)))
    FeatureStats.from_features(rng.standard_normal((100, 16)) + 0.5).save(root / "a_stats.npz")


def _write_adm_batch(path: Path, rng: np.random.Generator) -> None:
    """An ADM evaluator sample batch: ``arr_0``, uint8 (10, 32, 32, 3)."""
    np.savez(path, arr_0=np.stack([_image(rng, 32, 32, "noisy") for _ in range(10)]))


def _standins() -> ModuleType:
    """The stand-in writers the documented blocks' processes use (``standins/docs_standins.py``)."""
    spec = importlib.util.spec_from_file_location("docs_standins", STANDINS / "docs_standins.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _write_torchscript(path: Path) -> None:
    """A TorchScript image encoder of any input size: (B, 3, H, W) -> (B, 8)."""
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3, stride=2), torch.nn.ReLU(), torch.nn.AdaptiveAvgPool2d(1),
                                torch.nn.Flatten()).eval()
    buffer = io.BytesIO()
    torch.jit.save(torch.jit.script(model), buffer)
    path.write_bytes(buffer.getvalue())


def _embed_once(root: Path, env: dict[str, str]) -> None:
    """Fill the session's feature cache with every Inception output the docs' runs on real/ and fake/ read, and
    write the Inception statistics files the docs name."""
    commands = [
        ["frechet", "compute", "real/", "fake/", "--metrics", "kid,is,sfid", "--kid-subset-size", "5", "--quiet"],
        ["frechet", "stats", "real/", "-o", _INCEPTION_STATS[0], "--quiet"],
    ]
    for command in commands:
        done = subprocess.run(command, cwd=root, env=env, capture_output=True, text=True, timeout=BLOCK_TIMEOUT,
                              check=False)
        assert done.returncode == 0, f"{' '.join(command)} failed:\n{done.stderr[-3000:]}"
    for name in _INCEPTION_STATS[1:]:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(root / _INCEPTION_STATS[0], root / name)


class _PageFolders(dict):
    """page -> the folder its blocks run in, made on first use from the inputs (hard links: nothing is copied)."""

    def __init__(self, root: Path, inputs: Path) -> None:
        super().__init__()
        self.root, self.inputs = root, inputs

    def __missing__(self, page: Path) -> Path:
        name = page.relative_to(REPO).as_posix()
        folder = self.root / name.replace("/", "__")
        shutil.copytree(self.inputs, folder, copy_function=os.link)
        if name in _PAGE_EXAMPLE_IMAGES:
            for side in _EXAMPLE_IMAGES:
                for extra in sorted((folder / "examples" / "images" / side).iterdir())[_PAGE_EXAMPLE_IMAGES[name]:]:
                    extra.unlink()
        self[page] = folder
        return folder


@pytest.fixture(scope="session")
def page_folders(tmp_path_factory, docs_inputs) -> dict[Path, Path]:
    """page -> the folder its blocks run in, in order, as a reader following the page would."""
    return _PageFolders(tmp_path_factory.mktemp("docs-pages"), docs_inputs)
