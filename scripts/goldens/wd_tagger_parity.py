"""Parity goldens for the ``wd-*-tagger-v3`` embedders, made by the reference inference code itself with the same
deterministic random weights in the published layout: SmilingWolf's ``wdv3_timm.py`` (neggles/wdv3-timm at
2f49e85, the model card's timm example) — its ``pil_ensure_rgb`` / ``pil_pad_square``, timm's ``create_transform``
of the model's ``pretrained_cfg``, the RGB→BGR flip, and timm's model run to ``forward_head(pre_logits=True)``.

Run in the reference venv (it has timm and torchvision), then with frechet's own Python for the full-size check:

    flock /tmp/frechet-heavy.lock $(/work/shared/refenv.sh backbones) scripts/goldens/wd_tagger_parity.py [NAME ...]
    flock /tmp/frechet-heavy.lock python scripts/goldens/wd_tagger_parity.py --frechet [NAME ...]

NAME (vit, convnext, swinv2, eva02-large; all when none is given) limits a run to those architectures; the entries
of the others are kept as they are.

It writes into tests/goldens/wd_tagger/:
parity.json  -- versions; per architecture the timm model and arguments, the sha256 of the random tensors, per panel
                the sha256 of the reference network input, its FD between two panel sets in float64, and the
                full-size check (the published architecture, all blocks, random weights): its key layout, and
                (second step) frechet's network input and features against timm's.
features.npz -- per architecture the reference pooled features of both panel sets, and of two panels at full size.
Weights and panels are not kept: the tests regenerate them from the same seeds (tests/plugins/webtoon/
tagger_fixtures.py). timm loads the safetensors file with its own ``load_state_dict(strict=True)``, which proves the
key layout; the reduced-size models differ from the published ones only in width, depth, heads and tag count.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path
import tempfile

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
GOLDENS = ROOT / "tests" / "goldens" / "wd_tagger"
sys.path.insert(0, str(ROOT / "tests" / "plugins" / "webtoon"))
import tagger_fixtures as fixtures  # noqa: E402

#: The published config.json of each repository: timm architecture and model arguments, and the pretrained_cfg the
#: reference transform is built from.
PRETRAINED_CFG = {"input_size": (3, 448, 448), "interpolation": "bicubic", "crop_pct": 1.0, "crop_mode": "center",
                  "mean": (0.5, 0.5, 0.5), "std": (0.5, 0.5, 0.5)}
VIT_ARGS = {"img_size": 448, "class_token": False, "global_pool": "avg", "fc_norm": False, "act_layer": "gelu_tanh"}
MODELS = {
    "vit": ("vit_base_patch16_224", VIT_ARGS, {"embed_dim": fixtures.TINY_VIT["width"],
                                                "depth": fixtures.TINY_VIT["depth"],
                                                "num_heads": fixtures.TINY_VIT["heads"]}),
    "convnext": ("convnext_base", {"act_layer": "gelu_tanh"},
                 {"depths": fixtures.TINY_CONVNEXT["depths"], "dims": fixtures.TINY_CONVNEXT["dims"]}),
    "swinv2": ("swinv2_base_window8_256", {"img_size": 448, "window_size": 14, "act_layer": "gelu_tanh"},
               {"embed_dim": fixtures.TINY_SWINV2["dims"][0], "depths": fixtures.TINY_SWINV2["depths"],
                "num_heads": fixtures.TINY_SWINV2["stage_heads"]}),
    "eva02-large": ("eva02_large_patch14_448", {"img_size": 448, "ref_feat_shape": (32, 32)},
                    {"embed_dim": fixtures.TINY_EVA02["width"], "depth": fixtures.TINY_EVA02["depth"],
                     "num_heads": fixtures.TINY_EVA02["heads"]}),
}
FULL = {name: 10861 for name in MODELS}
SEEDS = {"vit": 29, "convnext": 30, "swinv2": 31, "eva02-large": 32}
REAL_SEED, FAKE_SEED, COUNT = 1, 2, 24


def reference_input(model, image: np.ndarray):
    """wdv3_timm.py's preprocessing of one decoded panel (a Pillow RGB image of it)."""
    from PIL import Image
    from timm.data import create_transform, resolve_data_config

    picture = Image.fromarray(image)
    if picture.mode not in ("RGB", "RGBA"):
        picture = picture.convert("RGB")
    side = max(picture.size)
    canvas = Image.new("RGB", (side, side), (255, 255, 255))
    canvas.paste(picture, ((side - picture.size[0]) // 2, (side - picture.size[1]) // 2))
    transform = create_transform(**resolve_data_config(model.pretrained_cfg, model=model))
    return transform(canvas).unsqueeze(0)[:, [2, 1, 0]]


def build(timm, name: str, full: bool, seed: int, work: Path):
    """timm's model for ``name`` (reduced or full size), with random weights loaded from a safetensors file by
    timm's own loader; returns the model and the tensors' digest."""
    import torch

    architecture, args, reduced = MODELS[name]
    classes = FULL[name] if full else fixtures.TINY_CLASSES
    model = timm.create_model(architecture, pretrained=False, num_classes=classes,
                              pretrained_cfg_overlay=PRETRAINED_CFG, **args, **({} if full else reduced))
    shapes = {key: tuple(value.shape) for key, value in model.state_dict().items()}
    state = fixtures.random_state(shapes, seed)
    path = work / f"{name}.safetensors"
    fixtures.write_safetensors(path, state)
    model.load_state_dict(timm.models.load_state_dict(str(path)), strict=True)
    digest = hashlib.sha256(b"".join(state[key].tobytes() for key in sorted(state))).hexdigest()
    return model.eval(), digest, state


def features(model, images) -> tuple[np.ndarray, list[str]]:
    import torch

    rows, digests = [], []
    with torch.inference_mode():
        for image in images:
            x = reference_input(model, image)
            digests.append(hashlib.sha256(x.numpy().tobytes()).hexdigest())
            rows.append(model.forward_head(model.forward_features(x), pre_logits=True)[0].double().numpy())
    return np.stack(rows), digests


def exact_fd(a: np.ndarray, b: np.ndarray) -> float:
    """FD in float64 with SciPy's sqrtm (N > d here, so both covariances are full rank)."""
    from scipy import linalg

    mu1, mu2 = a.mean(0), b.mean(0)
    s1, s2 = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    root = linalg.sqrtm(s1 @ s2).real
    return float(((mu1 - mu2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2 * np.trace(root))


def full_size_reference(timm, name: str, work: Path) -> tuple[dict, dict[str, np.ndarray]]:
    """The published architecture, every block and all 10861 tags, random weights: timm's network inputs and
    pooled features of two panels, for :func:`full_size_check` to compare frechet's network with."""
    import torch

    model, digest, _ = build(timm, name, True, SEEDS[name] + 100, work)
    inputs, outputs = [], []
    with torch.inference_mode():
        for image in fixtures.panel_set(REAL_SEED, 2):
            x = reference_input(model, image)
            inputs.append(hashlib.sha256(x.numpy().tobytes()).hexdigest())
            outputs.append(model.forward_head(model.forward_features(x), pre_logits=True)[0].double().numpy())
    layout = fixtures.layout_sha256({key: tuple(value.shape) for key, value in model.state_dict().items()})
    found = {"timm_model": MODELS[name][0], "args": MODELS[name][1], "classes": FULL[name], "panels": 2,
             "seed": SEEDS[name] + 100, "tensors_sha256": digest, "layout_sha256": layout, "input_sha256": inputs}
    return found, {f"{name}/full": np.stack(outputs)}


def full_size_check(names: list[str]) -> None:
    """Run with frechet's own environment after the reference run: frechet's full-size networks and inputs against
    timm's (recorded in parity.json and features.npz); adds the agreement to parity.json."""
    import torch

    from frechet_webtoon import tagger_network, tagger_preprocess

    report = json.loads((GOLDENS / "parity.json").read_text(encoding="utf-8"))
    with np.load(GOLDENS / "features.npz") as data:
        theirs = {key: data[key] for key in data.files}
    for name in names:
        full = report[name]["full_size"]
        arch = tagger_network.ARCHITECTURES[name]
        model = tagger_network.build_network(arch)
        state = fixtures.random_state({key: tuple(v.shape) for key, v in model.state_dict().items()}, full["seed"])
        digest = hashlib.sha256(b"".join(state[key].tobytes() for key in sorted(state))).hexdigest()
        ours = tagger_network.load_network_state({k: torch.from_numpy(v) for k, v in state.items()}, arch, name)
        with torch.inference_mode():
            batch = torch.stack([tagger_preprocess.tagger_input(image, arch.image_size)
                                 for image in fixtures.panel_set(REAL_SEED, 2)])
            mine = ours(batch).double().numpy()
        inputs = [hashlib.sha256(x.numpy().tobytes()).hexdigest() for x in batch]
        full["frechet"] = {"same_tensors": digest == full["tensors_sha256"], "inputs_identical": inputs == full["input_sha256"],
                           "max_abs_diff": float(np.abs(mine - theirs[f"{name}/full"]).max()),
                           "feature_abs_max": float(np.abs(theirs[f"{name}/full"]).max())}
        print(name, full["frechet"])
        assert full["frechet"]["same_tensors"] and full["frechet"]["inputs_identical"]
        assert full["frechet"]["max_abs_diff"] < 1e-4
    (GOLDENS / "parity.json").write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")


def main(names: list[str]) -> None:
    import PIL
    import scipy
    import timm
    import torch
    import torchvision

    GOLDENS.mkdir(parents=True, exist_ok=True)
    real, fake = fixtures.panel_set(REAL_SEED, COUNT), fixtures.panel_set(FAKE_SEED, COUNT)
    arrays, report = {}, {}
    if set(names) != set(MODELS):  # keep the other architectures' entries
        report = json.loads((GOLDENS / "parity.json").read_text(encoding="utf-8"))
        with np.load(GOLDENS / "features.npz") as data:
            arrays = {key: data[key] for key in data.files}
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        for name in names:
            model, digest, _ = build(timm, name, False, SEEDS[name], work)
            real_features, real_inputs = features(model, real)
            fake_features, fake_inputs = features(model, fake)
            arrays[f"{name}/real"], arrays[f"{name}/fake"] = real_features, fake_features
            report[name] = {
                "timm_model": MODELS[name][0], "args": MODELS[name][1], "reduced": MODELS[name][2],
                "classes": fixtures.TINY_CLASSES, "seed": SEEDS[name], "tensors_sha256": digest,
                "input_sha256": {"real": real_inputs, "fake": fake_inputs},
                "fd": exact_fd(real_features, fake_features),
            }
            report[name]["full_size"], full = full_size_reference(timm, name, work)
            arrays.update(full)
    report["versions"] = {"timm": timm.__version__, "torch": torch.__version__, "torchvision": torchvision.__version__,
                          "pillow": PIL.__version__, "scipy": scipy.__version__, "numpy": np.__version__}
    report["panels"] = {"real_seed": REAL_SEED, "fake_seed": FAKE_SEED, "count": COUNT,
                        "sizes": fixtures.PANEL_SIZES}
    report["pretrained_cfg"] = PRETRAINED_CFG
    np.savez(GOLDENS / "features.npz", **arrays)
    (GOLDENS / "parity.json").write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    print(json.dumps({name: report[name]["fd"] for name in names}, indent=1))


if __name__ == "__main__":
    check = sys.argv[1:2] == ["--frechet"]
    chosen = sys.argv[2:] if check else sys.argv[1:]
    unknown = set(chosen) - set(MODELS)
    if unknown:
        sys.exit(f"unknown architecture {', '.join(sorted(unknown))}; choose from {', '.join(MODELS)}")
    (full_size_check if check else main)(chosen or list(MODELS))
