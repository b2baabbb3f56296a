"""The core's own plugin: the features domain (feature files and arrays, identity embedder), core metrics, and the
mix:OTHER disturbance of every domain."""

from __future__ import annotations

from typing import Any

from frechet.disturbance import Mix
from frechet.features import (
    FEATURE_SUFFIXES,
    FeaturesEmbedder,
    is_feature_matrix,
    open_feature_array,
    open_feature_file,
)
from frechet.hookspecs import hookimpl
from frechet.metrics.bootstrap import FDBootstrapMetric
from frechet.metrics.density_coverage import DensityCoverageMetric
from frechet.metrics.fd import FrechetDistanceMetric
from frechet.metrics.fd_infinity import FDInfinityMetric, ISInfinityMetric
from frechet.metrics.inception_score import InceptionScoreMetric
from frechet.metrics.kid import KernelInceptionDistanceMetric
from frechet.metrics.mind import MINDMetric
from frechet.metrics.mmd import MMDMetric
from frechet.metrics.prdc import PRDCMetric
from frechet.metrics.precision_recall import PrecisionRecallMetric
from frechet.metrics.vendi import VendiMetric


@hookimpl
def frechet_register_embedders(register: Any) -> None:
    register(FeaturesEmbedder)


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
        description="Fréchet distance between feature Gaussians (FID for Inception, FAD for audio, FVD for I3D)",
        aliases=("fid", "fad", "fvd"),
    )
    register(
        "is",
        InceptionScoreMetric,
        description="Inception Score of the second input (needs an embedder with class logits)",
        aliases=("isc",),
    )
    register(
        "kid",
        KernelInceptionDistanceMetric,
        description="Kernel Inception Distance: unbiased cubic-kernel MMD² over random subsets (kid, kid_std)",
    )
    register(
        "pr",
        PrecisionRecallMetric,
        description="improved precision and recall from k-NN balls, k=3 (precision, recall)",
    )
    register(
        "dc",
        DensityCoverageMetric,
        description="density and coverage from the real k-NN balls, k=5 (density, coverage)",
    )
    register(
        "prdc",
        PRDCMetric,
        description="precision, recall, density and coverage in one pass (k=3 and k=5)",
    )
    register(
        "fd-inf",
        FDInfinityMetric,
        description="FD extrapolated to infinitely many samples, Chong & Forsyth (fd_inf, fd_inf_r2)",
        aliases=("fid-inf", "fad-inf"),
    )
    register(
        "fd-ci",
        FDBootstrapMetric,
        description="interval for the population FD around its bias-corrected estimate, by half-sampling "
        "(fd_ci_low, fd_ci_high, fd_ci_corrected, fd_ci_plain, fd_ci_target)",
    )
    register(
        "mmd",
        MMDMetric,
        description="RBF-kernel MMD² × 1000 with σ=10, as CMMD defines it (mmd)",
    )
    register(
        "is-inf",
        ISInfinityMetric,
        description="Inception Score extrapolated to infinitely many samples (is_inf, is_inf_r2)",
        aliases=("isc-inf",),
    )
    register(
        "mind",
        MINDMetric,
        description="Monge Inception Distance: 3·d × sliced squared 2-Wasserstein over 1000 random directions (mind)",
    )
    register(
        "vendi",
        VendiMetric,
        description="Vendi score: effective number of distinct samples, cosine kernel (vendi, vendi_real)",
    )


@hookimpl
def frechet_register_disturbances(register: Any) -> None:
    register(Mix)
