"""The core's own plugin: the features domain (feature files and arrays, identity embedder) and core metrics."""

from __future__ import annotations

from typing import Any

from frechet.features import (
    FEATURE_SUFFIXES,
    FeaturesEmbedder,
    is_feature_matrix,
    open_feature_array,
    open_feature_file,
)
from frechet.hookspecs import hookimpl
from frechet.metrics.fd import FrechetDistanceMetric
from frechet.metrics.inception_score import InceptionScoreMetric


@hookimpl
def frechet_register_embedders(register: Any) -> None:
    register(
        "features",
        FeaturesEmbedder,
        domain="features",
        outputs={"features": None},
        description="identity: the inputs are precomputed feature rows (.npy, .npz, 2-D arrays)",
    )


@hookimpl
def frechet_register_sources(register: Any) -> None:
    register(
        "feature-file",
        open_feature_file,
        domain="features",
        suffixes=FEATURE_SUFFIXES,
        description="(N, d) feature matrix in .npy or .npz (key 'features' or its only array)",
    )
    register(
        "feature-array",
        open_feature_array,
        domain="features",
        accepts=is_feature_matrix,
        description="(N, d) numpy array or torch tensor given to the Python API",
    )


@hookimpl
def frechet_register_metrics(register: Any) -> None:
    register(
        "fd",
        FrechetDistanceMetric,
        description="Fréchet distance between feature Gaussians (FID for Inception, FAD for audio)",
        aliases=("fid", "fad"),
    )
    register(
        "is",
        InceptionScoreMetric,
        description="Inception Score of the second input (needs an embedder with class logits)",
        aliases=("isc",),
    )
