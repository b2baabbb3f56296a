"""The clip-* embedders as a user meets them: defaults per tower, outputs, the command line, and its errors."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import torch

from frechet.cli import main
from frechet.errors import ConfigError
from frechet_clip.embedder import ClipVitB32, ClipVitL14, ClipVitL14At336


@pytest.mark.parametrize("cls, mode", [(ClipVitB32, "clean-fid"), (ClipVitL14, "torch-fidelity"),
                                       (ClipVitL14At336, "cmmd")])
def test_each_tower_defaults_to_the_tool_that_publishes_numbers_on_it(cls, mode, clip_weights):
    embedder = cls(weights=clip_weights[cls.name])
    assert embedder.preprocess == mode
    assert embedder.default_output == ("normalized" if mode == "cmmd" else "projected")
    assert f"preprocess={mode}" in embedder.id()


def test_normalized_is_the_projected_embedding_scaled_to_unit_length(clip_weights):
    embedder = ClipVitB32(weights=clip_weights["clip-vitb32"])
    image = np.random.default_rng(0).integers(0, 256, (90, 120, 3), dtype=np.uint8)
    with torch.inference_mode():
        outputs = embedder.forward(embedder.transform(image)[None])
    projected, normalized = outputs["projected"], outputs["normalized"]
    assert torch.allclose(normalized * projected.norm(dim=1, keepdim=True), projected, atol=1e-6)
    assert embedder.outputs == {"projected": 32, "normalized": 32}  # the file's tower, not the canonical 512


def test_an_unknown_mode_is_a_config_error_listing_the_modes(clip_weights):
    with pytest.raises(ConfigError, match="clean-fid, torch-fidelity, cmmd"):
        ClipVitB32(preprocess="clean", weights=clip_weights["clip-vitb32"])


def test_clip_fid_from_the_command_line_reports_fd_clip(clip_images, clip_weights, tmp_path, capsys):
    sides = {}
    for side in ("real", "fake"):
        sides[side] = tmp_path / side
        sides[side].mkdir()
        for path in sorted(clip_images[side].iterdir())[:5]:
            shutil.copy(path, sides[side])
    code = main(["compute", str(sides["real"]), str(sides["fake"]), "--embedder", "clip-vitb32", "--weights",
                 str(clip_weights["clip-vitb32"]), "--json", "--quiet"])
    assert code in (0, None)
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["fd_clip"] == result["fd"] > 0
    assert result["embedder"].startswith("clip-vitb32(preprocess=clean-fid,weights=sha256:")
