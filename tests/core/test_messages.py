"""Messages that must not contradict what follows them: a bias estimate below zero is not called an upward bias, and
a run that takes a reference's embedder with options of the caller's own does not claim to use the same."""

from __future__ import annotations

import logging

import numpy as np

from frechet.metrics import fd as fd_module
from frechet.metrics.base import MetricContext, Side
from frechet.plugins import get_registry
from frechet.references import settings_for
from frechet.settings import Settings
from frechet.stats import FeatureStats


def _few_rows_fd(monkeypatch, caplog, bias: float) -> str:
    monkeypatch.setattr(fd_module, "fd_bias", lambda real, fake, seed: bias)
    rng = np.random.default_rng(0)
    sides = [Side(label, stats={"x": FeatureStats.from_features(rng.standard_normal((5, 8)) + shift)})
             for label, shift in (("real", 0.0), ("fake", 1.0))]
    with caplog.at_level(logging.WARNING, "frechet"):
        fd_module.FrechetDistanceMetric().compute(*sides, MetricContext("x"))
    return caplog.records[-1].getMessage()


def test_a_negative_bias_estimate_is_not_called_an_upward_bias(monkeypatch, caplog):
    message = _few_rows_fd(monkeypatch, caplog, -0.005133)
    assert "upward bias at" not in message and "too few to measure its bias" in message and "-0.0051" in message
    assert "upward bias at 0.25 or more" in _few_rows_fd(monkeypatch, caplog, 0.25)


def test_a_reference_run_with_the_callers_own_weights_does_not_claim_to_use_the_same(caplog):
    with caplog.at_level(logging.INFO, "frechet"):
        settings_for(get_registry(), Settings(embedder_options={"weights": "mine.pth"}), ["ref:ttur-cifar10-train"])
    message = caplog.records[-1].getMessage()
    assert "this run uses the same" not in message
    assert "this run uses that embedder with your embedder_options={'weights': 'mine.pth'}" in message
    caplog.clear()
    with caplog.at_level(logging.INFO, "frechet"):
        settings_for(get_registry(), Settings(), ["ref:ttur-cifar10-train"])
    assert caplog.records[-1].getMessage().endswith("this run uses the same")
