"""``torchscript:PATH``: a model saved with ``torch.jit.save`` (traced or scripted), run on resized RGB batches."""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any

import torch

from frechet.errors import WeightsError, one_line
from frechet_custom.backbone import ImageModelEmbedder
from frechet_custom.model_file import model_file, model_identity
from frechet_custom.preprocessing import OUTPUT_OPTION, PREPROCESSING_OPTIONS, image_preprocessing


class TorchScriptEmbedder(ImageModelEmbedder):
    """TorchScript model file: RGB in [0, 1] -> (B, D) or a dict of them (runs the file's code: trust it)."""

    name = "torchscript"
    family = True
    runs_user_code = True
    options = (*PREPROCESSING_OPTIONS, OUTPUT_OPTION)

    def __init__(self, target: str, output: str | None = None, **preprocessing: Any) -> None:
        label = f"torchscript:{target}"
        path = model_file(target, label)
        self.module = _load(path, label)
        super().__init__(label, image_preprocessing(label, **preprocessing), model_identity(path), output)

    def _run(self, batch: torch.Tensor) -> Any:
        return self.module(batch)


def _load(path: Path, label: str) -> torch.jit.ScriptModule:
    try:
        module = torch.jit.load(str(path), map_location="cpu")
    except Exception as error:  # torch reports unreadable archives with several exception types
        raise WeightsError(
            f"{label}: not a loadable TorchScript model ({_why(path, error)}); save one with "
            "torch.jit.save(torch.jit.trace(model.eval(), example_batch), path)"
        ) from None
    return module.eval()


def _why(path: Path, error: Exception) -> str:
    """Say what the file is instead: not an archive, a state dict (an archive without code), or torch's reason."""
    if not zipfile.is_zipfile(path):
        return "the file is not a TorchScript archive; it may be truncated or of another format"
    with zipfile.ZipFile(path) as archive:
        has_code = any("/code/" in f"/{name}" for name in archive.namelist())
    if not has_code:
        return "the archive holds no TorchScript code: a state dict saved with torch.save needs its model's code"
    return one_line(error)
