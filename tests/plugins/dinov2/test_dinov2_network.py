"""The DINOv2 networks: the hub checkpoints' key layout for all four sizes, strict loading, the hub model's class
token on fixed inputs (shallow variants, square and non-square; ViT-L/14 is checked by the parity tests), and the
positional-embedding interpolation details that decide it."""

from __future__ import annotations

import hashlib

import pytest
import torch
import torch.nn.functional as F

from frechet.errors import WeightsError
from frechet_dinov2.network import (
    ARCHITECTURES,
    CHECKPOINT_GRID,
    interpolate_positions,
    load_network_state,
    state_dict_layout,
)
from frechet_dinov2.weights import load_network

from dinov2_random_weights import random_input, state_sha256

FEATURE_ATOL = 1e-4


@pytest.mark.parametrize("arch", sorted(ARCHITECTURES))
def test_key_layout_is_the_hub_checkpoints(arch, golden):
    # The golden script built each full-size hub model and compared its 'key shape' lines with these.
    lines = [f"{key} {shape}" for key, (shape, _) in state_dict_layout(ARCHITECTURES[arch]).items()]
    expected = golden["layouts"][arch]
    assert [line for line in lines if line.startswith("blocks.0.")] == expected["first_block_keys"]
    assert len(lines) == expected["entries"]
    assert hashlib.sha256("\n".join(lines).encode()).hexdigest() == expected["sha256"]


def test_vitg14_has_the_swiglu_feed_forward_with_4096_hidden_units():
    layout = state_dict_layout(ARCHITECTURES["vitg14"])
    assert layout["blocks.39.mlp.w12.weight"][0] == (8192, 1536)
    assert layout["blocks.39.mlp.w3.weight"][0] == (1536, 4096)
    assert not any(".fc1." in key for key in layout)


@pytest.fixture(scope="module")
def networks(golden, random_weights):
    """ViT-S/14, B/14 and g/14 with the golden's shallow random weights."""
    found = {}
    for arch, info in golden["network"]["sizes"].items():
        state = random_weights(arch, info["depth"])
        assert state_sha256(state) == info["tensors_sha256"]
        found[arch] = load_network_state(state, ARCHITECTURES[arch], arch).eval()
    return found


@pytest.mark.parametrize("arch", ["vits14", "vitb14", "vitg14"])
def test_class_token_matches_the_hub_model(arch, networks, golden, golden_features):
    for seed, height, width, count in golden["network"]["inputs"]:
        with torch.inference_mode():
            found = networks[arch](random_input(seed, height, width, count))
        expected = torch.from_numpy(golden_features[f"network/{arch}/{height}x{width}"])
        assert found.shape == expected.shape == (count, ARCHITECTURES[arch].width)
        assert (found - expected).abs().max() <= FEATURE_ATOL, f"{arch} at {height}x{width}"


def test_positions_use_the_offset_scale_factor_not_the_target_size():
    # 224 px = 16 patches: the hub resizes the 37x37 grid by the scale 16.1 / 37 (sampling at 37 / 16.1 steps); a
    # target size of 16 would sample at 37 / 16 steps, and give other embeddings.
    pos = torch.randn(1, 1 + CHECKPOINT_GRID**2, 8, generator=torch.Generator().manual_seed(0))
    found = interpolate_positions(pos, 16, 16)
    grid = pos[:, 1:].reshape(1, CHECKPOINT_GRID, CHECKPOINT_GRID, 8).permute(0, 3, 1, 2)
    by_scale = F.interpolate(grid, scale_factor=(16.1 / 37, 16.1 / 37), mode="bicubic")
    by_size = F.interpolate(grid, size=(16, 16), mode="bicubic")
    assert torch.equal(found[:, 1:], by_scale.permute(0, 2, 3, 1).reshape(1, 256, 8))
    assert (by_scale - by_size).abs().max() > 0.05
    assert torch.equal(found[:, :1], pos[:, :1])


def test_positions_of_the_checkpoints_own_grid_are_the_stored_ones():
    pos = torch.randn(1, 1 + CHECKPOINT_GRID**2, 4)
    assert interpolate_positions(pos, CHECKPOINT_GRID, CHECKPOINT_GRID) is pos


def test_positions_follow_rows_then_columns_for_non_square_inputs():
    pos = torch.randn(1, 1 + CHECKPOINT_GRID**2, 4)
    assert interpolate_positions(pos, 16, 12).shape == (1, 1 + 16 * 12, 4)


def test_positions_are_computed_once_and_again_after_the_network_moves_or_changes_dtype(networks):
    model = networks["vits14"]
    first = model.positions(16, 16)
    assert model.positions(16, 16) is first
    model.to(torch.float64)
    try:
        again = model.positions(16, 16)
        # The hub interpolates in float32 whatever the model's dtype, and casts the result to the tokens' dtype.
        assert again is not first and again.dtype == torch.float32 and torch.equal(again, first)
    finally:
        model.to(torch.float32)


def test_a_file_in_another_layout_is_refused_naming_the_problem(tmp_path, random_weights):
    state = random_weights("vits14", 1)
    with pytest.raises(ValueError, match=r"not a DINOv2 ViT-B/14 state dict \(wrong shape: cls_token"):
        load_network_state(state, ARCHITECTURES["vitb14"], "small.pth")
    del state["norm.weight"]
    with pytest.raises(ValueError, match="missing: norm.weight"):
        load_network_state(state, ARCHITECTURES["vits14"], "small.pth")
    torch.save({"conv.weight": torch.zeros(1)}, tmp_path / "other.pth")
    with pytest.raises(WeightsError, match="holds no transformer blocks"):
        load_network(ARCHITECTURES["vits14"], tmp_path / "other.pth")
