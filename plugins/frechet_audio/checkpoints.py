"""The audio models' weights files: found through the weights store, loaded safely, named in the embedder's id."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from frechet.errors import WeightsError
from frechet.weights import WeightsSpec, layout_mismatch, load_state_dict, resolve_weights, weights_identity

VGGISH = WeightsSpec(
    "vggish",
    "https://github.com/harritaylor/torchvggish/releases/download/v0.1/vggish-10086976.pth",
    description="VGGish trained on AudioSet (Hershey et al. 2017), torchvggish's port of the TensorFlow checkpoint",
)
VGGISH_PCA = WeightsSpec(
    "vggish-pca",
    "https://github.com/harritaylor/torchvggish/releases/download/v0.1/vggish_pca_params-970ea276.pth",
    description="VGGish PCA/whitening parameters of the released AudioSet embeddings (torchvggish's port)",
)
PANN_CNN14_16K = WeightsSpec(
    "pann-cnn14-16k",
    "https://zenodo.org/records/3987831/files/Cnn14_16k_mAP%3D0.438.pth?download=1",
    # Zenodo lists md5 362fc5ff18f1d6ad2f6d464b45893f2c for this file; this is the sha256 of that file (358668570 bytes)
    sha256="e2ee543a27919542c2ea03eabaa70b24dcd4e6c8e05621de6b67a94e4c5058e6",
    filename="Cnn14_16k_mAP=0.438.pth",
    description="PANN CNN14 for 16 kHz audio trained on AudioSet (Kong et al. 2020), mAP 0.438",
)
# EnCodec's published files carry the start of their sha256 in their names (checked by the encodec package as by torch
# hub); no full digest is published.
ENCODEC_24K = WeightsSpec(
    "encodec-24k",
    "https://dl.fbaipublicfiles.com/encodec/v0/encodec_24khz-d7cc33bc.th",
    description="EnCodec 24 kHz (Défossez et al. 2022), the causal mono codec; only its encoder is used",
)
ENCODEC_48K = WeightsSpec(
    "encodec-48k",
    "https://dl.fbaipublicfiles.com/encodec/v0/encodec_48khz-7e698e3e.th",
    description="EnCodec 48 kHz (Défossez et al. 2022), the non-causal stereo codec; only its encoder is used",
)

# LAION-CLAP publishes no checksums for its checkpoints (neither laion_clap's nor fadtk's code, nor the model card
# of the Hugging Face repository, name one): the sha256 of the first copy used is pinned.
CLAP_LAION_AUDIO = WeightsSpec(
    "clap-laion-audio",
    "https://huggingface.co/lukewys/laion_clap/resolve/main/630k-audioset-best.pt",
    pin=True,
    description="LAION-CLAP trained on LAION-Audio-630K and AudioSet, HTSAT-tiny audio tower (Wu et al. 2023)",
)
CLAP_LAION_MUSIC = WeightsSpec(
    "clap-laion-music",
    "https://huggingface.co/lukewys/laion_clap/resolve/main/music_audioset_epoch_15_esc_90.14.pt",
    pin=True,
    description="LAION-CLAP trained on music and AudioSet, HTSAT-base audio tower (ESC-50 accuracy 90.14 %)",
)


@dataclass(frozen=True)
class Checkpoint:
    """A loaded weights file: its tensors, where it came from, and the name it goes by in the embedder's id."""

    spec: WeightsSpec
    file: Path
    state: dict[str, Any]
    identity: str

    def load_into(self, module: torch.nn.Module, state: dict[str, Any] | None = None) -> None:
        """``module.load_state_dict`` with every key and shape required; a mismatch is a WeightsError."""
        state = self.state if state is None else state
        try:
            module.load_state_dict(state, strict=True)
        except RuntimeError as error:
            detail = layout_mismatch(state, module.state_dict()) or str(error).strip().splitlines()[-1].strip()
            raise WeightsError(
                f"{self.file}: not {self.spec.name} weights in the expected layout ({detail}); "
                f"use the file from {self.spec.url}"
            ) from None


def load_checkpoint(spec: WeightsSpec, path: str | Path | None, *, mmap: bool = False) -> Checkpoint:
    """The weights of ``spec``: the local file ``path`` when given, else the verified canonical file, named in the
    embedder id by :func:`frechet.weights.weights_identity`. NumPy arrays inside the file (the PCA parameters,
    PANN's training-sampler state) are admitted, arbitrary objects never. ``mmap=True`` reads only the tensors
    used (for checkpoints that hold much more than the model needs).
    """
    file = resolve_weights(spec, path)
    state = load_state_dict(file, numpy_arrays=True, mmap=mmap)
    return Checkpoint(spec, file, state, weights_identity(spec, path))
