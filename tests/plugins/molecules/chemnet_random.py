"""Deterministic random ChemNet weights in the published file's exact layout, saved as either wheel saves them."""

from __future__ import annotations

from collections import OrderedDict
from pathlib import Path
from typing import Any

import torch

#: (kind, constructor arguments, other settings) of each layer, as ChemNet_v0.13_pretrained.pt holds them.
LAYERS = (
    ("Conv1d", {"in_channels": 35, "out_channels": 32, "kernel_size": 4, "stride": 2, "padding": 0,
                "dilation": (1,), "bias": False}, {"activation": "selu", "padding": "same"}),
    ("Conv1d", {"in_channels": 32, "out_channels": 32, "kernel_size": 4, "stride": 2, "padding": 0,
                "dilation": (1,), "bias": False}, {"activation": "selu", "padding": "same"}),
    ("LSTM", {"input_size": 32, "hidden_size": 128, "batch_first": True}, {"reverse": True, "last": False}),
    ("LSTM", {"input_size": 128, "hidden_size": 512, "batch_first": True}, {"reverse": True, "last": True}),
)


def random_layers(seed: int = 0) -> list[tuple[str, tuple[OrderedDict, dict, dict]]]:
    """The layer list: torch's default initialisation drawn from ``seed``, rescaled so that molecules differ in
    their features as with the trained weights (convolutions x30 against the 1/35 one-hot inputs, LSTM input weights
    x3, forget-gate biases +6 so the state outlasts the zero padding read after each molecule)."""
    torch.manual_seed(seed)
    entries: list[Any] = []
    for kind, kwargs, info in LAYERS:
        module = torch.nn.Conv1d(**kwargs) if kind == "Conv1d" else torch.nn.LSTM(**kwargs)
        state = OrderedDict((name, tensor.detach().clone()) for name, tensor in module.state_dict().items())
        if kind == "Conv1d":
            state["weight"] *= 30
        else:
            hidden = kwargs["hidden_size"]
            state["weight_ih_l0"] *= 3
            state["bias_ih_l0"][hidden:2 * hidden] += 6  # gates in torch's order: input, forget, cell, output
        entries.append((kind, (state, dict(kwargs), dict(info))))
    return entries


def save_random_chemnet(path: Path, *, legacy: bool, seed: int = 0) -> Path:
    """Write the random weights as fcd's wheel (torch's zip format) or fcd_torch's (``legacy``) saves them."""
    torch.save(random_layers(seed), path, _use_new_zipfile_serialization=not legacy)
    return path
