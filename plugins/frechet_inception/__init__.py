"""frechet's FID Inception-v3 embedder (``inception``): pool3 features for FID, class logits for the Inception Score,
spatial features for sFID; and the ADM evaluator's metrics on it (``sfid``, ``adm``)."""

from __future__ import annotations

from typing import Any

from frechet.hookspecs import hookimpl
from frechet_inception.embedder import InceptionEmbedder
from frechet_inception.metrics import ADMSuiteMetric, SpatialFIDMetric

__all__ = ["InceptionEmbedder"]

#: Its inputs are images, read by the image plugin's sources.
frechet_requires = ("image",)


@hookimpl
def frechet_register_embedders(register: Any) -> None:
    register(InceptionEmbedder)


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
