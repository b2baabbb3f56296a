"""Deterministic random LAION-CLAP audio towers in the exact key layout of the official checkpoints.

Only NumPy's legacy ``RandomState`` is used, so ``scripts/goldens/audio_clap.py`` (the reference environment's older
NumPy and torch) and the test suite build bit-identical tensors. ``checkpoint()`` wraps them as the published files
are: ``{"epoch", "name", "state_dict": {"module.<key>": tensor}}``, with the front end's computed tensors and the
attention buffers (the golden script passes the peer's own, the tests use frechet's) and the text branch (the peer's,
or a few stand-in tensors: frechet never reads it).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

import numpy as np
import torch

#: (width, blocks per stage, heads per stage): HTSAT-tiny and HTSAT-base as laion_clap builds them, and the reduced
#: tower the test suite runs end to end (every kind of block: shifted and plain, merging, a single-window stage).
TINY = (96, (2, 2, 6, 2), (4, 8, 16, 32))
BASE = (128, (2, 2, 12, 2), (4, 8, 16, 32))
REDUCED = (32, (2, 2, 2, 2), (1, 2, 4, 8))
SEEDS = {TINY: 31, BASE: 32, REDUCED: 33}
JOINT = 512
CLASSES = 527
#: Tensors every checkpoint holds that are computed, not trained (same in every layout).
FRONT_END_KEYS = (
    "audio_branch.spectrogram_extractor.stft.conv_real.weight",
    "audio_branch.spectrogram_extractor.stft.conv_imag.weight",
    "audio_branch.logmel_extractor.melW",
)


def learned_layout(geometry: tuple) -> list[tuple[str, tuple[int, ...]]]:
    """(key, shape) of the trained audio tensors of a checkpoint (``module.`` prefix left out), in file order;
    without the front end's and the attention blocks' computed buffers."""
    width, depths, heads = geometry
    layout = list(_batch_norm("audio_branch.bn0", 64))
    layout += [("audio_branch.patch_embed.proj.weight", (width, 1, 4, 4)), ("audio_branch.patch_embed.proj.bias",
                                                                            (width,))]
    layout += _norm("audio_branch.patch_embed.norm", width)
    for stage, (depth, head_count) in enumerate(zip(depths, heads)):
        dim = width * 2**stage
        for block in range(depth):
            prefix = f"audio_branch.layers.{stage}.blocks.{block}"
            layout += _norm(f"{prefix}.norm1", dim)
            layout += [(f"{prefix}.attn.relative_position_bias_table", (225, head_count))]
            layout += _linear(f"{prefix}.attn.qkv", dim, 3 * dim) + _linear(f"{prefix}.attn.proj", dim, dim)
            layout += _norm(f"{prefix}.norm2", dim)
            layout += _linear(f"{prefix}.mlp.fc1", dim, 4 * dim) + _linear(f"{prefix}.mlp.fc2", 4 * dim, dim)
        if stage < len(depths) - 1:
            layout += [(f"audio_branch.layers.{stage}.downsample.reduction.weight", (2 * dim, 4 * dim))]
            layout += _norm(f"audio_branch.layers.{stage}.downsample.norm", 4 * dim)
    features = width * 2 ** (len(depths) - 1)
    layout += _norm("audio_branch.norm", features)
    layout += [("audio_branch.tscam_conv.weight", (CLASSES, features, 2, 3)), ("audio_branch.tscam_conv.bias",
                                                                                (CLASSES,))]
    layout += _linear("audio_branch.head", CLASSES, CLASSES)
    layout += _linear("audio_projection.0", features, JOINT) + _linear("audio_projection.2", JOINT, JOINT)
    return layout


def learned_state(geometry: tuple) -> dict[str, torch.Tensor]:
    """Random trained tensors: 1/√fan-in linear and conv weights, layer norms near 1, position biases of order 1
    (so that the position terms matter), batch-norm statistics of log-mel size."""
    rng = np.random.RandomState(SEEDS[geometry])
    return {key: _tensor(rng, key, shape) for key, shape in learned_layout(geometry)}


def checkpoint(geometry: tuple, computed: dict[str, torch.Tensor] | None = None,
               text: dict[str, torch.Tensor] | None = None) -> dict:
    """A file's contents as LAION-CLAP publishes them, with the random tensors of ``geometry``: ``computed`` holds
    the front end's tensors and the attention buffers (``…attn_mask``, ``…relative_position_index``; default:
    frechet's, which needs frechet installed), ``text`` the text branch (default: a few stand-in tensors)."""
    if computed is None:
        from frechet_audio.htsat import ClapAudio, Geometry

        fresh = ClapAudio(Geometry(*geometry))
        computed = {key: value for key, value in fresh.state_dict().items() if key in FRONT_END_KEYS}
        computed |= {f"audio_branch.{key}": value for key, value in fresh.audio_branch.named_buffers()
                     if key.endswith((".attn_mask", ".relative_position_index"))}
    if text is None:
        text = {"text_branch.embeddings.position_ids": torch.arange(514)[None],
                "text_projection.0.weight": torch.zeros(JOINT, 768), "logit_scale_a": torch.tensor(2.659)}
    merged = {**computed, **learned_state(geometry), **text}
    state = {f"module.{key}": value for key, value in merged.items()}
    return {"epoch": 45, "name": "random-weights", "state_dict": state}


def state_digest(state: dict[str, torch.Tensor]) -> str:
    """sha256 over the keys and raw bytes of a state dict."""
    digest = hashlib.sha256()
    for key in sorted(state):
        digest.update(key.encode())
        digest.update(np.ascontiguousarray(state[key].numpy()).tobytes())
    return digest.hexdigest()


def _norm(prefix: str, dim: int) -> list[tuple[str, tuple[int, ...]]]:
    return [(f"{prefix}.weight", (dim,)), (f"{prefix}.bias", (dim,))]


def _linear(prefix: str, size_in: int, size_out: int) -> list[tuple[str, tuple[int, ...]]]:
    return [(f"{prefix}.weight", (size_out, size_in)), (f"{prefix}.bias", (size_out,))]


def _batch_norm(prefix: str, channels: int) -> Iterator[tuple[str, tuple[int, ...]]]:
    for name in ("weight", "bias", "running_mean", "running_var"):
        yield f"{prefix}.{name}", (channels,)
    yield f"{prefix}.num_batches_tracked", ()


def _uniform(rng: np.random.RandomState, shape: tuple[int, ...], std: float) -> np.ndarray:
    return (rng.random_sample(shape) * 2.0 - 1.0) * (np.sqrt(3.0) * std)


def _tensor(rng: np.random.RandomState, key: str, shape: tuple[int, ...]) -> torch.Tensor:
    name = key.rsplit(".", 1)[-1]
    if name == "num_batches_tracked":
        return torch.tensor(0, dtype=torch.int64)
    if key.startswith("audio_branch.bn0."):
        low, high = {"weight": (0.5, 1.5), "bias": (-0.2, 0.2), "running_mean": (-60.0, -10.0),
                     "running_var": (100.0, 900.0)}[name]
        values = rng.uniform(low, high, shape)
    elif name == "relative_position_bias_table":
        values = _uniform(rng, shape, 1.0)
    elif name == "weight" and len(shape) > 1:
        values = _uniform(rng, shape, float(1.0 / np.sqrt(np.prod(shape[1:]))))
    elif name == "weight":  # layer norms
        values = rng.uniform(0.5, 1.5, shape)
    else:
        values = _uniform(rng, shape, 0.1)
    return torch.from_numpy(np.asarray(values, dtype=np.float32))
