"""Where the WD tagger v3 weights come from (SmilingWolf's Hugging Face repositories, each at the revision of its
last model update), how a download is recognised, and how a file becomes a network.

Hugging Face gives these files no checksum frechet could compare against, so each is pinned at its first download
(:mod:`frechet.weights`): the sha256 of the first copy that reads as the tagger's safetensors layout is recorded,
and every later copy must match it.
"""

from __future__ import annotations

from pathlib import Path

import torch

from frechet.errors import WeightsError
from frechet.weights import WeightsSpec
from frechet_clip.safetensors_file import read_safetensors
from frechet_webtoon.tagger_network import ARCHITECTURES, TaggerArchitecture, load_network_state

_HUB = "https://huggingface.co/SmilingWolf"
#: Repository and revision (the commit of its last model-files update, or a later README-only one) per architecture.
REPOSITORIES = {
    "vit": ("wd-vit-tagger-v3", "7f6b584d0bd3f55c4531f14ba3d4761b2bccdc0f"),
    "convnext": ("wd-convnext-tagger-v3", "d39e46de298d27340111b64965e20b8185c407e6"),
    "vit-large": ("wd-vit-large-tagger-v3", "ae469aa2e4706a3af08d3673cf73a11d1add314c"),
    "swinv2": ("wd-swinv2-tagger-v3", "805ca9892b4fdfbe3f06f9de3f0a07b3da8637ed"),
    "eva02-large": ("wd-eva02-large-tagger-v3", "fa2b83fd2d68b3d994e22fed5859d7cc99e1cdb0"),
}


def read_tagger_state(path: str | Path) -> dict[str, torch.Tensor]:
    """The tensors of a tagger ``.safetensors`` file; WeightsError naming the file when it is not one."""
    try:
        return read_safetensors(path)
    except ValueError as error:  # its message starts with the path
        raise WeightsError(f"{error}; not a safetensors file (pass the repository's model.safetensors)") from None
    except OSError as error:
        raise WeightsError(f"{path}: cannot read ({error.strerror or error})") from None


def _layout_check(arch: TaggerArchitecture):  # noqa: ANN202 - a WeightsSpec check
    def check(path: Path) -> None:
        try:
            load_network_state(read_tagger_state(path), arch, str(path))
        except ValueError as error:
            raise WeightsError(str(error)) from None

    return check


def _spec(name: str) -> WeightsSpec:
    repository, revision = REPOSITORIES[name]
    return WeightsSpec(
        repository,
        f"{_HUB}/{repository}/resolve/{revision}/model.safetensors",
        filename=f"{repository}.safetensors",
        pin=True,
        description=f"SmilingWolf's {repository} (Danbooru tags; timm layout, safetensors)",
        check=_layout_check(ARCHITECTURES[name]),
    )


WEIGHTS = {name: _spec(name) for name in REPOSITORIES}


def load_tagger(
    arch: TaggerArchitecture, path: str | Path, device: torch.device | str = "cpu", *, exact: bool = True
) -> torch.nn.Module:
    """The ``arch`` backbone with the weights at ``path``, in eval mode on ``device``; ``exact=False`` (a user's
    file) takes the number of blocks and tags from the file."""
    try:
        model = load_network_state(read_tagger_state(path), arch, str(path), exact=exact)
    except ValueError as error:
        raise WeightsError(
            f"{error}; pass {REPOSITORIES[arch.name][0]}'s model.safetensors or a file in its layout"
        ) from None
    return model.to(device)
