"""Metrics of the ADM evaluator on the ``inception`` embedder: ``sfid``, and ``adm``, which computes everything the
evaluator prints.

``adm`` output keys, against the evaluator's printout (``python evaluator.py REF.npz SAMPLE.npz``):

============================  =====================  ===========================================================
evaluator prints              frechet key            how
============================  =====================  ===========================================================
``Inception Score: …``        ``inception_score``    logits without the bias (``logits_unbiased``) of the sample
                                                     batch, splits of 5,000 in order, mean (no std)
``FID: …``                    ``fid``                FD of pool3 statistics (a reference batch's stored ones)
``sFID: …``                   ``sfid``               FD of the spatial features (``sfid``: ``mixed_6/conv``, 7
                                                     channels, 17·17·7 = 2023 values)
``Precision: …``              ``precision``          k = 3 balls on pool3 features, float16 distances
``Recall: …``                 ``recall``             the same, real inside fake balls
============================  =====================  ===========================================================
"""

from __future__ import annotations

from typing import Any

from frechet.errors import ConfigError
from frechet.metrics._options import whole_number
from frechet.metrics.base import Metric, MetricContext, Need, Side
from frechet.metrics.fd import checked_fd
from frechet_inception.adm import IS_SPLIT_SIZE, NEAREST_K, adm_inception_score, adm_precision_recall

_ADM_OUTPUTS = ("pool", "sfid", "logits_unbiased")


def _require(context: MetricContext, outputs: tuple[str, ...], metric: str) -> None:
    missing = [output for output in outputs if output not in context.outputs]
    if missing:
        raise ConfigError(
            f"metric '{metric}' needs the inception embedder's {', '.join(missing)} output(s), and embedder "
            f"'{context.embedder}' has none; use --embedder inception"
        )


class SpatialFIDMetric(Metric):
    """sFID (Nash et al. 2021, as the ADM evaluator computes it): FD of the ``sfid`` spatial features; key ``sfid``."""

    name = "sfid"
    default_embedder = "inception"

    def needs(self, context: MetricContext) -> list[Need]:
        _require(context, ("sfid",), self.name)
        return [Need("sfid", "stats")]

    def compute(self, real: Side, fake: Side, context: MetricContext) -> dict[str, Any]:
        return {"sfid": checked_fd(real, fake, "sfid", context.seed, name="sfid")}


class ADMSuiteMetric(Metric):
    """What the ADM evaluator prints: keys ``inception_score``, ``fid``, ``sfid``, ``precision``, ``recall``.

    Options: ``adm_is_split_size`` (5000), ``adm_nearest_k`` (3), ``adm_float16_distances`` (1: precision/recall on
    the evaluator's float16 distances; 0: exact distances).
    """

    name = "adm"
    default_embedder = "inception"
    options = {"adm_is_split_size": IS_SPLIT_SIZE, "adm_nearest_k": NEAREST_K, "adm_float16_distances": 1}

    def needs(self, context: MetricContext) -> list[Need]:
        _require(context, _ADM_OUTPUTS, self.name)
        return [
            Need("pool", "stats"), Need("sfid", "stats"), Need("pool", "features"),
            Need("logits_unbiased", "features", sides="fake"),
        ]

    def compute(self, real: Side, fake: Side, context: MetricContext) -> dict[str, Any]:
        options = context.options
        precision, recall = adm_precision_recall(
            real.features_of("pool", self.name), fake.features_of("pool", self.name),
            whole_number(options, "adm_nearest_k"), float16=bool(whole_number(options, "adm_float16_distances", 0)),
            device=context.device,
        )
        return {
            "inception_score": adm_inception_score(
                fake.features_of("logits_unbiased", self.name), whole_number(options, "adm_is_split_size")
            ),
            "fid": checked_fd(real, fake, "pool", context.seed, name="adm fid"),
            "sfid": checked_fd(real, fake, "sfid", context.seed, name="adm sfid"),
            "precision": precision,
            "recall": recall,
        }
