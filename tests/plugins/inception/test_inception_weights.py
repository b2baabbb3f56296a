"""Where the inception weights come from: the two canonical files (cached under either name), a user's file, and
what happens offline or with a wrong file."""

from __future__ import annotations

import dataclasses
import re
import shutil
from pathlib import Path

import numpy as np
import pytest

import frechet
from frechet.errors import WeightsError
from frechet.io import file_sha256
from frechet.weights import weights_dir, weights_identity
from frechet_inception.weights import (
    CANONICAL_SHA256,
    PYTORCH_FID_WEIGHTS,
    TORCH_FIDELITY_WEIGHTS,
    WEIGHTS,
    resolve_inception_weights,
)


def test_specs_name_both_canonical_urls_and_the_files_full_sha256():
    assert PYTORCH_FID_WEIGHTS.url == (
        "https://github.com/mseitzer/pytorch-fid/releases/download/fid_weights/pt_inception-2015-12-05-6726825d.pth"
    )
    assert TORCH_FIDELITY_WEIGHTS.url == (
        "https://github.com/toshas/torch-fidelity/releases/download/v0.2.0/weights-inception-2015-12-05-6726825d.pth"
    )
    for spec in WEIGHTS:
        assert re.fullmatch(r"[0-9a-f]{64}", spec.expected_hash)
        # torch hub's convention: the hex in the file name is the start of the file's sha256.
        assert spec.expected_hash.startswith(re.search(r"-([0-9a-f]{8})\.pth$", spec.file_name).group(1))
    assert CANONICAL_SHA256.startswith("6726825d")


def _specs_for(path: Path) -> tuple:
    """The canonical specs, but expecting ``path``'s checksum (the real file cannot be made here)."""
    digest = file_sha256(path)
    return tuple(dataclasses.replace(spec, sha256=digest) for spec in WEIGHTS)


@pytest.mark.parametrize("cached_as", [PYTORCH_FID_WEIGHTS.file_name, TORCH_FIDELITY_WEIGHTS.file_name])
def test_a_copy_cached_under_either_canonical_name_is_found_offline(weights_file, cached_as):
    cache = weights_dir()
    cache.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(weights_file, cache / cached_as)
    assert resolve_inception_weights(specs=_specs_for(weights_file)) == cache / cached_as


def test_frechet_weights_dir_is_searched(weights_file, tmp_path, monkeypatch):
    monkeypatch.setenv("FRECHET_WEIGHTS_DIR", str(tmp_path))
    shutil.copyfile(weights_file, tmp_path / PYTORCH_FID_WEIGHTS.file_name)
    assert resolve_inception_weights(specs=_specs_for(weights_file)) == tmp_path / PYTORCH_FID_WEIGHTS.file_name


def test_a_wrong_file_under_the_canonical_name_fails_its_checksum(weights_file):
    cache = weights_dir()
    cache.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(weights_file, cache / PYTORCH_FID_WEIGHTS.file_name)
    with pytest.raises(WeightsError, match="checksum mismatch") as error:
        resolve_inception_weights()
    assert PYTORCH_FID_WEIGHTS.file_name in str(error.value)


def test_offline_without_the_file_says_what_to_download_and_where(tmp_path):
    with pytest.raises(WeightsError) as error:
        resolve_inception_weights()
    message = str(error.value)
    assert "FRECHET_OFFLINE" in message and PYTORCH_FID_WEIGHTS.url in message
    assert str(weights_dir() / PYTORCH_FID_WEIGHTS.file_name) in message and "embedder_options={'weights'" in message


def test_a_failed_download_falls_back_to_torch_fidelitys_copy(monkeypatch, weights_file, file_server):
    monkeypatch.delenv("FRECHET_OFFLINE")
    monkeypatch.setenv("FRECHET_MIRROR", file_server.url)
    shutil.copyfile(weights_file, file_server.folder / TORCH_FIDELITY_WEIGHTS.file_name)
    found = resolve_inception_weights(specs=_specs_for(weights_file))
    assert found == weights_dir() / TORCH_FIDELITY_WEIGHTS.file_name
    assert file_server.requests == [f"/{name}" for name in (PYTORCH_FID_WEIGHTS.file_name, found.name)]


def test_when_both_downloads_fail_the_error_names_both_urls_and_both_file_names(monkeypatch, file_server):
    monkeypatch.delenv("FRECHET_OFFLINE")
    monkeypatch.setenv("FRECHET_MIRROR", file_server.url)
    with pytest.raises(WeightsError) as error:
        resolve_inception_weights()
    message = str(error.value)
    for spec in WEIGHTS:
        assert f"{file_server.url}/{spec.file_name} (HTTP 404)" in message and spec.file_name in message


def test_an_explicit_file_is_used_and_named_by_its_own_hash(weights_file):
    assert resolve_inception_weights(weights_file) == weights_file
    assert weights_identity(PYTORCH_FID_WEIGHTS, weights_file) == "sha256:" + file_sha256(weights_file)[:16]
    assert weights_identity(PYTORCH_FID_WEIGHTS) == weights_identity(TORCH_FIDELITY_WEIGHTS) == "6726825d"


def test_an_explicit_file_that_does_not_exist_is_an_error(tmp_path):
    with pytest.raises(WeightsError, match="weights file not found"):
        weights_identity(PYTORCH_FID_WEIGHTS, tmp_path / "nope.pth")


def test_missing_weights_stop_a_run_with_the_download_instructions():
    images = np.zeros((2, 8, 8, 3), dtype=np.uint8)
    with pytest.raises(WeightsError, match="FRECHET_OFFLINE is set: download https://github.com/mseitzer"):
        frechet.compute_stats(images, embedder="inception", progress=False)
