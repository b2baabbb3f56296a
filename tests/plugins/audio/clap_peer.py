"""Running laion_clap and fadtk offline, on frechet's random LAION-CLAP checkpoints, in the fadtk reference environment
(for scripts/goldens/audio_clap.py and bench/audio.py).

laion_clap loads tokenizers from the Hugging Face hub when it is imported and RoBERTa when a model is built; here a
stub and a small random RoBERTa stand in for them (the text branch never touches an audio embedding). fadtk looks
for its checkpoints beside its own code, so it runs from a copy in a temporary folder.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import shutil
import sys
from pathlib import Path


def offline_fadtk(work: Path) -> Path:
    """Prepare this process: no hub access, fadtk imported from a copy under ``work``; returns the folder where that
    copy looks for its LAION-CLAP checkpoints."""
    os.environ.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", TORCH_HOME=str(work / "torch"))
    _offline_text_models()
    site = work / "site"
    shutil.copytree(Path(importlib.util.find_spec("fadtk").origin).parent, site / "fadtk")
    sys.path.insert(0, str(site))
    import fadtk

    assert Path(fadtk.__file__).is_relative_to(site), fadtk.__file__
    return site / "fadtk" / ".model-checkpoints"


def _offline_text_models() -> None:
    """The tokenizers laion_clap loads on import and the RoBERTa it builds, without the hub: a stub and a small
    random RoBERTa (its tensors go into the checkpoints as the text branch, which the audio embedding never uses)."""
    import transformers

    class _NoTokenizer:
        def __call__(self, *args, **kwargs):
            raise RuntimeError("no tokenizer in the golden run: only audio is embedded")

    for name in ("BertTokenizer", "RobertaTokenizer", "BartTokenizer"):
        getattr(transformers, name).from_pretrained = classmethod(lambda cls, *args, **kwargs: _NoTokenizer())
    small = transformers.RobertaConfig(vocab_size=64, hidden_size=768, num_hidden_layers=1, num_attention_heads=2,
                                       intermediate_size=32, max_position_embeddings=80)
    transformers.RobertaModel.from_pretrained = classmethod(
        lambda cls, *args, **kwargs: transformers.RobertaModel(small)
    )


@contextlib.contextmanager
def tower(geometry):
    """laion_clap builds HTS-AT of ``geometry`` (width, depths, heads) for 'HTSAT-tiny' inside the block (None: as
    it is): the reduced tower the test suite runs, through the peer's own classes and code path."""
    if geometry is None:
        yield
        return
    factory, htsat, model = _peer_modules()
    width, depths, heads = geometry
    original, config = model.create_htsat_model, factory._MODEL_CONFIGS["HTSAT-tiny"]
    saved = config["embed_dim"]

    def create(audio_cfg, enable_fusion=False, fusion_type="None"):
        return htsat.HTSAT_Swin_Transformer(
            spec_size=256, patch_size=4, patch_stride=(4, 4), num_classes=audio_cfg.class_num, embed_dim=width,
            depths=list(depths), num_heads=list(heads), window_size=8, config=audio_cfg,
            enable_fusion=enable_fusion, fusion_type=fusion_type)

    model.create_htsat_model, config["embed_dim"] = create, width * 2 ** (len(depths) - 1)
    try:
        yield
    finally:
        model.create_htsat_model, config["embed_dim"] = original, saved


def write_checkpoint(path: Path, amodel: str, geometry: tuple) -> str:
    """Save the random checkpoint of ``geometry`` in the layout of the peer's model for ``amodel`` (its key list is
    checked against clap_random_weights' layout; the front end and attention buffers are the peer's own); returns
    the digest of the random tensors."""
    import torch

    import clap_random_weights as weights

    factory, _, _ = _peer_modules()

    model, _ = factory.create_model(amodel, "roberta", precision="fp32", device="cpu", enable_fusion=False)
    state = model.state_dict()
    audio = ("audio_branch.", "audio_projection.")
    computed_keys = set(weights.FRONT_END_KEYS)
    computed_keys |= {key for key in state if key.endswith((".attn_mask", ".relative_position_index"))}
    layout = [(key, tuple(value.shape)) for key, value in state.items()
              if key.startswith(audio) and key not in computed_keys]
    assert layout == weights.learned_layout(geometry), "clap_random_weights.learned_layout differs from laion_clap"
    computed = {key: state[key] for key in computed_keys}
    text = {key: value for key, value in state.items() if not key.startswith(audio)}
    text["text_branch.embeddings.position_ids"] = torch.arange(514)[None]  # in the published files; laion_clap drops it
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(weights.checkpoint(geometry, computed, text), path)
    return weights.state_digest(weights.learned_state(geometry))


def complete_checkpoint(path: Path, source: Path, amodel: str) -> None:
    """Save at ``path`` the LAION-CLAP checkpoint ``source`` (its audio tower as frechet wrote it) completed with the
    text branch of the peer's model for ``amodel``, which laion_clap's strict loading needs."""
    import torch

    factory, _, _ = _peer_modules()
    model, _ = factory.create_model(amodel, "roberta", precision="fp32", device="cpu", enable_fusion=False)
    audio = ("audio_branch.", "audio_projection.")
    checkpoint = torch.load(source, weights_only=True)
    text = {f"module.{key}": value for key, value in model.state_dict().items() if not key.startswith(audio)}
    text["module.text_branch.embeddings.position_ids"] = torch.arange(514)[None]
    checkpoint["state_dict"] = {**{key: value for key, value in checkpoint["state_dict"].items()
                                   if key[len("module."):].startswith(audio)}, **text}
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(checkpoint, path)


def _peer_modules():
    """laion_clap's factory, htsat and model modules as CLAP_Module uses them: laion_clap puts its own folder on
    sys.path and imports them as the top-level package ``clap_module`` (a second copy beside
    ``laion_clap.clap_module``)."""
    import laion_clap  # noqa: F401  (adds the folder to sys.path)
    from clap_module import factory, htsat, model

    return factory, htsat, model
