"""Two TorchScript-able ports of the TF-hub I3D, written the ways published ports are, to stand for StyleGAN-V's
``i3d_torchscript.pt`` (whose module names frechet never assumes): their archives are what frechet reads, and the
archives' own output, run by ``torch.jit.load``, is the oracle frechet's network is checked against.

- :class:`HassonyI3D`: lower-case names (``conv3d_1a_7x7``, ``mixed_3b.branch_1``, ``nn.Sequential`` branches),
  ``nn.BatchNorm3d(eps=1e-3)`` (TorchScript writes ``eps : Final[float] = 0.001``), max pools padded with -inf.
- :class:`PiergiajI3D`: TF-like names (``Conv3d_1a_7x7``, ``Mixed_3b.b1a``), a bias in every convolution, its own
  batch-norm module calling ``F.batch_norm(…, 1e-5)`` (TorchScript writes it through an alias ``_0(…)``), max pools
  padded with zeros (equal after a ReLU).

Both pad as TensorFlow's ``SAME`` does, each with its own arithmetic, and hold the batch norms unfolded. Weights are
:func:`i3d_random_weights.random_units`, so the two ports differ from frechet's network only in how they compute.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from frechet_video.i3d import LOGITS, UNITS
from i3d_random_weights import random_units

#: Each port's batch-norm epsilon.
HASSONY_EPS = 1e-3
PIERGIAJ_EPS = 1e-5
_BLOCKS = ("3b", "3c", "4b", "4c", "4d", "4e", "4f", "5b", "5c")


def _kernel(arrays: dict[str, np.ndarray]) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(arrays["kernel"].transpose(4, 3, 0, 1, 2)))


def _pad_ceil(x: torch.Tensor, kernel: list[int], stride: list[int], value: float) -> torch.Tensor:
    """TF's SAME padding from the output size: total = (ceil(n / s) - 1) * s + k - n."""
    pads: list[int] = []
    for axis in range(3):
        size = x.shape[4 - axis]
        out = (size + stride[2 - axis] - 1) // stride[2 - axis]
        total = max((out - 1) * stride[2 - axis] + kernel[2 - axis] - size, 0)
        pads.append(total // 2)
        pads.append(total - total // 2)
    return F.pad(x, pads, value=value)


def _pad_remainder(x: torch.Tensor, kernel: list[int], stride: list[int]) -> torch.Tensor:
    """TF's SAME padding from the remainder, as pytorch-i3d computes it: k - s, or k - n % s."""
    pads: list[int] = []
    for axis in range(3):
        size, k, step = x.shape[4 - axis], kernel[2 - axis], stride[2 - axis]
        total = max(k - step, 0) if size % step == 0 else max(k - size % step, 0)
        pads.append(total // 2)
        pads.append(total - total // 2)
    return F.pad(x, pads)


# ------------------------------------------------------------------------------------------------ hassony2-style
class Unit3Dpy(nn.Module):
    def __init__(self, arrays: dict[str, np.ndarray], stride: int = 1) -> None:
        super().__init__()
        kernel = _kernel(arrays)
        self.kernel_size, self.stride_size = list(kernel.shape[2:]), [stride] * 3
        self.conv3d = nn.Conv3d(kernel.shape[1], kernel.shape[0], kernel.shape[2:], stride, bias=False)
        self.batch3d = nn.BatchNorm3d(kernel.shape[0], eps=HASSONY_EPS, momentum=0.01)
        with torch.no_grad():
            self.conv3d.weight.copy_(kernel)
            for name, key in (("weight", "gamma"), ("bias", "beta"), ("running_mean", "mean"), ("running_var", "var")):
                getattr(self.batch3d, name).copy_(torch.from_numpy(arrays[key]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = _pad_ceil(x, self.kernel_size, self.stride_size, 0.0)
        return F.relu(self.batch3d(self.conv3d(x)))


class MaxPool3dTFPadding(nn.Module):
    def __init__(self, kernel: list[int], stride: list[int]) -> None:
        super().__init__()
        self.kernel, self.stride = kernel, stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.max_pool3d(_pad_ceil(x, self.kernel, self.stride, float("-inf")), self.kernel, self.stride)


class HassonyMixed(nn.Module):
    def __init__(self, units: dict, block: str) -> None:
        super().__init__()
        unit = {branch: units[f"Mixed_{block}/{branch}"] for branch in (
            "Branch_0/Conv3d_0a_1x1", "Branch_1/Conv3d_0a_1x1", "Branch_1/Conv3d_0b_3x3", "Branch_2/Conv3d_0a_1x1",
            "Branch_2/Conv3d_0b_3x3", "Branch_3/Conv3d_0b_1x1")}
        self.branch_0 = Unit3Dpy(unit["Branch_0/Conv3d_0a_1x1"])
        self.branch_1 = nn.Sequential(Unit3Dpy(unit["Branch_1/Conv3d_0a_1x1"]), Unit3Dpy(unit["Branch_1/Conv3d_0b_3x3"]))
        self.branch_2 = nn.Sequential(Unit3Dpy(unit["Branch_2/Conv3d_0a_1x1"]), Unit3Dpy(unit["Branch_2/Conv3d_0b_3x3"]))
        self.branch_3 = nn.Sequential(MaxPool3dTFPadding([3, 3, 3], [1, 1, 1]), Unit3Dpy(unit["Branch_3/Conv3d_0b_1x1"]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.branch_0(x), self.branch_1(x), self.branch_2(x), self.branch_3(x)], 1)


class HassonyI3D(nn.Module):
    """hassony2-style names; ``nn.BatchNorm3d`` with epsilon 1e-3."""

    def __init__(self, seed: int) -> None:
        super().__init__()
        units = random_units(seed)
        self.conv3d_1a_7x7 = Unit3Dpy(units["Conv3d_1a_7x7"], stride=2)
        self.maxPool3d_2a_3x3 = MaxPool3dTFPadding([1, 3, 3], [1, 2, 2])
        self.conv3d_2b_1x1 = Unit3Dpy(units["Conv3d_2b_1x1"])
        self.conv3d_2c_3x3 = Unit3Dpy(units["Conv3d_2c_3x3"])
        self.maxPool3d_3a_3x3 = MaxPool3dTFPadding([1, 3, 3], [1, 2, 2])
        self.mixed_3b, self.mixed_3c = HassonyMixed(units, "3b"), HassonyMixed(units, "3c")
        self.maxPool3d_4a_3x3 = MaxPool3dTFPadding([3, 3, 3], [2, 2, 2])
        self.mixed_4b, self.mixed_4c = HassonyMixed(units, "4b"), HassonyMixed(units, "4c")
        self.mixed_4d, self.mixed_4e = HassonyMixed(units, "4d"), HassonyMixed(units, "4e")
        self.mixed_4f = HassonyMixed(units, "4f")
        self.maxPool3d_5a_2x2 = MaxPool3dTFPadding([2, 2, 2], [2, 2, 2])
        self.mixed_5b, self.mixed_5c = HassonyMixed(units, "5b"), HassonyMixed(units, "5c")
        self.avg_pool = nn.AvgPool3d((2, 7, 7), (1, 1, 1))
        self.conv3d_0c_1x1 = nn.Conv3d(UNITS[LOGITS][0], UNITS[LOGITS][1], 1)
        with torch.no_grad():
            self.conv3d_0c_1x1.weight.copy_(_kernel(units[LOGITS]))
            self.conv3d_0c_1x1.bias.copy_(torch.from_numpy(units[LOGITS]["bias"]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxPool3d_2a_3x3(self.conv3d_1a_7x7(x))
        x = self.maxPool3d_3a_3x3(self.conv3d_2c_3x3(self.conv3d_2b_1x1(x)))
        x = self.maxPool3d_4a_3x3(self.mixed_3c(self.mixed_3b(x)))
        x = self.mixed_4f(self.mixed_4e(self.mixed_4d(self.mixed_4c(self.mixed_4b(x)))))
        x = self.mixed_5c(self.mixed_5b(self.maxPool3d_5a_2x2(x)))
        return self.conv3d_0c_1x1(self.avg_pool(x)).squeeze(4).squeeze(3).mean(2)


# ------------------------------------------------------------------------------------------------ piergiaj-style
class Norm(nn.Module):
    """A batch norm of its own, calling F.batch_norm with a literal epsilon."""

    def __init__(self, arrays: dict[str, np.ndarray]) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.from_numpy(arrays["gamma"].copy()))
        self.bias = nn.Parameter(torch.from_numpy(arrays["beta"].copy()))
        self.register_buffer("running_mean", torch.from_numpy(arrays["mean"].copy()))
        self.register_buffer("running_var", torch.from_numpy(arrays["var"].copy()))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias, False, 0.0, 1e-5)


class Unit3D(nn.Module):
    def __init__(self, arrays: dict[str, np.ndarray], conv_bias: np.ndarray, stride: int = 1) -> None:
        super().__init__()
        kernel = _kernel(arrays)
        self.kernel, self.stride = list(kernel.shape[2:]), [stride] * 3
        self.conv3d = nn.Conv3d(kernel.shape[1], kernel.shape[0], kernel.shape[2:], stride)
        with torch.no_grad():
            self.conv3d.weight.copy_(kernel)
            self.conv3d.bias.copy_(torch.from_numpy(conv_bias))
        self.bn = Norm(arrays)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.bn(self.conv3d(_pad_remainder(x, self.kernel, self.stride))))


class MaxPool3dSamePadding(nn.Module):
    def __init__(self, kernel: list[int], stride: list[int]) -> None:
        super().__init__()
        self.kernel, self.stride = kernel, stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.max_pool3d(_pad_remainder(x, self.kernel, self.stride), self.kernel, self.stride)


class InceptionModule(nn.Module):
    def __init__(self, units: dict, block: str, biases: np.random.RandomState) -> None:
        super().__init__()

        def unit(branch: str) -> Unit3D:
            arrays = units[f"Mixed_{block}/{branch}"]
            return Unit3D(arrays, biases.uniform(-0.05, 0.05, arrays["kernel"].shape[-1]).astype(np.float32))

        self.b0 = unit("Branch_0/Conv3d_0a_1x1")
        self.b1a, self.b1b = unit("Branch_1/Conv3d_0a_1x1"), unit("Branch_1/Conv3d_0b_3x3")
        self.b2a, self.b2b = unit("Branch_2/Conv3d_0a_1x1"), unit("Branch_2/Conv3d_0b_3x3")
        self.b3a = MaxPool3dSamePadding([3, 3, 3], [1, 1, 1])
        self.b3b = unit("Branch_3/Conv3d_0b_1x1")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.b0(x), self.b1b(self.b1a(x)), self.b2b(self.b2a(x)), self.b3b(self.b3a(x))], 1)


class PiergiajI3D(nn.Module):
    """pytorch-i3d-style names; a bias in every convolution; its own batch norm with epsilon 1e-5."""

    def __init__(self, seed: int) -> None:
        super().__init__()
        units, biases = random_units(seed), np.random.RandomState(seed + 1)

        def unit(name: str, stride: int = 1) -> Unit3D:
            cout = units[name]["kernel"].shape[-1]
            return Unit3D(units[name], biases.uniform(-0.05, 0.05, cout).astype(np.float32), stride)

        self.Conv3d_1a_7x7 = unit("Conv3d_1a_7x7", 2)
        self.MaxPool3d_2a_3x3 = MaxPool3dSamePadding([1, 3, 3], [1, 2, 2])
        self.Conv3d_2b_1x1, self.Conv3d_2c_3x3 = unit("Conv3d_2b_1x1"), unit("Conv3d_2c_3x3")
        self.MaxPool3d_3a_3x3 = MaxPool3dSamePadding([1, 3, 3], [1, 2, 2])
        self.Mixed_3b, self.Mixed_3c = InceptionModule(units, "3b", biases), InceptionModule(units, "3c", biases)
        self.MaxPool3d_4a_3x3 = MaxPool3dSamePadding([3, 3, 3], [2, 2, 2])
        self.Mixed_4b, self.Mixed_4c = InceptionModule(units, "4b", biases), InceptionModule(units, "4c", biases)
        self.Mixed_4d, self.Mixed_4e = InceptionModule(units, "4d", biases), InceptionModule(units, "4e", biases)
        self.Mixed_4f = InceptionModule(units, "4f", biases)
        self.MaxPool3d_5a_2x2 = MaxPool3dSamePadding([2, 2, 2], [2, 2, 2])
        self.Mixed_5b, self.Mixed_5c = InceptionModule(units, "5b", biases), InceptionModule(units, "5c", biases)
        self.logits = nn.Conv3d(UNITS[LOGITS][0], UNITS[LOGITS][1], 1)
        with torch.no_grad():
            self.logits.weight.copy_(_kernel(units[LOGITS]))
            self.logits.bias.copy_(torch.from_numpy(units[LOGITS]["bias"]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.MaxPool3d_2a_3x3(self.Conv3d_1a_7x7(x))
        x = self.MaxPool3d_3a_3x3(self.Conv3d_2c_3x3(self.Conv3d_2b_1x1(x)))
        x = self.MaxPool3d_4a_3x3(self.Mixed_3c(self.Mixed_3b(x)))
        x = self.Mixed_4f(self.Mixed_4e(self.Mixed_4d(self.Mixed_4c(self.Mixed_4b(x)))))
        x = self.Mixed_5c(self.Mixed_5b(self.MaxPool3d_5a_2x2(x)))
        x = F.avg_pool3d(x, [2, 7, 7], [1, 1, 1])
        return self.logits(x).mean(dim=[2, 3, 4])


def script(port: nn.Module, path: str) -> str:
    """``port`` in eval mode, scripted and saved as a TorchScript archive at ``path``."""
    torch.jit.script(port.eval()).save(path)
    return path


def port_units(port: nn.Module) -> dict[str, tuple[nn.Conv3d, nn.Module]]:
    """TF unit name -> (the port's convolution, its batch norm), by the port's own names (for the test's oracle)."""
    hassony = isinstance(port, HassonyI3D)
    branch_names = {
        "Branch_0/Conv3d_0a_1x1": ("branch_0", "b0"), "Branch_1/Conv3d_0a_1x1": ("branch_1.0", "b1a"),
        "Branch_1/Conv3d_0b_3x3": ("branch_1.1", "b1b"), "Branch_2/Conv3d_0a_1x1": ("branch_2.0", "b2a"),
        "Branch_2/Conv3d_0b_3x3": ("branch_2.1", "b2b"), "Branch_3/Conv3d_0b_1x1": ("branch_3.1", "b3b"),
    }
    found = {}
    for name in UNITS:
        if name == LOGITS:
            continue
        block, _, branch = name.partition("/")
        if hassony:
            path = f"mixed_{block[6:]}.{branch_names[branch][0]}" if branch else name.lower()
        else:
            path = f"{block}.{branch_names[branch][1]}" if branch else name
        unit = port.get_submodule(path)
        found[name] = (unit.conv3d, unit.batch3d if hassony else unit.bn)
    return found
