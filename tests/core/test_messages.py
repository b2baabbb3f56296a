"""Messages that must not contradict what follows them: a run that takes a reference's embedder with options of the
caller's own does not claim to use the same (FD's bias wording: tests/metrics/test_fd_warnings.py)."""

from __future__ import annotations

import logging

from frechet.plugins import get_registry
from frechet.references import settings_for
from frechet.settings import Settings


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
