"""Deterministic random weights in the exact key layouts of torchvggish's VGGish and PCA file and of PANN CNN14 (16k).

Only NumPy's legacy ``RandomState`` (a frozen stream) and torch are used, so ``scripts/goldens/audio.py`` (run with
the reference tools' older NumPy and torch) and the test suite build bit-identical tensors. The layouts below are the
oracle for the key names: the golden script checks them against the peers' own models.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

import numpy as np
import torch

VGGISH_SEED = 5
PCA_SEED = 6
PANN_SEED = 7


def vggish_layout() -> list[tuple[str, tuple[int, ...]]]:
    """(key, shape) of torchvggish's ``vggish-10086976.pth``, in order."""
    layout: list[tuple[str, tuple[int, ...]]] = []
    widths = [(1, 64, 0), (64, 128, 3), (128, 256, 6), (256, 256, 8), (256, 512, 11), (512, 512, 13)]
    for channels_in, channels_out, index in widths:
        layout += [(f"features.{index}.weight", (channels_out, channels_in, 3, 3))]
        layout += [(f"features.{index}.bias", (channels_out,))]
    for index, (size_in, size_out) in zip((0, 2, 4), ((12288, 4096), (4096, 4096), (4096, 128))):
        layout += [(f"embeddings.{index}.weight", (size_out, size_in)), (f"embeddings.{index}.bias", (size_out,))]
    return layout


def pann_learned_layout() -> list[tuple[str, tuple[int, ...]]]:
    """(key, shape) of the trained part of ``Cnn14_16k_mAP=0.438.pth``'s "model" dict (all but the front end)."""
    layout: list[tuple[str, tuple[int, ...]]] = list(_batch_norm("bn0", 64))
    widths = (1, 64, 128, 256, 512, 1024, 2048)
    for block in range(1, 7):
        prefix, channels_in, channels_out = f"conv_block{block}", widths[block - 1], widths[block]
        layout += [
            (f"{prefix}.conv1.weight", (channels_out, channels_in, 3, 3)),
            (f"{prefix}.conv2.weight", (channels_out, channels_out, 3, 3)),
        ]
        layout += [*_batch_norm(f"{prefix}.bn1", channels_out), *_batch_norm(f"{prefix}.bn2", channels_out)]
    layout += [("fc1.weight", (2048, 2048)), ("fc1.bias", (2048,))]
    layout += [("fc_audioset.weight", (527, 2048)), ("fc_audioset.bias", (527,))]
    return layout


#: The front-end keys PANN checkpoints also hold (computed, not trained).
PANN_FRONT_END_KEYS = (
    "spectrogram_extractor.stft.conv_real.weight",
    "spectrogram_extractor.stft.conv_imag.weight",
    "logmel_extractor.melW",
)


def vggish_state() -> dict[str, torch.Tensor]:
    """He-initialised VGGish weights with small random biases (uniform draws)."""
    rng = np.random.RandomState(VGGISH_SEED)
    state = {}
    for key, shape in vggish_layout():
        if key.endswith("weight"):
            values = _he_uniform(rng, shape)
        else:
            values = _uniform(rng, shape, 0.05)
        state[key] = torch.from_numpy(values.astype(np.float32))
    return state


def vggish_pca_arrays() -> dict[str, np.ndarray]:
    """PCA parameters as torchvggish's file holds them (float64 NumPy arrays): a random map and mean."""
    rng = np.random.RandomState(PCA_SEED)
    return {"pca_eigen_vectors": _uniform(rng, (128, 128), 0.15), "pca_means": _uniform(rng, (128,), 0.5)}


def pann_learned_state() -> dict[str, torch.Tensor]:
    """Random CNN14 weights: He-initialised convolutions and fc1, batch-norm statistics of plausible size."""
    rng = np.random.RandomState(PANN_SEED)
    state = {}
    for key, shape in pann_learned_layout():
        state[key] = _pann_tensor(rng, key, shape)
    return state


def state_digest(state: dict[str, torch.Tensor]) -> str:
    """sha256 over the keys and raw bytes of a state dict (to pin the weights the goldens were made with)."""
    digest = hashlib.sha256()
    for key in sorted(state):
        digest.update(key.encode())
        digest.update(np.ascontiguousarray(state[key].numpy()).tobytes())
    return digest.hexdigest()


def _uniform(rng: np.random.RandomState, shape: tuple[int, ...], std: float) -> np.ndarray:
    """Zero-mean uniform values with standard deviation ``std`` (uniform draws are much faster than normal ones)."""
    return (rng.random_sample(shape) * 2.0 - 1.0) * (np.sqrt(3.0) * std)


def _he_uniform(rng: np.random.RandomState, shape: tuple[int, ...]) -> np.ndarray:
    """He initialisation: variance 2 / fan-in, for layers followed by ReLU."""
    return _uniform(rng, shape, float(np.sqrt(2.0 / np.prod(shape[1:]))))


def _batch_norm(prefix: str, channels: int) -> Iterator[tuple[str, tuple[int, ...]]]:
    for name in ("weight", "bias", "running_mean", "running_var"):
        yield f"{prefix}.{name}", (channels,)
    yield f"{prefix}.num_batches_tracked", ()


def _pann_tensor(rng: np.random.RandomState, key: str, shape: tuple[int, ...]) -> torch.Tensor:
    name = key.rsplit(".", 1)[-1]
    first_norm = key.startswith("bn0.")
    if name == "num_batches_tracked":
        return torch.tensor(0, dtype=torch.int64)
    if name == "weight" and len(shape) > 1:
        values = _uniform(rng, shape, 0.02) if key.startswith("fc_audioset") else _he_uniform(rng, shape)
    elif name == "weight":
        values = rng.uniform(0.5, 1.5, shape)
    elif name == "bias":
        values = _uniform(rng, shape, 0.1)
    elif name == "running_mean":
        values = rng.uniform(-40.0, 0.0, shape) if first_norm else _uniform(rng, shape, 0.1)
    else:  # running_var
        values = rng.uniform(100.0, 900.0, shape) if first_norm else rng.uniform(0.5, 2.0, shape)
    return torch.from_numpy(np.asarray(values, dtype=np.float32))


ENCODEC_SEEDS = {"24k": 8, "48k": 9}


def encodec_encoder_layout(variant: str) -> list[tuple[str, tuple[int, ...]]]:
    """(key, shape) of the ``encoder.*`` tensors of ``encodec_24khz-d7cc33bc.th`` ("24k": weight-normalised
    convolutions) or ``encodec_48khz-7e698e3e.th`` ("48k": stereo input, convolutions followed by GroupNorm), in
    order."""
    layout: list[tuple[str, tuple[int, ...]]] = []

    def conv(prefix: str, channels_in: int, channels_out: int, kernel: int) -> None:
        prefix = f"encoder.model.{prefix}.conv"
        if variant == "24k":
            layout.extend([(f"{prefix}.conv.bias", (channels_out,)), (f"{prefix}.conv.weight_g", (channels_out, 1, 1)),
                           (f"{prefix}.conv.weight_v", (channels_out, channels_in, kernel))])
        else:
            layout.extend([(f"{prefix}.conv.weight", (channels_out, channels_in, kernel)),
                           (f"{prefix}.conv.bias", (channels_out,)), (f"{prefix}.norm.weight", (channels_out,)),
                           (f"{prefix}.norm.bias", (channels_out,))])

    conv("0", 1 if variant == "24k" else 2, 32, 7)
    width, index = 32, 1
    for ratio in (2, 4, 5, 8):
        conv(f"{index}.block.1", width, width // 2, 3)
        conv(f"{index}.block.3", width // 2, width, 1)
        conv(f"{index}.shortcut", width, width, 1)
        conv(str(index + 2), width, 2 * width, 2 * ratio)
        width, index = 2 * width, index + 3
    for layer in (0, 1):
        layout += [(f"encoder.model.13.lstm.weight_ih_l{layer}", (4 * width, width)),
                   (f"encoder.model.13.lstm.weight_hh_l{layer}", (4 * width, width)),
                   (f"encoder.model.13.lstm.bias_ih_l{layer}", (4 * width,)),
                   (f"encoder.model.13.lstm.bias_hh_l{layer}", (4 * width,))]
    conv("15", width, 128, 7)
    return layout


def encodec_encoder_state(variant: str) -> dict[str, torch.Tensor]:
    """Random EnCodec encoder weights ("24k" or "48k"): unit-norm-ish directions with gains around 1 (weight norm)
    or He-initialised convolutions with GroupNorm gains around 1, small biases, LSTM weights as torch initialises
    them."""
    rng = np.random.RandomState(ENCODEC_SEEDS[variant])
    state = {}
    for key, shape in encodec_encoder_layout(variant):
        name = key.rsplit(".", 1)[-1]
        if name == "weight_g" or key.endswith("norm.weight"):
            values = rng.uniform(0.7, 1.3, shape)
        elif name == "weight_v":
            values = _uniform(rng, shape, 1.0)
        elif "lstm" in key:
            values = _uniform(rng, shape, 1.0 / np.sqrt(3.0 * shape[-1] if "weight" in name else 3.0 * shape[0] / 4))
        elif name == "weight":
            values = _he_uniform(rng, shape)
        else:
            values = _uniform(rng, shape, 0.05)
        state[key] = torch.from_numpy(np.asarray(values, dtype=np.float32))
    return state
