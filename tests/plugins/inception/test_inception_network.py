"""The FID Inception-v3 network: the canonical key layout, strict loading, early stopping, and the folded
(inference) form computing the same function as the reference form."""

from __future__ import annotations

import pytest
import torch

from frechet.errors import WeightsError
from frechet_inception.network import OUTPUTS, load_network_state, state_dict_layout
from frechet_inception.weights import load_network
from inception_random_weights import state_sha256


def test_key_layout_is_the_one_pytorch_fid_and_torch_fidelity_load(golden):
    # The golden script loaded this layout strictly into both references' modules and compared their key lists.
    layout = state_dict_layout()
    assert golden["weights"]["layout_checks"]["pytorch_fid_keys_identical"]
    assert golden["weights"]["layout_checks"]["torch_fidelity_keys_identical"]
    assert {key: list(shape) for key, (shape, _) in layout.items()} == golden["weights"]["layout"]
    assert list(layout) == list(golden["weights"]["layout"])


def test_layout_has_the_566_entries_of_the_canonical_file():
    # 94 conv units x (conv weight + 5 batch-norm tensors) + fc weight and bias, as the published file holds.
    layout = state_dict_layout()
    assert len(layout) == 566
    assert sum(key.endswith(".conv.weight") for key in layout) == 94
    assert layout["fc.weight"][0] == (1008, 2048)


def test_random_weights_are_the_ones_the_goldens_were_made_with(golden, random_state):
    assert state_sha256(random_state) == golden["weights"]["tensors_sha256"]


@pytest.fixture(scope="module")
def reference_and_folded(random_state):
    reference = load_network_state(random_state, "random").eval()
    folded = load_network_state(random_state, "random").eval().fold_batchnorm()
    return reference, folded.to(memory_format=torch.channels_last)


@pytest.fixture(scope="module")
def small_batch():
    # 75x75 is the smallest input the network accepts; the function of each layer does not depend on the size.
    return torch.rand(2, 3, 75, 75, generator=torch.Generator().manual_seed(0)) * 2 - 1


def test_folded_channels_last_network_computes_the_reference_function(reference_and_folded, small_batch):
    reference, folded = reference_and_folded
    with torch.inference_mode():
        expected = reference(small_batch, OUTPUTS)
        found = folded(small_batch.contiguous(memory_format=torch.channels_last), OUTPUTS)
    for name, value in expected.items():
        # sfid's size follows the input's (17 x 17 x 7 = 2023 at 299 x 299, 3 x 3 x 7 here); the others' does not
        assert found[name].shape == (2, OUTPUTS[name] if name != "sfid" else 3 * 3 * 7)
        assert (found[name] - value).abs().max() <= 1e-5 * max(1.0, value.abs().max().item())


def test_sfid_is_the_first_7_channels_of_mixed_6d_branch1x1_flattened_in_height_width_channel_order(
    reference_and_folded,
):
    reference, _ = reference_and_folded
    image = torch.rand(1, 3, 299, 299, generator=torch.Generator().manual_seed(1)) * 2 - 1
    captured = []
    hook = reference.Mixed_6d.branch1x1.register_forward_hook(lambda _, __, out: captured.append(out))
    try:
        with torch.inference_mode():
            sfid = reference(image, ("sfid", "pool"))["sfid"]
    finally:
        hook.remove()
    grid = captured[0]  # (1, 192, 17, 17), after batch norm and ReLU
    assert grid.shape == (1, 192, 17, 17) and sfid.shape == (1, 2023)
    assert torch.equal(sfid[0].reshape(17, 17, 7), grid[0, :7].permute(1, 2, 0))


def test_logits_are_the_unbiased_logits_plus_the_classifier_bias(reference_and_folded, small_batch, random_state):
    _, folded = reference_and_folded
    with torch.inference_mode():
        out = folded(small_batch, ("logits", "logits_unbiased", "pool"))
    torch.testing.assert_close(out["logits"] - out["logits_unbiased"], random_state["fc.bias"].expand(2, -1))
    torch.testing.assert_close(out["logits_unbiased"], out["pool"] @ random_state["fc.weight"].T)


@pytest.mark.parametrize(
    ("outputs", "last_block_run"),
    [(("block64",), "Conv2d_2b_3x3"), (("block192",), "Conv2d_4a_3x3"), (("block768",), "Mixed_6e"),
     (("sfid",), "Mixed_6c"), (("sfid", "block768"), "Mixed_6e"), (("pool",), "Mixed_7c"),
     (("block64", "pool"), "Mixed_7c")],
)
def test_forward_stops_after_the_last_requested_output(reference_and_folded, small_batch, outputs, last_block_run):
    _, folded = reference_and_folded
    ran = []
    names = [name for name, _ in folded.named_children() if name != "fc"]
    hooks = [getattr(folded, name).register_forward_hook(lambda *_, n=name: ran.append(n)) for name in names]
    try:
        with torch.inference_mode():
            result = folded(small_batch, outputs)
    finally:
        for hook in hooks:
            hook.remove()
    assert set(result) == set(outputs)
    assert ran[-1] == last_block_run


def test_unknown_output_is_refused(reference_and_folded, small_batch):
    with pytest.raises(ValueError, match="unknown outputs"):
        reference_and_folded[1](small_batch, ("pool5",))


def test_file_without_batchnorm_counters_loads(tmp_path, random_state, weights_file, small_batch):
    # torch-fidelity's weight converter writes no num_batches_tracked entries; such a file is complete without them.
    trimmed = {key: value for key, value in random_state.items() if not key.endswith("num_batches_tracked")}
    torch.save(trimmed, tmp_path / "trimmed.pth")
    with torch.inference_mode():
        a = load_network(tmp_path / "trimmed.pth")(small_batch)["pool"]
        b = load_network(weights_file)(small_batch)["pool"]
    assert torch.equal(a, b)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda s: s.pop("Mixed_6e.branch_pool.conv.weight"), r"missing: Mixed_6e\.branch_pool\.conv\.weight"),
        (lambda s: s.update({"AuxLogits.fc.weight": torch.zeros(1)}), r"unexpected: AuxLogits\.fc\.weight"),
        (lambda s: s.update({"fc.weight": torch.zeros(1000, 2048)}), r"wrong shape: fc\.weight \(1000, 2048\)"),
    ],
)
def test_a_file_in_another_layout_is_refused_naming_the_keys(tmp_path, random_state, edit, message):
    state = dict(random_state)
    edit(state)
    path = tmp_path / "other.pth"
    torch.save(state, path)
    with pytest.raises(WeightsError, match=message) as error:
        load_network(path)
    assert str(path) in str(error.value) and "FID Inception" in str(error.value)
