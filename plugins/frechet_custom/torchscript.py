"""``torchscript:PATH``: a model saved with ``torch.jit.save`` (traced or scripted), run on resized RGB batches."""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any

import torch

from frechet.errors import WeightsError
from frechet_custom._messages import summary
from frechet_custom.backbone import ImageModelEmbedder
from frechet_custom.model_file import model_file, sha256_prefix
from frechet_custom.preprocessing import PREPROCESSING_OPTIONS, check_options, image_preprocessing

_OPTIONS = (*PREPROCESSING_OPTIONS, "output")


class TorchScriptEmbedder(ImageModelEmbedder):
    """Runs a TorchScript module that maps (B, 3, h, w) float32 RGB to (B, D) features or a dict of them."""

    name = "torchscript"

    def __init__(self, target: str, output: str | None = None, **options: Any) -> None:
        label = f"torchscript:{target}"
        check_options(options, _OPTIONS, label)
        path = model_file(target, label)
        self.module = _load(path, label)
        super().__init__(label, image_preprocessing(options, label), {"sha256": sha256_prefix(path)}, output)

    def _run(self, batch: torch.Tensor) -> Any:
        return self.module(batch)

    def to(self, device: torch.device | str) -> TorchScriptEmbedder:
        self.module.to(device)
        return super().to(device)


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
    return summary(error)
