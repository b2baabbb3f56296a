"""bench/gpu.py keeps running: its tiny CPU run (a few small images, random weights) in a subprocess writes a report
with every path it can run here, one line for each it cannot, and an fp32 FID equal to frechet.compute's on the same
images and weights."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import frechet
from frechet_inception.network import state_dict_layout

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location(
    "inception_random_weights", ROOT / "tests" / "plugins" / "inception" / "inception_random_weights.py"
)
fixtures = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(fixtures)


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory) -> tuple[dict, str]:
    out = tmp_path_factory.mktemp("gpu-bench") / "gpu"
    done = subprocess.run([sys.executable, str(ROOT / "bench" / "gpu.py"), "--device", "cpu", "--tiny", "--images",
                           "4", "--out", str(out)], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(out.with_suffix(".json").read_text()), out.with_suffix(".md").read_text()


def test_tiny_cpu_run_reports_every_path_it_can_run_and_skips_the_others_in_one_line_each(tiny_run):
    results, text = tiny_run
    assert set(results["end_to_end"]) >= {"frechet compute (fp32, TF32 off)", "frechet compute, bf16 autocast"}
    assert set(results["bare_forward"]) == {"fp32, TF32 off", "bf16 autocast"}
    assert any(line.startswith("TF32") for line in results["skipped"])
    assert results["weights"].startswith("random") and "random (the tests' parity seed)" in text
    assert "Tiny CPU run" in text and results["device"].startswith("CPU")
    assert results["bare_forward"]["fp32, TF32 off"]["images_per_s"] > 0 and results["scorer"]["overhead"] > -1


def test_tiny_run_fp32_fid_is_frechet_computes_on_the_same_images_and_weights(tiny_run, tmp_path):
    weights = tmp_path / "weights.pth"
    torch.save(fixtures.random_state_dict(state_dict_layout(), fixtures.PARITY_SEED), weights)
    for side, variant in (("real", 0), ("fake", 1)):  # the benchmark's images: 2 per side, 64x64 JPEG
        fixtures.write_image_set(tmp_path / side, 2, seed=2026, variant=variant, sizes=((64, 64),), formats=("jpg",))
    expected = frechet.compute(tmp_path / "real", tmp_path / "fake", embedder_options={"weights": str(weights)},
                               cache=False, progress=False)["fd"]
    rows = tiny_run[0]["end_to_end"]
    fp32, bf16 = rows["frechet compute (fp32, TF32 off)"], rows["frechet compute, bf16 autocast"]
    assert fp32["fid"] == pytest.approx(expected, rel=1e-6) and fp32["fid_drift"] == 0
    assert bf16["fid_drift"] == pytest.approx(abs(bf16["fid"] - fp32["fid"]) / fp32["fid"])
    assert 0 < bf16["fid_drift"] < 0.05  # bf16 moves FID, by little (docs/numerics.md)
