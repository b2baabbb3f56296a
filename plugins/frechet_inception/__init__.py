"""frechet's FID Inception-v3 embedder (``inception``): pool3 features for FID, class logits for the Inception Score,
spatial features for sFID; and the ADM evaluator's metrics on it (``sfid``, ``adm``)."""

from __future__ import annotations

from typing import Any

from frechet.hookspecs import hookimpl
from frechet_inception.embedder import InceptionEmbedder
from frechet_inception.metrics import ADMSuiteMetric, SpatialFIDMetric
from frechet_inception.network import OUTPUTS

__all__ = ["InceptionEmbedder"]


@hookimpl
def frechet_register_embedders(register: Any) -> None:
    register(
        "inception",
        InceptionEmbedder,
        domain="image",
        outputs=dict(OUTPUTS),
        description="FID Inception-v3 (TensorFlow 2015-12-05 weights): pool3 for FID, logits for IS, sfid for sFID",
    )


@hookimpl
def frechet_register_metrics(register: Any) -> None:
    register(
        "sfid",
        SpatialFIDMetric,
        description="sFID: FD of the inception embedder's spatial features, as the ADM evaluator computes it (sfid)",
    )
    register(
        "adm",
        ADMSuiteMetric,
        description="what the ADM evaluator prints: inception_score, fid, sfid, precision, recall (inception only)",
    )
