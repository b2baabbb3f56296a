"""MIND against torch-fidelity master's metric_mind (goldens) and its closed form for shifted Gaussians."""

import pytest
import torch

from frechet.errors import ConfigError
from frechet.metrics.base import MetricContext, Side
from frechet.metrics.mind import MINDMetric, mind


@pytest.mark.parametrize("case", ["default", "equal_counts", "fake_larger_seed_7"])
def test_mind_matches_torch_fidelity_with_the_same_seed_and_features(mind_features, mind_vendi_goldens, case):
    real, fake = mind_features
    golden = mind_vendi_goldens["mind"][case]
    value = mind(real[: golden["n_real"]], fake[: golden["n_fake"]], directions=golden["directions"],
                 seed=golden["seed"])
    assert value == pytest.approx(golden["mind"], rel=1e-6)


def test_mind_matches_torch_fidelity_when_the_sets_are_alike(mind_features, mind_vendi_goldens):
    real, _ = mind_features
    assert mind(real[:350], real[350:]) == pytest.approx(mind_vendi_goldens["mind"]["same_distribution"]["mind"],
                                                         rel=1e-6)


def test_goldens_would_catch_another_seed_or_no_subsampling(mind_vendi_goldens):
    sensitivity = mind_vendi_goldens["mind_sensitivity"]
    assert min(sensitivity.values()) > 1000 * 1e-6


def test_mind_is_symmetric_zero_on_itself_and_independent_of_the_block_size(mind_features, monkeypatch):
    real, fake = mind_features
    assert mind(real, real) == 0.0
    assert mind(real[:600], fake) == mind(fake, real[:600])
    whole = mind(real, fake[:650], directions=300)
    monkeypatch.setattr("frechet.metrics.mind._BLOCK_VALUES", 650 * 7)  # blocks of 7 directions
    assert mind(real, fake[:650], directions=300) == pytest.approx(whole, rel=1e-12)


def test_mind_of_a_shifted_gaussian_approaches_three_d_times_the_squared_shift():
    # u·X ~ N(0, 1) and u·Y ~ N(u·μ1, 1): W₂² = (u·μ1)², whose mean over unit u is μ²; times 3d gives 3dμ².
    generator = torch.Generator().manual_seed(0)
    dim, shift = 16, 0.5
    real = torch.randn(4000, dim, generator=generator)
    fake = torch.randn(4000, dim, generator=generator) + shift
    assert mind(real, fake, directions=2000) == pytest.approx(3 * dim * shift**2, rel=0.1)


def test_mind_metric_reads_its_option_and_refuses_an_empty_side(mind_features):
    real, fake = mind_features
    context = MetricContext("f", options={"mind_directions": 50})
    values = MINDMetric().compute(Side("real", features={"f": real}), Side("fake", features={"f": fake}), context)
    assert values == {"mind": mind(real, fake, directions=50)}
    with pytest.raises(ConfigError, match="fake side has no items"):
        MINDMetric().check_sizes({"real": 10, "fake": 0}, context)
