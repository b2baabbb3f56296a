"""Layers the WD tagger networks share: timm's two-layer MLP with the tanh-approximated GELU the taggers use."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def gelu_tanh(x: torch.Tensor) -> torch.Tensor:
    """GELU with the tanh approximation (timm's ``gelu_tanh`` activation)."""
    return F.gelu(x, approximate="tanh")


class Mlp(nn.Module):
    """``fc2(gelu_tanh(fc1(x)))`` (timm's ``Mlp`` keys)."""

    def __init__(self, width: int, hidden: int) -> None:
        super().__init__()
        self.fc1, self.fc2 = nn.Linear(width, hidden), nn.Linear(hidden, width)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(gelu_tanh(self.fc1(x)))
