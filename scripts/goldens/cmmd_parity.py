"""Parity goldens for CMMD: google-research's own ``cmmd`` code (JAX, with scenic's Flax CLIP) run on the same
random ViT-L/14@336px-layout weights and generated images as scripts/goldens/clip_parity.py.

Needs a venv with jax, flax, tensorflow-cpu, torch, Pillow, absl-py and tqdm, and the reference code on disk:
CMMD_SRC (default /tmp/cmmd-src) holding google-research's ``cmmd/`` package and scenic's ``scenic/`` package
(``scenic/projects/baselines/clip/{model,layers,download}.py`` and the ``__init__.py`` files above them). Run:
    CMMD_SRC=/tmp/cmmd-src flock /tmp/frechet-heavy.lock VENV/bin/python scripts/goldens/cmmd_parity.py
then scripts/goldens/clip_parity.py (which adds CMMD's embeddings to its mode-separation table).
Writes tests/goldens/clip/cmmd.json and tests/goldens/clip/cmmd_embeddings.npz.

What runs as published: the image listing, centre crop and Pillow resize, tf.data batching with its dropped
remainder, /255, ``jax.image.resize`` and CLIP normalisation, the Flax CLIP forward pass with L2 normalisation,
and ``distance.mmd``. What is substituted: the two loading calls. ``clip.MODELS['vit_l14_336px']`` builds scenic's
``layers.CLIP`` with the reduced tower's sizes (its published config hard-codes the full model), and
``clip.load_model_vars`` returns scenic's own ``_convert_vars`` of the random OpenAI-layout state dict (float16
arrays, as its converter gets them from OpenAI's checkpoint) instead of downloading OpenAI's file.

``distance.mmd`` is also run on the embeddings with JAX's 64-bit mode (in a child process), which gives the
estimator's exact value without float32 rounding, for the ``mmd`` metric's own golden.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
GOLDENS = ROOT / "tests" / "goldens" / "clip"
MODEL = "clip-vitl14-336"


def _load(path: Path, name: str):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def main() -> None:
    source = Path(os.environ.get("CMMD_SRC", "/tmp/cmmd-src"))
    sys.path[:0] = [str(source), str(ROOT / "plugins" / "frechet_clip")]
    synthetic = _load(ROOT / "tests" / "plugins" / "clip" / "clip_random_weights.py", "clip_random_weights")
    images = _load(ROOT / "tests" / "plugins" / "inception" / "inception_random_weights.py", "inception_random_weights")
    from cmmd import distance, embedding, io_util, main as cmmd_main
    from scenic.projects.baselines.clip import layers, model as scenic_clip

    shape = synthetic.SMALL_SHAPES[MODEL]
    state = {key: value.numpy() for key, value in synthetic.random_clip_state(shape).items()}
    scenic_clip.MODELS["vit_l14_336px"] = lambda: layers.CLIP(
        vocab_size=state["token_embedding.weight"].shape[0], embed_dim=shape.output_dim,
        text_features=state["ln_final.weight"].shape[0], text_num_heads=1, text_num_layers=1,
        vision_features=shape.width, vision_num_layers=shape.layers, vision_patch_size=shape.patch,
    )
    scenic_clip.load_model_vars = lambda *args, **kwargs: scenic_clip._convert_vars(dict(state))

    work = Path(tempfile.mkdtemp(prefix="frechet-cmmd-parity-"))
    folders = {}
    for variant, (side, count) in enumerate(synthetic.IMAGE_COUNTS.items()):
        folders[side] = work / side
        images.write_image_set(folders[side], count, seed=synthetic.IMAGE_SEED, variant=variant,
                               sizes=synthetic.IMAGE_SIZES)
    value = float(cmmd_main.compute_cmmd(str(folders["real"]), str(folders["fake"]), batch_size=32))
    model = embedding.ClipEmbeddingModel()
    embeddings = {side: io_util.compute_embeddings_for_dir(str(folders[side]), model, 32) for side in folders}
    recomputed = float(distance.mmd(embeddings["real"], embeddings["fake"]))
    np.savez_compressed(work / "embeddings.npz", **embeddings)
    exact = json.loads(subprocess.run(
        [sys.executable, __file__, "--x64", str(work / "embeddings.npz")], check=True, capture_output=True,
        text=True, env={**os.environ, "JAX_ENABLE_X64": "1"},
    ).stdout.strip().splitlines()[-1])
    golden = {
        "about": "scripts/goldens/cmmd_parity.py: google-research cmmd's own CMMD and embeddings with random weights",
        "versions": versions(source),
        "weights": {"model": MODEL, "shape": vars(shape), "tensors_sha256": synthetic.state_sha256(
            synthetic.random_clip_state(shape))},
        "images": {"seed": synthetic.IMAGE_SEED, "counts": synthetic.IMAGE_COUNTS},
        "batch_size": 32,
        "kept": {side: len(rows) for side, rows in embeddings.items()},
        "embedding_dtype": str(embeddings["real"].dtype),
        "embedding_norms_max_abs_dev": float(max(np.abs(np.linalg.norm(e, axis=1) - 1).max()
                                                 for e in embeddings.values())),
        "cmmd": value,
        "cmmd_from_stored_embeddings": recomputed,
        "mmd_float64": exact,
    }
    GOLDENS.mkdir(parents=True, exist_ok=True)
    (GOLDENS / "cmmd.json").write_text(json.dumps(golden, indent=1) + "\n")
    np.savez_compressed(GOLDENS / "cmmd_embeddings.npz", **{s: e.astype(np.float32) for s, e in embeddings.items()})
    print(json.dumps(golden, indent=1))


def x64_distances(path: str) -> None:
    """CMMD's ``distance.mmd`` in JAX's 64-bit mode on the stored embeddings, and on them scaled by 5 (norms
    comparable with σ, where the kernel is far from saturated): one JSON line."""
    import jax

    from cmmd import distance

    assert jax.config.jax_enable_x64
    with np.load(path) as npz:
        real, fake = npz["real"].astype(np.float64), npz["fake"].astype(np.float64)
    print(json.dumps({"embeddings": float(distance.mmd(real, fake)),
                      "embeddings_times_5": float(distance.mmd(5 * real, 5 * fake))}))


def versions(source: Path) -> dict:
    from importlib.metadata import version

    packages = ("jax", "jaxlib", "flax", "tensorflow-cpu", "Pillow", "numpy")
    found = {name: version(name) for name in packages}
    for repo in ("cmmd", "scenic"):
        head = subprocess.run(["git", "-C", str(source / repo), "rev-parse", "HEAD"], capture_output=True, text=True)
        found[f"{repo}_source"] = head.stdout.strip() or os.environ.get(f"{repo.upper()}_COMMIT", "unrecorded")
    return found


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--x64":
        sys.path[:0] = [os.environ.get("CMMD_SRC", "/tmp/cmmd-src")]
        x64_distances(sys.argv[2])
    else:
        main()
