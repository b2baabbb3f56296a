"""The LAION-CLAP embedders: fadtk's ``clap-laion-audio`` and ``clap-laion-music``, 512-d unit vectors per 10 s window.

As fadtk's ``CLAPLaionModel``: each clip at 48 kHz goes through CLAP's int16 round trip (clipped to [-1, 1], times
32767 truncated to an integer, divided by 32767), then one 10 s window starts at every whole second of it (so a clip
of t seconds gives ceil(t) windows), each zero-padded to 480 000 samples; every window is embedded by the HTS-AT
tower, CLAP's audio projection and L2 normalisation (:mod:`frechet_audio.htsat`). ``clap-laion-audio`` runs the
HTSAT-tiny checkpoint ``630k-audioset-best.pt``, ``clap-laion-music`` the HTSAT-base ``music_audioset_epoch_15_esc_
90.14.pt``; the tower's size is read from the checkpoint. Only ``module.audio_branch.*`` and
``module.audio_projection.*`` are read from it; the text branch is never loaded.

``chain=fadtk`` (the default) reads and resamples each file as fadtk does and emulates its float16 storage of
embeddings and clip means (:mod:`frechet_audio.fadtk`); ``chain=frechet`` reads as frechet's other audio embedders.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import torch

from frechet.embedder import Embedder
from frechet.errors import WeightsError
from frechet.weights import WeightsSpec
from frechet_audio.checkpoints import CLAP_LAION_AUDIO, CLAP_LAION_MUSIC, Checkpoint, load_checkpoint
from frechet_audio.clips import Clip
from frechet_audio.fadtk import (
    CHAIN, FLOAT16, chain_config, clap_requantise, converted_pcm16, float16_rows, int16_round_trip,
)
from frechet_audio.htsat import SAMPLE_RATE, WINDOW_SAMPLES, ClapAudio, Geometry
from frechet_audio.options import weights_option
from frechet_audio.stream import mono_signal

EMBEDDING_SIZE = 512
#: Windows start every second.
HOP_SAMPLES = SAMPLE_RATE
#: Windows run through the network at a time (a window's activations take about 30 MB in HTSAT-tiny).
CHUNK_WINDOWS = 8
#: Checkpoint tensors that are recomputed (attention masks, relative position indices) or not part of the embedding
#: (the AudioSet classification head).
_NOT_LOADED = (".attn_mask", ".relative_position_index", "audio_branch.tscam_conv.", "audio_branch.head.")


def window_count(samples: int) -> int:
    """Windows fadtk cuts from a clip of ``samples`` at 48 kHz: one starting at every whole second before its end."""
    return -(-samples // HOP_SAMPLES)


def windows(signal: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """fadtk's windows of a 1-D signal, (window_count, 480 000) in all, as two parts: those inside the signal (a view
    of it) and those that run past its end, zero-padded (a view of a copy of its last 10 s at most)."""
    samples = signal.shape[0]
    inside = (samples - WINDOW_SAMPLES) // HOP_SAMPLES + 1 if samples >= WINDOW_SAMPLES else 0
    rest = signal[inside * HOP_SAMPLES :]
    padding = (window_count(samples) - inside - 1) * HOP_SAMPLES + WINDOW_SAMPLES - rest.shape[0]
    within = signal.unfold(0, WINDOW_SAMPLES, HOP_SAMPLES)[:inside] if inside else signal.new_zeros(0, WINDOW_SAMPLES)
    return within, torch.nn.functional.pad(rest, (0, padding)).unfold(0, WINDOW_SAMPLES, HOP_SAMPLES)


def audio_state(checkpoint: Checkpoint) -> dict[str, torch.Tensor]:
    """The audio tower's tensors of a LAION-CLAP checkpoint (``{"state_dict": …}`` or a bare state dict, keys with or
    without ``module.``), named as :class:`~frechet_audio.htsat.ClapAudio`'s; everything else is left unread."""
    state = checkpoint.state.get("state_dict", checkpoint.state)
    if not isinstance(state, dict):
        state = checkpoint.state
    audio = {}
    for key, value in state.items():
        name = key[len("module.") :] if key.startswith("module.") else key
        if name.startswith(("audio_branch.", "audio_projection.")) and not any(part in name for part in _NOT_LOADED):
            audio[name] = value
    if not audio:
        raise WeightsError(
            f"{checkpoint.file}: not a LAION-CLAP checkpoint (no module.audio_branch.* tensors); "
            f"use the file from {checkpoint.spec.url}"
        )
    return audio


def geometry(checkpoint: Checkpoint, state: dict[str, torch.Tensor]) -> Geometry:
    """The HTS-AT size the checkpoint holds: patch embedding width, blocks per stage, heads per stage."""
    depths = []
    while blocks := _blocks(state, len(depths)):
        depths.append(blocks)
    try:
        width = state["audio_branch.patch_embed.proj.weight"].shape[0]
        heads = [state[f"audio_branch.layers.{stage}.blocks.0.attn.relative_position_bias_table"].shape[1]
                 for stage in range(len(depths))]
    except (KeyError, IndexError, AttributeError):
        depths = []
    if not depths:
        raise WeightsError(
            f"{checkpoint.file}: not a LAION-CLAP HTS-AT checkpoint (its audio_branch has no patch embedding or "
            f"Swin stages); use the file from {checkpoint.spec.url}"
        )
    return Geometry(int(width), tuple(depths), tuple(int(count) for count in heads))


def _blocks(state: dict[str, torch.Tensor], stage: int) -> int:
    count = 0
    while f"audio_branch.layers.{stage}.blocks.{count}.norm1.weight" in state:
        count += 1
    return count


class Signals:
    """A batch of clips of different lengths at 48 kHz: a list of 1-D float32 tensors that moves as one."""

    def __init__(self, signals: list[torch.Tensor]) -> None:
        self.signals = signals

    def to(self, device: torch.device | str, non_blocking: bool = False) -> Signals:
        return Signals([signal.to(device, non_blocking=non_blocking) for signal in self.signals])

    def __len__(self) -> int:
        return len(self.signals)


class ClapLaionEmbedder(Embedder):
    """LAION-CLAP audio embeddings of 10 s windows every 1 s at 48 kHz, as fadtk (set ``spec`` in a subclass)."""

    domain = "audio"
    fd_key = "fad"
    outputs = {"embedding": EMBEDDING_SIZE}
    default_output = "embedding"
    multiple_examples = True
    sample_rate = SAMPLE_RATE
    #: The canonical checkpoint.
    spec: ClassVar[WeightsSpec]
    options = (CHAIN, FLOAT16, weights_option("LAION-CLAP"))

    def __init__(self, chain: str = "fadtk", float16: bool | None = None, weights: Path | None = None) -> None:
        super().__init__()
        self.chain = chain
        self.float16 = chain == "fadtk" if float16 is None else float16
        checkpoint = load_checkpoint(self.spec, weights, mmap=True)  # the text branch's tensors are never read
        state = audio_state(checkpoint)
        self.model = ClapAudio(geometry(checkpoint, state)).eval()
        checkpoint.load_into(self.model, state)
        self._weights_id = checkpoint.identity

    def transform(self, clip: Clip) -> torch.Tensor:
        """The clip at 48 kHz after CLAP's int16 round trip, float32 (samples,); windows are cut in ``forward``."""
        if self.chain == "fadtk":
            return torch.from_numpy(clap_requantise(converted_pcm16(clip, SAMPLE_RATE)))
        return torch.from_numpy(int16_round_trip(mono_signal(clip, SAMPLE_RATE)))

    def collate(self, examples: list[torch.Tensor]) -> Signals:
        return Signals(examples)

    def forward(self, batch: Signals) -> dict[str, torch.Tensor]:
        """Every clip's windows, CHUNK_WINDOWS at a time; rows in clip order (float64 when emulating float16)."""
        embeddings = torch.cat([self.model(torch.stack(chunk)) for chunk in _chunks(batch.signals)])
        if not self.float16:
            return {"embedding": embeddings}
        counts = [window_count(signal.shape[0]) for signal in batch.signals]
        rows = [float16_rows(part) for part in embeddings.split(counts)]
        return {"embedding": torch.cat(rows).to(embeddings.device)}

    def config(self) -> dict[str, Any]:
        return chain_config(self.chain, self._weights_id, self.float16)


class ClapLaionAudioEmbedder(ClapLaionEmbedder):
    """LAION-CLAP (630k-audioset, HTSAT-tiny) 512-d embeddings of 10 s windows every 1 s at 48 kHz, as fadtk"""

    name = "clap-laion-audio"
    spec = CLAP_LAION_AUDIO
    weights = (CLAP_LAION_AUDIO,)


class ClapLaionMusicEmbedder(ClapLaionEmbedder):
    """LAION-CLAP (music, HTSAT-base) 512-d embeddings of 10 s windows every 1 s at 48 kHz, as fadtk"""

    name = "clap-laion-music"
    spec = CLAP_LAION_MUSIC
    weights = (CLAP_LAION_MUSIC,)


def _chunks(signals: list[torch.Tensor]) -> Iterator[list[torch.Tensor]]:
    """The windows of all signals in order, CHUNK_WINDOWS at a time."""
    stream = itertools.chain.from_iterable(part for signal in signals for part in windows(signal))
    while chunk := list(itertools.islice(stream, CHUNK_WINDOWS)):
        yield chunk
