"""The metric suite through `frechet compute`: flags mapped onto metric options, values equal to the Python API."""

import json
import logging

import numpy as np
import pytest

from frechet.cli import main
from frechet.errors import ConfigError
from frechet.metrics.base import MetricContext, Need
from frechet.metrics.bootstrap import fd_interval
from frechet.metrics.fd_infinity import FDInfinityMetric, fd_infinity
from frechet.metrics.inception_score import InceptionScoreMetric
from frechet.metrics.kid import KernelInceptionDistanceMetric, kid
from frechet.metrics.mind import mind
from frechet.metrics.mmd import mmd
from frechet.metrics.prdc import PRDCMetric, prdc
from frechet.metrics.vendi import vendi_score
from frechet.stats import FeatureStats


@pytest.fixture
def files(knn_features, tmp_path):
    real, fake = knn_features
    np.save(tmp_path / "real.npy", real)
    np.save(tmp_path / "fake.npy", fake)
    return str(tmp_path / "real.npy"), str(tmp_path / "fake.npy")


def _run(capsys, *args):
    assert main(["compute", *args, "--json", "--quiet"]) == 0
    return json.loads(capsys.readouterr().out.strip().splitlines()[-1])


def test_compute_reports_every_metric_as_the_python_api_computes_it(files, knn_features, capsys):
    result = _run(capsys, *files, "--metrics", "fd,kid,prdc,fd-inf,fd-ci,mmd", "--kid-subsets", "20",
                  "--kid-subset-size", "100", "--bootstrap", "50", "--confidence", "0.8")
    real, fake = (features.astype(np.float64) for features in knn_features)
    assert (result["kid"], result["kid_std"]) == pytest.approx(kid(real, fake, subsets=20, subset_size=100), rel=1e-12)
    assert {key: result[key] for key in ("precision", "recall", "density", "coverage")} == prdc(real, fake)
    assert (result["fd_inf"], result["fd_inf_r2"]) == pytest.approx(fd_infinity(real, fake), rel=1e-9)
    interval = fd_interval(real, fake, resamples=50, confidence=0.8)
    assert (result["fd_ci_low"], result["fd_ci_high"], result["fd_ci_corrected"]) == pytest.approx(
        (interval.low, interval.high, interval.corrected), rel=1e-9
    )
    assert result["fd_ci_plain"] == result["fd"] and result["fd_ci_target"] == "population FD"
    assert result["mmd"] == pytest.approx(mmd(real, fake), rel=1e-12)


def test_nearest_k_sets_k_of_every_chosen_knn_metric(files, knn_features, goldens, capsys):
    result = _run(capsys, *files, "--metrics", "prdc", "--nearest-k", "5")
    assert {key: result[key] for key in ("precision", "recall", "density", "coverage")} == pytest.approx(
        {key: goldens["prdc"]["k5"][key] for key in ("precision", "recall", "density", "coverage")}, rel=1e-12
    )
    only_pr = _run(capsys, *files, "--metrics", "pr", "--nearest-k", "5")
    assert only_pr["precision"] == pytest.approx(goldens["torch_fidelity_prc"]["k5"]["precision"], rel=1e-6)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--metrics", "fd", "--nearest-k", "4"], "--nearest-k sets pr_nearest_k / dc_nearest_k, which none"),
        (["--metrics", "kid", "--kid-subsets", "3", "--metric-option", "kid_subsets=4"], "both given"),
        (["--metrics", "kid", "--metric-option", "kid_subset_size=1"], "kid_subset_size must be a whole number ≥ 2"),
        (["--metrics", "fd-ci", "--metric-option", "fd_ci_confidence=2"], "fd_ci_confidence must be a number > 0"),
    ],
)
def test_bad_metric_settings_are_one_line_errors(files, capsys, args, message):
    assert main(["compute", *files, *args, "--quiet"]) == 2
    assert message in capsys.readouterr().err


def test_confidence_flag_checks_its_range(files, capsys):
    with pytest.raises(SystemExit):
        main(["compute", *files, "--metrics", "fd-ci", "--confidence", "1.5"])
    assert "between 0 and 1" in capsys.readouterr().err


def test_fd_ci_replicates_a_statistics_side_of_known_size_and_says_when_it_holds_one_fixed(files, tmp_path, capsys):
    assert main(["stats", files[0], "-o", str(tmp_path / "real_stats.npz")]) == 0
    result = _run(capsys, str(tmp_path / "real_stats.npz"), files[1], "--metrics", "fd,fd-ci", "--bootstrap", "100")
    stats = FeatureStats.load(tmp_path / "real_stats.npz")
    assert result["fd_ci_target"] == "population FD" and result["fd_ci_plain"] == result["fd"]
    np.savez(tmp_path / "uncounted.npz", mu=stats.mean, sigma=stats.cov)
    fixed = _run(capsys, str(tmp_path / "uncounted.npz"), files[1], "--metrics", "fd,fd-ci", "--bootstrap", "100")
    assert fixed["fd_ci_target"].startswith("FD against this reference")
    assert fixed["fd"] == pytest.approx(result["fd"], rel=1e-9)


def test_fd_infinity_takes_the_reference_from_a_statistics_file(files, knn_features, tmp_path, capsys):
    assert main(["stats", files[0], "-o", str(tmp_path / "real_stats.npz")]) == 0
    result = _run(capsys, str(tmp_path / "real_stats.npz"), files[1], "--metrics", "fd-inf")
    expected = fd_infinity(FeatureStats.load(tmp_path / "real_stats.npz"), knn_features[1].astype(np.float64))
    assert (result["fd_inf"], result["fd_inf_r2"]) == pytest.approx(expected, rel=1e-9)


def test_feature_metrics_explain_that_statistics_files_are_not_enough(files, tmp_path, capsys):
    assert main(["stats", files[0], "-o", str(tmp_path / "real_stats.npz")]) == 0
    assert main(["compute", str(tmp_path / "real_stats.npz"), files[1], "--metrics", "kid", "--quiet"]) == 2
    assert "needs the features themselves" in capsys.readouterr().err


def test_metrics_listing_shows_each_metrics_options(capsys):
    assert main(["metrics", "--json"]) == 0
    rows = {row["name"]: row for row in json.loads(capsys.readouterr().out.strip().splitlines()[-1])["metrics"]}
    assert rows["kid"]["options"] == {"kid_subsets": 100, "kid_subset_size": 1000}
    assert rows["prdc"]["options"] == {"pr_nearest_k": 3, "dc_nearest_k": 5}
    assert {"fd", "kid", "pr", "dc", "prdc", "fd-inf", "fd-ci", "mmd", "is", "is-inf", "mind", "vendi"} <= set(rows)
    assert rows["mind"]["options"] == {"mind_directions": 1000} and rows["vendi"]["options"] == {"vendi_q": 1.0}


def test_fd_infinity_keeps_features_of_the_fake_side_only():
    context = MetricContext("pool")
    assert FDInfinityMetric().needs(context) == [Need("pool", "stats"), Need("pool", "features", sides="fake")]
    assert KernelInceptionDistanceMetric().needs(context) == [Need("pool", "features")]


def test_mind_and_vendi_through_compute_equal_the_python_api_and_fd_ci_beside_them_changes_nothing(
        files, knn_features, capsys):
    result = _run(capsys, *files, "--metrics", "mind,vendi", "--metric-option", "mind_directions=64",
                  "--metric-option", "vendi_q=2")
    beside = _run(capsys, *files, "--metrics", "kid,mind,vendi,fd-ci", "--metric-option", "mind_directions=64",
                  "--metric-option", "vendi_q=2", "--bootstrap", "4", "--kid-subsets", "5", "--kid-subset-size", "50")
    assert {key: beside[key] for key in ("mind", "vendi", "vendi_real")} == {
        key: result[key] for key in ("mind", "vendi", "vendi_real")}
    real, fake = knn_features
    assert (beside["kid"], beside["kid_std"]) == pytest.approx(
        kid(real.astype(np.float64), fake.astype(np.float64), subsets=5, subset_size=50), rel=1e-12)
    assert result["mind"] == pytest.approx(mind(real, fake, directions=64), rel=1e-12)
    assert (result["vendi"], result["vendi_real"]) == pytest.approx(
        (vendi_score(fake, q=2.0), vendi_score(real, q=2.0)), rel=1e-12
    )


@pytest.mark.parametrize(
    ("metrics", "rows", "message"),
    [
        ("prdc", 5, "dc_nearest_k=5 need more than 5; add items or set --nearest-k"),
        ("pr", 3, "pr_nearest_k=3 need more than 3"),
        ("fd-inf", 12, "set --metric-option infinity_points=… (fewer) or infinity_start=… (larger)"),
        ("fd-ci", 3, "fd-ci: the real side has 3 items"),
    ],
)
def test_counts_a_metric_cannot_work_with_are_refused_before_anything_is_embedded(
    tmp_path, capsys, monkeypatch, metrics, rows, message
):
    monkeypatch.setattr("frechet.runner.embed", lambda *args, **kwargs: pytest.fail("embedded before the check"))
    features = np.random.default_rng(0).standard_normal((rows, 4)).astype(np.float32)
    for name in ("real", "fake"):
        np.save(tmp_path / f"{name}.npy", features)
    assert main(["compute", str(tmp_path / "real.npy"), str(tmp_path / "fake.npy"), "--metrics", metrics,
                 "--quiet"]) == 2
    assert message in capsys.readouterr().err


def test_inception_score_refuses_fewer_items_than_splits_naming_the_option():
    context = MetricContext("pool", outputs={"logits": 1008}, options={"is_splits": 10})
    with pytest.raises(ConfigError, match="fewer than is_splits=10; set --metric-option is_splits=N with N ≤ 7"):
        InceptionScoreMetric().check_sizes({"real": None, "fake": 7}, context)
    InceptionScoreMetric().check_sizes({"real": None, "fake": 10}, context)


def test_counts_that_are_lower_bounds_only_warn(caplog):
    # an audio embedder yields several examples per item, so 3 items may still be enough examples
    context = MetricContext("f", options={"pr_nearest_k": 3, "dc_nearest_k": 5})
    with caplog.at_level(logging.WARNING, logger="frechet"):
        PRDCMetric().check_sizes({"real": 3, "fake": 3}, context, exact=False)
    assert "need more than 5" in caplog.text and "counted in items before embedding" in caplog.text
