"""Where CLIP image-tower weights come from and how any of their file formats becomes one state dict.

Canonical files are OpenAI's own (the URLs and sha256 digests of the ``clip`` package; the digest is part of each
URL), cached under torch-fidelity's file names, so a copy torch-fidelity already downloaded is used as it is. Those are TorchScript archives: frechet reads their tensors without running the archive (see
:mod:`frechet.torchscript_archive`). A user's file may also be a plain state dict (``torch.save``, read with
``weights_only=True``) or a ``.safetensors`` file, in OpenAI's key layout (the whole model, ``visual.*`` only, or the
tower's own keys) or in Hugging Face transformers' layout (``vision_model.*`` and ``visual_projection.weight``, as
in ``openai/clip-vit-*``). Only the image tower is read; text-tower tensors are skipped.
"""

from __future__ import annotations

from pathlib import Path

import torch

from frechet.errors import WeightsError
from frechet.torchscript_archive import ArchiveError, is_torchscript_archive, read_script_archive
from frechet.weights import WeightsSpec, load_state_dict
from frechet_clip.safetensors_file import read_safetensors

_OPENAI = "https://openaipublic.azureedge.net/clip/models"
VIT_B_32_WEIGHTS = WeightsSpec(
    "CLIP ViT-B/32 (OpenAI)",
    f"{_OPENAI}/40d365715913c9da98579312b702a82c18be219cc2a73407c4526f58eba950af/ViT-B-32.pt",
    sha256="40d365715913c9da98579312b702a82c18be219cc2a73407c4526f58eba950af",
    filename="clip-vit-b-32-40d365715913c9da98579312b702a82c18be219cc2a73407c4526f58eba950af.pt",
    description="OpenAI's CLIP ViT-B/32 (TorchScript archive; read without running it)",
)
VIT_L_14_WEIGHTS = WeightsSpec(
    "CLIP ViT-L/14 (OpenAI)",
    f"{_OPENAI}/b8cca3fd41ae0c99ba7e8951adf17d267cdb84cd88be6f7c2e0eca1737a03836/ViT-L-14.pt",
    sha256="b8cca3fd41ae0c99ba7e8951adf17d267cdb84cd88be6f7c2e0eca1737a03836",
    filename="clip-vit-l-14-b8cca3fd41ae0c99ba7e8951adf17d267cdb84cd88be6f7c2e0eca1737a03836.pt",
    description="OpenAI's CLIP ViT-L/14 (TorchScript archive; read without running it)",
)
VIT_L_14_336_WEIGHTS = WeightsSpec(
    "CLIP ViT-L/14@336px (OpenAI)",
    f"{_OPENAI}/3035c92b350959924f9f00213499208652fc7ea050643e8b385c2dac08641f02/ViT-L-14-336px.pt",
    sha256="3035c92b350959924f9f00213499208652fc7ea050643e8b385c2dac08641f02",
    filename="clip-vit-l-14-336px-3035c92b350959924f9f00213499208652fc7ea050643e8b385c2dac08641f02.pt",
    description="OpenAI's CLIP ViT-L/14@336px (TorchScript archive; read without running it)",
)

_HF_PREFIX = "vision_model."
_HF_BLOCK = {"layer_norm1": "ln_1", "layer_norm2": "ln_2", "mlp.fc1": "mlp.c_fc", "mlp.fc2": "mlp.c_proj",
             "self_attn.out_proj": "attn.out_proj"}


def read_tower_state(path: str | Path) -> dict[str, torch.Tensor]:
    """The image tower's tensors of any supported file, keyed as OpenAI's ``visual.*`` without the prefix."""
    path = Path(path)
    try:
        if path.suffix == ".safetensors":
            state = read_safetensors(path, _is_tower_key)
        elif is_torchscript_archive(path):
            state = read_script_archive(path, lambda name: name.startswith("visual.")).tensors
        else:
            state = load_state_dict(path)
    except (ValueError, ArchiveError) as error:  # their messages start with the path
        raise WeightsError(f"{error}; not a readable CLIP weights file") from None
    except OSError as error:
        raise WeightsError(f"{path}: cannot read ({error.strerror or error})") from None
    tower = tower_keys(state)
    if tower is None:
        raise WeightsError(
            f"{path}: no CLIP image tower found (expected OpenAI's 'visual.*' keys or transformers' 'vision_model.*'); "
            "pass an OpenAI CLIP checkpoint, a state dict of it, or an openai/clip-vit-* safetensors file"
        )
    return tower


def tower_keys(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor] | None:
    """``state`` re-keyed as the tower's own OpenAI keys (from a whole model, ``visual.*``, or transformers'
    layout); None when it holds no CLIP image tower."""
    if "visual.conv1.weight" in state:
        return {key[len("visual."):]: value for key, value in state.items() if key.startswith("visual.")}
    if "conv1.weight" in state:
        return dict(state)
    if f"{_HF_PREFIX}embeddings.patch_embedding.weight" in state:
        return _from_transformers(state)
    return None


def _is_tower_key(name: str) -> bool:
    """False for the text tower's own tensors (which may be many), so they are never read."""
    return not name.startswith(("text_model.", "token_embedding.", "ln_final.", "text_projection", "logit_scale"))


def _from_transformers(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """transformers' CLIPVisionModel(WithProjection) keys -> OpenAI's: q/k/v projections packed into in_proj,
    ``visual_projection.weight`` transposed into ``proj``."""
    if "visual_projection.weight" not in state:
        raise WeightsError("a transformers CLIP checkpoint without 'visual_projection.weight' has no image "
                           "projection; use the whole CLIPModel or CLIPVisionModelWithProjection file")
    embeddings = f"{_HF_PREFIX}embeddings."
    tower = {
        "conv1.weight": state[f"{embeddings}patch_embedding.weight"],
        "class_embedding": state[f"{embeddings}class_embedding"],
        "positional_embedding": state[f"{embeddings}position_embedding.weight"],
        "ln_pre.weight": state[f"{_HF_PREFIX}pre_layrnorm.weight"],
        "ln_pre.bias": state[f"{_HF_PREFIX}pre_layrnorm.bias"],
        "ln_post.weight": state[f"{_HF_PREFIX}post_layernorm.weight"],
        "ln_post.bias": state[f"{_HF_PREFIX}post_layernorm.bias"],
        "proj": state["visual_projection.weight"].T.contiguous(),
    }
    layer = 0
    while f"{_HF_PREFIX}encoder.layers.{layer}.self_attn.q_proj.weight" in state:
        source, target = f"{_HF_PREFIX}encoder.layers.{layer}.", f"transformer.resblocks.{layer}."
        for kind in ("weight", "bias"):
            tower[f"{target}attn.in_proj_{kind}"] = torch.cat(
                [state[f"{source}self_attn.{part}_proj.{kind}"] for part in ("q", "k", "v")]
            )
            for theirs, ours in _HF_BLOCK.items():
                tower[f"{target}{ours}.{kind}"] = state[f"{source}{theirs}.{kind}"]
        layer += 1
    return tower
