"""ChemNet's weights file: both published layouts read to the tensors torch itself loads, nothing in the file run,
sizes checked against the bytes; where the weights are found and how the embedder id names them."""

from __future__ import annotations

import io
import os
import pickle
import sys
import zipfile
from pathlib import Path

import pytest
import torch

from chemnet_random import random_layers
from frechet.errors import WeightsError
from frechet_molecules.chemnet_file import ChemNetFileError, read_chemnet_file
from frechet_molecules.weights import FILE_NAME, installed_copy, load_layers, resolve_chemnet_weights


@pytest.mark.parametrize("layout", ["zip", "legacy"])
def test_both_published_layouts_read_to_the_tensors_torch_loads(random_weights: dict[str, Path], layout: str) -> None:
    layers = read_chemnet_file(random_weights[layout])
    oracle = torch.load(random_weights[layout], weights_only=True)
    assert [layer.kind for layer in layers] == [kind for kind, _ in oracle]
    for layer, (_, (state, kwargs, info)) in zip(layers, oracle):
        assert layer.kwargs == kwargs and layer.info == info
        assert list(layer.state) == list(state)
        assert all(torch.equal(layer.state[name], tensor) for name, tensor in state.items())


def test_both_layouts_give_one_weights_identity(random_weights: dict[str, Path]) -> None:
    assert load_layers(random_weights["zip"])[1] == load_layers(random_weights["legacy"])[1]


class _Runs:
    def __reduce__(self):  # what a malicious file would hold: a call made while unpickling
        return (os.system, ("touch should-never-exist",))


def _legacy_file(path: Path, main: object) -> Path:
    with path.open("wb") as handle:
        for value in (0x1950A86A20F9469CFC6C, 1001, {"little_endian": True}, main, []):
            pickle.dump(value, handle, protocol=2)
    return path


def test_a_file_naming_other_code_is_refused_without_running_it(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    path = _legacy_file(tmp_path / "crafted.pt", [("Conv1d", (_Runs(), {}, {}))])
    with pytest.raises(ChemNetFileError, match=r"refers to posix\.system|refers to nt\.system"):
        read_chemnet_file(path)
    assert not (tmp_path / "should-never-exist").exists()


def test_a_zip_whose_storage_is_shorter_than_declared_is_refused(random_weights: dict[str, Path], tmp_path: Path
                                                                ) -> None:
    crafted = tmp_path / "short.pt"
    with zipfile.ZipFile(random_weights["zip"]) as source, zipfile.ZipFile(crafted, "w") as target:
        for info in source.infolist():
            data = source.read(info)
            target.writestr(info.filename, data[:-4] if info.filename.endswith("/data/0") else data)
    with pytest.raises(ChemNetFileError, match="storage 0 holds"):
        read_chemnet_file(crafted)


def test_a_truncated_legacy_file_is_refused(random_weights: dict[str, Path], tmp_path: Path) -> None:
    crafted = tmp_path / "truncated.pt"
    crafted.write_bytes(random_weights["legacy"].read_bytes()[:-1000])
    with pytest.raises(ChemNetFileError, match="beyond the end of the file"):
        read_chemnet_file(crafted)


def test_other_layers_are_refused_with_what_to_pass(tmp_path: Path) -> None:
    path = tmp_path / "other.pt"
    torch.save(random_layers()[:3], path)
    with pytest.raises(WeightsError, match=f"not ChemNet's Conv1d, Conv1d, LSTM, LSTM; pass ChemNet's {FILE_NAME}"):
        load_layers(path)


def test_not_a_torch_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "text.pt"
    path.write_bytes(b"hello")
    with pytest.raises(ChemNetFileError, match="not a pickle|neither a zip"):
        read_chemnet_file(path)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="FIFOs are POSIX")
def test_a_fifo_is_refused_unread(tmp_path: Path) -> None:
    fifo = tmp_path / "weights.pt"
    os.mkfifo(fifo)
    with pytest.raises(ChemNetFileError, match="not a regular file"):
        read_chemnet_file(fifo)


def test_weights_are_found_in_an_installed_package(random_weights: dict[str, Path], tmp_path: Path,
                                                   monkeypatch) -> None:
    package = tmp_path / "fcd_torch"
    package.mkdir()
    (package / "__init__.py").write_text("raise RuntimeError('never imported')\n")
    (package / FILE_NAME).write_bytes(random_weights["legacy"].read_bytes())
    monkeypatch.setattr(sys, "path", [str(tmp_path), *sys.path])
    assert installed_copy() == package / FILE_NAME
    assert resolve_chemnet_weights() == package / FILE_NAME
    assert resolve_chemnet_weights(random_weights["zip"]) == random_weights["zip"]
    assert "fcd_torch" not in sys.modules


def test_pickled_bytes_are_never_handed_to_pickle_unchecked() -> None:
    data = pickle.dumps([1] * 200_000, protocol=2)  # many opcodes: refused by count before anything is built
    from frechet_molecules.chemnet_file import _unpickle

    with pytest.raises(ChemNetFileError, match="opcodes"):
        _unpickle(io.BytesIO(data).read())
