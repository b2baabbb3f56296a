"""``onnx:PATH``: an ONNX graph with one float image input, run through onnxruntime (the ``onnx`` extra)."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import torch

from frechet.errors import ConfigError, WeightsError, one_line
from frechet_custom.backbone import ImageModelEmbedder
from frechet_custom.model_file import model_file, model_identity
from frechet.optional import import_optional, install_extra
from frechet_custom.preprocessing import OUTPUT_OPTION, PREPROCESSING_OPTIONS, image_preprocessing

log = logging.getLogger("frechet")
_INSTALL = install_extra("onnx", "onnxruntime (or onnxruntime-gpu)")


class OnnxEmbedder(ImageModelEmbedder):
    """ONNX model file (onnxruntime, extra 'onnx'): RGB in [0, 1] -> one or more (B, D) outputs.

    Outputs are named as in the graph. A graph with a fixed spatial size makes that the default ``size``; one with
    a fixed batch of 1 is run an item at a time. Only the graph's operators run, never Python code."""

    name = "onnx"
    family = True
    options = (*PREPROCESSING_OPTIONS, OUTPUT_OPTION)
    precisions = ("fp32",)  # onnxruntime runs the graph as exported; torch's autocast does not reach it

    def __init__(self, target: str, output: str | None = None, **preprocessing: Any) -> None:
        label = f"onnx:{target}"
        self._ort = import_optional("onnxruntime", label, _INSTALL)
        self.path = model_file(target, label)
        self.label = label
        self.session = self._session(["CPUExecutionProvider"])
        self._input, default_size, self._one_at_a_time = _image_input(self.session, label)
        self._outputs = [node.name for node in self.session.get_outputs()]
        steps = image_preprocessing(label, default_size=default_size, **preprocessing)
        if default_size is not None and steps.size != default_size:
            raise ConfigError(
                f"{label}: the graph takes {default_size[0]}x{default_size[1]} images only, but size="
                f"{steps.config()['size']}; re-export it with dynamic height/width axes or drop size="
            )
        super().__init__(label, steps, model_identity(self.path), output)

    def _run(self, batch: torch.Tensor) -> dict[str, torch.Tensor]:
        array = batch.detach().cpu().numpy().astype(np.float32, copy=False)
        chunks = [array[i : i + 1] for i in range(len(array))] if self._one_at_a_time else [array]
        results = [self.session.run(self._outputs, {self._input: chunk}) for chunk in chunks]
        return {
            name: torch.from_numpy(np.concatenate([result[k] for result in results]))
            for k, name in enumerate(self._outputs)
        }

    def to(self, device: torch.device | str) -> OnnxEmbedder:
        """Use CUDA through onnxruntime's CUDA provider when asked and available; batches stay on the CPU."""
        device = torch.device(device)
        if device.type == "cuda":
            if "CUDAExecutionProvider" in self._ort.get_available_providers():
                cuda = ("CUDAExecutionProvider", {"device_id": device.index or 0})
                self.session = self._session([cuda, "CPUExecutionProvider"])
            else:
                log.info("%s: onnxruntime has no CUDA provider here (install onnxruntime-gpu); running on the CPU",
                         self.label)
        return super().to("cpu")

    def _session(self, providers: list[Any]) -> Any:
        try:
            return self._ort.InferenceSession(str(self.path), providers=providers)
        except Exception as error:  # onnxruntime raises its own exception types for unreadable graphs
            raise WeightsError(
                f"{self.label}: not a loadable ONNX model ({one_line(error)}); export one with torch.onnx.export"
            ) from None


def _image_input(session: Any, label: str) -> tuple[str, tuple[int, int] | None, bool]:
    """The graph's input name, its fixed (height, width) if any, and whether its batch size is fixed to 1."""
    inputs = session.get_inputs()
    if len(inputs) != 1:
        raise ConfigError(f"{label}: the graph has {len(inputs)} inputs; frechet feeds exactly one image batch")
    node = inputs[0]
    shape = list(node.shape)
    channels = shape[1] if len(shape) == 4 else None
    if node.type != "tensor(float)" or len(shape) != 4 or (isinstance(channels, int) and channels != 3):
        raise ConfigError(
            f"{label}: the graph's input '{node.name}' is {node.type} {shape}; frechet feeds float32 "
            "(batch, 3, height, width) RGB"
        )
    batch, _, height, width = shape
    if isinstance(batch, int) and batch > 1:
        raise ConfigError(
            f"{label}: the graph's batch size is fixed to {batch}; export it with a dynamic batch axis "
            f"(torch.onnx.export(..., dynamic_axes={{'{node.name}': {{0: 'batch'}}}}))"
        )
    fixed = (height, width) if isinstance(height, int) and isinstance(width, int) else None
    return node.name, fixed, batch == 1
