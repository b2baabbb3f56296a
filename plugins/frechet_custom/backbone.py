"""The shared embedder for image models given by file or name: preprocessing options, outputs found by one probe."""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Mapping
from typing import Any

import numpy as np
import torch

from frechet.caller import spell_embedder_option
from frechet.embedder import Embedder
from frechet.errors import ConfigError, FrechetError, one_line
from frechet.memory import CHECK_ABOVE_BYTES, available_memory, describe_bytes
from frechet_custom.preprocessing import ImagePreprocessing

#: Output name of a model that returns a single tensor instead of a dict of named ones.
SINGLE_OUTPUT = "features"
#: Items in the probe batch: more than one, so a model that drops or mixes the batch axis is caught.
_PROBE_BATCH = 2


class ImageModelEmbedder(Embedder):
    """An image model run on preprocessed RGB batches; its outputs and their sizes come from running it once.

    Subclasses load the model, then call ``super().__init__`` with the preprocessing, what identifies the model
    (e.g. its file's sha256 prefix) and the chosen ``output``; they implement ``_run`` and, for modules, ``to``.
    """

    domain = "image"

    def __init__(
        self, label: str, preprocessing: ImagePreprocessing, identity: Mapping[str, str], output: str | None
    ) -> None:
        super().__init__()
        self.label = label
        self.preprocessing = preprocessing
        self._identity = dict(identity)
        self.outputs = self._probe(output)
        self.default_output = output or next(iter(self.outputs))

    @abstractmethod
    def _run(self, batch: torch.Tensor) -> Any:
        """Run the model on a (B, 3, h, w) float32 batch; return a tensor or a dict of named tensors."""

    def transform(self, item: np.ndarray) -> torch.Tensor:
        return self.preprocessing(item)

    def forward(self, batch: torch.Tensor) -> dict[str, torch.Tensor]:
        return named_outputs(self._run(batch), self.label)

    def config(self) -> dict[str, Any]:
        return {**self._identity, **self.preprocessing.config()}

    def _probe(self, output: str | None) -> dict[str, int]:
        """Output name -> dims, from one run on a small grey batch, before any input is read. Outputs that are not
        (batch, dims) features (a dict model may also return maps) are left out; a model without any, or an
        ``output`` choosing one of those or none of the model's, is an error naming the model."""
        height, width = self.preprocessing.size
        _check_room(self.label, height, width)
        grey = self.preprocessing.normalize(torch.full((_PROBE_BATCH, 3, height, width), 0.5))
        try:
            with torch.inference_mode():
                raw = self._run(grey)
        except FrechetError:
            raise
        except Exception as error:  # the model's own code fails in any number of ways
            raise ConfigError(
                f"{self.label}: the model failed on a {tuple(grey.shape)} float32 batch "
                f"({one_line(error)}); check size= and that it takes RGB images as (batch, 3, height, width)"
            ) from None
        outputs = named_outputs(raw, self.label)
        if output is not None and output not in outputs:
            raise ConfigError(f"{self.label}: output={output!r} is not one of the model's outputs ({', '.join(outputs)})")
        usable = {name: value for name, value in outputs.items() if _is_feature_batch(value)}
        wrong = output if output is not None and output not in usable else None
        if wrong is None and not usable:
            wrong = next(iter(outputs))
        if wrong is not None:
            value = outputs[wrong]
            if value.ndim == 2 and value.shape[1] == 0:
                raise ConfigError(f"{self.label}: output '{wrong}' has zero width (shape {tuple(value.shape)} for a "
                                  f"batch of {_PROBE_BATCH}): there are no features to compare; check the model")
            raise ConfigError(
                f"{self.label}: output '{wrong}' is a {value.dtype} tensor of shape {tuple(value.shape)} for a "
                f"batch of {_PROBE_BATCH}; frechet needs float (batch, dims) features: pool or flatten them in "
                "the model before returning them"
            )
        return {name: int(value.shape[1]) for name, value in usable.items()}


def _is_feature_batch(value: torch.Tensor) -> bool:
    return value.ndim == 2 and value.shape[0] == _PROBE_BATCH and value.shape[1] > 0 and value.is_floating_point()


def _check_room(label: str, height: int, width: int) -> None:
    """Refuse an input size whose probe batch could not even be allocated (``size=100000`` would take 240 GB), by
    name, before anything is allocated; a run's batches are checked the same way by the core."""
    needed = _PROBE_BATCH * 3 * height * width * 4
    if needed <= CHECK_ABOVE_BYTES:
        return
    available = available_memory()
    if available is not None and needed > available:
        size = str(height) if height == width else f"{height}x{width}"
        raise ConfigError(
            f"{label}: {spell_embedder_option('size', size)} makes each image a 3×{height}×{width} float32 input "
            f"({describe_bytes(needed / _PROBE_BATCH)}), so even the check batch of {_PROBE_BATCH} needs "
            f"{describe_bytes(needed)}, more than the {describe_bytes(available)} of memory available; give the "
            "model's real input size"
        )


def named_outputs(raw: Any, label: str) -> dict[str, torch.Tensor]:
    """A model's return value as {output name: tensor}: a lone tensor is named ``features``."""
    if isinstance(raw, torch.Tensor):
        return {SINGLE_OUTPUT: raw}
    if isinstance(raw, Mapping) and raw and all(isinstance(v, torch.Tensor) for v in raw.values()):
        return {str(name): value for name, value in raw.items()}
    raise ConfigError(
        f"{label}: the model returned {type(raw).__name__}; it must return a (batch, dims) tensor or a dict of "
        "named (batch, dims) tensors"
    )

