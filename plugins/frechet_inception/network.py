"""The FID Inception-v3 network (TensorFlow's 2015-12-05 graph) in plain torch, keyed like pytorch-fid's weights.

The state-dict layout is that of ``pt_inception-2015-12-05-6726825d.pth`` (pytorch-fid) and of the byte-identical
``weights-inception-2015-12-05-6726825d.pth`` (torch-fidelity): torchvision's Inception-v3 names, 94 conv+batch-norm
units and a 1008-way ``fc``. The graph differs from torchvision's Inception-v3 where TensorFlow's did: average pools
ignore padding, and the last block pools with a max. This module imports only torch, so reference scripts can load
it by path.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping

import torch
import torch.nn.functional as F
from torch import nn

from frechet.weights import layout_mismatch

#: The spatial features of sFID (the ADM evaluator's ``mixed_6/conv:0``, its first 7 channels): ``Mixed_6d``'s 1x1
#: branch after batch norm and ReLU, on its 17x17 grid, flattened per image in (height, width, channel) order.
SFID_CHANNELS = 7
SFID_GRID = 17
#: Output name -> dimension. ``block64``/``block192``/``block768`` are pytorch-fid's ``--dims`` 64/192/768 feature
#: maps, average-pooled; ``sfid`` the spatial features above; ``pool`` is pool3 (FID); ``logits_unbiased`` is
#: pool3 @ fc.weight.T (torch-fidelity's IS, and the ADM evaluator's).
OUTPUTS = {
    "block64": 64,
    "block192": 192,
    "block768": 768,
    "sfid": SFID_GRID * SFID_GRID * SFID_CHANNELS,
    "pool": 2048,
    "logits_unbiased": 1008,
    "logits": 1008,
}
#: The stage each output is read after; later stages are skipped when no requested output needs them.
_STAGE_OF = {"block64": 0, "block192": 1, "sfid": 2, "block768": 2, "pool": 3, "logits_unbiased": 4, "logits": 4}
_BN_EPS = 1e-3
#: oneDNN's convolution with a fused ReLU (one pass over the output instead of two) where this torch build has it.
_FUSED_CPU_CONV = torch.backends.mkldnn.is_available() and hasattr(torch.ops.mkldnn, "_convolution_pointwise")


class _ConvUnit(nn.Module):
    """Convolution without bias, batch norm (eps 1e-3), ReLU; ``fold()`` merges the norm into the convolution."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | tuple[int, int],
        stride: int = 1,
        padding: int | tuple[int, int] = 0,
    ) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size, stride=stride, padding=padding, bias=False)
        self.bn: nn.BatchNorm2d | None = nn.BatchNorm2d(out_channels, eps=_BN_EPS)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        conv = self.conv
        if self.bn is not None:
            return F.relu(self.bn(conv(x)))
        fused = _FUSED_CPU_CONV and x.device.type == "cpu" and x.dtype == torch.float32
        # the fused kernel takes float32 only; under torch.compile the compiler fuses by itself
        if fused and not torch.is_autocast_enabled("cpu") and not torch.compiler.is_compiling():
            return torch.ops.mkldnn._convolution_pointwise(
                x, conv.weight, conv.bias, conv.padding, conv.stride, conv.dilation, conv.groups, "relu", [None], "",
            )
        return F.relu(conv(x), inplace=True)

    def first_channels(self, x: torch.Tensor, count: int) -> torch.Tensor:
        """The unit's first ``count`` output channels (computing only those once the norm is folded)."""
        if self.bn is not None:
            return F.relu(self.bn(self.conv(x)))[:, :count]
        conv = self.conv
        return F.relu(F.conv2d(x, conv.weight[:count], conv.bias[:count], conv.stride, conv.padding))

    def fold(self) -> None:
        """Replace conv + batch norm by one convolution with bias (same function, one pass over the data)."""
        if self.bn is None:
            return
        bn, conv = self.bn, self.conv
        scale = bn.weight.double() / torch.sqrt(bn.running_var.double() + bn.eps)
        with torch.no_grad():  # new tensors: the loaded ones may be shared with the caller's state dict
            weight = (conv.weight.double() * scale[:, None, None, None]).to(conv.weight.dtype)
            bias = (bn.bias.double() - bn.running_mean.double() * scale).to(conv.weight.dtype)
        conv.weight = nn.Parameter(weight, requires_grad=False)
        conv.bias = nn.Parameter(bias, requires_grad=False)
        self.bn = None


def _avg_pool(x: torch.Tensor) -> torch.Tensor:
    # TensorFlow's average pool divides by the number of real (unpadded) inputs.
    return F.avg_pool2d(x, kernel_size=3, stride=1, padding=1, count_include_pad=False)


class _InceptionA(nn.Module):
    def __init__(self, in_channels: int, pool_features: int) -> None:
        super().__init__()
        self.branch1x1 = _ConvUnit(in_channels, 64, 1)
        self.branch5x5_1 = _ConvUnit(in_channels, 48, 1)
        self.branch5x5_2 = _ConvUnit(48, 64, 5, padding=2)
        self.branch3x3dbl_1 = _ConvUnit(in_channels, 64, 1)
        self.branch3x3dbl_2 = _ConvUnit(64, 96, 3, padding=1)
        self.branch3x3dbl_3 = _ConvUnit(96, 96, 3, padding=1)
        self.branch_pool = _ConvUnit(in_channels, pool_features, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat(
            [
                self.branch1x1(x),
                self.branch5x5_2(self.branch5x5_1(x)),
                self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x))),
                self.branch_pool(_avg_pool(x)),
            ],
            1,
        )


class _InceptionB(nn.Module):
    def __init__(self, in_channels: int) -> None:
        super().__init__()
        self.branch3x3 = _ConvUnit(in_channels, 384, 3, stride=2)
        self.branch3x3dbl_1 = _ConvUnit(in_channels, 64, 1)
        self.branch3x3dbl_2 = _ConvUnit(64, 96, 3, padding=1)
        self.branch3x3dbl_3 = _ConvUnit(96, 96, 3, stride=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat(
            [
                self.branch3x3(x),
                self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x))),
                F.max_pool2d(x, kernel_size=3, stride=2),
            ],
            1,
        )


class _InceptionC(nn.Module):
    def __init__(self, in_channels: int, channels_7x7: int) -> None:
        super().__init__()
        c7 = channels_7x7
        self.branch1x1 = _ConvUnit(in_channels, 192, 1)
        self.branch7x7_1 = _ConvUnit(in_channels, c7, 1)
        self.branch7x7_2 = _ConvUnit(c7, c7, (1, 7), padding=(0, 3))
        self.branch7x7_3 = _ConvUnit(c7, 192, (7, 1), padding=(3, 0))
        self.branch7x7dbl_1 = _ConvUnit(in_channels, c7, 1)
        self.branch7x7dbl_2 = _ConvUnit(c7, c7, (7, 1), padding=(3, 0))
        self.branch7x7dbl_3 = _ConvUnit(c7, c7, (1, 7), padding=(0, 3))
        self.branch7x7dbl_4 = _ConvUnit(c7, c7, (7, 1), padding=(3, 0))
        self.branch7x7dbl_5 = _ConvUnit(c7, 192, (1, 7), padding=(0, 3))
        self.branch_pool = _ConvUnit(in_channels, 192, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b7 = self.branch7x7_3(self.branch7x7_2(self.branch7x7_1(x)))
        d7 = self.branch7x7dbl_1(x)
        for unit in (self.branch7x7dbl_2, self.branch7x7dbl_3, self.branch7x7dbl_4, self.branch7x7dbl_5):
            d7 = unit(d7)
        return torch.cat([self.branch1x1(x), b7, d7, self.branch_pool(_avg_pool(x))], 1)


class _InceptionD(nn.Module):
    def __init__(self, in_channels: int) -> None:
        super().__init__()
        self.branch3x3_1 = _ConvUnit(in_channels, 192, 1)
        self.branch3x3_2 = _ConvUnit(192, 320, 3, stride=2)
        self.branch7x7x3_1 = _ConvUnit(in_channels, 192, 1)
        self.branch7x7x3_2 = _ConvUnit(192, 192, (1, 7), padding=(0, 3))
        self.branch7x7x3_3 = _ConvUnit(192, 192, (7, 1), padding=(3, 0))
        self.branch7x7x3_4 = _ConvUnit(192, 192, 3, stride=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b7 = self.branch7x7x3_1(x)
        for unit in (self.branch7x7x3_2, self.branch7x7x3_3, self.branch7x7x3_4):
            b7 = unit(b7)
        return torch.cat(
            [self.branch3x3_2(self.branch3x3_1(x)), b7, F.max_pool2d(x, kernel_size=3, stride=2)], 1
        )


class _InceptionE(nn.Module):
    """The last two blocks; TensorFlow's graph pools with an average in the first and a max in the second."""

    def __init__(self, in_channels: int, *, max_pool: bool) -> None:
        super().__init__()
        self.max_pool = max_pool
        self.branch1x1 = _ConvUnit(in_channels, 320, 1)
        self.branch3x3_1 = _ConvUnit(in_channels, 384, 1)
        self.branch3x3_2a = _ConvUnit(384, 384, (1, 3), padding=(0, 1))
        self.branch3x3_2b = _ConvUnit(384, 384, (3, 1), padding=(1, 0))
        self.branch3x3dbl_1 = _ConvUnit(in_channels, 448, 1)
        self.branch3x3dbl_2 = _ConvUnit(448, 384, 3, padding=1)
        self.branch3x3dbl_3a = _ConvUnit(384, 384, (1, 3), padding=(0, 1))
        self.branch3x3dbl_3b = _ConvUnit(384, 384, (3, 1), padding=(1, 0))
        self.branch_pool = _ConvUnit(in_channels, 192, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b3 = self.branch3x3_1(x)
        d3 = self.branch3x3dbl_2(self.branch3x3dbl_1(x))
        pooled = F.max_pool2d(x, kernel_size=3, stride=1, padding=1) if self.max_pool else _avg_pool(x)
        return torch.cat(
            [
                self.branch1x1(x),
                self.branch3x3_2a(b3),
                self.branch3x3_2b(b3),
                self.branch3x3dbl_3a(d3),
                self.branch3x3dbl_3b(d3),
                self.branch_pool(pooled),
            ],
            1,
        )


class FIDInceptionV3(nn.Module):
    """Inception-v3 as used for FID: (B, 3, 299, 299) inputs scaled to [-1, 1] -> the named outputs of OUTPUTS."""

    def __init__(self) -> None:
        super().__init__()
        self.Conv2d_1a_3x3 = _ConvUnit(3, 32, 3, stride=2)
        self.Conv2d_2a_3x3 = _ConvUnit(32, 32, 3)
        self.Conv2d_2b_3x3 = _ConvUnit(32, 64, 3, padding=1)
        self.Conv2d_3b_1x1 = _ConvUnit(64, 80, 1)
        self.Conv2d_4a_3x3 = _ConvUnit(80, 192, 3)
        self.Mixed_5b = _InceptionA(192, pool_features=32)
        self.Mixed_5c = _InceptionA(256, pool_features=64)
        self.Mixed_5d = _InceptionA(288, pool_features=64)
        self.Mixed_6a = _InceptionB(288)
        self.Mixed_6b = _InceptionC(768, channels_7x7=128)
        self.Mixed_6c = _InceptionC(768, channels_7x7=160)
        self.Mixed_6d = _InceptionC(768, channels_7x7=160)
        self.Mixed_6e = _InceptionC(768, channels_7x7=192)
        self.Mixed_7a = _InceptionD(768)
        self.Mixed_7b = _InceptionE(1280, max_pool=False)
        self.Mixed_7c = _InceptionE(2048, max_pool=True)
        self.fc = nn.Linear(2048, 1008)

    def forward(self, x: torch.Tensor, outputs: Collection[str] = ("pool",)) -> dict[str, torch.Tensor]:
        """The requested outputs, (B, dims) each; stages after the last one needed are not computed."""
        unknown = set(outputs) - set(OUTPUTS)
        if unknown:
            raise ValueError(f"unknown outputs {sorted(unknown)}; choose from {', '.join(OUTPUTS)}")
        last = max(_STAGE_OF[name] for name in outputs)
        result: dict[str, torch.Tensor] = {}

        def keep(name: str, value: torch.Tensor) -> None:
            if name in outputs:
                result[name] = torch.flatten(F.adaptive_avg_pool2d(value, 1), 1) if value.ndim == 4 else value

        x = F.max_pool2d(self.Conv2d_2b_3x3(self.Conv2d_2a_3x3(self.Conv2d_1a_3x3(x))), kernel_size=3, stride=2)
        keep("block64", x)
        if last >= 1:
            x = F.max_pool2d(self.Conv2d_4a_3x3(self.Conv2d_3b_1x1(x)), kernel_size=3, stride=2)
            keep("block192", x)
        if last >= 2:
            for block in (self.Mixed_5b, self.Mixed_5c, self.Mixed_5d, self.Mixed_6a, self.Mixed_6b, self.Mixed_6c):
                x = block(x)
            if "sfid" in outputs:
                spatial = self.Mixed_6d.branch1x1.first_channels(x, SFID_CHANNELS)
                result["sfid"] = spatial.permute(0, 2, 3, 1).reshape(spatial.shape[0], -1)
            if last == 2 and "block768" not in outputs:
                return result
            x = self.Mixed_6e(self.Mixed_6d(x))
            keep("block768", x)
        if last >= 3:
            x = self.Mixed_7c(self.Mixed_7b(self.Mixed_7a(x)))
            x = torch.flatten(F.adaptive_avg_pool2d(x, 1), 1)
            keep("pool", x)
        if last >= 4:
            unbiased = x @ self.fc.weight.T
            keep("logits_unbiased", unbiased)
            keep("logits", unbiased + self.fc.bias)
        return result

    def fold_batchnorm(self) -> FIDInceptionV3:
        """Merge every batch norm into its convolution for inference; the state dict no longer loads afterwards."""
        for module in self.modules():
            if isinstance(module, _ConvUnit):
                module.fold()
        return self


def state_dict_layout() -> dict[str, tuple[tuple[int, ...], torch.dtype]]:
    """Key -> (shape, dtype) of the weights file, in the module's order (566 entries, 94 conv units + fc)."""
    with torch.device("meta"):
        model = FIDInceptionV3()
    return {key: (tuple(value.shape), value.dtype) for key, value in model.state_dict().items()}


def load_network_state(state: Mapping[str, torch.Tensor], source: str) -> FIDInceptionV3:
    """A network holding ``state``, checked strictly first: a mismatch raises ValueError naming the missing,
    unexpected or misshaped keys. Batch-norm counters may be absent (torch-fidelity's converter omits them)."""
    with torch.device("meta"):  # no time spent initialising weights that are replaced next
        model = FIDInceptionV3()
    expected = model.state_dict()
    mismatch = layout_mismatch(state, expected, optional=lambda key: key.endswith("num_batches_tracked"))
    if mismatch:
        raise ValueError(f"{source} is not an FID Inception-v3 state dict ({mismatch})")
    full = {
        key: state[key].to(value.dtype) if key in state else torch.zeros(value.shape, dtype=value.dtype)
        for key, value in expected.items()
    }
    model.load_state_dict(full, strict=True, assign=True)
    return model
