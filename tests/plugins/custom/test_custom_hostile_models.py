"""Hostile or broken custom models: no features, failures on some batch sizes, input sizes no memory holds — each is
one line naming the model, and the option or the batch that is at fault, with exit code 2."""

from __future__ import annotations

import pytest
import torch

import frechet
import frechet.cli
from frechet import loading
from frechet.errors import ConfigError
from frechet_custom import backbone

from custom_helpers import SIZE, TinyCNN, run_cli, save_torchscript

pytestmark = pytest.mark.filterwarnings(r"ignore:`torch\.jit\.\w+` is deprecated:DeprecationWarning")


class NoFeatures(torch.nn.Module):
    """Returns (B, 0): a batch of empty feature vectors."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.mean(dim=(2, 3))[:, :0]


class NotFour(torch.nn.Module):
    """TinyCNN that raises on batches of exactly 4 (as some exported models do for shapes they were not built for)."""

    def __init__(self) -> None:
        super().__init__()
        self.cnn = TinyCNN()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[0] == 4:
            raise RuntimeError("batch of 4 not supported by this export")
        return self.cnn(x)


def _stats(capsys, model, folder, *extra):
    return run_cli(capsys, "stats", str(folder), "-o", str(folder.parent / "out.npz"), "--embedder",
                   f"torchscript:{model}", "--embedder-option", f"size={SIZE}", "--workers", "0", "--quiet", *extra)


def test_a_model_returning_zero_width_features_is_refused_naming_it(tmp_path, shapes, capsys):
    model = save_torchscript(NoFeatures(), tmp_path / "empty.pt", trace=False)
    code, _, err = _stats(capsys, model, shapes[0])
    assert code == 2 and err == (f"frechet: error: torchscript:{model}: output 'features' has zero width (shape (2, 0) "
                                 "for a batch of 2): there are no features to compare; check the model\n")


def test_a_model_failing_on_one_batch_size_is_one_line_naming_the_model_and_the_batch(tmp_path, shapes, capsys):
    model = save_torchscript(NotFour(), tmp_path / "not4.pt", trace=False)
    real = shapes[0]
    code, _, err = _stats(capsys, model, real, "--batch-size", "4")
    assert code == 2 and err.count("\n") == 1
    assert err == (f"frechet: error: embedder 'torchscript:{model}' failed on a batch of 4 items ({real / '000.png'} "
                   f"… {real / '003.png'}): builtins.RuntimeError: batch of 4 not supported by this export\n")
    code, result, _ = _stats(capsys, model, real, "--batch-size", "7")  # batches of 7 and a last one of 3
    assert code == 0 and result["n"] == 24


def test_an_input_size_no_memory_can_hold_is_refused_before_anything_is_allocated(tmp_path, shapes, capsys,
                                                                                  monkeypatch):
    model = save_torchscript(TinyCNN(), tmp_path / "tiny.pt")
    monkeypatch.setattr(backbone, "available_memory", lambda: 16 * 10**9)
    code, _, err = run_cli(capsys, "stats", str(shapes[0]), "-o", str(tmp_path / "o.npz"), "--embedder",
                           f"torchscript:{model}", "--embedder-option", "size=100000")
    assert code == 2 and err == (
        f"frechet: error: torchscript:{model}: --embedder-option size=100000 makes each image a 3×100000×100000 "
        "float32 input (120.0 GB), so even the check batch of 2 needs 240.0 GB, more than the 16.0 GB of memory "
        "available; give the model's real input size\n")


def test_a_batch_too_large_for_the_memory_left_is_refused_naming_the_batch_size(tmp_path, shapes, capsys,
                                                                                monkeypatch):
    model = save_torchscript(TinyCNN(), tmp_path / "tiny.pt")
    monkeypatch.setattr(loading, "available_memory", lambda: 500 * 10**6)
    code, _, err = run_cli(capsys, "stats", str(shapes[0]), "-o", str(tmp_path / "o.npz"), "--embedder",
                           f"torchscript:{model}", "--embedder-option", "size=1024", "--workers", "0", "--quiet")
    assert code == 2 and err == (
        f"frechet: error: embedder 'torchscript:{model}': each prepared item is 3×1024×1024 float32 (12.6 MB), so a "
        "batch of 64 needs 805.3 MB, more than the 500.0 MB of memory available; use a smaller --batch-size N, or "
        "smaller model inputs\n")
    with pytest.raises(ConfigError, match="a batch of 64 needs 805.3 MB"):
        frechet.compute_stats(shapes[0], embedder=f"torchscript:{model}", embedder_options={"size": 1024},
                              workers=0, cache=False, progress=False)


def test_embedders_that_run_code_from_a_file_say_so_and_name_onnx_as_the_safer_format(capsys):
    for name in ("torchscript", "python"):
        assert frechet.cli.main(["embedders", name]) == 0
        out = capsys.readouterr().out
        assert "runs code from the file or module you name, with your permissions (it can read and write your " \
               "files): use only ones you trust; for models from elsewhere, onnx:PATH is the safer format" in out
    assert frechet.cli.main(["embedders", "onnx"]) == 0
    assert "runs code" not in capsys.readouterr().out
    help_text = frechet.cli.build_parser()._subparsers._group_actions[0].choices["compute"].format_help()
    assert "use only ones you trust; onnx:PATH (onnxruntime) is the safer format" in " ".join(help_text.split())
