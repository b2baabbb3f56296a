"""Offline stand-ins for the files frechet downloads, for the documented blocks the tests run: deterministic random
weights in each model's published key layout, and random reference statistics in each reference's file format.

A stand-in is made on first use in the weights folder (``FRECHET_WEIGHTS_DIR``), under the canonical file name, with
a ``NAME.standin`` mark beside it; :func:`patch` lets such a file pass the checksum of the file it stands for. Nothing
is made while ``FRECHET_MIRROR`` is set, so a block that serves files through a mirror gets them from the mirror.
To let documented blocks use a new embedder's weights, add its file name and a writer to ``WEIGHTS``.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import importlib.util
import os
import pickle
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from types import ModuleType

import numpy as np

TESTS = Path(__file__).resolve().parents[2]
MARK = ".standin"


# ---------------------------------------------------------------------------------------------------- weights
def _helpers(relative: str) -> ModuleType:
    """A test helper module (random weights in a published layout), loaded by its path under tests/."""
    path = TESTS / relative
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _inception(path: Path) -> None:
    import torch
    from frechet_inception.network import state_dict_layout

    weights = _helpers("plugins/inception/inception_random_weights.py")
    torch.save(weights.random_state_dict(state_dict_layout()), path)


def _vggish(path: Path) -> None:
    import torch

    torch.save(_helpers("plugins/audio/audio_random_weights.py").vggish_state(), path)


def _vggish_pca(path: Path) -> None:
    import torch

    torch.save(_helpers("plugins/audio/audio_random_weights.py").vggish_pca_arrays(), path)


def _pann(path: Path) -> None:
    import torch
    from frechet_audio.pann import Cnn14

    weights = _helpers("plugins/audio/audio_random_weights.py")
    fresh = Cnn14().state_dict()
    front_end = {key: fresh[key] for key in weights.PANN_FRONT_END_KEYS}
    torch.save({"model": {**front_end, **weights.pann_learned_state()}, "iteration": 0}, path)


def _clip(tower: str, path: Path) -> None:
    """A CLIP state dict with the published tower's widths, patch and resolution, but one block (fast to run)."""
    import dataclasses

    import torch
    from frechet_clip import network

    weights = _helpers("plugins/clip/clip_random_weights.py")
    torch.save(weights.random_clip_state(dataclasses.replace(getattr(network, tower), layers=1)), path)


def _encodec(variant: str, path: Path) -> None:
    import torch

    torch.save(_helpers("plugins/audio/audio_random_weights.py").encodec_encoder_state(variant), path)


def _clap(path: Path) -> None:
    """A LAION-CLAP checkpoint as published, with the reduced HTS-AT tower (the tower's size is read from the file)."""
    import torch

    weights = _helpers("plugins/audio/clap_random_weights.py")
    torch.save(weights.checkpoint(weights.REDUCED), path)


def dinov2(path: Path) -> None:
    """A DINOv2 ViT-L/14 state dict in the hub's layout with one block (the docs pass it with ``--weights``)."""
    import torch
    from frechet_dinov2.network import ARCHITECTURES, state_dict_layout

    weights = _helpers("plugins/dinov2/dinov2_random_weights.py")
    torch.save(weights.random_state_dict(state_dict_layout(ARCHITECTURES["vitl14"], 1)), path)


def wd_tagger(path: Path) -> None:
    """A WD ViT tagger v3 file in the repository's safetensors layout with one of its 12 blocks and 7 tags (the docs
    pass it with ``--weights``: a file with fewer blocks is read as such)."""
    import torch
    from frechet_webtoon.tagger_network import ARCHITECTURES, build_network

    fixtures = _helpers("plugins/webtoon/tagger_fixtures.py")
    with torch.device("meta"):
        shapes = {key: tuple(value.shape) for key, value in build_network(ARCHITECTURES["vit"]).state_dict().items()}
    shapes = {key: (7, *shape[1:]) if key.startswith("head.") else shape for key, shape in shapes.items()
              if not key.startswith("blocks.") or key.startswith("blocks.0.")}
    fixtures.write_safetensors(path, fixtures.random_state(shapes, 29))


#: Canonical weights file name -> a writer of its stand-in.
WEIGHTS: dict[str, Callable[[Path], None]] = {
    "pt_inception-2015-12-05-6726825d.pth": _inception,
    "vggish-10086976.pth": _vggish,
    "vggish_pca_params-970ea276.pth": _vggish_pca,
    "Cnn14_16k_mAP=0.438.pth": _pann,
    "clip-vit-b-32-40d365715913c9da98579312b702a82c18be219cc2a73407c4526f58eba950af.pt":
        functools.partial(_clip, "VIT_B_32"),
    "clip-vit-l-14-b8cca3fd41ae0c99ba7e8951adf17d267cdb84cd88be6f7c2e0eca1737a03836.pt":
        functools.partial(_clip, "VIT_L_14"),
    "clip-vit-l-14-336px-3035c92b350959924f9f00213499208652fc7ea050643e8b385c2dac08641f02.pt":
        functools.partial(_clip, "VIT_L_14_336"),
    "encodec_24khz-d7cc33bc.th": functools.partial(_encodec, "24k"),
    "encodec_48khz-7e698e3e.th": functools.partial(_encodec, "48k"),
    "630k-audioset-best.pt": _clap,
    "music_audioset_epoch_15_esc_90.14.pt": _clap,
}


# ---------------------------------------------------------------------------------------------------- references
def _moments(dim: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """A mean and a full-rank covariance of plausible size for non-negative features."""
    spread = rng.standard_normal((dim, 32)) * 0.05
    return {"mu": rng.uniform(0.0, 0.5, dim), "sigma": spread @ spread.T + np.eye(dim) * 0.01}


def _reference(name: str, path: Path) -> None:
    from frechet.reference_files import ADM_SPATIAL_DIM
    from frechet.references import CATALOGUE

    first = CATALOGUE[name]
    same_file = [ref for ref in CATALOGUE.values() if ref.spec.file_name == first.spec.file_name]
    rng = np.random.default_rng(sum(map(ord, name)))
    dims = {reference.key: reference.dim for reference in same_file}  # what the catalogue checks a download against
    with open(path, "wb") as handle:
        if first.format == "stats-npz":
            np.savez(handle, **_moments(dims[None], rng))
        elif first.format == "adm-batch":
            height, width = map(int, first.resolution.split("x"))
            images = rng.integers(0, 256, (8, height, width, 3), dtype=np.uint8)
            spatial = {f"{key}_s": value for key, value in _moments(ADM_SPATIAL_DIM, rng).items()}
            np.savez(handle, arr_0=images, **_moments(dims[None], rng), **spatial)
        elif first.format == "edm2-pkl":
            counts = {"num_images": first.items} if first.items else {}
            pickle.dump({**counts, **{key: _moments(dim, rng) for key, dim in dims.items()}}, handle)
        else:
            raise ValueError(f"no stand-in for reference format {first.format}")


# ---------------------------------------------------------------------------------------------------- the patch
def writer(spec) -> Callable[[Path], None] | None:
    """How to make the stand-in of a spec's file, or None when there is none."""
    if spec.kind == "reference statistics":
        return functools.partial(_reference, spec.name.removeprefix("ref:"))
    return WEIGHTS.get(spec.file_name)


def provide(specs: Sequence, folder: Path) -> None:
    """Make the stand-in of the file ``specs`` name in ``folder``, unless a copy is there already."""
    if any((folder / spec.file_name).is_file() for spec in specs):
        return
    write = writer(specs[0])
    if write is None:
        return
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / specs[0].file_name
    with _locked(folder / ".standins.lock"):
        if target.is_file():
            return
        temporary = target.with_name(f".{target.name}.{os.getpid()}.part")
        write(temporary)
        target.with_name(target.name + MARK).touch()
        os.replace(temporary, target)


def is_standin(path: Path) -> bool:
    """True for a file :func:`provide` made."""
    return Path(path).with_name(Path(path).name + MARK).is_file()


def patch(weights: ModuleType) -> None:
    """Make ``frechet.weights`` provide stand-ins and accept them in place of the files they stand for."""
    resolve, verify = weights.resolve_weights, weights.verify

    @functools.wraps(resolve)
    def resolve_weights(specs, path=None, **options):
        if path is None and not weights.mirror():
            provide(weights._as_specs(specs), weights.weights_dir())
        return resolve(specs, path, **options)

    @functools.wraps(verify)
    def verify_unless_standin(path, spec):
        if not is_standin(path) or spec.expected_hash is None:  # a file without a published checksum: pinned as is
            verify(path, spec)

    weights.resolve_weights, weights.verify = resolve_weights, verify_unless_standin


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
