"""Inception Score (Salimans et al. 2016): exp E_x KL(p(y|x) ‖ p(y)), over splits of the generated samples.

As torch-fidelity: logits taken from the embedder's ``logits_unbiased`` output when it has one (else ``logits``),
samples shuffled with ``numpy.random.RandomState(seed).permutation``, 10 equal splits, float64 softmax, and the
mean and population standard deviation of the per-split scores.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from frechet.errors import ConfigError, InputError
from frechet.metrics._options import whole_number
from frechet.metrics.base import Metric, MetricContext, Need, Side, too_few

LOGIT_OUTPUTS = ("logits_unbiased", "logits")


def inception_score(logits: np.ndarray, splits: int = 10, *, shuffle: bool = True, seed: int = 2020) -> tuple[float, float]:
    """Mean and standard deviation of the Inception Score of (N, classes) logits over ``splits`` splits."""
    logits = np.asarray(logits, dtype=np.float64)
    if logits.ndim != 2:
        raise InputError(f"logits must be (samples, classes), got shape {logits.shape}")
    n = logits.shape[0]
    if splits < 1 or n < splits:
        raise InputError(f"the Inception Score needs at least {splits} samples for {splits} splits, got {n}")
    if shuffle:
        logits = logits[np.random.RandomState(seed).permutation(n)]
    log_p = logits - _logsumexp(logits)
    p = np.exp(log_p)
    scores = []
    for split in range(splits):
        rows = slice(split * n // splits, (split + 1) * n // splits)
        log_marginal = np.log(p[rows].mean(axis=0))
        kl = (p[rows] * (log_p[rows] - log_marginal)).sum(axis=1).mean()
        scores.append(np.exp(kl))
    return float(np.mean(scores)), float(np.std(scores))


def _logsumexp(x: np.ndarray) -> np.ndarray:
    peak = x.max(axis=1, keepdims=True)
    return peak + np.log(np.exp(x - peak).sum(axis=1, keepdims=True))


def logits_output(context: MetricContext) -> str:
    """The embedder output holding class logits, or a ConfigError when it has none."""
    for name in LOGIT_OUTPUTS:
        if name in context.outputs:
            return name
    raise ConfigError(
        f"the Inception Score needs class logits, and embedder '{context.embedder}' has no output named "
        f"{' or '.join(LOGIT_OUTPUTS)}; use an embedder with a classifier head (e.g. inception)"
    )


class InceptionScoreMetric(Metric):
    """Inception Score of the fake (second) side: keys ``is_mean`` and ``is_std``."""

    name = "is"
    options = {"is_splits": 10}

    def needs(self, context: MetricContext) -> list[Need]:
        return [Need(logits_output(context), "features", sides="fake")]

    def check_sizes(self, sizes: Mapping[str, int | None], context: MetricContext, *, exact: bool = True) -> None:
        splits, count = whole_number(context.options, "is_splits"), sizes.get("fake")
        if count is not None and count < splits:
            too_few(f"is: the fake side has {count} items, fewer than is_splits={splits}; set --metric-option "
                    f"is_splits=N with N ≤ {count}", exact=exact)

    def compute(self, real: Side, fake: Side, context: MetricContext) -> dict[str, Any]:
        splits = whole_number(context.options, "is_splits")
        mean, std = inception_score(fake.features_of(logits_output(context), self.name), splits, seed=context.seed)
        return {"is_mean": mean, "is_std": std}
