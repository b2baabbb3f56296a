"""sFID goldens for the ``inception`` embedder's ``sfid`` output, from an independent oracle: torchvision's Inception3
holding the same deterministic random weights, with its average pools set to ``count_include_pad=False`` as in the
TensorFlow graph, fed torch-fidelity's TensorFlow-1 bilinear resize of the parity images.

Run in the reference venv:  /tmp/frechet-refenv-image/bin/python scripts/goldens/inception_sfid.py
Writes tests/goldens/inception/sfid.json and tests/goldens/inception/sfid_features.npz.

The ADM evaluator reads the TF graph tensor ``mixed_6/conv:0`` (the ReLU of the first 1x1 unit of the seventh
mixed block, i.e. torchvision's ``Mixed_6d.branch1x1``: 192 channels on a 17x17 grid), keeps its first 7 channels and
flattens each image's NHWC values: 17·17·7 = 2023 features in (height, width, channel) order. The oracle reads the
same unit with a forward hook; nothing of frechet runs here except the two fixture files loaded by path (the key
layout in ``network.py``, the random weights and images in the tests' ``inception_random_weights.py``).

The script also computes what goes wrong with a wrong graph, to show that the test tolerances separate them: the
unpatched torchvision pools (padding counted in the averages), and the same 7 channels one block later
(``Mixed_6e``).
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
import torchvision
from PIL import Image
from torch_fidelity.interpolate_compat_tensorflow import interpolate_bilinear_2d_like_tensorflow1x
from torchvision.models.inception import Inception3

ROOT = Path(__file__).resolve().parents[2]
GOLDENS = ROOT / "tests" / "goldens" / "inception"
IMAGE_SEED = 3  # the parity image sets of scripts/goldens/inception_parity.py
IMAGES_PER_SIDE = 24
FEATURE_ITEMS = (0, 1, 6, 9)
CHANNELS = 7


def _load(path: Path, name: str):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


class _Captured(Exception):
    """Raised by the hook to stop the forward pass once the unit's output is in hand."""


@contextlib.contextmanager
def tensorflow_average_pools():
    """torchvision's Inception blocks call F.avg_pool2d(x, 3, 1, 1); TensorFlow's SAME average pool divides by the
    number of real inputs, i.e. count_include_pad=False."""
    original = F.avg_pool2d

    def patched(*args, **kwargs):
        return original(*args, **{**kwargs, "count_include_pad": False})

    F.avg_pool2d = patched
    try:
        yield
    finally:
        F.avg_pool2d = original


def spatial_features(model: Inception3, images: list[np.ndarray], unit: str) -> np.ndarray:
    """(N, 2023) features: ``unit``'s first 7 channels in (h, w, c) order, per image, float32."""
    module = dict(model.named_modules())[unit]
    rows = []
    for image in images:
        x = torch.from_numpy(image.transpose(2, 0, 1).copy())[None].float()
        x = interpolate_bilinear_2d_like_tensorflow1x(x, size=(299, 299), align_corners=False)
        x = (x - 128) / 128
        captured = []

        def hook(_, __, output, captured=captured):
            captured.append(output)
            raise _Captured

        handle = module.register_forward_hook(hook)
        try:
            with torch.inference_mode(), contextlib.suppress(_Captured):
                model(x)
        finally:
            handle.remove()
        grid = captured[0][:, :CHANNELS]  # (1, 7, 17, 17)
        rows.append(grid.permute(0, 2, 3, 1).reshape(1, -1).numpy())
    return np.concatenate(rows)


def main() -> None:
    network = _load(ROOT / "plugins" / "frechet_inception" / "network.py", "frechet_inception_network")
    fixtures = _load(ROOT / "tests" / "plugins" / "inception" / "inception_random_weights.py", "random_weights")
    parity = _load(ROOT / "scripts" / "goldens" / "inception_parity.py", "inception_parity")
    state = fixtures.random_state_dict(network.state_dict_layout(), fixtures.PARITY_SEED)
    model = Inception3(num_classes=1008, aux_logits=False, transform_input=False, init_weights=False)
    model.load_state_dict(state, strict=True)  # torchvision's own names: the FID layout is its layout
    model.eval()

    work = Path(tempfile.mkdtemp(prefix="frechet-sfid-"))
    images = {}
    for side, variant in (("real", 0), ("fake", 1)):
        paths = fixtures.write_image_set(work / side, IMAGES_PER_SIDE, seed=IMAGE_SEED, variant=variant)
        images[side] = [np.asarray(Image.open(path).convert("RGB")) for path in paths]

    def sfid(unit: str, tf_pools: bool) -> tuple[float, dict[str, np.ndarray]]:
        with tensorflow_average_pools() if tf_pools else contextlib.nullcontext():
            features = {side: spatial_features(model, batch, unit) for side, batch in images.items()}
        return parity.exact_fid(features["real"], features["fake"]), features

    value, features = sfid("Mixed_6d.branch1x1", tf_pools=True)
    unpatched, _ = sfid("Mixed_6d.branch1x1", tf_pools=False)
    later_block, _ = sfid("Mixed_6e.branch1x1", tf_pools=True)
    golden = {
        "about": "scripts/goldens/inception_sfid.py: sFID of torchvision's Inception3 (TF average pools) with the "
                 "random parity weights, on the parity images in tf mode",
        "versions": {"torch": torch.__version__, "torchvision": torchvision.__version__,
                     "torch_fidelity": _version("torch-fidelity"), "numpy": np.__version__},
        "weights_seed": fixtures.PARITY_SEED,
        "weights_sha256": fixtures.state_sha256(state),
        "images": {"seed": IMAGE_SEED, "count": IMAGES_PER_SIDE},
        "feature_items": list(FEATURE_ITEMS),
        "sfid": value,
        "wrong_graphs": {
            "torchvision_pools_counting_padding": {"sfid": unpatched, "relative_change": unpatched / value - 1},
            "mixed_6e_instead_of_mixed_6d": {"sfid": later_block, "relative_change": later_block / value - 1},
        },
        "feature_scale": float(np.abs(features["real"]).max()),
    }
    GOLDENS.mkdir(parents=True, exist_ok=True)
    (GOLDENS / "sfid.json").write_text(json.dumps(golden, indent=1) + "\n")
    np.savez_compressed(GOLDENS / "sfid_features.npz", real=features["real"][list(FEATURE_ITEMS)])
    print(json.dumps(golden, indent=1))


def _version(distribution: str) -> str:
    from importlib.metadata import version

    return version(distribution)


if __name__ == "__main__":
    main()
