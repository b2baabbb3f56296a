"""torchmetrics' FID on the parity images with the parity random weights, for the migration guide's measured agreement.

Run in the reference venv:  /tmp/frechet-refenv-image/bin/python scripts/goldens/torchmetrics_fid.py
Writes tests/goldens/inception/torchmetrics.json.

``torchmetrics.image.fid.FrechetInceptionDistance(feature=2048)`` runs torch-fidelity's Inception and accumulates its
own float64 sums; its weights file is passed with ``feature_extractor_weights_path``. Since torchmetrics 1.8 it
resizes with torch's antialiased bilinear by default (``antialias=True``); ``antialias=False`` restores torch-fidelity's
TensorFlow 1 resize, frechet's ``tf`` mode. Both are recorded. The images (the parity sets of
scripts/goldens/inception_parity.py, of mixed sizes) are fed one per ``update``, uint8, as torchmetrics expects
without ``normalize``.
"""

from __future__ import annotations

import importlib.util
import json
import sys
import tempfile
from importlib.metadata import version
from pathlib import Path

import numpy as np
import torch
from PIL import Image

ROOT = Path(__file__).resolve().parents[2]
GOLDENS = ROOT / "tests" / "goldens" / "inception"
IMAGE_SEED = 3
IMAGES_PER_SIDE = 24


def _load(path: Path, name: str):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def main() -> None:
    from torchmetrics.image.fid import FrechetInceptionDistance

    network = _load(ROOT / "plugins" / "frechet_inception" / "network.py", "frechet_inception_network")
    fixtures = _load(ROOT / "tests" / "plugins" / "inception" / "inception_random_weights.py", "random_weights")
    work = Path(tempfile.mkdtemp(prefix="frechet-torchmetrics-"))
    state = fixtures.random_state_dict(network.state_dict_layout(), fixtures.PARITY_SEED)
    torch.save(state, work / "weights.pth")
    fids = {}
    for antialias in (False, True):
        metric = FrechetInceptionDistance(feature=2048, feature_extractor_weights_path=str(work / "weights.pth"),
                                          antialias=antialias)
        for side, variant in (("real", 0), ("fake", 1)):
            for path in fixtures.write_image_set(work / side, IMAGES_PER_SIDE, seed=IMAGE_SEED, variant=variant):
                pixels = np.asarray(Image.open(path).convert("RGB"))
                metric.update(torch.from_numpy(pixels.transpose(2, 0, 1).copy())[None], real=side == "real")
        fids[f"antialias_{str(antialias).lower()}"] = float(metric.compute())
    golden = {
        "about": "scripts/goldens/torchmetrics_fid.py: torchmetrics' FID of the parity images, parity random weights",
        "versions": {"torchmetrics": version("torchmetrics"), "torch_fidelity": version("torch-fidelity"),
                     "torch": torch.__version__},
        "weights_sha256": fixtures.state_sha256(state),
        "fid": fids,
    }
    GOLDENS.mkdir(parents=True, exist_ok=True)
    (GOLDENS / "torchmetrics.json").write_text(json.dumps(golden, indent=1) + "\n")
    print(json.dumps(golden, indent=1))


if __name__ == "__main__":
    main()
