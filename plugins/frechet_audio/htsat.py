"""HTS-AT, LAION-CLAP's audio tower: a Swin transformer over a 10 s log-mel spectrogram folded into a 256×256 image.

In plain torch with the parameter names of the CLAP checkpoints' ``audio_branch`` (the non-fusion model that fadtk
runs). A (B, 480 000) batch of 48 kHz windows becomes 1001 log-mel frames of 64 Slaney bands (1024-point STFT, hop
480, 50–14 000 Hz, torchlibrosa's front end), each band normalised by ``bn0``; the frames are stretched to 1024 by
bicubic interpolation and cut into four 256-frame strips stacked along frequency. 4×4 patches then pass four stages of
window attention (8×8 windows, every second block shifted by 4, relative position bias) with patch merging between
stages; the embedding is the mean of the final layer-normed tokens. The classification head (``tscam_conv``,
``head``) is not part of the embedding and is not built.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from frechet_audio.logmel import LogMel, Spectrogram

SAMPLE_RATE = 48000
#: Samples in one input window (10 s).
WINDOW_SAMPLES = 480000
FFT_LENGTH = 1024
HOP = 480
MEL_BANDS = 64
MEL_LOW_HZ = 50.0
MEL_HIGH_HZ = 14000.0
#: Side of the square "image" the spectrogram is folded into, and the number of strips it is cut into.
IMAGE_SIZE = 256
STRIPS = IMAGE_SIZE // MEL_BANDS
PATCH = 4
ATTENTION_WINDOW = 8
#: Additive attention mask between tokens from different regions of a shifted window (Swin's value, not -inf).
REGION_MASK = -100.0


@dataclass(frozen=True)
class Geometry:
    """The size of an HTS-AT tower: patch embedding width, blocks per stage and attention heads per stage."""

    width: int
    depths: tuple[int, ...]
    heads: tuple[int, ...]

    @property
    def features(self) -> int:
        """Width of the final tokens (the embedding before CLAP's projection)."""
        return self.width * 2 ** (len(self.depths) - 1)


#: HTSAT-tiny (``630k-audioset-best.pt``) and HTSAT-base (``music_audioset_epoch_15_esc_90.14.pt``).
TINY = Geometry(96, (2, 2, 6, 2), (4, 8, 16, 32))
BASE = Geometry(128, (2, 2, 12, 2), (4, 8, 16, 32))


def _relative_position_index(window: int) -> torch.Tensor:
    """(window², window²) index into the bias table of the offset between every pair of tokens in a window."""
    rows, cols = torch.meshgrid(torch.arange(window), torch.arange(window), indexing="ij")
    coords = torch.stack([rows.flatten(), cols.flatten()])
    offset = coords[:, :, None] - coords[:, None, :] + (window - 1)
    return offset[0] * (2 * window - 1) + offset[1]


def _shift_mask(side: int, window: int, shift: int) -> torch.Tensor:
    """(windows, window², window²) additive mask that keeps attention inside the regions a cyclic shift brought
    together: three bands per axis (before the last window, the last window less the shift, the shift)."""
    bands = torch.zeros(side, dtype=torch.long)
    bands[side - window : side - shift] = 1
    bands[side - shift :] = 2
    regions = (bands[:, None] * 3 + bands[None, :])[None, :, :, None].float()
    ids = _partition(regions, window).squeeze(-1)
    different = ids[:, None, :] != ids[:, :, None]
    return torch.zeros(different.shape).masked_fill(different, REGION_MASK)


def _partition(x: torch.Tensor, window: int) -> torch.Tensor:
    """(B, H, W, C) -> (B·windows, window², C), windows in row-major order within each example."""
    batch, height, width, channels = x.shape
    x = x.view(batch, height // window, window, width // window, window, channels)
    return x.permute(0, 1, 3, 2, 4, 5).reshape(-1, window * window, channels)


def _window_order(side: int, window: int, shift: int) -> torch.Tensor:
    """(side²,) row-major token indices in the order window attention sees them: the token grid cyclically shifted
    by ``shift`` up and left (``torch.roll`` by -shift), then cut into windows as :func:`_partition` cuts it."""
    tokens = torch.arange(side * side).view(1, side, side, 1)
    return _partition(torch.roll(tokens, shifts=(-shift, -shift), dims=(1, 2)), window).flatten()


class WindowAttention(nn.Module):
    """Multi-head self-attention within each window, with a learned bias per relative offset and head."""

    def __init__(self, dim: int, window: int, heads: int) -> None:
        super().__init__()
        self.heads = heads
        self.relative_position_bias_table = nn.Parameter(torch.zeros((2 * window - 1) ** 2, heads))
        self.register_buffer("relative_position_index", _relative_position_index(window), persistent=False)
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, windows: torch.Tensor, batch: int, mask: torch.Tensor | None) -> torch.Tensor:
        """(B·windows, N, C) -> (B·windows, N, C); ``mask`` (windows, N, N) is added to the scores when given."""
        count, tokens, dim = windows.shape
        per_head = dim // self.heads
        qkv = self.qkv(windows).view(batch, count // batch, tokens, 3, self.heads, per_head)
        # windows and heads share one axis, so the bias (and mask) of each pair broadcasts over the batch
        query, key, value = qkv.permute(3, 0, 1, 4, 2, 5).reshape(3, batch, -1, tokens, per_head)
        bias = self.relative_position_bias_table[self.relative_position_index.view(-1)]
        bias = bias.view(tokens, tokens, self.heads).permute(2, 0, 1)[None]  # (1, heads, N, N)
        bias = bias.expand(count // batch, -1, -1, -1) if mask is None else bias + mask[:, None]
        bias = bias.reshape(1, -1, tokens, tokens).to(query.dtype)
        out = F.scaled_dot_product_attention(query, key, value, attn_mask=bias)  # (B, windows·heads, N, head dim)
        out = out.view(batch, count // batch, self.heads, tokens, per_head).transpose(2, 3)
        return self.proj(out.reshape(count, tokens, dim))


class Mlp(nn.Module):
    """The transformer block's two-layer GELU feed-forward network."""

    def __init__(self, dim: int, hidden: int) -> None:
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(F.gelu(self.fc1(x)))


class SwinBlock(nn.Module):
    """Pre-norm window attention (cyclically shifted by ``shift`` when non-zero) and MLP, each with a residual."""

    def __init__(self, dim: int, side: int, heads: int, shift: int) -> None:
        super().__init__()
        self.side = side
        self.window = min(ATTENTION_WINDOW, side)
        self.shift = shift if side > ATTENTION_WINDOW else 0  # one window covers the whole map: nothing to shift
        self.norm1 = nn.LayerNorm(dim)
        self.attn = WindowAttention(dim, self.window, heads)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = Mlp(dim, 4 * dim)
        mask = _shift_mask(side, self.window, self.shift) if self.shift else None
        self.register_buffer("attn_mask", mask, persistent=False)
        order = _window_order(side, self.window, self.shift)
        self.register_buffer("order", order, persistent=False)  # shift and window partition as one gather
        self.register_buffer("inverse", torch.argsort(order), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, tokens, dim = x.shape
        windows = self.norm1(x).index_select(1, self.order).view(-1, self.window**2, dim)
        windows = self.attn(windows, batch, self.attn_mask).view(batch, tokens, dim)
        x = x + windows.index_select(1, self.inverse)
        return x + self.mlp(self.norm2(x))


class PatchMerging(nn.Module):
    """Halves the token grid: each 2×2 neighbourhood's features concatenated, layer-normed and projected to 2C."""

    def __init__(self, dim: int, side: int) -> None:
        super().__init__()
        self.side = side
        self.reduction = nn.Linear(4 * dim, 2 * dim, bias=False)
        self.norm = nn.LayerNorm(4 * dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, _, dim = x.shape
        x = x.view(batch, self.side, self.side, dim)
        x = torch.cat([x[:, 0::2, 0::2], x[:, 1::2, 0::2], x[:, 0::2, 1::2], x[:, 1::2, 1::2]], dim=-1)
        return self.reduction(self.norm(x.view(batch, -1, 4 * dim)))


class Stage(nn.Module):
    """``depth`` Swin blocks (alternately plain and shifted windows), then patch merging unless it is the last."""

    def __init__(self, dim: int, side: int, depth: int, heads: int, merge: bool) -> None:
        super().__init__()
        shifts = [0 if index % 2 == 0 else ATTENTION_WINDOW // 2 for index in range(depth)]
        self.blocks = nn.ModuleList(SwinBlock(dim, side, heads, shift) for shift in shifts)
        self.downsample = PatchMerging(dim, side) if merge else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for block in self.blocks:
            x = block(x)
        return x if self.downsample is None else self.downsample(x)


class PatchEmbed(nn.Module):
    """Non-overlapping 4×4 patches of the folded spectrogram -> layer-normed tokens, row-major."""

    def __init__(self, width: int) -> None:
        super().__init__()
        self.proj = nn.Conv2d(1, width, kernel_size=PATCH, stride=PATCH)
        self.norm = nn.LayerNorm(width)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return self.norm(self.proj(image).flatten(2).transpose(1, 2))


class HTSAT(nn.Module):
    """The audio branch: 48 kHz windows (B, 480 000) -> (B, geometry.features) embeddings."""

    def __init__(self, geometry: Geometry = TINY) -> None:
        super().__init__()
        self.geometry = geometry
        self.spectrogram_extractor = Spectrogram(FFT_LENGTH, HOP)
        self.logmel_extractor = LogMel(SAMPLE_RATE, FFT_LENGTH, MEL_BANDS, MEL_LOW_HZ, MEL_HIGH_HZ)
        self.bn0 = nn.BatchNorm2d(MEL_BANDS)
        self.patch_embed = PatchEmbed(geometry.width)
        side = IMAGE_SIZE // PATCH
        last = len(geometry.depths) - 1
        self.layers = nn.ModuleList(
            Stage(geometry.width * 2**index, side // 2**index, depth, heads, merge=index < last)
            for index, (depth, heads) in enumerate(zip(geometry.depths, geometry.heads))
        )
        self.norm = nn.LayerNorm(geometry.features)

    def log_mel(self, windows: torch.Tensor) -> torch.Tensor:
        """(B, samples) -> (B, 1, frames, 64) log-mel in dB, before ``bn0``."""
        return self.logmel_extractor(self.spectrogram_extractor(windows))

    def fold(self, log_mel: torch.Tensor) -> torch.Tensor:
        """(B, 1, frames ≤ 1024, 64) normalised log-mel -> the (B, 1, 256, 256) image: frames stretched to 1024
        (bicubic, corners aligned), cut into four strips of 256 frames stacked along frequency (first strip on top),
        frequency on the vertical axis."""
        target = IMAGE_SIZE * STRIPS
        if log_mel.shape[2] < target:
            log_mel = F.interpolate(log_mel, (target, MEL_BANDS), mode="bicubic", align_corners=True)
        batch = log_mel.shape[0]
        image = log_mel.transpose(2, 3).reshape(batch, 1, MEL_BANDS, STRIPS, IMAGE_SIZE)
        return image.transpose(2, 3).reshape(batch, 1, IMAGE_SIZE, IMAGE_SIZE)

    def forward(self, windows: torch.Tensor) -> torch.Tensor:
        x = self.bn0(self.log_mel(windows).transpose(1, 3)).transpose(1, 3)  # normalise each mel band
        x = self.patch_embed(self.fold(x))
        for stage in self.layers:
            x = stage(x)
        return self.norm(x).mean(dim=1)


class ClapAudio(nn.Module):
    """CLAP's audio side as ``get_audio_embedding`` runs it: HTS-AT, the two-layer ReLU projection to the joint
    space, and L2 normalisation. Its state dict keys are the checkpoint's without the ``module.`` prefix."""

    def __init__(self, geometry: Geometry = TINY, joint: int = 512) -> None:
        super().__init__()
        self.audio_branch = HTSAT(geometry)
        self.audio_projection = nn.Sequential(
            nn.Linear(geometry.features, joint), nn.ReLU(), nn.Linear(joint, joint)
        )

    def forward(self, windows: torch.Tensor) -> torch.Tensor:
        """(B, 480 000) windows at 48 kHz -> (B, 512) unit-length embeddings."""
        return F.normalize(self.audio_projection(self.audio_branch(windows)), dim=-1)
