"""The Kinetics-400 Inflated 3D ConvNet (I3D, Carreira & Zisserman 2017) in plain torch, as DeepMind's TF-hub
module ``i3d-kinetics-400`` computes it: its output is ``RGB/inception_i3d/Mean:0``, the 400 class logits averaged
over time, the features FVD compares.

TensorFlow's ``SAME`` padding is reproduced exactly: where a window does not fit evenly the extra row goes after
the input (zeros for convolutions, -inf for max pools). Batch norms (Sonnet's, epsilon 1e-3) are folded into the
convolutions when the weights are loaded (:func:`fold_unit`), so a unit is one biased convolution and a ReLU.

The network's weights form a flat state dict in frechet's own layout (``<unit>.weight`` (out, in, t, h, w) and
``<unit>.bias`` for each unit of :data:`UNITS`); :mod:`frechet_video.i3d_weights` converts each published layout.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

#: Sonnet v1's batch-norm epsilon, which the TF-hub model and its ports use.
BN_EPSILON = 1e-3
#: Output channels of each Inception block's branches: 1x1; 1x1 -> 3x3x3; 1x1 -> 3x3x3; pool -> 1x1.
_MIXED = {
    "Mixed_3b": (64, 96, 128, 16, 32, 32),
    "Mixed_3c": (128, 128, 192, 32, 96, 64),
    "Mixed_4b": (192, 96, 208, 16, 48, 64),
    "Mixed_4c": (160, 112, 224, 24, 64, 64),
    "Mixed_4d": (128, 128, 256, 24, 64, 64),
    "Mixed_4e": (112, 144, 288, 32, 64, 64),
    "Mixed_4f": (256, 160, 320, 32, 128, 128),
    "Mixed_5b": (256, 160, 320, 32, 128, 128),
    "Mixed_5c": (384, 192, 384, 48, 128, 128),
}
#: The branch units of an Inception block, in TF-hub's names: (name, index into its channels, kernel size).
_BRANCHES = (
    ("Branch_0/Conv3d_0a_1x1", 0, 1),
    ("Branch_1/Conv3d_0a_1x1", 1, 1),
    ("Branch_1/Conv3d_0b_3x3", 2, 3),
    ("Branch_2/Conv3d_0a_1x1", 3, 1),
    ("Branch_2/Conv3d_0b_3x3", 4, 3),
    ("Branch_3/Conv3d_0b_1x1", 5, 1),
)
#: The stem: (unit, input channels, output channels, kernel, stride).
_STEM = (
    ("Conv3d_1a_7x7", 3, 64, 7, 2),
    ("Conv3d_2b_1x1", 64, 64, 1, 1),
    ("Conv3d_2c_3x3", 64, 192, 3, 1),
)
LOGITS = "Logits/Conv3d_0c_1x1"
NUM_CLASSES = 400
#: The fewest frames a clip may have: the final 2-frame average pool needs 2 positions after a stride of 8 in time.
MIN_FRAMES = 9


def _unit_shapes() -> dict[str, tuple[int, int, int]]:
    """Every unit of the network: name -> (input channels, output channels, kernel size)."""
    shapes = {name: (cin, cout, kernel) for name, cin, cout, kernel, _ in _STEM}
    channels = 192
    for block, out in _MIXED.items():
        inputs = (channels, channels, out[1], channels, out[3], channels)
        for (branch, index, kernel), cin in zip(_BRANCHES, inputs):
            shapes[f"{block}/{branch}"] = (cin, out[index], kernel)
        channels = out[0] + out[2] + out[4] + out[5]
    shapes[LOGITS] = (channels, NUM_CLASSES, 1)
    return shapes


#: name -> (input channels, output channels, cubic kernel size) of every convolution unit, TF-hub's names.
UNITS = _unit_shapes()


def fold_unit(
    weight: np.ndarray, beta: np.ndarray, mean: np.ndarray, var: np.ndarray, gamma: np.ndarray | None = None,
    eps: float = BN_EPSILON,
) -> tuple[torch.Tensor, torch.Tensor]:
    """A bias-free convolution (weight (out, in, t, h, w)) followed by inference batch norm, as one biased
    convolution: weight scaled by gamma/sqrt(var + eps) per output channel, bias beta - mean·that scale (in float64,
    rounded once to float32)."""
    scale = (np.ones_like(beta, dtype=np.float64) if gamma is None else np.asarray(gamma, np.float64)) / np.sqrt(
        np.asarray(var, np.float64) + eps
    )
    folded = np.asarray(weight, np.float64) * scale[:, None, None, None, None]
    bias = np.asarray(beta, np.float64) - np.asarray(mean, np.float64) * scale
    return torch.from_numpy(folded.astype(np.float32)), torch.from_numpy(bias.astype(np.float32))


def same_padding(size: int, kernel: int, stride: int) -> tuple[int, int]:
    """TensorFlow's ``SAME`` padding of one dimension: (before, after), the odd one after."""
    out = math.ceil(size / stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


def _pad_same(x: torch.Tensor, kernel: Sequence[int], stride: Sequence[int], value: float) -> torch.Tensor:
    pads: list[int] = []
    for size, k, s in zip(reversed(x.shape[2:]), reversed(kernel), reversed(stride)):
        pads.extend(same_padding(size, k, s))
    return F.pad(x, pads, value=value) if any(pads) else x


class Unit(nn.Module):
    """A convolution (batch norm folded in) and a ReLU, with TensorFlow's SAME padding."""

    def __init__(self, cin: int, cout: int, kernel: int, stride: int = 1, relu: bool = True) -> None:
        super().__init__()
        self.kernel, self.stride, self.relu = kernel, stride, relu
        symmetric = stride == 1 and kernel % 2 == 1  # SAME is then plain symmetric zero padding
        self.conv = nn.Conv3d(cin, cout, kernel, stride, padding=kernel // 2 if symmetric else 0)
        self.symmetric = symmetric

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.symmetric:
            x = _pad_same(x, (self.kernel,) * 3, (self.stride,) * 3, 0.0)
        x = self.conv(x)
        return F.relu(x, inplace=True) if self.relu else x


def _max_pool_same(x: torch.Tensor, kernel: tuple[int, int, int], stride: tuple[int, int, int]) -> torch.Tensor:
    """TF's SAME max pool: the padding never wins (-inf)."""
    if stride == (1, 1, 1) and all(k % 2 == 1 for k in kernel):
        return F.max_pool3d(x, kernel, 1, padding=tuple(k // 2 for k in kernel))
    return F.max_pool3d(_pad_same(x, kernel, stride, -math.inf), kernel, stride)


class Mixed(nn.Module):
    """An Inception block: four branches concatenated along channels."""

    def __init__(self, name: str) -> None:
        super().__init__()
        self.units = nn.ModuleDict({
            branch.replace("/", "_"): Unit(*UNITS[f"{name}/{branch}"]) for branch, _, _ in _BRANCHES
        })

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        u = self.units
        pooled = _max_pool_same(x, (3, 3, 3), (1, 1, 1))
        return torch.cat([
            u["Branch_0_Conv3d_0a_1x1"](x),
            u["Branch_1_Conv3d_0b_3x3"](u["Branch_1_Conv3d_0a_1x1"](x)),
            u["Branch_2_Conv3d_0b_3x3"](u["Branch_2_Conv3d_0a_1x1"](x)),
            u["Branch_3_Conv3d_0b_1x1"](pooled),
        ], dim=1)


class InceptionI3d(nn.Module):
    """I3D from RGB clips (B, 3, T, H, W) in [-1, 1] to the 400 Kinetics logits averaged over time (B, 400)."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.ModuleDict({
            name: Unit(cin, cout, kernel, stride) for name, cin, cout, kernel, stride in _STEM
        })
        self.mixed = nn.ModuleDict({name: Mixed(name) for name in _MIXED})
        self.logits = nn.Conv3d(UNITS[LOGITS][0], NUM_CLASSES, 1)

    def forward(self, clips: torch.Tensor) -> torch.Tensor:
        x = self.stem["Conv3d_1a_7x7"](clips)
        x = _max_pool_same(x, (1, 3, 3), (1, 2, 2))
        x = self.stem["Conv3d_2c_3x3"](self.stem["Conv3d_2b_1x1"](x))
        x = _max_pool_same(x, (1, 3, 3), (1, 2, 2))
        for name, block in self.mixed.items():
            if name == "Mixed_4b":
                x = _max_pool_same(x, (3, 3, 3), (2, 2, 2))
            elif name == "Mixed_5b":
                x = _max_pool_same(x, (2, 2, 2), (2, 2, 2))
            x = block(x)
        x = F.avg_pool3d(x, (2, 7, 7), stride=1)
        if x.shape[3:] != (1, 1):
            raise ValueError(f"I3D's logits need frames of 224x224 (the final 7x7 pool then covers the whole frame); "
                             f"these frames leave {tuple(x.shape[3:])} positions")
        return self.logits(x).mean(dim=(2, 3, 4))

    def load_units(self, state: Mapping[str, torch.Tensor]) -> InceptionI3d:
        """Load a state dict in frechet's layout (``<unit>.weight``, ``<unit>.bias`` for every unit in UNITS)."""
        ours: dict[str, torch.Tensor] = {}
        for name in UNITS:
            if name == LOGITS:
                prefix = "logits"
            elif name in self.stem:
                prefix = f"stem.{name}.conv"
            else:
                block, branch = name.split("/", 1)
                prefix = f"mixed.{block}.units.{branch.replace('/', '_')}.conv"
            ours[f"{prefix}.weight"], ours[f"{prefix}.bias"] = state[f"{name}.weight"], state[f"{name}.bias"]
        self.load_state_dict(ours)
        return self


def check_clip_shape(frames: int, height: int, width: int) -> str | None:
    """Why a clip of this size cannot go through the network (None: it can)."""
    if frames < MIN_FRAMES:
        return f"I3D needs clips of at least {MIN_FRAMES} frames, got {frames}"
    if (height, width) != (224, 224):
        return f"I3D's logits need 224x224 frames, got {height}x{width}"
    return None
