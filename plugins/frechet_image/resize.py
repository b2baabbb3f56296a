"""Resampling kernels for images: TensorFlow 1.x bilinear, Pillow filters (in float or on 8-bit RGB), torch's."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

#: Pillow filters by the names frechet uses; Pillow widens each filter's support when it shrinks (antialiasing).
PIL_FILTERS = {
    "bilinear": Image.Resampling.BILINEAR,
    "bicubic": Image.Resampling.BICUBIC,
    "area": Image.Resampling.BOX,
    "nearest": Image.Resampling.NEAREST,
}


def tf1_bilinear(image: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Resize a (C, H, W) or (N, C, H, W) float32 or uint8 tensor to ``size`` = (h, w) as TensorFlow 1.x
    ``resize_bilinear`` does, into float32 (each image of a batch gets exactly the values it gets alone: every step
    is element-wise; uint8 pixels are gathered first and converted exactly, which moves a quarter of the bytes).

    That is TF1's default (``align_corners=False``, no half-pixel centres, no antialiasing): output pixel y reads
    input position y * (H / h) in float32, truncated to the lower tap, with the upper tap clamped to the border.
    Each output is ``top + (bottom - top) * dy`` where ``top`` and ``bottom`` are ``left + (right - left) * dx``
    on the two rows, all in float32, so the result is bit-exact with torch-fidelity's reimplementation of TF1 on
    the CPU. Which rows get the horizontal pass first only changes the work, never a value. At the same size every
    output reads one input pixel with weight 0 on its neighbour, so the input itself is returned.
    """
    height, width = size
    if tuple(image.shape[-2:]) == (height, width):
        return image.float()
    rows, cols = image.dim() - 2, image.dim() - 1
    row_lo, row_hi, row_frac = _tf1_taps(image.shape[rows], height, image.device)
    col_lo, col_hi, col_frac = _tf1_taps(image.shape[cols], width, image.device)
    if image.shape[rows] > 2 * height:  # shrinking a lot: interpolate across only the rows that are read
        upper, lower = image.index_select(rows, row_lo), image.index_select(rows, row_hi)
        top = _lerp(_columns(upper, col_lo).float(), _columns(upper, col_hi).float(), col_frac)
        bottom = _lerp(_columns(lower, col_lo).float(), _columns(lower, col_hi).float(), col_frac)
    else:
        across = _lerp(_columns(image, col_lo).float(), _columns(image, col_hi).float(), col_frac)
        top, bottom = across.index_select(rows, row_lo), across.index_select(rows, row_hi)
    return _lerp(top, bottom, row_frac[:, None])


def _columns(image: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """``image[..., index]``: by ``gather`` with the index broadcast over the other dimensions, 3–4× faster on the
    CPU than advanced indexing or ``index_select`` along the last dimension."""
    return image.gather(-1, index.expand(*image.shape[:-1], index.numel()))


def _lerp(low: torch.Tensor, high: torch.Tensor, fraction: torch.Tensor) -> torch.Tensor:
    """``low + (high - low) * fraction`` in that order of float32 roundings, computed in ``high``'s storage."""
    return high.sub_(low).mul_(fraction).add_(low)


def _tf1_taps(
    n_in: int, n_out: int, device: torch.device | None = None
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Lower tap, upper tap and float32 fraction of each output position along one axis (TF1 convention), computed
    on the CPU (so on every device alike) and placed on ``device``."""
    scale = torch.tensor(n_in / n_out, dtype=torch.float32)
    position = torch.arange(n_out, dtype=torch.float32) * scale
    lower = position.long()
    upper = (lower + 1).clamp_max(n_in - 1)
    return lower.to(device), upper.to(device), (position - lower.float()).to(device)


def pil_resize_float(image: np.ndarray, size: tuple[int, int], method: str) -> torch.Tensor:
    """Resize an (H, W, C) array channel by channel as float32 Pillow 'F' images; returns (C, h, w) float32.

    Working in float avoids the rounding to 8 bits that resizing an RGB Pillow image would add; the values are
    not clipped here (bicubic overshoots), callers clip to their range.
    """
    height, width = size
    channels = [
        np.asarray(
            Image.fromarray(image[:, :, channel].astype(np.float32)).resize((width, height), PIL_FILTERS[method])
        )
        for channel in range(image.shape[2])
    ]
    return torch.from_numpy(np.stack(channels))


def pil_resize_uint8(image: np.ndarray, size: tuple[int, int], method: str) -> np.ndarray:
    """Resize a uint8 (H, W, 3) RGB array to ``size`` = (h, w) as an 8-bit Pillow RGB image (each result rounded to
    0–255, as tools that resize ``PIL.Image`` objects get); an image of that size already is returned as a copy."""
    height, width = size
    return np.asarray(Image.fromarray(image).resize((width, height), PIL_FILTERS[method]))


def torch_resize(image: torch.Tensor, size: tuple[int, int], mode: str, *, antialias: bool) -> torch.Tensor:
    """Resize a (C, H, W) float tensor with ``torch.nn.functional.interpolate`` (``align_corners=False``), as one
    item of a batch: the values equal those of the same image resized inside any batch on the same device."""
    return F.interpolate(image[None], size=size, mode=mode, align_corners=False, antialias=antialias)[0]
