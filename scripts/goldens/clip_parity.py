"""Parity goldens for the ``clip-*`` embedders: clean-fid's CLIP-FID and torch-fidelity's ``clip-*`` extractors, each
running the same deterministic random weights (OpenAI's full CLIP layout, float16 as published) on the same
generated images; CMMD's own reference is run by scripts/goldens/cmmd_parity.py.

Run in the reference venv (pluggy added so frechet's own modes can be shown beside the references):
    /tmp/frechet-refenv-backbones/bin/pip install pluggy
    flock /tmp/frechet-heavy.lock /tmp/frechet-refenv-backbones/bin/python scripts/goldens/clip_parity.py
Writes tests/goldens/clip/parity.json and tests/goldens/clip/features.npz (weights and images are made in a
temporary folder and not kept: the tests regenerate them from the same seeds).

How each reference runs with the random weights (its preprocessing, model code and FID are its own):
- The towers are reduced (width 128, 2 blocks, 32 output dims) but keep each published model's key layout, patch
  size and resolution; ``clip.model.build_model`` and torch-fidelity's ``build_model`` load them strictly.
- clean-fid: ``cleanfid.fid.compute_fid(model_name="clip_vit_b_32")``; the only substitution is ``clip.load``,
  pointed at the random state dict instead of OpenAI's download (``clip.load`` takes a state-dict file itself).
  Its GPU precision (OpenAI's model kept in float16, as ``clip.load`` leaves it off the CPU) is measured on the
  CPU by running clean-fid's pipeline with that float16 model.
- torch-fidelity: ``torch_fidelity.calculate_metrics(feature_extractor="clip-*")``; it only reads OpenAI's
  TorchScript archives, through ``torch.jit.load(...).state_dict()``, so that one call is substituted by an object
  whose ``state_dict()`` is the random state dict. Its resize, normalisation and network are untouched.
- frechet's features in every mode are computed here too, to show that the modes are far apart compared with the
  tolerance (the "separation" table): a wrong resize, crop rounding or normalisation is caught by the goldens.
"""

from __future__ import annotations

import json
import sys
import tempfile
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT), str(ROOT / "plugins"), str(ROOT / "tests" / "plugins" / "clip"),
                str(ROOT / "tests" / "plugins" / "inception")]
GOLDENS = ROOT / "tests" / "goldens" / "clip"
#: frechet name -> (clip package / clean-fid name, torch-fidelity name).
MODELS = {
    "clip-vitb32": ("ViT-B/32", "clip-vit-b-32"),
    "clip-vitl14": ("ViT-L/14", "clip-vit-l-14"),
    "clip-vitl14-336": ("ViT-L/14@336px", "clip-vit-l-14-336px"),
}


def exact_fd(a: np.ndarray, b: np.ndarray) -> float:
    """FD of two feature sets in float64 with an exact symmetric trace term."""
    a, b = a.astype(np.float64), b.astype(np.float64)
    ca, cb = a - a.mean(0), b - b.mean(0)
    trace_sqrt = np.linalg.svd(ca @ cb.T, compute_uv=False).sum() / np.sqrt((len(a) - 1) * (len(b) - 1))
    diff = a.mean(0) - b.mean(0)
    return float(diff @ diff + (ca * ca).sum() / (len(a) - 1) + (cb * cb).sum() / (len(b) - 1) - 2 * trace_sqrt)


def main() -> None:
    import torch
    from clip_random_weights import IMAGE_COUNTS, IMAGE_SEED, IMAGE_SIZES, SMALL_SHAPES, random_clip_state
    from clip_random_weights import state_sha256
    from inception_random_weights import write_image_set

    warnings.filterwarnings("ignore")
    work = Path(tempfile.mkdtemp(prefix="frechet-clip-parity-"))
    weights, states = {}, {}
    for name in MODELS:
        states[name] = random_clip_state(SMALL_SHAPES[name])
        weights[name] = work / f"{name}.pt"
        torch.save(states[name], weights[name])
    folders = {side: work / side for side in IMAGE_COUNTS}
    files = {
        side: write_image_set(folders[side], count, seed=IMAGE_SEED, variant=variant, sizes=IMAGE_SIZES)
        for variant, (side, count) in enumerate(IMAGE_COUNTS.items())
    }
    features: dict[str, np.ndarray] = {}
    references = {"clean-fid/clip-vitb32": run_clean_fid(folders, weights["clip-vitb32"], features)}
    for name, (_, fidelity_name) in MODELS.items():
        references[f"torch-fidelity/{name}"] = run_torch_fidelity(folders, files, fidelity_name, weights[name],
                                                                  features)
    ours = our_features(files, weights)
    cmmd = GOLDENS / "cmmd_embeddings.npz"
    if cmmd.is_file():  # CMMD's own embeddings, from scripts/goldens/cmmd_parity.py
        with np.load(cmmd) as npz:
            features["cmmd/clip-vitl14-336/real"], features["cmmd/clip-vitl14-336/fake"] = npz["real"], npz["fake"]
    golden = {
        "about": "scripts/goldens/clip_parity.py: clean-fid's and torch-fidelity's CLIP features and FD with the "
                 "same random weights",
        "versions": versions(),
        "weights": {name: {"shape": vars(SMALL_SHAPES[name]), "tensors_sha256": state_sha256(states[name]),
                           "entries": len(states[name])} for name in MODELS},
        "layout_checks": check_layouts(states),
        "file_formats": check_file_formats(states["clip-vitl14-336"], work),
        "images": {"seed": IMAGE_SEED, "counts": IMAGE_COUNTS, "sizes": [list(size) for size in IMAGE_SIZES]},
        "references": references,
        "separation": separation(features, ours),
    }
    GOLDENS.mkdir(parents=True, exist_ok=True)
    (GOLDENS / "parity.json").write_text(json.dumps(golden, indent=1) + "\n")
    np.savez_compressed(GOLDENS / "features.npz", **{k: v for k, v in features.items() if not k.startswith("cmmd")})
    print(json.dumps({"references": references, "separation": golden["separation"]}, indent=1))


def check_layouts(states) -> dict:
    """OpenAI's ``clip`` and torch-fidelity build their models from the state dicts strictly, with our key order."""
    import clip.model
    from clip_random_weights import visual_part
    from torch_fidelity.feature_extractor_clip import build_model as fidelity_build

    checks = {}
    for name, state in states.items():
        theirs = list(clip.model.build_model(dict(state)).visual.state_dict())
        fidelity = list(fidelity_build(dict(state), __import__("torch").float32).visual.state_dict())
        ours = list(visual_part(state))
        checks[name] = {"clip_keys_identical": theirs == ours, "torch_fidelity_keys_identical": fidelity == ours}
        assert all(checks[name].values()), checks
    return checks


def check_file_formats(state, work: Path) -> dict:
    """frechet reads the same tower from (a) a TorchScript archive of OpenAI's ``clip`` model, made as OpenAI made
    theirs (``torch.jit`` tracing of the whole model), without running it, and (b) a transformers
    ``CLIPVisionModelWithProjection`` saved as safetensors, whose own forward pass (fed the weights through a key
    mapping written here) must agree with OpenAI's model -- which checks that mapping, and frechet's reverse of it."""
    import clip.model
    import torch
    import transformers
    from frechet_clip.checkpoint import read_tower_state
    from frechet_clip.network import build_tower
    from clip_random_weights import visual_part

    model = clip.model.build_model(dict(state)).float().eval()
    resolution = model.visual.input_resolution
    images = torch.randn(2, 3, resolution, resolution, generator=torch.Generator().manual_seed(0))
    text = torch.zeros(1, model.context_length, dtype=torch.long)
    archive = work / "traced.pt"
    torch.jit.trace_module(model, {"forward": (images, text), "encode_image": (images,)}).save(str(archive))
    from_archive = read_tower_state(archive)
    expected = {key: value.float() for key, value in visual_part(state).items()}
    archive_equal = from_archive.keys() == expected.keys() and all(
        torch.equal(from_archive[key].float(), expected[key]) for key in expected
    )

    width, layers = model.visual.conv1.weight.shape[0], len(model.visual.transformer.resblocks)
    config = transformers.CLIPVisionConfig(
        hidden_size=width, intermediate_size=4 * width, num_hidden_layers=layers, num_attention_heads=width // 64,
        image_size=resolution, patch_size=model.visual.conv1.weight.shape[-1],
        projection_dim=model.visual.proj.shape[1],
        hidden_act="quick_gelu", layer_norm_eps=1e-5,
    )
    hf = transformers.CLIPVisionModelWithProjection(config).eval()
    hf.load_state_dict(_transformers_keys(expected, layers), strict=False)
    hf.save_pretrained(work / "hf", safe_serialization=True)
    with torch.no_grad():
        theirs = model.encode_image(images)
        via_transformers = hf(pixel_values=images).image_embeds
        ours = build_tower(read_tower_state(work / "hf" / "model.safetensors"))(images)
    found = {
        "torchscript_archive_tensors_equal": bool(archive_equal),
        "transformers_vs_clip_max_abs_diff": float((via_transformers - theirs).abs().max()),
        "frechet_from_transformers_safetensors_vs_clip_max_abs_diff": float((ours - theirs).abs().max()),
        "transformers": transformers.__version__,
    }
    assert archive_equal and found["frechet_from_transformers_safetensors_vs_clip_max_abs_diff"] < 1e-5, found
    return found


def _transformers_keys(tower, layers: int) -> dict:
    """OpenAI tower keys -> transformers' CLIPVisionModelWithProjection keys."""
    prefix = "vision_model."
    mapped = {
        f"{prefix}embeddings.patch_embedding.weight": tower["conv1.weight"],
        f"{prefix}embeddings.class_embedding": tower["class_embedding"],
        f"{prefix}embeddings.position_embedding.weight": tower["positional_embedding"],
        f"{prefix}pre_layrnorm.weight": tower["ln_pre.weight"], f"{prefix}pre_layrnorm.bias": tower["ln_pre.bias"],
        f"{prefix}post_layernorm.weight": tower["ln_post.weight"],
        f"{prefix}post_layernorm.bias": tower["ln_post.bias"],
        "visual_projection.weight": tower["proj"].T.contiguous(),
    }
    names = {"ln_1": "layer_norm1", "ln_2": "layer_norm2", "mlp.c_fc": "mlp.fc1", "mlp.c_proj": "mlp.fc2",
             "attn.out_proj": "self_attn.out_proj"}
    for index in range(layers):
        source, target = f"transformer.resblocks.{index}.", f"{prefix}encoder.layers.{index}."
        for kind in ("weight", "bias"):
            for part, chunk in zip("qkv", tower[f"{source}attn.in_proj_{kind}"].chunk(3)):
                mapped[f"{target}self_attn.{part}_proj.{kind}"] = chunk
            for ours, theirs in names.items():
                mapped[f"{target}{theirs}.{kind}"] = tower[f"{source}{ours}.{kind}"]
    return mapped


def run_clean_fid(folders, weights_path: Path, features) -> dict:
    import clip
    import clip.model
    import torch
    from cleanfid import fid as cleanfid
    from cleanfid.clip_features import CLIP_fx, img_preprocess_clip

    original_load = clip.load
    clip.load = lambda name, device="cpu", **kwargs: original_load(str(weights_path), device=device, **kwargs)
    options = {"num_workers": 0, "batch_size": 8, "device": torch.device("cpu"), "verbose": False}
    try:
        value = float(cleanfid.compute_fid(str(folders["real"]), str(folders["fake"]), mode="clean",
                                           model_name="clip_vit_b_32", **options))
        extractor = CLIP_fx("ViT-B/32", device=torch.device("cpu"))
        sides = {side: cleanfid.get_folder_features(str(folders[side]), extractor, mode="clean",
                                                    custom_fn_resize=img_preprocess_clip, **options)
                 for side in folders}
    finally:
        clip.load = original_load
    half = CLIP_fx.__new__(CLIP_fx)  # what clip.load gives off the CPU: the model kept in float16
    half.model = clip.model.build_model(torch.load(weights_path)).eval()
    half_sides = {side: cleanfid.get_folder_features(str(folders[side]), half, mode="clean",
                                                     custom_fn_resize=img_preprocess_clip, **options)
                  for side in folders}
    for side, rows in sides.items():
        features[f"clean-fid/clip-vitb32/{side}"] = rows.astype(np.float32)
    exact = exact_fd(sides["real"], sides["fake"])
    half_fd = exact_fd(half_sides["real"], half_sides["fake"])
    return {
        "reference": "cleanfid.fid.compute_fid(model_name='clip_vit_b_32', mode='clean'), CPU (float32)",
        "fd": value,
        "fd_exact_from_reference_features": exact,
        "float16_model_fd": half_fd,
        "float16_vs_float32_fd_rel": abs(half_fd - exact) / exact,
        "float16_vs_float32_feature_max_abs": float(max(np.abs(half_sides[s] - sides[s]).max() for s in sides)),
    }


class _StateOnly:
    """What torch-fidelity reads from ``torch.jit.load``: an object with ``state_dict()``."""

    def __init__(self, state) -> None:
        self.state = state

    def state_dict(self):
        return dict(self.state)


def run_torch_fidelity(folders, files, fidelity_name: str, weights_path: Path, features) -> dict:
    import torch
    import torch_fidelity
    from torch_fidelity.datasets import ImagesPathDataset
    from torch_fidelity.feature_extractor_clip import FeatureExtractorCLIP

    original = torch.jit.load
    torch.jit.load = lambda path, map_location=None: _StateOnly(torch.load(path))
    try:
        result = torch_fidelity.calculate_metrics(
            input1=str(folders["real"]), input2=str(folders["fake"]), fid=True, feature_extractor=fidelity_name,
            feature_extractor_weights_path=str(weights_path), cuda=False, batch_size=1, cache=False, verbose=False,
        )
        extractor = FeatureExtractorCLIP(fidelity_name, ["clip"], feature_extractor_weights_path=str(weights_path))
    finally:
        torch.jit.load = original
    extractor.eval()
    name = next(key for key, (_, theirs) in MODELS.items() if theirs == fidelity_name)
    sides = {}
    for side, paths in files.items():
        dataset = ImagesPathDataset(paths)
        with torch.no_grad():
            sides[side] = torch.cat([extractor(dataset[i][None])[0] for i in range(len(dataset))]).numpy()
        features[f"torch-fidelity/{name}/{side}"] = sides[side].astype(np.float32)
    value = float(result["frechet_inception_distance"])
    exact = exact_fd(sides["real"], sides["fake"])
    return {
        "reference": f"torch_fidelity.calculate_metrics(fid=True, feature_extractor='{fidelity_name}'), batch 1",
        "fd": value,
        "fd_exact_from_reference_features": exact,
        "reference_formula_rel_error": abs(value - exact) / exact,
    }


def our_features(files, weights) -> dict[str, np.ndarray]:
    """frechet's projected / normalized features per model, mode and side: {"MODE/MODEL/SIDE": rows}."""
    import torch
    from frechet_clip.embedder import ClipVitB32, ClipVitL14, ClipVitL14At336
    from frechet_clip.preprocess import MODES
    from frechet_image import decode_image

    classes = {"clip-vitb32": ClipVitB32, "clip-vitl14": ClipVitL14, "clip-vitl14-336": ClipVitL14At336}
    found = {}
    for name, cls in classes.items():
        for mode in MODES:
            embedder = cls(preprocess=mode, weights=weights[name])
            for side, paths in files.items():
                batch = torch.stack([embedder.transform(decode_image(path)) for path in paths])
                with torch.inference_mode():
                    found[f"{mode}/{name}/{side}"] = embedder.forward(batch)["projected"].numpy()
    return found


def separation(references: dict[str, np.ndarray], ours: dict[str, np.ndarray]) -> dict:
    """For each reference: frechet's largest feature difference and FD difference in every mode (the matching
    mode must be near 0, every other mode far from it)."""
    table = {}
    for key in sorted({key.rsplit("/", 1)[0] for key in references}):
        tool, name = key.split("/")
        reference_fd = exact_fd(references[f"{key}/real"], references[f"{key}/fake"])
        rows = {}
        for mode in ("clean-fid", "torch-fidelity", "cmmd"):
            mine = {side: ours[f"{mode}/{name}/{side}"] for side in ("real", "fake")}
            if tool == "cmmd":
                mine = {side: value / np.linalg.norm(value, axis=1, keepdims=True) for side, value in mine.items()}
                mine = {side: value[: len(references[f"{key}/{side}"])] for side, value in mine.items()}
            rows[mode] = {
                "feature_max_abs_diff": float(max(np.abs(mine[s] - references[f"{key}/{s}"]).max() for s in mine)),
                "fd_rel_diff": abs(exact_fd(mine["real"], mine["fake"]) - reference_fd) / reference_fd,
            }
        table[key] = rows
    return table


def versions() -> dict:
    from importlib.metadata import version

    import PIL
    import torch

    packages = ("clean-fid", "torch-fidelity", "clip-anytorch", "torchvision", "numpy", "scipy")
    return {"torch": torch.__version__, "Pillow": PIL.__version__, **{name: version(name) for name in packages}}


if __name__ == "__main__":
    main()
