"""Parity goldens for the ``inception`` embedder: FID, IS and per-image features from pytorch-fid, torch-fidelity and
clean-fid, all running the same deterministic random weights on the same generated images.

Run in the reference venv:  $(/work/shared/refenv.sh image) scripts/goldens/inception_parity.py
Writes tests/goldens/inception/parity.json and tests/goldens/inception/features.npz (weights and images are made
in a temporary folder and not kept: the tests regenerate them from the same seeds).

How each reference runs with the random weights:
- The weights (``tests/plugins/inception/inception_random_weights.py``, seed PARITY_SEED, key layout from
  ``network.py``; both files are loaded by path, so frechet itself is not needed here) are saved under both
  canonical file names in a temporary TORCH_HOME. pytorch-fid's ``fid_inception_v3`` and torch-fidelity's
  ``FeatureExtractorInceptionV3`` load them there with their own strict ``load_state_dict`` -- which also proves
  the key layout is theirs.
- pytorch-fid mode: ``compute_statistics_of_path`` + ``calculate_frechet_distance`` (batch size 1, since the images
  have different sizes and pytorch-fid resizes whole batches).
- tf mode: ``torch_fidelity.calculate_metrics`` (FID of real vs fake; ISC of fake, as frechet's IS is of the second
  input), batch size 1 for the same reason.
- clean mode: ``cleanfid.fid.compute_fid(mode="clean")`` with its own file listing, decoding and clean resize, but
  ``custom_feat_extractor`` replacing clean-fid's TorchScript model (NVIDIA's export of the same TensorFlow graph,
  which cannot be rebuilt with other weights). clean-fid's model, in clean mode, computes ``layers((x - 128) / 128)``
  on the resized 0-255 batch; the replacement computes exactly that with pytorch-fid's FID Inception (no resize, no
  normalisation of its own) holding the random weights. The network is therefore pytorch-fid's, while file listing,
  decoding, the float PIL bicubic resize, clipping, scaling and clean-fid's FID formula are clean-fid's own.

Besides each reference's FID, the script records the exact FID of each reference's own features (float64; the trace
term as the nuclear norm of the centred cross-product, valid because N < 2048), so the error of each reference's
FID formula (scipy.linalg.sqrtm, or eigvals of the product) is visible and separate from feature differences.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
PLUGIN = ROOT / "plugins" / "frechet_inception"
FIXTURES = ROOT / "tests" / "plugins" / "inception"
GOLDENS = ROOT / "tests" / "goldens" / "inception"
IMAGE_SEED = 3
IMAGES_PER_SIDE = 24
FEATURE_ITEMS = (0, 1, 6, 9)  # real-side images whose features are stored: 299x299, 32x32, 150x200, 400x300
FILE_NAMES = ("pt_inception-2015-12-05-6726825d.pth", "weights-inception-2015-12-05-6726825d.pth")


def _load(name: str, folder: Path = PLUGIN):
    spec = importlib.util.spec_from_file_location(f"frechet_inception_{name}", folder / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def exact_fid(a: np.ndarray, b: np.ndarray) -> float:
    """FID of two feature sets in float64; trace sqrt(S1 S2) = nuclear norm of A1 A2^T / sqrt((n1-1)(n2-1))."""
    a, b = a.astype(np.float64), b.astype(np.float64)
    ca, cb = a - a.mean(0), b - b.mean(0)
    trace_sqrt = np.linalg.svd(ca @ cb.T, compute_uv=False).sum() / np.sqrt((len(a) - 1) * (len(b) - 1))
    trace_a = (ca * ca).sum() / (len(a) - 1)
    trace_b = (cb * cb).sum() / (len(b) - 1)
    diff = a.mean(0) - b.mean(0)
    return float(diff @ diff + trace_a + trace_b - 2 * trace_sqrt)


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="frechet-inception-parity-"))
    os.environ["TORCH_HOME"] = str(work / "torch")
    import torch
    from PIL import Image

    network, synthetic = _load("network"), _load("inception_random_weights", FIXTURES)
    state = synthetic.random_state_dict(network.state_dict_layout(), synthetic.PARITY_SEED)
    checkpoints = work / "torch" / "hub" / "checkpoints"
    checkpoints.mkdir(parents=True)
    for name in FILE_NAMES:
        torch.save(state, checkpoints / name)
    weights_path = checkpoints / FILE_NAMES[0]

    sides = {"real": 0, "fake": 1}
    folders = {side: work / side for side in sides}
    files = {
        side: synthetic.write_image_set(folders[side], IMAGES_PER_SIDE, seed=IMAGE_SEED, variant=variant)
        for side, variant in sides.items()
    }
    images = {
        side: {
            "variant": sides[side],
            "items": [
                {
                    "name": path.name,
                    "height": int(np.asarray(Image.open(path)).shape[0]),
                    "width": int(np.asarray(Image.open(path)).shape[1]),
                    "pixels_sha256": hashlib.sha256(np.asarray(Image.open(path).convert("RGB")).tobytes()).hexdigest(),
                }
                for path in paths
            ],
        }
        for side, paths in files.items()
    }

    layout_checks = check_layouts(state, weights_path)
    features: dict[str, np.ndarray] = {}
    modes = {
        "pytorch-fid": run_pytorch_fid(folders, files, features),
        "tf": run_torch_fidelity(folders, files, weights_path, features),
        "clean": run_clean_fid(folders, features),
    }
    golden = {
        "about": "scripts/goldens/inception_parity.py: references' FID/IS/features with the same random weights",
        "versions": versions(),
        "weights": {
            "seed": synthetic.PARITY_SEED,
            "entries": len(state),
            "tensors_sha256": synthetic.state_sha256(state),
            "layout": {key: list(value.shape) for key, value in state.items()},
            "layout_checks": layout_checks,
        },
        "images": {"seed": IMAGE_SEED, "count": IMAGES_PER_SIDE, "sides": images},
        "feature_items": list(FEATURE_ITEMS),
        "modes": modes,
    }
    GOLDENS.mkdir(parents=True, exist_ok=True)
    (GOLDENS / "parity.json").write_text(json.dumps(golden, indent=1) + "\n")
    np.savez_compressed(GOLDENS / "features.npz", **features)
    print(json.dumps({"layout_checks": layout_checks, "modes": modes}, indent=2))


def check_layouts(state, weights_path: Path) -> dict:
    """Both references' modules have exactly our keys, in our order, and load the file strictly."""
    from pytorch_fid.inception import fid_inception_v3
    from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3

    ours = list(state)
    pytorch_fid_keys = list(fid_inception_v3().state_dict())  # loads the file with strict=True
    fidelity = FeatureExtractorInceptionV3(
        "inception-v3-compat", ["2048"], feature_extractor_weights_path=str(weights_path)
    )
    fidelity_keys = list(fidelity.state_dict())
    checks = {
        "pytorch_fid_keys_identical": pytorch_fid_keys == ours,
        "torch_fidelity_keys_identical": fidelity_keys == ours,
        "conv_units": sum(key.endswith(".conv.weight") for key in ours),
    }
    assert checks["pytorch_fid_keys_identical"] and checks["torch_fidelity_keys_identical"], checks
    return checks


def run_pytorch_fid(folders, files, features) -> dict:
    import torch
    import torchvision.transforms as TF
    from pytorch_fid.fid_score import (
        ImagePathDataset,
        calculate_frechet_distance,
        compute_statistics_of_path,
        get_activations,
    )
    from pytorch_fid.inception import InceptionV3

    model = InceptionV3([3]).eval()
    stats = [compute_statistics_of_path(str(folders[side]), model, 1, 2048, "cpu", 0) for side in ("real", "fake")]
    fid = float(calculate_frechet_distance(*stats[0], *stats[1]))
    acts = {side: get_activations(files[side], model, 1, 2048, "cpu", 0) for side in ("real", "fake")}
    blocks = InceptionV3([0, 1, 2, 3]).eval()
    dataset = ImagePathDataset([files["real"][i] for i in FEATURE_ITEMS], transforms=TF.ToTensor())
    per_block = {name: [] for name in ("block64", "block192", "block768", "pool")}
    with torch.no_grad():
        for index in range(len(dataset)):
            outs = blocks(dataset[index][None])
            for name, value in zip(per_block, outs):
                per_block[name].append(torch.nn.functional.adaptive_avg_pool2d(value, 1).flatten(1)[0].numpy())
    for name, rows in per_block.items():
        features[f"pytorch-fid/{name}"] = np.stack(rows).astype(np.float32)
    exact = exact_fid(acts["real"], acts["fake"])
    return {
        "reference": "pytorch-fid compute_statistics_of_path + calculate_frechet_distance, batch size 1",
        "fid": fid,
        "fid_exact_from_reference_features": exact,
        "reference_formula_rel_error": abs(fid - exact) / exact,
    }


def run_torch_fidelity(folders, files, weights_path: Path, features) -> dict:
    import torch
    import torch_fidelity
    from torch_fidelity.datasets import ImagesPathDataset
    from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3

    common = {"cuda": False, "batch_size": 1, "cache": False, "verbose": False,
              "feature_extractor_weights_path": str(weights_path)}
    fid = torch_fidelity.calculate_metrics(input1=str(folders["real"]), input2=str(folders["fake"]), fid=True, **common)
    isc = torch_fidelity.calculate_metrics(input1=str(folders["fake"]), isc=True, **common)
    names = ["64", "192", "768", "2048", "logits_unbiased", "logits"]
    extractor = FeatureExtractorInceptionV3(
        "inception-v3-compat", names, feature_extractor_weights_path=str(weights_path)
    )
    extractor.eval()

    def extract(paths):
        dataset = ImagesPathDataset(paths)
        with torch.no_grad():
            rows = [extractor(dataset[i][None]) for i in range(len(dataset))]
        return {name: torch.cat([row[k] for row in rows]).numpy() for k, name in enumerate(names)}

    real, fake = extract(files["real"]), extract(files["fake"])
    ours = {"64": "block64", "192": "block192", "768": "block768", "2048": "pool",
            "logits_unbiased": "logits_unbiased", "logits": "logits"}
    for name, our_name in ours.items():
        features[f"tf/{our_name}"] = real[name][list(FEATURE_ITEMS)].astype(np.float32)
    exact = exact_fid(real["2048"], fake["2048"])
    value = float(fid["frechet_inception_distance"])
    return {
        "reference": "torch_fidelity.calculate_metrics (fid: real vs fake; isc: fake), batch size 1",
        "fid": value,
        "is_mean": float(isc["inception_score_mean"]),
        "is_std": float(isc["inception_score_std"]),
        "fid_exact_from_reference_features": exact,
        "reference_formula_rel_error": abs(value - exact) / exact,
    }


def run_clean_fid(folders, features) -> dict:
    import torch
    from cleanfid import fid as cleanfid
    from pytorch_fid.inception import InceptionV3

    network = InceptionV3([3], resize_input=False, normalize_input=False).eval()

    def feature_model(batch: torch.Tensor) -> torch.Tensor:
        # What clean-fid's TorchScript wrapper does in clean mode: layers((x - 128) / 128) -> (B, 2048).
        x1 = batch - 128
        x2 = x1 / 128
        return network(x2)[0].flatten(1)

    options = {"num_workers": 0, "batch_size": 8, "device": torch.device("cpu"), "verbose": False}
    value = float(cleanfid.compute_fid(str(folders["real"]), str(folders["fake"]), mode="clean",
                                       custom_feat_extractor=feature_model, use_dataparallel=False, **options))
    real = cleanfid.get_folder_features(str(folders["real"]), feature_model, mode="clean", **options)
    fake = cleanfid.get_folder_features(str(folders["fake"]), feature_model, mode="clean", **options)
    features["clean/pool"] = real[list(FEATURE_ITEMS)].astype(np.float32)
    exact = exact_fid(real, fake)
    return {
        "reference": "cleanfid.fid.compute_fid(mode='clean') with the FID Inception as custom_feat_extractor",
        "fid": value,
        "fid_exact_from_reference_features": exact,
        "reference_formula_rel_error": abs(value - exact) / exact,
    }


def versions() -> dict:
    from importlib.metadata import version

    import PIL
    import torch

    packages = ("pytorch-fid", "torch-fidelity", "clean-fid", "scipy", "numpy")
    return {"torch": torch.__version__, "Pillow": PIL.__version__, **{name: version(name) for name in packages}}


if __name__ == "__main__":
    main()
