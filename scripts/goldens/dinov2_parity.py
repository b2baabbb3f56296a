"""Parity goldens for the ``dinov2-*`` embedders, made by the peers themselves with the same deterministic random
weights: dgm-eval (default and ``--clean_resize``), EDM2 (``calculate_metrics.py``, ``resize_mode='torch'``) and
torch-fidelity 0.4 (``dinov2-vit-*-14``), each running Meta's own hub code.

Run in the reference venv, with checkouts of the three repositories that are not on PyPI:

    flock /tmp/frechet-heavy.lock $(/work/shared/refenv.sh backbones) scripts/goldens/dinov2_parity.py \\
        --dinov2 CHECKOUT --dgm-eval CHECKOUT --edm2 CHECKOUT

(dgm-eval's metrics need scikit-learn in the venv.) It writes into tests/goldens/dinov2/:
parity.json  -- versions and commits; the weights, images and checkpoint layouts; per mode the peer's FD, the exact
                FD of its own features and its formula's error; how far a wrong offset, antialias flag or resize moves
                FD; the full-depth ViT-L/14 agreement.
features.npz -- per mode the peer's class tokens of a few images; per size the hub model's class tokens of fixed
                random inputs (224×224 and the non-square 224×168).
preprocess.json -- per file of tests/goldens/image/inputs/ (and awkward in-memory arrays) and per mode the sha256 of
                the peer's float32 network input, and its per-channel means.
Weights and images are made in a temporary folder and not kept: the tests regenerate them from the same seeds.

How the peers run with the random weights (nothing is downloaded):
- All three call ``torch.hub.load("facebookresearch/dinov2", "dinov2_vit?14")``. That one call is redirected to the
  local checkout (``source="local"``); the hub code then builds the model and loads the checkpoint itself, with its
  own ``load_state_dict_from_url`` finding our random file under the canonical name in torch hub's cache and its own
  ``load_state_dict(strict=True)`` -- which proves the key layout. For the test-sized runs the hub's
  ``DinoVisionTransformer`` is built with fewer blocks (every other argument is the hub's); the full-depth ViT-L/14
  runs the hub entry point unchanged. torch-fidelity cannot load local DINOv2 weights (``NotImplementedError``), so
  only its hub call is redirected; its preprocessing and FID are its own.
- dgm-eval: ``DINOv2Encoder`` + ``get_dataloader`` + ``get_representations`` + ``compute_FD_with_reps``. Its package
  ``__init__`` files import every other encoder (open_clip, timm, ...): the two subpackages are entered without them.
- EDM2: ``calculate_stats_for_iterable`` (its detector, float64 sums, the statistics of ``calc``/``ref``) over
  one-image batches decoded by its own ``ImageFolderDataset._load_raw_image`` (its file loader insists on one image
  size per folder; the parity images have eight), then ``calculate_metrics_from_stats``, in a one-process gloo group.
- torch-fidelity: ``calculate_metrics(fid=True, feature_extractor="dinov2-vit-l-14")``, batch size 1 (it stacks
  whole images, which differ in size here).
- Preprocessed tensors: each peer's own transform (dgm-eval's ``DINOv2Encoder.transform``, EDM2's
  ``DINOv2Detector.__call__``, torch-fidelity's ``FeatureExtractorDinoV2.forward``) with the network replaced by a
  function that returns its input.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
import types
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
PLUGIN = ROOT / "plugins" / "frechet_dinov2"
FIXTURES = ROOT / "tests" / "plugins" / "dinov2"
GOLDENS = ROOT / "tests" / "goldens" / "dinov2"
IMAGE_INPUTS = ROOT / "tests" / "goldens" / "image" / "inputs"
IMAGE_SEED = 5
IMAGES_PER_SIDE = 12
#: The FD goldens run ViT-L/14 (what FD_DINOv2 means) with one block (its class token only, in frechet's network).
FD_ARCH, FD_DEPTH = "vitl14", 1
#: The per-size network goldens: ViT-S/14 with two blocks (a block whose every token is read), B/14 and g/14 (the
#: SwiGLU feed-forward) with one; L/14 is the FD goldens' network.
NETWORK_DEPTHS = {"vits14": 2, "vitb14": 1, "vitg14": 1}
FEATURE_ITEMS = (0, 1, 6, 7)  # real-side images whose features are stored: 224x224, 32x32, 333x517, 400x300
#: Random network inputs of the per-size goldens: (seed, height, width, count).
NETWORK_INPUTS = ((11, 224, 224, 2), (12, 224, 168, 1))
#: (height, width) of extra in-memory noise arrays for the preprocessing goldens: tiny, thin, near-224, large.
ARRAY_SIZES = ((1, 1), (2, 3), (5, 224), (224, 5), (223, 225), (225, 224), (150, 149), (598, 451))
MODES = ("dgm-eval", "dgm-eval-clean", "edm2", "torch-fidelity")
FD_RTOL = 1e-4

_state = {"depth": None, "checkpoints": {}, "hub_kwargs": {}}


def _load(name: str, folder: Path):
    spec = importlib.util.spec_from_file_location(f"dinov2_golden_{name}", folder / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


network = _load("network", PLUGIN)
fixtures = _load("dinov2_random_weights", FIXTURES)


def exact_fd(a: np.ndarray, b: np.ndarray) -> float:
    """FD of two feature sets in float64; trace sqrt(S1 S2) = nuclear norm of A Bᵀ / sqrt((n1-1)(n2-1)) with A, B
    the centred features (the nonzero eigenvalues of S1 S2 are the squared singular values of that product)."""
    a, b = a.astype(np.float64), b.astype(np.float64)
    ca, cb = a - a.mean(0), b - b.mean(0)
    trace_sqrt = np.linalg.svd(ca @ cb.T, compute_uv=False).sum() / np.sqrt((len(a) - 1) * (len(b) - 1))
    diff = a.mean(0) - b.mean(0)
    return float(diff @ diff + (ca * ca).sum() / (len(a) - 1) + (cb * cb).sum() / (len(b) - 1) - 2 * trace_sqrt)


# ---------------------------------------------------------------------------------------------- the hub, redirected
def install_hub_redirect(checkout: Path) -> None:
    """Send ``torch.hub.load("facebookresearch/dinov2[:ref]", ...)`` to the local checkout; the hub code builds the
    model and loads the checkpoint placed in torch hub's cache for it (``_state``)."""
    import torch

    real_load = torch.hub.load
    sys.path.insert(0, str(checkout))
    from dinov2.models import vision_transformer as vits

    full_class = vits.DinoVisionTransformer

    def shallower(**kwargs):
        return full_class(**{**kwargs, "depth": _state["depth"]})

    def local_load(repo_or_dir, model, *args, **kwargs):
        if not str(repo_or_dir).startswith("facebookresearch/dinov2"):
            raise RuntimeError(f"unexpected torch.hub.load({repo_or_dir!r})")
        checkpoints = Path(torch.hub.get_dir()) / "checkpoints"
        checkpoints.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(_state["checkpoints"][model], checkpoints / f"{model}_pretrain.pth")
        kwargs = {**kwargs, **_state["hub_kwargs"], "source": "local"}
        vits.DinoVisionTransformer = shallower if _state["depth"] is not None else full_class
        try:
            return real_load(str(checkout), model, *args, **kwargs)
        finally:
            vits.DinoVisionTransformer = full_class

    torch.hub.load = local_load


def hub_model(model: str, **kwargs):
    """The hub entry point ``model`` (e.g. "dinov2_vitl14"), loaded with the current checkpoint, in eval mode."""
    import torch

    return torch.hub.load("facebookresearch/dinov2", model, **kwargs).eval()


def use_checkpoint(work: Path, arch_name: str, depth: int | None) -> dict:
    """Make the random checkpoint of ``arch_name`` (``depth`` blocks; None: all) the one the hub loads."""
    import torch

    arch = network.ARCHITECTURES[arch_name]
    state = fixtures.random_state_dict(network.state_dict_layout(arch, depth), fixtures.PARITY_SEED)
    path = work / f"dinov2_{arch_name}_depth{depth or arch.depth}.pth"
    torch.save(state, path)
    _state["depth"], _state["checkpoints"][f"dinov2_{arch_name}"] = depth, path
    return {"arch": arch_name, "depth": depth or arch.depth, "entries": len(state),
            "tensors_sha256": fixtures.state_sha256(state), "path": path, "state": state}


# ---------------------------------------------------------------------------------------------------- the peers
def import_dgm_eval(checkout: Path):
    """dgm-eval's DINOv2 encoder, loader, representations and FD, without its package __init__ files (they import
    every other encoder's dependencies)."""
    sys.path.insert(0, str(checkout))
    for package in ("dgm_eval.models", "dgm_eval.metrics"):
        module = types.ModuleType(package)
        module.__path__ = [str(checkout / package.replace(".", "/"))]
        sys.modules[package] = module
    from dgm_eval.dataloaders import get_dataloader
    from dgm_eval.metrics.fd import compute_FD_with_reps
    from dgm_eval.models.dinov2 import DINOv2Encoder
    from dgm_eval.representations import get_representations

    return types.SimpleNamespace(encoder=DINOv2Encoder, loader=get_dataloader, reps=get_representations,
                                 fd=compute_FD_with_reps)


def import_edm2(checkout: Path, work: Path):
    os.environ["DNNLIB_CACHE_DIR"] = str(work / "dnnlib")
    sys.path.insert(0, str(checkout))
    import torch.distributed

    if not torch.distributed.is_initialized():
        torch.distributed.init_process_group("gloo", init_method=f"file://{work / 'gloo'}", rank=0, world_size=1)
    import calculate_metrics
    from training.dataset import ImageFolderDataset

    return types.SimpleNamespace(metrics=calculate_metrics, dataset=ImageFolderDataset)


def run_dgm_eval(dgm, folders, clean: bool, features: dict | None = None) -> tuple[float, dict]:
    """dgm-eval's FD (and its representations) of real vs fake."""
    encoder = dgm.encoder(arch=FD_ARCH, clean_resize=clean)
    reps = {}
    for side, folder in folders.items():
        loader = dgm.loader(str(folder), nsample=-1, batch_size=5, num_workers=0, transform=encoder.transform)
        reps[side] = dgm.reps(encoder, loader, "cpu")
    if features is not None:
        features[f"{'dgm-eval-clean' if clean else 'dgm-eval'}/cls"] = reps["real"][list(FEATURE_ITEMS)].astype(
            np.float32)
    return float(dgm.fd(reps["real"], reps["fake"])), reps


def run_edm2(edm2, folders, features: dict) -> tuple[float, dict]:
    import torch

    stats, reps = {}, {}
    for side, folder in folders.items():
        dataset = edm2.dataset(str(folder))
        batches = [torch.from_numpy(dataset._load_raw_image(i))[None] for i in range(len(dataset))]
        for result in edm2.metrics.calculate_stats_for_iterable(batches, metrics=["fd_dinov2"], verbose=False,
                                                                device=torch.device("cpu")):
            pass
        stats[side] = result.stats
        detector = edm2.metrics.get_detector("fd_dinov2", verbose=False)
        with torch.no_grad():
            reps[side] = torch.cat([detector(batch) for batch in batches]).double().numpy()
    fd = edm2.metrics.calculate_metrics_from_stats(stats["fake"], stats["real"], metrics=["fd_dinov2"], verbose=False)
    features["edm2/cls"] = reps["real"][list(FEATURE_ITEMS)].astype(np.float32)
    return float(fd["fd_dinov2"]), reps


def run_torch_fidelity(folders, files, features: dict) -> tuple[float, dict]:
    import torch
    import torch_fidelity
    from torch_fidelity.datasets import ImagesPathDataset
    from torch_fidelity.feature_extractor_dinov2 import FeatureExtractorDinoV2

    name = f"dinov2-vit-{FD_ARCH[3]}-14"
    result = torch_fidelity.calculate_metrics(input1=str(folders["real"]), input2=str(folders["fake"]), fid=True,
                                              feature_extractor=name, cuda=False, batch_size=1, cache=False,
                                              verbose=False)
    extractor = FeatureExtractorDinoV2(name, ["dinov2"])
    reps = {}
    for side, paths in files.items():
        dataset = ImagesPathDataset(paths)
        with torch.no_grad():
            reps[side] = torch.cat([extractor(dataset[i][None])[0] for i in range(len(dataset))]).double().numpy()
    features["torch-fidelity/cls"] = reps["real"][list(FEATURE_ITEMS)].astype(np.float32)
    return float(result["frechet_inception_distance"]), reps


# ------------------------------------------------------------------------------------------ preprocessed tensors
def peer_transforms(dgm, edm2):
    """Each mode's peer transform: uint8 (H, W, 3) array -> the float32 tensor its network would receive."""
    import torch
    from PIL import Image
    from torch_fidelity.feature_extractor_dinov2 import FeatureExtractorDinoV2

    returns_input = torch.nn.Identity()

    def dgm_eval(clean):
        stub = types.SimpleNamespace(clean_resize=clean)
        return lambda pixels: dgm.encoder.transform(stub, Image.fromarray(pixels))

    edm2_stub = types.SimpleNamespace(resize_mode="torch", model=returns_input)
    fidelity_stub = types.SimpleNamespace(feature_extractor_internal_dtype=torch.float32, model=returns_input,
                                          features_list=["dinov2"], INPUT_IMAGE_SIZE=224)

    def as_batch(pixels):
        return torch.from_numpy(np.ascontiguousarray(pixels.transpose(2, 0, 1)))[None]

    return {
        "dgm-eval": dgm_eval(False),
        "dgm-eval-clean": dgm_eval(True),
        "edm2": lambda pixels: edm2.metrics.DINOv2Detector.__call__(edm2_stub, as_batch(pixels))[0],
        "torch-fidelity": lambda pixels: FeatureExtractorDinoV2.forward(fidelity_stub, as_batch(pixels))[0][0],
    }


def noise_image(height: int, width: int) -> np.ndarray:
    raw = np.random.default_rng([3, height, width]).bytes(height * width * 3)
    return np.frombuffer(raw, dtype=np.uint8).reshape(height, width, 3).copy()


def preprocess_goldens(transforms) -> dict:
    from PIL import Image

    def describe(tensor) -> dict:
        values = tensor.contiguous().numpy()
        assert values.shape == (3, 224, 224) and values.dtype == np.float32, (values.shape, values.dtype)
        return {"sha256": hashlib.sha256(values.tobytes()).hexdigest(),
                "channel_mean": values.astype(np.float64).mean(axis=(1, 2)).tolist()}

    files = {}
    for path in sorted(IMAGE_INPUTS.iterdir()):
        pixels = np.asarray(Image.open(path).convert("RGB"))
        files[path.name] = {"decoded_sha256": hashlib.sha256(pixels.tobytes()).hexdigest(),
                            **{mode: describe(transform(pixels)) for mode, transform in transforms.items()}}
    arrays = {f"{h}x{w}": {mode: describe(transform(noise_image(h, w)))["sha256"]
                           for mode, transform in transforms.items()} for h, w in ARRAY_SIZES}
    return {"files": files, "arrays": arrays}


def edm2_resize_is_batch_independent(edm2) -> bool:
    """EDM2 resizes whole batches on the device; frechet resizes one image at a time: the values must not differ."""
    import torch

    stub = types.SimpleNamespace(resize_mode="torch", model=torch.nn.Identity())
    batch = torch.from_numpy(np.stack([noise_image(150, 149).transpose(2, 0, 1)] * 3 + [
        fixtures.synthetic_image(1, 0, 150, 149).transpose(2, 0, 1)]))
    together = edm2.metrics.DINOv2Detector.__call__(stub, batch)
    alone = torch.cat([edm2.metrics.DINOv2Detector.__call__(stub, batch[i:i + 1]) for i in range(len(batch))])
    return bool(torch.equal(together, alone))


# ------------------------------------------------------------------------------------------------------ checks
def layouts() -> dict:
    """Each full-size hub model's state dict layout (built on the meta device): key count and a digest of the
    'key shape' lines; frechet's own layout must be identical."""
    import torch
    from dinov2.hub import backbones

    found = {}
    for name, arch in network.ARCHITECTURES.items():
        with torch.device("meta"):
            model = getattr(backbones, f"dinov2_{name}")(pretrained=False)
        theirs = [f"{key} {tuple(value.shape)}" for key, value in model.state_dict().items()]
        ours = [f"{key} {shape}" for key, (shape, _) in network.state_dict_layout(arch).items()]
        assert theirs == ours, f"{name}: layouts differ"
        found[name] = {"entries": len(theirs), "sha256": hashlib.sha256("\n".join(theirs).encode()).hexdigest(),
                       "first_block_keys": [line for line in theirs if line.startswith("blocks.0.")]}
    return found


def network_goldens(work: Path, features: dict) -> dict:
    """The hub model of each size (a few blocks deep) on fixed random inputs; frechet's network must agree."""
    import torch

    found = {}
    for name, depth in NETWORK_DEPTHS.items():
        arch = network.ARCHITECTURES[name]
        checkpoint = use_checkpoint(work, name, depth)
        hub = hub_model(f"dinov2_{name}")
        ours = network.load_network_state(checkpoint["state"], arch, name).eval()
        worst = 0.0
        for seed, height, width, count in NETWORK_INPUTS:
            x = fixtures.random_input(seed, height, width, count)
            with torch.no_grad():
                theirs, mine = hub(x), ours(x)
            worst = max(worst, float((theirs - mine).abs().max()))
            features[f"network/{name}/{height}x{width}"] = theirs.numpy()
        assert worst < 1e-4, f"{name}: frechet's network differs from the hub's by {worst}"
        found[name] = {"depth": depth, "tensors_sha256": checkpoint["tensors_sha256"],
                       "frechet_max_abs_diff": worst}
        checkpoint["path"].unlink()
    return found


def full_depth_check(work: Path) -> dict:
    """The unchanged hub entry point, all 24 blocks of ViT-L/14 with random weights, against frechet's network."""
    import torch

    checkpoint = use_checkpoint(work, "vitl14", None)
    hub = hub_model("dinov2_vitl14")
    ours = network.load_network_state(checkpoint["state"], network.ARCHITECTURES["vitl14"], "vitl14").eval()
    x = fixtures.random_input(13, 224, 224, 2)
    with torch.no_grad():
        theirs, mine = hub(x), ours(x)
    diff = float((theirs - mine).abs().max())
    checkpoint["path"].unlink()
    assert diff < 1e-4, f"full-depth ViT-L/14: frechet differs from the hub by {diff}"
    return {"arch": "vitl14", "depth": 24, "inputs": 2, "tensors_sha256": checkpoint["tensors_sha256"],
            "max_abs_diff": diff, "feature_abs_max": float(theirs.abs().max())}


def sensitivity(dgm, folders, baseline: dict) -> dict:
    """How far FD moves (relative to the dgm-eval mode's exact FD) when the hub model interpolates its positional
    embeddings without the 0.1 offset, or with antialiasing, and under each other mode's resize: all must exceed
    the parity tolerance by far, or the goldens could not tell the modes apart."""
    reference = exact_fd(baseline["dgm-eval"]["real"], baseline["dgm-eval"]["fake"])
    moved = {}
    for label, kwargs in {"interpolate_offset=0": {"interpolate_offset": 0.0},
                          "interpolate_antialias=True": {"interpolate_antialias": True}}.items():
        _state["hub_kwargs"] = kwargs
        try:
            _, reps = run_dgm_eval(dgm, folders, clean=False)
        finally:
            _state["hub_kwargs"] = {}
        moved[label] = abs(exact_fd(reps["real"], reps["fake"]) - reference) / reference
    for mode, reps in baseline.items():
        if mode != "dgm-eval":
            moved[f"preprocess={mode}"] = abs(exact_fd(reps["real"], reps["fake"]) - reference) / reference
    smallest = min(moved.values())
    assert smallest > 20 * FD_RTOL, f"a wrong setting moves FD by only {smallest:.2e} relative: {moved}"
    features_apart = {mode: float(np.abs(reps["real"] - baseline["dgm-eval"]["real"]).max())
                      for mode, reps in baseline.items() if mode != "dgm-eval"}
    return {"relative_to": "exact FD of the dgm-eval mode's features", "moved": moved,
            "smallest_over_tolerance": smallest / FD_RTOL,
            "max_abs_feature_difference_from_dgm_eval": features_apart}


def versions(checkouts: dict[str, Path]) -> dict:
    from importlib.metadata import version

    import PIL
    import torch

    found = {"torch": torch.__version__, "Pillow": PIL.__version__,
             **{name: version(name) for name in ("torchvision", "torch-fidelity", "numpy", "scipy")}}
    for name, path in checkouts.items():
        found[f"{name} commit"] = subprocess.run(["git", "-C", str(path), "rev-parse", "HEAD"], capture_output=True,
                                                 text=True, check=True).stdout.strip()
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for name in ("dinov2", "dgm-eval", "edm2"):
        parser.add_argument(f"--{name}", type=Path, required=True, help=f"a checkout of {name}")
    parser.add_argument("--skip-full-depth", action="store_true", help="skip the 24-block ViT-L/14 check (~5 GB)")
    args = parser.parse_args()
    checkouts = {"facebookresearch/dinov2": args.dinov2, "layer6ai-labs/dgm-eval": args.dgm_eval,
                 "NVlabs/edm2": args.edm2}

    work = Path(tempfile.mkdtemp(prefix="frechet-dinov2-parity-"))
    os.environ["TORCH_HOME"] = str(work / "torch")
    os.environ["XFORMERS_DISABLED"] = "1"
    warnings.filterwarnings("ignore", message=".*xFormers.*")
    import torch
    from PIL import Image

    torch.set_num_threads(max(1, min(4, os.cpu_count() or 1)))
    install_hub_redirect(args.dinov2)
    dgm, edm2 = import_dgm_eval(args.dgm_eval), import_edm2(args.edm2, work)

    sides = {"real": 0, "fake": 1}
    folders = {side: work / side for side in sides}
    files = {side: fixtures.write_image_set(folders[side], IMAGES_PER_SIDE, seed=IMAGE_SEED, variant=variant)
             for side, variant in sides.items()}
    images = {side: {"variant": sides[side], "items": [
        {"name": path.name, "height": Image.open(path).height, "width": Image.open(path).width,
         "pixels_sha256": hashlib.sha256(np.asarray(Image.open(path).convert("RGB")).tobytes()).hexdigest()}
        for path in paths]} for side, paths in files.items()}

    features: dict[str, np.ndarray] = {}
    golden_layouts = layouts()
    checkpoint = use_checkpoint(work, FD_ARCH, FD_DEPTH)
    runs = {
        "dgm-eval": ("dgm_eval: DINOv2Encoder + get_dataloader + get_representations + compute_FD_with_reps",
                     run_dgm_eval(dgm, folders, clean=False, features=features)),
        "dgm-eval-clean": ("the same with DINOv2Encoder(clean_resize=True) (dgm-eval --clean_resize)",
                           run_dgm_eval(dgm, folders, clean=True, features=features)),
        "edm2": ("calculate_metrics: calculate_stats_for_iterable + calculate_metrics_from_stats, fd_dinov2",
                 run_edm2(edm2, folders, features)),
        "torch-fidelity": ("torch_fidelity.calculate_metrics(fid=True, feature_extractor='dinov2-vit-l-14')",
                           run_torch_fidelity(folders, files, features)),
    }
    modes = {}
    for mode, (reference, (fd, reps)) in runs.items():
        exact = exact_fd(reps["real"], reps["fake"])
        modes[mode] = {"reference": reference, "fd": fd, "fd_exact_from_reference_features": exact,
                       "reference_formula_rel_error": abs(fd - exact) / exact}
    moved = sensitivity(dgm, folders, {mode: reps for mode, (_, (_, reps)) in runs.items()})
    fd_weights = {key: checkpoint[key] for key in ("arch", "depth", "entries", "tensors_sha256")}

    transforms = peer_transforms(dgm, edm2)
    preprocess = {"size": 224, "versions": versions(checkouts), **preprocess_goldens(transforms),
                  "edm2_resize_batch_independent": edm2_resize_is_batch_independent(edm2)}
    network_found = network_goldens(work, features)
    full = None if args.skip_full_depth else full_depth_check(work)

    golden = {
        "about": "scripts/goldens/dinov2_parity.py: the peers' FD_DINOv2 and features with the same random weights",
        "versions": versions(checkouts),
        "seed": fixtures.PARITY_SEED,
        "layouts": golden_layouts,
        "fd_weights": fd_weights,
        "images": {"seed": IMAGE_SEED, "count": IMAGES_PER_SIDE, "sides": images},
        "feature_items": list(FEATURE_ITEMS),
        "modes": modes,
        "sensitivity": moved,
        "network": {"inputs": [list(spec) for spec in NETWORK_INPUTS], "sizes": network_found},
        "full_depth": full,
    }
    GOLDENS.mkdir(parents=True, exist_ok=True)
    (GOLDENS / "parity.json").write_text(json.dumps(golden, indent=1) + "\n")
    (GOLDENS / "preprocess.json").write_text(json.dumps(preprocess, indent=1) + "\n")
    np.savez_compressed(GOLDENS / "features.npz", **features)
    print(json.dumps({"modes": modes, "sensitivity": moved, "network": network_found, "full_depth": full}, indent=1))
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
