"""The audio domain of frechet: FAD with VGGish, PANN CNN14, LAION-CLAP and EnCodec; audio files, folders and
in-memory clips; the audio disturbances of ``frechet sanity`` and the players of ``frechet report``.

    frechet compute background/ eval/ --embedder vggish      # fad = fd, over 0.96 s examples
    frechet compute background/ eval/ --embedder clap-laion-audio   # fadtk's numbers, over 10 s windows
    frechet compute background/ eval/ --embedder encodec-24k # fadtk's encodec-emb, read as fadtk reads
    frechet.compute(AudioClips(real, sample_rate=48000), "eval/", embedder="pann")
"""

from __future__ import annotations

from typing import Any

from frechet.hookspecs import hookimpl
from frechet_audio.clap import ClapLaionAudioEmbedder, ClapLaionMusicEmbedder
from frechet_audio.clips import AudioClips
from frechet_audio.disturb import DISTURBANCES
from frechet_audio.encodec import Encodec24kEmbedder, Encodec48kEmbedder
from frechet_audio.files import AUDIO_SUFFIXES
from frechet_audio.pann import PannEmbedder
from frechet_audio.players import player
from frechet_audio.sources import is_audio_object, open_audio_clips, open_audio_file, open_audio_folder
from frechet_audio.vggish import VGGishEmbedder

__all__ = [
    "AudioClips", "ClapLaionAudioEmbedder", "ClapLaionMusicEmbedder", "Encodec24kEmbedder", "Encodec48kEmbedder",
    "PannEmbedder", "VGGishEmbedder",
]


@hookimpl
def frechet_register_embedders(register: Any) -> None:
    register(VGGishEmbedder)
    register(PannEmbedder)
    register(ClapLaionAudioEmbedder)
    register(ClapLaionMusicEmbedder)
    register(Encodec24kEmbedder)
    register(Encodec48kEmbedder)


@hookimpl
def frechet_register_sources(register: Any) -> None:
    register(
        "audio-file",
        open_audio_file,
        domain="audio",
        suffixes=AUDIO_SUFFIXES,
        description="one audio file (WAV, FLAC, OGG/Opus, MP3, AIFF via soundfile)",
    )
    register(
        "audio-folder",
        open_audio_folder,
        domain="audio",
        directories=True,
        description="every audio file under a folder, recursively, sorted by path",
    )
    register(
        "audio-clips",
        open_audio_clips,
        domain="audio",
        accepts=is_audio_object,
        description="frechet_audio.AudioClips(arrays, sample_rate) given to the Python API",
    )


@hookimpl
def frechet_register_disturbances(register: Any) -> None:
    for disturbance in DISTURBANCES:
        register(disturbance)


@hookimpl
def frechet_report_item(item: Any, domain: str) -> Any:
    return player(item, domain)
