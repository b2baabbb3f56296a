"""``--precision bf16`` with the inception embedder: a different id, and FID and features within the deviation that
bench/precision.py measured against fp32 (bench/results/precision.md)."""

from __future__ import annotations

import pytest
import torch

import frechet
from frechet.precision import autocast
from frechet_image import decode_image
from frechet_inception import InceptionEmbedder
from inception_random_weights import write_image_set

#: bf16 against fp32, per image: relative L2 difference of the pool3 features (measured max 2.4e-2 over 300 images
#: of the parity sizes), and relative difference of FID (measured up to 5.6e-3 at N = 300; a handful of images
#: spreads more), with room for other CPUs' bf16 kernels.
FEATURE_TOLERANCE = 5e-2
FID_TOLERANCE = 3e-2


def test_bf16_is_part_of_the_id_and_fp32_keeps_the_id_it_always_had(weights_file):
    fp32 = InceptionEmbedder(weights=weights_file)
    bf16 = InceptionEmbedder(weights=weights_file).set_precision("bf16")
    assert "precision" not in fp32.id()
    assert bf16.id() == fp32.id().replace("(preprocess=", "(precision=bf16,preprocess=")


@pytest.fixture(scope="module")
def sets(tmp_path_factory):
    root = tmp_path_factory.mktemp("precision-images")
    for side, variant in (("real", 0), ("fake", 1)):
        write_image_set(root / side, 8, seed=5, variant=variant, sizes=((64, 64), (100, 75)))
    return root / "real", root / "fake"


def test_bf16_features_stay_within_the_measured_tolerance_of_fp32(weights_file, sets):
    embedder = InceptionEmbedder(weights=weights_file)
    embedder.request_outputs({"pool"})
    batch = torch.stack([embedder.transform(decode_image(path)) for path in sorted(sets[0].iterdir())])
    features = {}
    for precision in ("fp32", "bf16"):
        with torch.inference_mode(), autocast(precision, embedder.device):
            features[precision] = embedder.forward(batch)["pool"].double()
    assert features["fp32"].dtype == torch.float64
    relative = (features["bf16"] - features["fp32"]).norm(dim=1) / features["fp32"].norm(dim=1)
    assert 0 < relative.max() < FEATURE_TOLERANCE


def test_bf16_fid_stays_within_the_measured_tolerance_of_fp32(weights_file, sets):
    real, fake = sets
    options = {"embedder_options": {"weights": str(weights_file)}, "batch_size": 8, "workers": 0, "cache": False,
               "progress": False}
    fp32 = frechet.compute(real, fake, **options)
    bf16 = frechet.compute(real, fake, precision="bf16", **options)
    assert "precision=bf16" in bf16["embedder"] and "precision" not in fp32["embedder"]
    assert bf16["fid"] != fp32["fid"]
    assert bf16["fid"] == pytest.approx(fp32["fid"], rel=FID_TOLERANCE)
