"""The ADM evaluator's formulas (guided-diffusion ``evaluations/evaluator.py``) where they differ from frechet's
defaults: its Inception Score over fixed-size splits, and its precision/recall on float16 distances.

- Inception Score: softmax of pool3 · W (the classifier without its bias), the samples taken in order in splits of
  5,000 (the last one shorter when N is not a multiple), the mean of the per-split scores; no standard deviation.
- Precision/recall (Kynkäänniemi et al., k = 3, closed balls, as :mod:`frechet.metrics.precision_recall`), but on
  squared distances ‖u‖² − 2u·v + ‖v‖² computed in float16 — features rounded to float16, the norms and products
  summed in float32 (as GPUs do) and rounded to float16, the rest in float16 — clamped at 0, with float32 used for a
  10,000 × 10,000 block where any float16 value overflows; each sample's radius is the (k+1)-th smallest distance of
  its row, itself included. Next to squared norms of several hundred, float16 keeps distances to about ±0.5, so
  small k-NN radii are coarse and more samples land on or inside them: the evaluator's numbers run above exact ones
  (by 1–2 % on the synthetic features of ``scripts/goldens/adm_precision_recall.py``). TensorFlow's CPU kernels sum
  float16 in another order than GPUs, so even the evaluator's own CPU and GPU runs differ by a few samples per
  thousand. ``float16=False`` gives exact values.
"""

from __future__ import annotations

import numpy as np
import torch

from frechet.errors import InputError
from frechet.metrics.inception_score import inception_score

#: The evaluator's Inception Score split size and its k-NN parameter.
IS_SPLIT_SIZE = 5000
NEAREST_K = 3
#: The evaluator's distance blocks: float32 replaces float16 in a whole block where float16 overflows.
_BLOCK = 10_000
_ROWS = 2048  # rows computed at once inside a block (memory bound)


def adm_inception_score(logits: np.ndarray, split_size: int = IS_SPLIT_SIZE) -> float:
    """The evaluator's Inception Score of (N, classes) logits: splits of ``split_size`` in order, mean score."""
    logits = np.asarray(logits, dtype=np.float64)
    if logits.ndim != 2 or logits.shape[0] == 0:
        raise InputError(f"the Inception Score needs (samples, classes) logits, got shape {logits.shape}")
    scores = [
        inception_score(logits[start:start + split_size], 1, shuffle=False)[0]
        for start in range(0, logits.shape[0], split_size)
    ]
    return float(np.mean(scores))


def squared_distances(u: torch.Tensor, v: torch.Tensor, *, float16: bool = True) -> torch.Tensor:
    """The evaluator's squared distances between rows of ``u`` and ``v`` (float32 result): in float16 as its
    TensorFlow graph computes them (products exact, sums in float32, every result rounded to float16), or in
    float32 for its fallback."""
    if float16:
        u16, v16 = u.half(), v.half()
        norm_u = (u16 * u16).float().sum(1).half()
        norm_v = (v16 * v16).float().sum(1).half()
        products = (u16.float() @ v16.float().T).half()
        return torch.clamp((norm_u[:, None] - 2 * products) + norm_v[None, :], min=0).float()
    u, v = u.float(), v.float()
    norm_u, norm_v = (u * u).sum(1), (v * v).sum(1)
    return torch.clamp(norm_u[:, None] - 2 * (u @ v.T) + norm_v[None, :], min=0)


def _block_distances(u: torch.Tensor, v: torch.Tensor, float16: bool) -> torch.Tensor:
    """One evaluator block: float16 distances, or float32 ones for the whole block when any float16 one overflows."""
    if float16:
        rows = [squared_distances(u[i:i + _ROWS], v, float16=True) for i in range(0, u.shape[0], _ROWS)]
        block = torch.cat(rows)
        if bool(torch.isfinite(block).all()):
            return block
    return torch.cat([squared_distances(u[i:i + _ROWS], v, float16=False) for i in range(0, u.shape[0], _ROWS)])


def _radii(features: torch.Tensor, k: int, float16: bool) -> torch.Tensor:
    """Each row's (k+1)-th smallest distance to all rows, itself included (the evaluator's k-NN radius)."""
    nearest = []
    for start in range(0, features.shape[0], _BLOCK):
        rows = features[start:start + _BLOCK]
        best = torch.full((rows.shape[0], 0), torch.inf, device=features.device)
        for col in range(0, features.shape[0], _BLOCK):
            block = _block_distances(rows, features[col:col + _BLOCK], float16)
            best = torch.cat([best, block], 1).topk(min(k + 1, best.shape[1] + block.shape[1]), 1, largest=False).values
        nearest.append(best[:, k])
    return torch.cat(nearest)


def adm_precision_recall(
    real: np.ndarray, fake: np.ndarray, nearest_k: int = NEAREST_K, *, float16: bool = True,
    device: str | torch.device | None = None,
) -> tuple[float, float]:
    """The evaluator's precision (fake inside real balls) and recall (real inside fake balls) of (N, d) features."""
    device = torch.device(device or "cpu")
    ref = torch.as_tensor(np.asarray(real, dtype=np.float32), device=device)
    sample = torch.as_tensor(np.asarray(fake, dtype=np.float32), device=device)
    for label, rows in (("real", ref), ("fake", sample)):
        if rows.shape[0] <= nearest_k:
            raise InputError(f"precision/recall: nearest_k={nearest_k} needs more than {nearest_k} {label} samples")
    radii_ref, radii_sample = _radii(ref, nearest_k, float16), _radii(sample, nearest_k, float16)
    sample_in = torch.zeros(sample.shape[0], dtype=torch.bool, device=device)
    ref_in = torch.zeros(ref.shape[0], dtype=torch.bool, device=device)
    for start in range(0, ref.shape[0], _BLOCK):
        for col in range(0, sample.shape[0], _BLOCK):
            block = _block_distances(ref[start:start + _BLOCK], sample[col:col + _BLOCK], float16)
            sample_in[col:col + _BLOCK] |= (block <= radii_ref[start:start + _BLOCK, None]).any(0)
            ref_in[start:start + _BLOCK] |= (block <= radii_sample[None, col:col + _BLOCK]).any(1)
    return float(sample_in.double().mean()), float(ref_in.double().mean())
