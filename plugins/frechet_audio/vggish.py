"""The VGGish embedder: torchvggish's network and PCA post-processor in plain torch, fed by the reference log-mel.

FAD convention (frechet-audio-distance and fadtk both drop torchvggish's PCA post-processing and the ReLU after the
last layer): the default output is the 128-d pre-activation of VGGish's embedding layer. ``relu=true`` keeps the
final ReLU; ``pca=true`` applies the released PCA/whitening, clipping to [-2, 2] and 8-bit quantisation, after it
(as torchvggish does). Each clip yields one embedding per 0.96 s example (frames of 10 ms, see
:mod:`frechet_audio.vggish_frontend`); FAD statistics are over all examples of all clips.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from frechet.embedder import Embedder, Option
from frechet.errors import InputError, WeightsError
from frechet_audio.checkpoints import VGGISH, VGGISH_PCA, Checkpoint, load_checkpoint
from frechet_audio.clips import Clip
from frechet_audio.options import PAD_SHORT, weights_option
from frechet_audio.resample import RESAMPLER
from frechet_audio.stream import Windows, mono_blocks
from frechet_audio.vggish_frontend import EXAMPLE_HOP, EXAMPLE_SAMPLES, SAMPLE_RATE, log_mel_examples

EMBEDDING_SIZE = 128
#: Examples run through the network at a time, so one long clip never needs all its activations at once.
CHUNK_EXAMPLES = 256


class VGGish(nn.Module):
    """VGGish with torchvggish's parameter names: ``features.{0,3,6,8,11,13}``, ``embeddings.{0,2,4}``."""

    def __init__(self) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        channels = 1
        for width in (64, "pool", 128, "pool", 256, 256, "pool", 512, 512, "pool"):
            if width == "pool":
                layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
            else:
                layers += [nn.Conv2d(channels, width, kernel_size=3, padding=1), nn.ReLU(inplace=True)]
                channels = width
        self.features = nn.Sequential(*layers)
        self.embeddings = nn.Sequential(
            nn.Linear(512 * 4 * 6, 4096),
            nn.ReLU(inplace=True),
            nn.Linear(4096, 4096),
            nn.ReLU(inplace=True),
            nn.Linear(4096, EMBEDDING_SIZE),
            nn.ReLU(inplace=True),
        )

    def forward(self, examples: torch.Tensor, *, final_relu: bool = False) -> torch.Tensor:
        """(B, 1, 96, 64) log-mel examples -> (B, 128) embeddings."""
        x = self.features(examples)
        x = x.permute(0, 2, 3, 1).flatten(1)  # channels last before flattening, as the TensorFlow original
        return self.embeddings(x) if final_relu else self.embeddings[:-1](x)


class VGGishPCA(nn.Module):
    """torchvggish's post-processor: PCA with whitening, clip to [-2, 2], quantise to 0…255 (kept as floats)."""

    def __init__(self, eigen_vectors: torch.Tensor, means: torch.Tensor) -> None:
        super().__init__()
        self.register_buffer("eigen_vectors", eigen_vectors.reshape(EMBEDDING_SIZE, EMBEDDING_SIZE).float())
        self.register_buffer("means", means.reshape(EMBEDDING_SIZE, 1).float())

    def forward(self, embeddings: torch.Tensor) -> torch.Tensor:
        projected = torch.mm(self.eigen_vectors, embeddings.t() - self.means).t()
        return torch.round((torch.clamp(projected, -2.0, 2.0) + 2.0) * (255.0 / 4.0))


class VGGishEmbedder(Embedder):
    """VGGish (AudioSet) 128-d embeddings of 0.96 s examples at 16 kHz, without PCA or final ReLU (FAD)"""

    name = "vggish"
    domain = "audio"
    fd_key = "fad"
    outputs = {"embedding": EMBEDDING_SIZE}
    default_output = "embedding"
    multiple_examples = True
    sample_rate = SAMPLE_RATE
    weights = (VGGISH, VGGISH_PCA)
    options = (
        Option("pca", bool, default=False, help="apply the released PCA/whitening and 8-bit quantisation"),
        Option("relu", bool, default=False, help="keep the final ReLU of the embedding layer"),
        PAD_SHORT,
        weights_option("VGGish"),
        weights_option("VGGish PCA", name="pca_weights"),
    )

    def __init__(
        self,
        pca: bool = False,
        relu: bool = False,
        pad_short: bool = False,
        weights: Path | None = None,
        pca_weights: Path | None = None,
    ) -> None:
        super().__init__()
        self.pca, self.relu, self.pad_short = pca, relu, pad_short
        checkpoint = load_checkpoint(VGGISH, weights)
        self.model = VGGish().eval()
        checkpoint.load_into(self.model)
        self._weights_id = checkpoint.identity
        self.postprocessor: VGGishPCA | None = None
        if self.pca:
            pca_checkpoint = load_checkpoint(VGGISH_PCA, pca_weights)
            self.postprocessor = _pca_from(pca_checkpoint)
            self._pca_id = pca_checkpoint.identity

    def transform(self, clip: Clip) -> torch.Tensor:
        """The clip's log-mel examples, float32 (k, 1, 96, 64); InputError when it is shorter than one example."""
        windows = Windows(EXAMPLE_SAMPLES, EXAMPLE_HOP)
        parts = []
        for block in mono_blocks(clip, SAMPLE_RATE):
            ready = windows.push(block)
            if len(ready):
                parts.append(log_mel_examples(ready))
        if not parts:
            if not self.pad_short:
                raise InputError(
                    f"{clip.name}: {clip.seconds:.3f} s is shorter than one VGGish example "
                    f"({EXAMPLE_SAMPLES / SAMPLE_RATE:.3f} s); pass --embedder-option pad_short=true to zero-pad "
                    "short clips, or --skip-bad to leave them out"
                )
            parts = [log_mel_examples(windows.padded_rest())]
        return torch.from_numpy(np.concatenate(parts))

    def forward(self, batch: torch.Tensor) -> dict[str, torch.Tensor]:
        embeddings = torch.cat([self.model(part, final_relu=self.relu) for part in batch.split(CHUNK_EXAMPLES)])
        if self.postprocessor is not None:
            embeddings = self.postprocessor(embeddings)
        return {"embedding": embeddings}

    def config(self) -> dict[str, Any]:
        config = {"weights": self._weights_id, "relu": self.relu, "pca": self.pca, "resampler": RESAMPLER}
        if self.pca:
            config["pca_weights"] = self._pca_id
        if self.pad_short:
            config["pad_short"] = True
        return config


def _pca_from(checkpoint: Checkpoint) -> VGGishPCA:
    """The post-processor from a PCA file (arrays or tensors named pca_eigen_vectors and pca_means)."""
    try:
        vectors, means = (torch.as_tensor(checkpoint.state[key]) for key in ("pca_eigen_vectors", "pca_means"))
    except KeyError:
        raise WeightsError(
            f"{checkpoint.file}: not VGGish PCA parameters (needs pca_eigen_vectors and pca_means); "
            f"use the file from {VGGISH_PCA.url}"
        ) from None
    if vectors.numel() != EMBEDDING_SIZE**2 or means.numel() != EMBEDDING_SIZE:
        raise WeightsError(
            f"{checkpoint.file}: PCA parameters of the wrong size ({tuple(vectors.shape)}, {tuple(means.shape)}); "
            f"expected (128, 128) and (128,)"
        )
    return VGGishPCA(vectors, means).eval()
