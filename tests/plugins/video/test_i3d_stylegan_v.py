"""The stylegan-v mode: StyleGAN-V's clip presets and sampling (seeded offsets over its range, t = 0 for generated
videos, videos under frames * stride skipped and counted), its input scaling and its distance (covariance by N)."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import scipy.linalg

import frechet
from frechet.cli import main
from frechet.errors import ConfigError, InputError
from frechet_video.i3d_embedder import I3DEmbedder
from frechet_video.i3d_modes import MODES, network_input
from frechet_video.video import ArrayVideo
from i3d_random_weights import write_tf_hub


@pytest.fixture(scope="module")
def tf_hub(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_tf_hub(tmp_path_factory.mktemp("i3d") / "i3d-kinetics-400.ckpt")


@pytest.mark.parametrize(("preset", "frames", "stride"), [
    ("fvd2048_16f", 16, 1), ("fvd2048_128f", 128, 1), ("fvd2048_128f_subsample8f", 16, 8)])
def test_each_preset_sets_the_clip_of_its_metric(tf_hub: Path, preset: str, frames: int, stride: int) -> None:
    clip = I3DEmbedder(preprocess="stylegan-v", weights=tf_hub, preset=preset).clip
    assert (clip.frames, clip.stride, clip.start, clip.short, clip.whole_steps) == (frames, stride, "random", "skip",
                                                                                     True)
    assert I3DEmbedder(preprocess="stylegan-v", weights=tf_hub, preset=preset, frames=9).clip.frames == 9


def test_a_preset_with_another_mode_is_refused(tf_hub: Path) -> None:
    with pytest.raises(ConfigError, match="preset=fvd2048_16f is one of StyleGAN-V's .* --preprocess stylegan-v"):
        I3DEmbedder(preprocess="tf", weights=tf_hub, preset="fvd2048_16f")


def test_real_offsets_are_seeded_and_cover_stylegan_vs_range() -> None:
    """StyleGAN-V draws ``random.randint(0, n - frames * stride + stride - 1)`` (both ends included)."""
    n, frames, stride = 20, 4, 4
    spec = replace(MODES["stylegan-v"].clip, frames=frames, stride=stride)
    starts = [int(spec.indices(n, f"video{index}")[0, 0]) for index in range(300)]
    assert set(starts) == set(range(n - frames * stride + stride))
    assert starts == [int(spec.indices(n, f"video{index}")[0, 0]) for index in range(300)]
    assert spec.indices(n, "video7").tolist() == [[starts[7] + 4 * step for step in range(4)]]


def test_generated_videos_take_their_clip_from_t_0() -> None:
    spec = replace(MODES["stylegan-v"].clip, frames=16, stride=8, start="first")
    assert spec.indices(200, "generated").tolist() == [list(range(0, 128, 8))]


def test_a_video_under_frames_times_stride_is_short_although_the_clip_would_fit(
        caplog: pytest.LogCaptureFixture) -> None:
    spec = replace(MODES["stylegan-v"].clip, frames=4, stride=4)  # the clip spans 13 frames; 16 are needed
    assert spec.indices(15, "v15").shape == (0, 4) and "v15: 15 frames, but a clip here needs 16" in caplog.text
    assert spec.indices(16, "v16").shape == (1, 4)
    assert replace(spec, whole_steps=False).indices(13, "v13").shape == (1, 4)


def test_frames_are_scaled_as_the_detector_rescales_them_and_must_be_224() -> None:
    frames = np.random.default_rng(0).integers(0, 256, (1, 9, 224, 224, 3), dtype=np.uint8)
    ours = network_input(frames, MODES["stylegan-v"]).numpy()
    expected = (frames.astype(np.float64) / 255 * 2 - 1).astype(np.float32).transpose(0, 4, 1, 2, 3)
    np.testing.assert_allclose(ours, expected, rtol=0, atol=1.2e-7)
    with pytest.raises(InputError, match=r"clip\.mp4: --preprocess stylegan-v takes 224x224 frames, got 64x80 .*"
                                         r"not published"):
        network_input(frames[:, :, :64, :80], MODES["stylegan-v"], name="clip.mp4")


def test_the_distance_divides_covariances_by_n_as_stylegan_v_does() -> None:
    """StyleGAN-V: raw second moments / N minus the outer mean, scipy's sqrtm of sigma_gen @ sigma_real."""
    rng = np.random.default_rng(5)
    real, fake = rng.normal(size=(60, 12)), rng.normal(0.3, 1.2, size=(50, 12))

    def stats(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        mean = features.mean(axis=0)
        return mean, features.T @ features / len(features) - np.outer(mean, mean)

    (mu_real, sigma_real), (mu_gen, sigma_gen) = stats(real), stats(fake)
    root = scipy.linalg.sqrtm(sigma_gen @ sigma_real)
    theirs = float(np.real(np.square(mu_gen - mu_real).sum() + np.trace(sigma_gen + sigma_real - 2 * root)))
    ours = frechet.compute(real, fake, metric_options=MODES["stylegan-v"].fd_options())
    assert ours["fd"] == pytest.approx(theirs, rel=1e-9) and ours["fd_covariance"] == "population"


def test_short_videos_are_skipped_and_counted_and_the_covariance_rule_is_recorded(
        tf_hub: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture) -> None:
    rng = np.random.default_rng(3)
    real = [rng.integers(0, 256, (count, 224, 224, 3), dtype=np.uint8) for count in (10, 8, 9)]
    options = {"preprocess": "stylegan-v", "weights": tf_hub, "frames": 9}
    stats = frechet.compute_stats(real, embedder="i3d", embedder_options=options, progress=False, workers=0,
                                  save=tmp_path / "real.npz")
    assert stats.n == 2 and "<list of 3 videos>[1]: 8 frames, but a clip here needs 9" in caplog.text
    saved = frechet.load_stats(tmp_path / "real.npz")
    assert saved.n == 2 and saved.meta["n_items"] == 3 and "whole_steps=True" in saved.meta["embedder"]
    assert saved.meta["fd_options"]["fd_covariance"] == "population"

    fake = [rng.integers(0, 256, (9, 224, 224, 3), dtype=np.uint8) for _ in range(2)]  # generated: from t = 0
    frechet.compute_stats(fake, embedder="i3d", embedder_options={**options, "start": "first"}, progress=False,
                          workers=0, save=tmp_path / "fake.npz")
    assert main(["distance", str(tmp_path / "real.npz"), str(tmp_path / "fake.npz"), "--force", "--json"]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["fd_covariance"] == "population" and result["fvd"] == result["fd"] > 0
