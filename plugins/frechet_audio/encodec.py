"""The EnCodec embedders: the continuous output of EnCodec's encoder (before quantisation), as fadtk's ``encodec-emb``.

``encodec-24k`` gives one 128-d embedding per 320 samples at 24 kHz (75 per second), ``encodec-48k`` one per 320
samples at 48 kHz (150 per second); the FAD statistics are over all frames of all clips. As in fadtk, each clip is
mixed down to mono (the 48 kHz model gets it on both of its channels), cut to its first 3 minutes, and given to the
encoder whole (24 kHz) or in back-to-back 1 s segments (48 kHz, whose GroupNorm layers normalise each segment) —
without EnCodec's own 48 kHz loudness normalisation and segment overlap, which fadtk does not apply.

``chain=fadtk`` (the default) reads as fadtk 1.1.0 does (:mod:`frechet_audio.fadtk`): float32 decoding, torchaudio's
Kaiser resampler, a 16-bit round trip; with ``float16`` (on by default there) the statistics are fadtk's float16
ones. ``chain=frechet`` reads like frechet's other audio embedders (float64, resample_poly) and keeps float32.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch

from frechet.embedder import Embedder
from frechet.weights import WeightsSpec
from frechet_audio import checkpoints
from frechet_audio.checkpoints import load_checkpoint
from frechet_audio.clips import Clip
from frechet_audio.fadtk import CHAIN, FLOAT16, chain_config, converted_pcm16, float16_rows, pcm16_to_float32
from frechet_audio.options import weights_option
from frechet_audio.pann import Waveforms
from frechet_audio.seanet import DIMENSION, ENCODEC_24K, ENCODEC_48K, EncodecEncoder, Variant, encoder_state
from frechet_audio.stream import mono_blocks

#: fadtk embeds at most the first 3 minutes of a clip.
MAX_SECONDS = 180
#: Input samples per encoder call (clips or segments of equal length run together up to this), bounding memory.
SAMPLES_PER_CALL = 1 << 21

OPTIONS = (CHAIN, FLOAT16, weights_option("EnCodec"))


class _EncodecEmbedder(Embedder):
    """What the two EnCodec embedders share; subclasses name the model, its weights and its variant."""

    domain = "audio"
    fd_key = "fad"
    outputs = {"embedding": DIMENSION}
    default_output = "embedding"
    multiple_examples = True
    variant: ClassVar[Variant]
    spec: ClassVar[WeightsSpec]
    #: Length of the pieces a clip is encoded in (None: whole).
    segment: ClassVar[int | None] = None

    def __init__(self, chain: str = "fadtk", float16: bool | None = None, weights: Path | None = None) -> None:
        super().__init__()
        self.chain = chain
        self.float16 = chain == "fadtk" if float16 is None else float16
        self.sample_rate = self.variant.sample_rate
        checkpoint = load_checkpoint(self.spec, weights)
        self.model = EncodecEncoder(self.variant).eval()
        checkpoint.load_into(self.model, encoder_state(checkpoint.state))
        self._weights_id = checkpoint.identity

    def transform(self, clip: Clip) -> torch.Tensor:
        """The clip's first 3 minutes at the model's rate, mono float32, read by the chosen chain."""
        limit = MAX_SECONDS * self.sample_rate
        if self.chain == "fadtk":
            signal = pcm16_to_float32(converted_pcm16(clip, self.sample_rate))[:limit]
        else:
            signal = _first_samples(clip, self.sample_rate, limit).astype(np.float32)
        return torch.from_numpy(signal)

    def collate(self, examples: list[torch.Tensor]) -> Waveforms:
        return Waveforms(examples)

    def forward(self, batch: Waveforms) -> dict[str, torch.Tensor]:
        """Each clip's frames, in order: its pieces (the whole clip, or 1 s segments) run in groups of equal length."""
        pieces = [(clip, piece) for clip, waveform in enumerate(batch.clips) for piece in self._pieces(waveform)]
        encoded: list[torch.Tensor | None] = [None] * len(pieces)
        order = sorted(range(len(pieces)), key=lambda position: pieces[position][1].shape[-1])
        for length, group in itertools.groupby(order, key=lambda position: pieces[position][1].shape[-1]):
            group = list(group)
            per_call = max(1, SAMPLES_PER_CALL // length)
            for start in range(0, len(group), per_call):
                chosen = group[start : start + per_call]
                frames = self.model(torch.stack([pieces[position][1] for position in chosen]))
                for position, values in zip(chosen, frames.transpose(1, 2)):
                    encoded[position] = values
        per_clip: dict[int, list[torch.Tensor]] = defaultdict(list)
        for (clip, _), values in zip(pieces, encoded):
            per_clip[clip].append(values)
        rows = [torch.cat(per_clip[clip]) for clip in range(len(batch.clips))]
        if self.float16:
            rows = [float16_rows(values).to(values.device) for values in rows]
        return {"embedding": torch.cat(rows)}

    def _pieces(self, waveform: torch.Tensor) -> list[torch.Tensor]:
        """(channels, samples) pieces of one clip as the encoder takes them."""
        channels = waveform[None].expand(self.variant.channels, -1)
        if self.segment is None:
            return [channels]
        return list(channels.split(self.segment, dim=-1))

    def config(self) -> dict[str, Any]:
        return chain_config(self.chain, self._weights_id, self.float16)


class Encodec24kEmbedder(_EncodecEmbedder):
    """EnCodec 24 kHz encoder output (before quantisation), 128-d frames at 75 Hz, as fadtk's encodec-emb"""

    name = "encodec-24k"
    aliases = ("encodec-emb",)
    variant = ENCODEC_24K
    spec = checkpoints.ENCODEC_24K
    weights = (checkpoints.ENCODEC_24K,)
    options = OPTIONS

    def __init__(self, chain: str = "fadtk", float16: bool | None = None, weights: Path | None = None) -> None:
        super().__init__(chain, float16, weights)


class Encodec48kEmbedder(_EncodecEmbedder):
    """EnCodec 48 kHz encoder output (before quantisation), 128-d frames at 150 Hz, as fadtk's encodec-emb-48k"""

    name = "encodec-48k"
    aliases = ("encodec-emb-48k",)
    variant = ENCODEC_48K
    spec = checkpoints.ENCODEC_48K
    weights = (checkpoints.ENCODEC_48K,)
    options = OPTIONS
    segment = ENCODEC_48K.sample_rate  # fadtk's 1 s segments, back to back

    def __init__(self, chain: str = "fadtk", float16: bool | None = None, weights: Path | None = None) -> None:
        super().__init__(chain, float16, weights)


def _first_samples(clip: Clip, rate: int, limit: int) -> np.ndarray:
    """The first ``limit`` samples of the clip at ``rate`` (frechet's chain), reading no further than needed."""
    parts, held = [], 0
    for block in mono_blocks(clip, rate):
        parts.append(block)
        held += block.size
        if held >= limit:
            break
    return np.concatenate(parts)[:limit]
