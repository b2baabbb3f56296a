"""Only regular files are read: a FIFO, a socket, a character device or a link to /dev/zero among the inputs is named
within seconds, never read (reading one blocks forever or never ends). Each run is a subprocess with a timeout, so
a regression fails instead of hanging the suite."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys

import pytest
import torch
from conftest import write_image

TIMEOUT = 300  # seconds before a run counts as hung: a busy machine can take 30 s just to import torch
pytestmark = pytest.mark.filterwarnings(r"ignore:`torch\.jit\.\w+` is deprecated:DeprecationWarning")


class _MeanColour(torch.nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.mean(dim=(2, 3))


@pytest.fixture
def model(tmp_path):
    """A TorchScript model (mean colour), so the runs need no weights."""
    path = tmp_path / "mean.pt"
    torch.jit.save(torch.jit.trace(_MeanColour(), torch.rand(2, 3, 8, 8)), str(path))
    return path


def _frechet(*args, cwd):
    return subprocess.run([sys.executable, "-m", "frechet", *map(str, args)], capture_output=True, text=True,
                          timeout=TIMEOUT, cwd=cwd, check=False)


@pytest.mark.parametrize("cache", [True, False], ids=["cached", "no-cache"])
def test_a_fifo_socket_or_device_in_an_image_folder_is_named_within_seconds_and_skippable(tmp_path, model, cache):
    folder = tmp_path / "imgs"
    for index in range(3):
        write_image(folder / f"{index}.png", (40 * index, 90, 160))
    os.mkfifo(folder / "a_fifo.png")
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(folder / "b_socket.png"))
    (folder / "c_zero.png").symlink_to("/dev/zero")
    common = ["stats", folder, "-o", tmp_path / "out.npz", "--embedder", f"torchscript:{model}",
              "--embedder-option", "size=8", "--quiet", "--workers", "0", "--cache-dir", tmp_path / "cache"]
    common += [] if cache else ["--no-cache"]
    done = _frechet(*common, cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr == (f"frechet: error: {folder / 'a_fifo.png'}: not a regular file (a FIFO (named pipe)); "
                           "frechet reads only regular files: remove it from the input or replace it with the file "
                           "itself (pass --skip-bad to skip bad items)\n")
    skipped = _frechet(*common, "--skip-bad", "--json", cwd=tmp_path)
    server.close()
    assert skipped.returncode == 0, skipped.stderr
    result = json.loads(skipped.stdout.splitlines()[-1])
    assert result["n"] == 3 and result["skipped"] == [str(folder / name) for name in ("a_fifo.png", "b_socket.png",
                                                                                      "c_zero.png")]
    for name, kind in (("b_socket.png", "a socket"), ("c_zero.png", "a character device")):
        assert f"skipped {folder / name}: not a regular file ({kind})" in skipped.stderr


def test_a_fifo_given_directly_as_a_feature_file_an_image_a_zip_or_a_model_is_refused_unread(tmp_path, model):
    for name in ("feats.npy", "one.png", "images.zip", "model.pt"):
        os.mkfifo(tmp_path / name)
    write_image(tmp_path / "real" / "0.png", (10, 20, 30))
    runs = {
        "feats.npy": ["stats", "feats.npy", "-o", "out.npz"],
        "one.png": ["stats", "one.png", "-o", "out.npz", "--embedder", f"torchscript:{model}",
                    "--embedder-option", "size=8"],
        "images.zip": ["stats", "images.zip", "-o", "out.npz", "--embedder", f"torchscript:{model}",
                       "--embedder-option", "size=8"],
        "model.pt": ["stats", "real", "-o", "out.npz", "--embedder", "torchscript:model.pt",
                     "--embedder-option", "size=8"],
    }
    for name, argv in runs.items():
        done = _frechet(*argv, "--quiet", cwd=tmp_path)
        assert done.returncode == 2, (name, done.stderr)
        assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr, done.stderr
        assert "not a regular file (a FIFO (named pipe))" in done.stderr, name
    assert not (tmp_path / "out.npz").exists()
