"""FD's warning at N ≤ d words the half-sample bias estimate by its sign: an upward bias only when it is positive."""

import logging

import numpy as np
import pytest

from frechet.metrics import fd as fd_module
from frechet.metrics.base import MetricContext, Side
from frechet.metrics.fd import FrechetDistanceMetric
from frechet.stats import FeatureStats


def _warning(caplog, monkeypatch, bias):
    monkeypatch.setattr(fd_module, "fd_bias", lambda real, fake, seed, **known: bias)
    rng = np.random.default_rng(0)
    sides = [Side(label, {"f": FeatureStats.from_features(rng.standard_normal((6, 10)))}) for label in ("a", "b")]
    with caplog.at_level(logging.WARNING, logger="frechet"):
        value = FrechetDistanceMetric().compute(*sides, MetricContext("f"))["fd"]
    [message] = [record.getMessage() for record in caplog.records]
    return message, value


def test_a_positive_estimate_is_an_upward_bias(caplog, monkeypatch):
    message, value = _warning(caplog, monkeypatch, 2.5)
    assert f"half-samples put its upward bias at 2.5 or more (FD {value:.4g})" in message


@pytest.mark.parametrize("bias", [-0.76, 0.0])
def test_a_negative_or_zero_estimate_is_never_called_an_upward_bias(caplog, monkeypatch, bias):
    message, _ = _warning(caplog, monkeypatch, bias)
    assert "upward bias at" not in message
    assert f"half-samples found no upward bias (their estimate is {bias:.4g}" in message

