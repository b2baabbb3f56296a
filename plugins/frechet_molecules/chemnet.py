"""ChemNet (Preuer et al. 2018) in plain torch: the network whose 512-d last LSTM state the Fréchet ChemNet
Distance compares.

Two strided 1-d convolutions with TensorFlow's "same" padding and SELU, then two LSTMs that each read their input
sequence backwards (Keras' ``go_backwards``: the input is flipped in time and the outputs are left in the order
they were produced), the second one's last output being the features. Built from the layers of a
``ChemNet_v0.13_pretrained.pt`` file (:mod:`frechet_molecules.chemnet_file`), whose shapes and settings are checked
against this structure first.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from frechet_molecules.chemnet_file import ChemNetFileError, Layer

#: The saved layers' types, in order.
STRUCTURE = ("Conv1d", "Conv1d", "LSTM", "LSTM")
FEATURES = 512


def same_padding(length: int, kernel: int, stride: int) -> tuple[int, int]:
    """The zero padding (before, after) the peers put around a sequence of ``length`` for a strided kernel: their
    port of TensorFlow's "same" padding, kept as they compute it (the total is divided by the stride, not split in
    half), since the published features depend on it."""
    total = max(kernel - (stride if length % stride == 0 else length % stride), 0)
    before = total // stride
    return (before, before) if total % stride == 0 else (before, total - before)


class ChemNet(nn.Module):
    """(B, 35, L) scaled one-hot SMILES -> (B, 512) features."""

    def __init__(self, convolutions: Sequence[nn.Conv1d], lstms: Sequence[nn.LSTM]) -> None:
        super().__init__()
        self.convolutions = nn.ModuleList(convolutions)
        self.lstms = nn.ModuleList(lstms)

    def forward(self, batch: torch.Tensor) -> torch.Tensor:
        x = batch
        for convolution in self.convolutions:
            kernel, stride = convolution.kernel_size[0], convolution.stride[0]
            x = nn.functional.selu(convolution(nn.functional.pad(x, same_padding(x.shape[2], kernel, stride))))
        x = x.transpose(1, 2)
        for lstm in self.lstms:
            x = lstm(torch.flip(x, [1]))[0]
        return x[:, -1]


def build_chemnet(layers: Sequence[Layer]) -> ChemNet:
    """The network holding ``layers``' tensors; ChemNetFileError when they are not ChemNet's."""
    kinds = tuple(layer.kind for layer in layers)
    if kinds != STRUCTURE:
        raise ChemNetFileError(f"its layers are {', '.join(kinds) or 'none'}, not ChemNet's {', '.join(STRUCTURE)}")
    convolutions = [_convolution(layer) for layer in layers[:2]]
    lstms = [_lstm(layer, last=index == 1) for index, layer in enumerate(layers[2:])]
    if lstms[-1].hidden_size != FEATURES:
        raise ChemNetFileError(f"its last LSTM has {lstms[-1].hidden_size} units, not ChemNet's {FEATURES}")
    return ChemNet(convolutions, lstms)


def _convolution(layer: Layer) -> nn.Conv1d:
    kwargs, info = layer.kwargs, layer.info
    _expect(layer, info.get("padding") == "same" and info.get("activation") == "selu",
            "a convolution with 'same' padding and SELU")
    _expect(layer, all(isinstance(kwargs.get(key), int) and 0 < kwargs[key] <= 4096
                       for key in ("in_channels", "out_channels", "kernel_size", "stride")),
            "a convolution's channel, kernel and stride sizes")
    _expect(layer, kwargs.get("padding", 0) == 0 and tuple(kwargs.get("dilation", (1,))) in ((1,),)
            and isinstance(kwargs.get("bias", True), bool), "an undilated convolution padded only by 'same'")
    convolution = nn.Conv1d(kwargs["in_channels"], kwargs["out_channels"], kwargs["kernel_size"], kwargs["stride"],
                            bias=kwargs.get("bias", True))
    _load(layer, convolution)
    return convolution


def _lstm(layer: Layer, *, last: bool) -> nn.LSTM:
    kwargs, info = layer.kwargs, layer.info
    _expect(layer, info.get("reverse") is True and info.get("last") is last,
            f"a backwards LSTM returning its {'last output' if last else 'whole sequence'}")
    _expect(layer, kwargs.get("batch_first") is True and all(
        isinstance(kwargs.get(key), int) and 0 < kwargs[key] <= 4096 for key in ("input_size", "hidden_size")),
        "a batch-first LSTM's input and hidden sizes")
    lstm = nn.LSTM(kwargs["input_size"], kwargs["hidden_size"], batch_first=True)
    _load(layer, lstm)
    return lstm


def _expect(layer: Layer, holds: bool, what: str) -> None:
    if not holds:
        raise ChemNetFileError(f"its {layer.kind} layer is not {what} ({layer.kwargs}, {layer.info})")


def _load(layer: Layer, module: nn.Module) -> None:
    expected = module.state_dict()
    shapes = {name: tuple(tensor.shape) for name, tensor in layer.state.items()}
    wanted = {name: tuple(tensor.shape) for name, tensor in expected.items()}
    if shapes != wanted:
        raise ChemNetFileError(f"its {layer.kind} tensors are {shapes}, not the {wanted} its settings need")
    if any(tensor.dtype != torch.float32 for tensor in layer.state.values()):
        raise ChemNetFileError(f"its {layer.kind} tensors are not float32")
    module.load_state_dict(layer.state)
    module.eval().requires_grad_(False)
