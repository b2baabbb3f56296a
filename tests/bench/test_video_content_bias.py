"""bench/video_content_bias.py keeps running: ``--tiny`` on synthetic and natural videos with random I3D weights writes
every disturbance with its pixel error, whose PSNR matches the formula in float64; the natural videos are
deterministic and change less from frame to frame than the synthetic ones."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from frechet_video.video import ArrayVideo

from frechet.plugins import get_registry

ROOT = Path(__file__).resolve().parents[2]
BENCH = ROOT / "bench"
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(ROOT / "tests" / "plugins" / "video"))
from i3d_random_weights import write_tf_hub
from video_content_bias import ORDER, render_video

def tiny_run(tmp: Path, kind: str) -> tuple[dict, str, np.ndarray]:
    """The report, markdown and videos of a --tiny run of ``kind``."""
    weights = write_tf_hub(tmp / "i3d-random.pkl")
    out = tmp / f"bias-{kind}"
    done = subprocess.run([sys.executable, str(BENCH / "video_content_bias.py"), "--weights", str(weights), "--kind",
                           kind, "--tiny", "--work", str(tmp / f"work-{kind}"), "--out", str(out)],
                          capture_output=True, text=True, timeout=900, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(out.with_suffix(".json").read_text())
    return report, out.with_suffix(".md").read_text(), np.load(tmp / f"work-{kind}" / "videos.npy")


def psnr(clean: np.ndarray, damaged: np.ndarray) -> float:
    """PSNR of 8-bit ``damaged`` against ``clean`` over all their values, in float64."""
    mse = np.mean((damaged.astype(np.float64) - clean.astype(np.float64)) ** 2)
    return float(10 * np.log10(255.0**2 / mse))


def check_report(report: dict, text: str, videos: np.ndarray) -> None:
    """Every disturbance at both levels, with FVD, pixel error and the matched-error columns, in JSON and markdown;
    the PSNRs are the formula's on the damaged videos."""
    assert [c["name"] for c in report["curves"]] == list(ORDER)
    assert videos.shape == (2, 16, 224, 224, 3) and report["clip_frames"] == 9
    for curve in report["curves"]:
        assert f"| {curve['name']} |" in text and len(curve["levels"]) == 2
        disturbance = get_registry().create_disturbance(curve["name"], "video")
        for level in curve["levels"]:
            damaged = np.stack([disturbance.apply(ArrayVideo(v, "v"), level["strength"], report["seed"]).frames()
                                for v in videos])
            assert level["psnr"] == pytest.approx(psnr(videos, damaged), abs=1e-9)
            assert level["fd"] > 0 and level["fd_per_mse"] == pytest.approx(level["fd"] / level["mse"])
            assert level["fd_over_noise"] > 0
    noise = report["curves"][ORDER.index("noise")]["levels"]
    assert [lv["fd_over_noise"] for lv in noise] == pytest.approx([1.0, 1.0])
    reverse = report["curves"][ORDER.index("reverse")]["levels"][-1]  # t = 1: the whole video backwards
    assert reverse["psnr"] == pytest.approx(psnr(videos, videos[:, ::-1]), abs=1e-9)
    assert "At matched pixel error" in text and "PSNR (dB) per level" in text


def test_tiny_synthetic_run_reports_every_disturbance_with_its_psnr(tmp_path):
    check_report(*tiny_run(tmp_path, "synthetic"))


def test_tiny_natural_run_reports_every_disturbance_with_its_psnr(tmp_path):
    report, text, videos = tiny_run(tmp_path, "natural")
    check_report(report, text, videos)
    assert "natural-looking videos" in text


def test_natural_videos_are_deterministic_and_change_less_between_frames_than_synthetic_ones():
    from natural_videos import MOTIONS, motion_of, natural_video

    first = natural_video(2021)
    assert first.shape == (16, 224, 224, 3) and first.dtype == np.uint8
    assert np.array_equal(first, natural_video(2021))
    seeds = range(2020, 2028)
    assert {motion_of(s) for s in seeds} == set(MOTIONS)
    change = [np.abs(np.diff(natural_video(s).astype(np.float64), axis=0)).mean() for s in seeds]
    synthetic_change = [np.abs(np.diff(render_video(s).astype(np.float64), axis=0)).mean() for s in seeds]
    assert np.mean(change) < 0.5 * np.mean(synthetic_change)


def test_natural_videos_without_scikit_image_name_the_install_line():
    code = ("import sys; sys.modules['skimage'] = None; sys.path.insert(0, sys.argv[1]); "
            "from natural_videos import natural_video; natural_video(0)")
    done = subprocess.run([sys.executable, "-c", code, str(BENCH)], capture_output=True, text=True, timeout=60,
                          check=False)
    assert done.returncode != 0
    assert done.stderr.strip().splitlines()[-1] == ("natural videos need scikit-image, which frechet does not "
                                                    "install: pip install scikit-image")
