"""Vendi score against the vendi-score package (goldens), its limits, and the streamed d × d sums."""

import math

import numpy as np
import pytest

from frechet.errors import ConfigError
from frechet.metrics.base import MetricContext, Side
from frechet.metrics.vendi import VendiMetric, VendiSums, vendi_score


@pytest.mark.parametrize("q", [1.0, 0.5, 2.0, "inf"])
def test_vendi_matches_the_vendi_score_package(vendi_features, mind_vendi_goldens, q):
    golden = mind_vendi_goldens["vendi"]
    value = vendi_score(vendi_features, q=float(q))
    assert value == pytest.approx(golden[f"score_dual_q{q}"], rel=1e-8)
    if q != 0.5:  # below q = 1 the n × n form also counts its n − d rounding-level eigenvalues
        assert value == pytest.approx(golden[f"score_K_q{q}"], rel=1e-8)
    if q == 1.0:
        assert value == pytest.approx(golden["score_X_q1"], rel=1e-8)


def test_vendi_counts_identical_rows_once_and_orthogonal_rows_each():
    assert vendi_score(np.tile([[1.0, 2.0, 3.0]], (50, 1))) == pytest.approx(1.0, rel=1e-12)
    assert vendi_score(np.eye(7) * 3.0) == pytest.approx(7.0, rel=1e-12)
    assert vendi_score(np.eye(7), q=math.inf) == pytest.approx(7.0, rel=1e-12)


def test_streamed_sums_in_any_batches_give_the_one_pass_score(vendi_features):
    sums = VendiSums()
    for batch in np.array_split(vendi_features, 7):
        sums.update(batch)
    assert sums.score(2.0) == pytest.approx(vendi_score(vendi_features, q=2.0), rel=1e-12)


def test_vendi_metric_scores_the_fake_side_and_the_real_side_when_it_has_rows(vendi_features):
    context = MetricContext("f", options={"vendi_q": "inf"})
    real, fake = vendi_features[:300], vendi_features[300:]
    both = VendiMetric().compute(Side("real", features={"f": real}), Side("fake", features={"f": fake}), context)
    assert both == {"vendi": vendi_score(fake, q=math.inf), "vendi_real": vendi_score(real, q=math.inf)}
    only_fake = VendiMetric().compute(Side("real"), Side("fake", features={"f": fake}), context)
    assert set(only_fake) == {"vendi"}


@pytest.mark.parametrize("q", [0, -1, "abc", True])
def test_vendi_order_must_be_positive(vendi_features, q):
    with pytest.raises(ConfigError, match="vendi_q must be a number > 0 or inf"):
        VendiMetric().compute(Side("real"), Side("fake", features={"f": vendi_features}),
                              MetricContext("f", options={"vendi_q": q}))
