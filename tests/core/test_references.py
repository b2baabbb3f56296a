"""Named references (ref:NAME): the catalogue, downloads through FRECHET_MIRROR from a loopback server (checksum
pinned at the first download, a tampered copy refused, offline reuse), and their use in compute and distance."""

from __future__ import annotations

import dataclasses
import json
import pickle
from pathlib import Path

import numpy as np
import pytest
import scipy.linalg

import frechet
from frechet import references
from frechet.cli import main
from frechet.distance import frechet_distance
from frechet.errors import ConfigError, IncompatibleStatsError, WeightsError
from frechet.plugins import get_registry, reset_plugins
from frechet.settings import Settings
from frechet.stats import FeatureStats
from frechet.weights import weights_dir

TTUR_CIFAR = references.lookup("ttur-cifar10-train")
#: A cd-fvd VideoMAE-v2 entry as the catalogue has it (the ``mirror`` fixture shrinks every entry to 8-d).
VIDEOMAE_UCF = references.lookup("cdfvd-videomae-ucf101-128-16f")


def _moments(seed: int, dim: int = 8) -> tuple[np.ndarray, np.ndarray]:
    rows = np.random.default_rng(seed).standard_normal((200, dim)) + seed
    return rows.mean(0), np.cov(rows, rowvar=False)


@pytest.fixture
def mirror(file_server, monkeypatch):
    """FRECHET_MIRROR pointing at the loopback server, network allowed; the served folder is ``mirror.folder``. The
    catalogue expects 8-d statistics (EDM2's pickles keep their 2048-d and 1024-d), so the served files stay small."""
    monkeypatch.setenv("FRECHET_MIRROR", file_server.url)
    monkeypatch.delenv("FRECHET_OFFLINE")
    for name, ref in references.CATALOGUE.items():
        if ref.format == "edm2-pkl":  # EDM2's reader knows its own dimensions
            continue
        small = dataclasses.replace(ref, dim=8)
        monkeypatch.setitem(references.CATALOGUE, name, small)
    return file_server


def _serve_ttur_cifar(folder, seed: int = 0):
    mu, sigma = _moments(seed)
    np.savez(folder / TTUR_CIFAR.spec.file_name, mu=mu.astype(np.float32), sigma=sigma.astype(np.float32))
    return mu, sigma


def test_a_reference_is_downloaded_from_the_mirror_pinned_and_then_reused_offline(mirror, monkeypatch):
    mu, sigma = _serve_ttur_cifar(mirror.folder)
    stats = frechet.load_stats("ref:ttur-cifar10-train")
    np.testing.assert_allclose(stats.mean, mu, rtol=1e-6)
    np.testing.assert_allclose(stats.cov, sigma, rtol=1e-5, atol=1e-6)
    assert stats.meta["reference"] == "ttur-cifar10-train" and stats.meta["config"]["preprocess"] == "tf"
    assert mirror.requests == ["/fid_stats_cifar10_train.npz"]
    pins = json.loads((weights_dir() / "frechet-pins.json").read_text())
    served = mirror.folder / "fid_stats_cifar10_train.npz"
    assert pins == {TTUR_CIFAR.url: frechet.weights.file_sha256(served)}
    monkeypatch.setenv("FRECHET_OFFLINE", "1")
    served.unlink()
    assert np.array_equal(frechet.load_stats("ref:ttur-cifar10-train").mean, stats.mean)
    assert mirror.requests == ["/fid_stats_cifar10_train.npz"]


def test_a_tampered_reference_is_refused_and_nothing_is_saved(mirror):
    _serve_ttur_cifar(mirror.folder)
    cached = references.local_path(TTUR_CIFAR, progress=False)
    cached.unlink()
    _serve_ttur_cifar(mirror.folder, seed=1)  # the host now serves other bytes under the same name
    with pytest.raises(WeightsError, match="failed its checksum.*recorded at its first download"):
        frechet.load_stats("ref:ttur-cifar10-train")
    assert not cached.exists()


def test_a_cached_reference_that_changed_is_refused(mirror):
    _serve_ttur_cifar(mirror.folder)
    cached = references.local_path(TTUR_CIFAR, progress=False)
    np.savez(cached, mu=np.zeros(8), sigma=np.eye(8))
    with pytest.raises(WeightsError, match="checksum mismatch.*recorded when it was first used"):
        frechet.load_stats("ref:ttur-cifar10-train")


def test_offline_a_missing_reference_says_which_file_to_place_where(mirror, monkeypatch):
    monkeypatch.setenv("FRECHET_OFFLINE", "1")
    with pytest.raises(WeightsError) as error:
        frechet.load_stats("ref:ttur-cifar10-train")
    message = str(error.value)
    assert str(weights_dir() / "fid_stats_cifar10_train.npz") in message
    assert "in place of ref:ttur-cifar10-train" in message and mirror.requests == []


def test_distance_against_a_reference_is_the_distance_of_its_statistics(mirror, tmp_path, capsys):
    ref_mu, ref_sigma = _serve_ttur_cifar(mirror.folder)
    mu, sigma = _moments(5)
    meta = {"embedder": "inception(preprocess=tf,weights=6726825d)", "embedder_name": "inception",
            "config": {"preprocess": "tf", "weights": "6726825d"}, "output": "pool", "fd_key": "fid"}
    FeatureStats.from_moments(mu, sigma, 200, meta=meta).save(tmp_path / "mine.npz")
    assert main(["distance", "ref:ttur-cifar10-train", str(tmp_path / "mine.npz"), "--json"]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    expected = frechet_distance(FeatureStats.load(mirror.folder / "fid_stats_cifar10_train.npz"),
                                FeatureStats.from_moments(mu, sigma))
    assert result["fid"] == pytest.approx(expected, rel=1e-12)


def test_statistics_of_another_preprocessing_mode_are_refused_against_a_reference(mirror, tmp_path):
    _serve_ttur_cifar(mirror.folder)
    mu, sigma = _moments(5)
    meta = {"embedder": "inception(preprocess=clean,weights=6726825d)", "embedder_name": "inception",
            "config": {"preprocess": "clean", "weights": "6726825d"}, "output": "pool"}
    FeatureStats.from_moments(mu, sigma, 200, meta=meta).save(tmp_path / "clean.npz")
    with pytest.raises(IncompatibleStatsError, match="preprocess=clean.*preprocess=tf"):
        frechet.fd("ref:ttur-cifar10-train", tmp_path / "clean.npz")
    assert frechet.fd("ref:ttur-cifar10-train", tmp_path / "clean.npz", force=True)["fd"] > 0


def test_a_run_against_a_reference_uses_its_embedder_and_mode_unless_told_otherwise():
    registry = get_registry()
    chosen = references.settings_for(registry, Settings(), ["ref:cleanfid-cifar10-clean-train-32", "fake/"])
    assert (chosen.embedder, chosen.embedder_options, chosen.layer) == (("inception",), {"preprocess": "clean"}, "pool")
    told = references.settings_for(
        registry, Settings(embedder="inception", embedder_options={"preprocess": "tf"}), ["ref:ttur-celeba"]
    )
    assert told.embedder_options == {"preprocess": "tf"}


def test_a_run_in_another_mode_than_the_references_names_the_flag_that_reproduces_it(mirror, tmp_path):
    _serve_ttur_cifar(mirror.folder)
    images = np.zeros((3, 8, 8, 3), dtype=np.uint8)
    with pytest.raises(IncompatibleStatsError, match=r"pass embedder_options=\{'preprocess': 'tf'\} to reproduce"):
        frechet.compute("ref:ttur-cifar10-train", images, embedder_options={"preprocess": "clean"}, progress=False)


def test_an_edm2_reference_gives_its_fid_or_fd_dinov2_entry(mirror):
    fid, dino = _moments(0, dim=2048), _moments(1, dim=1024)  # EDM2's Inception and DINOv2 dimensions
    payload = {"num_images": 1_281_167, "fid": {"mu": fid[0], "sigma": fid[1]},
               "fd_dinov2": {"mu": dino[0], "sigma": dino[1]}}
    (mirror.folder / "img512.pkl").write_bytes(pickle.dumps(payload))
    stats = frechet.load_stats("ref:edm2-img512")
    assert stats.n == 1_281_167 and np.array_equal(stats.mean, fid[0]) and stats.meta["config"]["preprocess"] == "tf"
    dinov2 = frechet.load_stats("ref:edm2-img512-dinov2")
    assert np.array_equal(dinov2.mean, dino[0]) and dinov2.meta["embedder_name"] == "dinov2-vitl14"
    assert mirror.requests == ["/img512.pkl"]


def _cdfvd_pickle(rows: np.ndarray) -> bytes:
    """What cd-fvd's FeatureStats.save writes: its object's fields, sums of the float64 features and outer products."""
    rows = rows.astype(np.float64)
    return pickle.dumps({"capture_all": False, "capture_mean_cov": True, "max_items": len(rows),
                         "num_items": len(rows), "num_features": rows.shape[1], "all_features": [],
                         "raw_mean": rows.sum(0), "raw_cov": rows.T @ rows})


def test_a_cd_fvd_reference_keeps_cd_fvds_covariance_by_n_in_the_distance(mirror, tmp_path):
    """cd-fvd's own formula (compute_fvd_from_stats: covariances from its sums divided by N, scipy's sqrtm) is the
    oracle; the statistics keep N and record that the distance divides by N."""
    real, fake = (np.random.default_rng(seed).normal(seed, 1.0, (2048, 8)) for seed in (0, 1))
    (mirror.folder / "i3d_ucf101_2048_res128_len16_skip1_seed0.pkl").write_bytes(_cdfvd_pickle(real))
    stats = frechet.load_stats("ref:cdfvd-ucf101-128-16f-2048")
    assert stats.n == 2048 and stats.meta["fd_options"] == {"fd_covariance": "population"}
    assert stats.meta["config"] == {"preprocess": "cd-fvd", "crop": 128} and stats.meta["fd_key"] == "fvd"
    (tmp_path / "fake.pkl").write_bytes(_cdfvd_pickle(fake))
    result = frechet.compute("ref:cdfvd-ucf101-128-16f-2048", tmp_path / "fake.pkl", metrics="fvd", force=True)
    cov_r, cov_f = np.cov(real, rowvar=False, bias=True), np.cov(fake, rowvar=False, bias=True)
    expected = np.sum((real.mean(0) - fake.mean(0)) ** 2) + np.trace(
        cov_r + cov_f - 2 * scipy.linalg.sqrtm(cov_r @ cov_f).real)
    assert result["fvd"] == pytest.approx(expected, rel=1e-9) and result["fd_covariance"] == "population"


def test_a_cd_fvd_videomae_reference_reads_its_1408_d_statistics_and_pins_them(mirror):
    monkeypatch = pytest.MonkeyPatch()
    monkeypatch.setitem(references.CATALOGUE, VIDEOMAE_UCF.name, VIDEOMAE_UCF)  # its own 1408 dimensions
    try:
        rows = np.random.default_rng(4).normal(0.5, 1.0, (300, 1408))
        served = mirror.folder / "videomae_ucf101_full_res128_len16_skip1_seed0.pkl"
        served.write_bytes(_cdfvd_pickle(rows))
        stats = frechet.load_stats(f"ref:{VIDEOMAE_UCF.name}")
    finally:
        monkeypatch.undo()
    assert stats.n == 300 and stats.dim == 1408 and mirror.requests == [f"/{served.name}"]
    np.testing.assert_allclose(stats.mean, rows.mean(0), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(stats.cov, np.cov(rows, rowvar=False), rtol=1e-9, atol=1e-11)
    assert stats.meta["embedder_name"] == "videomae-v2-g" and stats.meta["fd_key"] == "fd_videomae"
    assert stats.meta["config"] == {"preprocess": "cd-fvd", "crop": 128} and stats.meta["output"] == "features"
    assert stats.meta["fd_options"] == {"fd_covariance": "population"}
    pins = json.loads((weights_dir() / "frechet-pins.json").read_text())
    assert pins == {VIDEOMAE_UCF.url: frechet.weights.file_sha256(served)}


@pytest.mark.parametrize("where", ["download", "weights folder"])
def test_an_i3d_pickle_under_a_videomae_name_is_refused_before_anything_is_pinned(mirror, monkeypatch, where):
    monkeypatch.setitem(references.CATALOGUE, VIDEOMAE_UCF.name, VIDEOMAE_UCF)
    i3d = _cdfvd_pickle(np.random.default_rng(5).normal(0.0, 1.0, (300, 400)))  # I3D's 400 logits
    if where == "download":
        (mirror.folder / VIDEOMAE_UCF.spec.file_name).write_bytes(i3d)
    else:  # placed by hand, never pinned
        weights_dir().mkdir(parents=True, exist_ok=True)
        (weights_dir() / VIDEOMAE_UCF.spec.file_name).write_bytes(i3d)
    with pytest.raises(WeightsError) as error:
        frechet.load_stats(f"ref:{VIDEOMAE_UCF.name}")
    message = str(error.value)
    assert "\n" not in message and "nothing was pinned" in message
    assert "400-dimensional" in message and "1408 dimensions" in message
    pins = weights_dir() / "frechet-pins.json"
    assert not pins.exists() or VIDEOMAE_UCF.url not in json.loads(pins.read_text())
    if where == "download":
        assert not (weights_dir() / VIDEOMAE_UCF.spec.file_name).exists()


def test_a_cd_fvd_videomae_reference_reports_fd_videomae_with_cd_fvds_covariance_by_n(mirror, tmp_path):
    real, fake = (np.random.default_rng(seed).normal(seed, 1.0, (2048, 8)) for seed in (6, 7))
    (mirror.folder / "videomae_sky_2048_res256_len128_skip1_seed0.pkl").write_bytes(_cdfvd_pickle(real))
    (tmp_path / "fake.pkl").write_bytes(_cdfvd_pickle(fake))
    reference = "ref:cdfvd-videomae-sky-256-128f-2048"
    assert frechet.load_stats(reference).meta["config"] == {"preprocess": "cd-fvd", "crop": 256, "frames": 128}
    result = frechet.compute(reference, tmp_path / "fake.pkl", metrics="fd", force=True)
    cov_r, cov_f = np.cov(real, rowvar=False, bias=True), np.cov(fake, rowvar=False, bias=True)
    expected = np.sum((real.mean(0) - fake.mean(0)) ** 2) + np.trace(
        cov_r + cov_f - 2 * scipy.linalg.sqrtm(cov_r @ cov_f).real)
    assert result["fd_videomae"] == result["fd"] == pytest.approx(expected, rel=1e-9) and "fvd" not in result
    assert result["fd_covariance"] == "population"


def test_the_cd_fvd_videomae_references_mirror_the_i3d_ones():
    i3d = [ref for ref in references.CATALOGUE.values() if ref.format == "cdfvd-pkl" and ref.embedder == "i3d"]
    videomae = [ref for ref in references.CATALOGUE.values()
                if ref.format == "cdfvd-pkl" and ref.embedder == "videomae-v2-g"]
    assert len(i3d) == len(videomae) == 38
    assert [ref.name.replace("cdfvd-", "cdfvd-videomae-", 1) for ref in i3d] == [ref.name for ref in videomae]
    for old, new in zip(i3d, videomae):
        assert new.url == old.url.replace("/i3d_", "/videomae_") and new.options == old.options
        assert (new.dim, new.fd_key, new.output, old.dim, old.fd_key) == (1408, "fd_videomae", "features", 400, "fvd")
    assert references.lookup("cdfvd-ucf101-128-16f-2048").url.endswith("/i3d_ucf101_2048_res128_len16_skip1_seed0.pkl")


def test_a_reference_brings_its_embedder_and_options_when_none_are_named():
    settings = references.settings_for(get_registry(), Settings(), ["ref:edm2-img512-dinov2", "fake/"])
    assert settings.embedder == ("dinov2-vitl14",) and settings.embedder_options == {"preprocess": "edm2"}


def test_a_reference_whose_embedder_is_not_installed_says_so(monkeypatch):
    monkeypatch.setenv("FRECHET_PLUGINS", "image,inception")  # the DINOv2 plugin left out
    reset_plugins()
    try:
        message = r"dinov2-vitl14 \(embedder_options=\{'preprocess': 'edm2'\}\).*not installed"
        with pytest.raises(ConfigError, match=message):
            references.settings_for(get_registry(), Settings(), ["ref:edm2-img512-dinov2", "fake/"])
    finally:
        monkeypatch.delenv("FRECHET_PLUGINS")
        reset_plugins()


def test_an_unknown_reference_suggests_names():
    with pytest.raises(ConfigError, match="unknown reference 'ref:cifar10-train'; did you mean .*ttur-cifar10-train"):
        references.lookup("ref:cifar10-train")


def test_the_catalogue_covers_the_peers_references_with_their_provenance():
    names = set(references.CATALOGUE)
    assert {"ttur-cifar10-train", "ttur-celeba", "ttur-lsun-bedroom-train", "ttur-imagenet-train",
            "ttur-imagenet-valid"} <= names
    assert {f"adm-imagenet{size}" for size in (64, 128, 256, 512)} | {"adm-lsun-bedroom256"} <= names
    assert {"edm2-img64", "edm2-img512", "edm2-img64-dinov2", "edm2-img512-dinov2"} <= names
    clean = [ref for ref in references.CATALOGUE.values() if ref.name.startswith("cleanfid-")]
    assert {ref.options["preprocess"] for ref in clean} == {"clean", "tf", "pytorch-fid"}
    for ref in references.CATALOGUE.values():
        # pinned at the first download, unless the file ships in a package index's wheel (MOSES': its digest there)
        assert ref.format in references.FORMATS and (ref.spec.pin or ref.package_file) and ref.url.startswith("http")
    # clean-fid's URL scheme: {name}_{mode}_{split}_{res}.npz
    assert references.lookup("cleanfid-ffhq-legacy-tensorflow-trainval70k-256").url.endswith(
        "/ffhq_legacy_tensorflow_trainval70k_256.npz"
    )


def test_frechet_refs_lists_each_reference_with_the_flags_that_reproduce_it(capsys):
    assert main(["refs", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)["references"]
    assert len(rows) == len(references.CATALOGUE)
    row = next(row for row in rows if row["name"] == "cleanfid-cifar10-legacy-pytorch-train-32")
    assert row["reproduce_with"] == "--embedder inception --preprocess pytorch-fid" and row["items"] == 50_000
    assert main(["refs", "adm-imagenet256"]) == 0
    assert "VIRTUAL_imagenet256_labeled.npz" in capsys.readouterr().out
    videomae = {row["name"]: row for row in rows if row["name"].startswith("cdfvd-videomae-")}
    assert len(videomae) == 38
    assert {(row["embedder"], row["dim"]) for row in videomae.values()} == {("videomae-v2-g", 1408)}
    assert videomae["cdfvd-videomae-kinetics-256-128f-2048"]["reproduce_with"] == (
        "--embedder videomae-v2-g --preprocess cd-fvd --embedder-option crop=256 --embedder-option frames=128")
    assert "cdfvd-videomae-kinetics-256-128f" not in videomae  # Kinetics at 128 frames: 2048 videos only
    assert main(["refs", "cdfvd-videomae"]) == 0
    assert "ref:cdfvd-videomae-ffs-256-128f " in capsys.readouterr().out


def test_the_references_page_lists_every_name_in_the_catalogue():
    page = (Path(__file__).resolve().parents[2] / "docs" / "guide" / "references.md").read_text()
    assert [name for name in references.CATALOGUE if f"`ref:{name}`" not in page] == []


def test_a_scorer_takes_a_reference_by_name(mirror):
    _serve_ttur_cifar(mirror.folder)
    fake = np.random.default_rng(3).standard_normal((50, 8))
    scorer = frechet.Scorer(reference="ref:ttur-cifar10-train", embedder="features", force=True)
    scorer.update(fake)
    expected = frechet_distance(FeatureStats.load(mirror.folder / "fid_stats_cifar10_train.npz"),
                                FeatureStats.from_features(fake))
    assert scorer.compute()["fd"] == pytest.approx(expected, rel=1e-12)


def test_frechet_stats_converts_a_reference_to_a_statistics_file_with_its_provenance(mirror, tmp_path):
    mu, sigma = _serve_ttur_cifar(mirror.folder)
    assert main(["stats", "ref:ttur-cifar10-train", "-o", str(tmp_path / "cifar.npz")]) == 0
    saved = FeatureStats.load(tmp_path / "cifar.npz")
    np.testing.assert_allclose(saved.mean, mu, rtol=1e-6)
    assert saved.meta["reference"] == "ttur-cifar10-train" and saved.meta["config"]["preprocess"] == "tf"
