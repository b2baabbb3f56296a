"""StyleGAN-V's TorchScript I3D read without running it: two ports of the TF-hub network with different module names
and batch-norm code (:mod:`i3d_ports`) are scripted and saved; frechet's weights from each archive are checked
against a float64 batch-norm fold of the port's own tensors, and frechet's logits against the archive's own output
as ``torch.jit.load`` runs it."""

from __future__ import annotations

import ast
import io
import os
import pickle
import sys
import types
import zipfile
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch
from torch import nn

from frechet.errors import WeightsError
from frechet_video import i3d_torchscript
from frechet_video.i3d import LOGITS, UNITS
from frechet_video.i3d_embedder import I3DEmbedder
from frechet.torchscript_archive import read_script_archive
from frechet_video.i3d_torchscript import _Epsilons, _layers, stylegan_v_units
from frechet_video.i3d_weights import STYLEGAN_V_WEIGHTS, detect_layout, load_i3d
from i3d_ports import HASSONY_EPS, PIERGIAJ_EPS, HassonyI3D, PiergiajI3D, port_units, script
from i3d_random_weights import parity_clips, write_piergiaj, write_tf_hub

PORTS = {"hassony2-style": (HassonyI3D, 3, HASSONY_EPS), "piergiaj-style": (PiergiajI3D, 4, PIERGIAJ_EPS)}


@pytest.fixture(scope="module")
def ports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[nn.Module, Path]]:
    """Each port with deterministic random weights, and its saved TorchScript archive."""
    folder = tmp_path_factory.mktemp("ports")
    built = {}
    for style, (cls, seed, _) in PORTS.items():
        port = cls(seed).eval()
        built[style] = (port, Path(script(port, str(folder / f"{style}.pt"))))
    return built


def _one_line_naming(error: pytest.ExceptionInfo, path: Path) -> str:
    message = str(error.value)
    assert "\n" not in message and str(path) in message
    return message


@pytest.mark.parametrize("style", PORTS)
def test_folded_weights_match_a_float64_batch_norm_fold_of_the_ports_tensors(ports: dict, style: str) -> None:
    port, path = ports[style]
    eps = PORTS[style][2]
    ours = stylegan_v_units(path)
    for unit, (conv, norm) in port_units(port).items():
        scale = norm.weight.double() / torch.sqrt(norm.running_var.double() + eps)
        shift = norm.bias.double() - norm.running_mean.double() * scale
        if conv.bias is not None:
            shift = shift + conv.bias.double() * scale
        weight = conv.weight.double() * scale[:, None, None, None, None]
        torch.testing.assert_close(ours[f"{unit}.weight"], weight.float(), rtol=1e-6, atol=1e-7)
        torch.testing.assert_close(ours[f"{unit}.bias"], shift.float(), rtol=1e-6, atol=1e-7)
    logits = port.conv3d_0c_1x1 if style == "hassony2-style" else port.logits
    assert torch.equal(ours[f"{LOGITS}.weight"], logits.weight.detach())
    assert torch.equal(ours[f"{LOGITS}.bias"], logits.bias.detach())
    assert len(ours) == 2 * len(UNITS)


@pytest.mark.parametrize(("style", "count"), [("hassony2-style", 2), ("piergiaj-style", 1)])
def test_logits_match_the_archive_run_by_torch_jit_load(ports: dict, style: str, count: int) -> None:
    """Measured: max |ours - archive's| is 4.0e-7 (hassony2-style) and 4.7e-7 (piergiaj-style) of max |logit|."""
    _, path = ports[style]
    clips = parity_clips(count, frames=9, height=224, width=224, seed=8)
    x = torch.from_numpy(clips).float().div(255).mul(2).sub(1).permute(0, 4, 1, 2, 3).contiguous()
    with torch.no_grad(), torch.jit.optimized_execution(False):
        expected = torch.jit.load(str(path))(x)
        ours = load_i3d(path)(x)
    assert ours.shape == (count, 400)
    assert float((ours - expected).abs().max()) <= 1e-5 * float(expected.abs().max())


def test_the_archive_is_read_without_running_it(ports: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_: object, **__: object) -> None:
        raise AssertionError("the archive was loaded as TorchScript")

    monkeypatch.setattr(torch.jit, "load", refuse)
    monkeypatch.setattr(torch._C, "import_ir_module", refuse)
    monkeypatch.setattr(torch._C, "import_ir_module_from_buffer", refuse)
    assert len(stylegan_v_units(ports["hassony2-style"][1])) == 2 * len(UNITS)


def test_the_layout_is_told_from_the_file(ports: dict, tmp_path: Path) -> None:
    assert detect_layout(ports["piergiaj-style"][1]) == "stylegan-v"
    assert detect_layout(write_piergiaj(tmp_path / "i3d_pretrained_400.pt")) == "piergiaj"
    assert detect_layout(write_tf_hub(tmp_path / "i3d-kinetics-400.ckpt")) == "tf-hub"


def test_the_stylegan_v_mode_uses_stylegan_vs_file_and_pins_it_once_read(ports: dict, tmp_path: Path) -> None:
    assert I3DEmbedder(preprocess="stylegan-v", frames=9).weights_spec() is STYLEGAN_V_WEIGHTS
    assert STYLEGAN_V_WEIGHTS.pin and STYLEGAN_V_WEIGHTS.url.startswith("https://www.dropbox.com/s/ge9e5ujwgetktms/")
    assert STYLEGAN_V_WEIGHTS.file_name == "i3d_torchscript.pt"
    STYLEGAN_V_WEIGHTS.check_content(ports["hassony2-style"][1])
    other = write_piergiaj(tmp_path / "i3d_torchscript.pt")
    with pytest.raises(WeightsError):
        STYLEGAN_V_WEIGHTS.check_content(other)


def test_a_truncated_archive_is_one_line_naming_it(ports: dict, tmp_path: Path) -> None:
    data = ports["hassony2-style"][1].read_bytes()
    cut = tmp_path / "cut.pt"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(WeightsError) as error:
        load_i3d(cut)
    _one_line_naming(error, cut)


def test_a_fifo_is_refused_unread(tmp_path: Path) -> None:
    fifo = tmp_path / "i3d_torchscript.pt"
    os.mkfifo(fifo)
    for read in (load_i3d, stylegan_v_units):
        with pytest.raises(WeightsError, match="not a regular file") as error:
            read(fifo)
        _one_line_naming(error, fifo)


class _Chain(nn.Module):
    """Convolutions each followed by a batch norm, then a biased convolution: a module tree of I3D's form with
    whatever shapes a test gives it (and a 5-D buffer of the input's scaling, which is no convolution)."""

    def __init__(self, shapes: list[tuple[int, int, int]], logits: tuple[int, int]) -> None:
        super().__init__()
        self.register_buffer("scale", torch.ones(1, 1, 1, 1, 1))
        self.units = nn.ModuleList(
            nn.Sequential(nn.Conv3d(cin, cout, kernel, bias=False), nn.BatchNorm3d(cout)) for cin, cout, kernel in shapes)
        self.head = nn.Conv3d(*logits, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x * self.scale
        for unit in self.units:
            x = unit(x)
        return self.head(x)


def _toy_shapes() -> list[tuple[int, int, int]]:
    return [(1, 1, 1) for name in UNITS if name != LOGITS]


def test_an_archive_of_other_shapes_names_the_unit_that_does_not_fit(tmp_path: Path) -> None:
    path = Path(script(_Chain(_toy_shapes(), (1, 1)), str(tmp_path / "toy.pt")))
    with pytest.raises(WeightsError, match=r"units\.0\.0\.weight is \(1, 1, 1, 1, 1\).*unit Conv3d_1a_7x7 .*"
                                           r"\(64, 3, 7, 7, 7\)") as error:
        load_i3d(path)
    _one_line_naming(error, path)


def test_an_archive_missing_units_is_refused_counting_them(tmp_path: Path) -> None:
    path = Path(script(_Chain(_toy_shapes()[:10], (1, 1)), str(tmp_path / "short.pt")))
    with pytest.raises(WeightsError, match="holds 10 convolutions with a batch norm and 1 without, but I3D has 57") \
            as error:
        stylegan_v_units(path)
    _one_line_naming(error, path)


def test_a_frozen_archive_is_refused_saying_why(tmp_path: Path) -> None:
    path = tmp_path / "frozen.pt"
    torch.jit.freeze(torch.jit.script(_Chain(_toy_shapes()[:2], (1, 1)).eval())).save(str(path))
    with pytest.raises(WeightsError, match=r"frozen TorchScript archive \(torch\.jit\.freeze\).*before freezing") \
            as error:
        stylegan_v_units(path)
    _one_line_naming(error, path)


class _EpsNorm(nn.Module):
    """A batch norm whose epsilon is a plain attribute named ``eps``."""

    def __init__(self, epsilon: float) -> None:
        super().__init__()
        self.weight, self.bias = nn.Parameter(torch.ones(2)), nn.Parameter(torch.zeros(2))
        self.register_buffer("running_mean", torch.zeros(2))
        self.register_buffer("running_var", torch.ones(2))
        self.eps = epsilon

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.batch_norm(x, self.weight, self.bias, self.running_mean, self.running_var, False, 0.0, self.eps,
                                False)


class _SilentNorm(_EpsNorm):
    """The same with the epsilon under a name frechet does not look for: the archive states none."""

    def __init__(self, epsilon: float) -> None:
        super().__init__(epsilon)
        del self.eps
        self.tolerance = epsilon

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.batch_norm(x, self.weight, self.bias, self.running_mean, self.running_var, False, 0.0,
                                self.tolerance, False)


def test_an_eps_attribute_is_read_and_without_any_epsilon_tfs_is_taken_with_a_warning(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    for norm, expected in ((_EpsNorm, 2.5e-4), (_SilentNorm, 1e-3)):
        path = script(nn.Sequential(nn.Conv3d(2, 2, 1, bias=False), norm(2.5e-4)), str(tmp_path / "n.pt"))
        archive = read_script_archive(path)
        caplog.clear()
        assert _Epsilons(archive, path).of(_layers(archive)[1][0]) == expected
        assert ("states no batch-norm epsilon; using TF's 0.001" in caplog.text) is (norm is _SilentNorm)


def test_a_deeply_nested_annotation_in_the_code_is_read_without_overflowing(tmp_path: Path) -> None:
    """A crafted code file whose ``eps`` annotation nests a thousand attributes deep: the epsilon is still found
    (the walk over annotations is iterative), with no RecursionError."""
    plain = Path(script(nn.Sequential(nn.Conv3d(2, 2, 1, bias=False), _SilentNorm(2.5e-4)), str(tmp_path / "n.pt")))
    crafted = tmp_path / "deep.pt"
    with zipfile.ZipFile(plain) as source, zipfile.ZipFile(crafted, "w") as target:
        code = [name for name in source.namelist() if "/code/" in name and name.endswith(".py")]
        for info in source.infolist():
            data = source.read(info)
            if info.filename == code[0]:
                data += ("\nclass Deep(Module):\n  eps : Final[" + "a." * 1000 + "b] = 0.00025\n").encode()
            target.writestr(info, data)
    archive = read_script_archive(crafted)
    assert any("class Deep" in text for text in archive.code.values())
    assert _Epsilons(archive, crafted).of(_layers(archive)[1][0]) == 2.5e-4


def _with_code(plain: Path, target: Path, text: str) -> Path:
    """``plain`` with ``text`` appended to its first code file."""
    with zipfile.ZipFile(plain) as source, zipfile.ZipFile(target, "w") as out:
        code = [name for name in source.namelist() if "/code/" in name and name.endswith(".py")]
        for info in source.infolist():
            out.writestr(info, source.read(info) + (text.encode() if info.filename == code[0] else b""))
    return target


@pytest.mark.parametrize("literal", ["0x" + "f" * 2000, "1" + "0" * 4000, "9" * 100_000, "1e999999"])
def test_an_epsilon_literal_too_large_for_a_float_is_no_epsilon(tmp_path: Path, literal: str) -> None:
    """An integer literal too large for a float (or a decimal one past Python's digit limit) is not taken."""
    plain = Path(script(nn.Sequential(nn.Conv3d(2, 2, 1, bias=False), _EpsNorm(2.5e-4)), str(tmp_path / "n.pt")))
    crafted = _with_code(plain, tmp_path / "huge.pt", f"\nclass Huge(Module):\n  eps : Final[float] = {literal}\n")
    archive = read_script_archive(crafted)
    assert _Epsilons(archive, crafted).of(_layers(archive)[1][0]) == 2.5e-4


class _Kinded(nn.Module):
    """A module with a plain attribute named ``kind``, beside its batch norm."""

    def __init__(self) -> None:
        super().__init__()
        self.conv, self.norm, self.kind = nn.Conv3d(2, 2, 1, bias=False), _SilentNorm(1e-3), 5

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm(self.conv(x))


def test_an_attribute_named_kind_does_not_hide_the_modules_class(tmp_path: Path) -> None:
    path = Path(script(_Kinded(), str(tmp_path / "kind.pt")))
    archive = read_script_archive(path)
    assert archive.modules[0].kind.endswith("._Kinded") and archive.modules[0].values["kind"] == 5
    assert _Epsilons(archive, path).of(_layers(archive)[1][0]) == 1e-3


class _Crafted:
    """What a crafted ``data.pkl`` is written from: ``__torch__`` modules (:func:`_module`) holding 0-size tensors
    each on its own or a shared empty float storage."""

    def __init__(self, key: str, size: tuple[int, ...]) -> None:
        self.key, self.size = key, size

    def __reduce__(self) -> tuple:
        return torch._utils._rebuild_tensor_v2, (_StorageKey(self.key), 0, self.size, (1,) * len(self.size), False,
                                                 OrderedDict())


@dataclass(frozen=True)
class _StorageKey:
    key: str


class _CraftedPickler(pickle.Pickler):
    def persistent_id(self, obj: object) -> tuple | None:
        return ("storage", torch.FloatStorage, obj.key, "cpu", 0) if isinstance(obj, _StorageKey) else None


def _module(name: str, **attributes: object) -> object:
    """An instance pickled as the TorchScript class ``__torch__.<name>`` with ``attributes``."""
    cls = type(name, (), {"__module__": "__torch__"})
    setattr(sys.modules.setdefault("__torch__", types.ModuleType("__torch__")), name, cls)
    instance = cls()
    vars(instance).update(attributes)
    return instance


def _crafted_archive(path: Path, root: object, storages: int = 1, tamper: bytes = b"") -> Path:
    """An archive of ``root`` with ``storages`` empty storages (``0``, ``1``, …); ``tamper`` appended to a name in
    the pickle."""
    buffer = io.BytesIO()
    _CraftedPickler(buffer, protocol=2).dump(root)
    data = buffer.getvalue().replace(b"X\x03\x00\x00\x00top", b"X\x05\x00\x00\x00top" + tamper) if tamper \
        else buffer.getvalue()
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("m/data.pkl", data)
        archive.writestr("m/code/__torch__.py", "")
        for key in range(storages):
            archive.writestr(f"m/data/{key}", b"")
    return path


def test_an_archive_of_thousands_of_convolutions_is_refused_without_pairing_them(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Pairing grows with convolutions times batch norms (3.4 s for 8,000 of each from a 270 KB file, hours at the
    walk's limit): more convolutions than I3D has are refused before any pairing."""
    conv = _module("Conv", weight=_Crafted("0", (0, 1, 1, 1, 1)))
    norm = _module("Norm", running_mean=_Crafted("0", (0,)), running_var=_Crafted("0", (0,)))
    root = _module("Root", **{f"c{index}": conv for index in range(8000)}, **{f"n{index}": norm for index in range(8000)})
    path = _crafted_archive(tmp_path / "many.pt", root)

    def pairing(*_: object) -> None:
        raise AssertionError("paired the convolutions of an archive it should have refused")

    monkeypatch.setattr(i3d_torchscript, "_pairs", pairing)
    with pytest.raises(WeightsError, match="holds 8,000 convolutions, but I3D has 57") as error:
        stylegan_v_units(path)
    _one_line_naming(error, path)


def test_tensors_on_thousands_of_storages_are_each_read(tmp_path: Path) -> None:
    """10,000 tensors on their own storages, each read once (the size bound keeps a running sum of the storages read;
    summing them all again for each tensor took 7.5 s)."""
    root = _module("Root", **{f"t{key}": _Crafted(str(key), (0,)) for key in range(10_000)})
    path = _crafted_archive(tmp_path / "storages.pt", root, storages=10_000)
    assert len(read_script_archive(path).tensors) == 10_000


def test_a_pickled_name_that_is_not_utf8_is_one_line_naming_the_file(tmp_path: Path) -> None:
    path = _crafted_archive(tmp_path / "utf8.pt", _module("Root", top=_Crafted("0", (0,))), tamper=b"\xff\xfe")
    with pytest.raises(WeightsError, match="data.pkl is not a module tree") as error:
        stylegan_v_units(path)
    _one_line_naming(error, path)


@pytest.mark.parametrize(("buffer", "value", "problem"), [("running_mean", float("nan"), "values that are not finite"),
                                                          ("running_var", -1.0, "a negative variance")])
def test_damaged_batch_norm_statistics_are_refused_naming_the_tensor(
        tmp_path: Path, buffer: str, value: float, problem: str) -> None:
    port = HassonyI3D(3).eval()
    norm = next(module for module in port.modules() if isinstance(module, nn.BatchNorm3d))
    getattr(norm, buffer)[0] = value
    path = Path(script(port, str(tmp_path / "damaged.pt")))
    with pytest.raises(WeightsError, match=f"{buffer} \\(unit .*\\) holds {problem}; the file is damaged") as error:
        stylegan_v_units(path)
    _one_line_naming(error, path)


def test_code_text_beyond_any_networks_is_refused_before_it_is_parsed(
        ports: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(i3d_torchscript, "MAX_CODE_CHARS", 100)

    def parsing(_: str) -> None:
        raise AssertionError("parsed the code of an archive it should have refused")

    monkeypatch.setattr(i3d_torchscript, "_parse", parsing)
    path = ports["hassony2-style"][1]
    with pytest.raises(WeightsError, match="its code text holds .* characters, far more than a network's code") \
            as error:
        stylegan_v_units(path)
    _one_line_naming(error, path)


@pytest.mark.parametrize(("code", "expected"), [
    ("def batch_norm(a, b, c, d, e, f=False, m=0.1, eps=1e-5): pass", [1e-5]),
    ("def batch_norm(a, b=1, /, eps=2e-3): pass", [2e-3]),  # defaults also cover positional-only parameters
    ("def batch_norm(a, *, eps=3e-4): pass", [3e-4]),
    ("def batch_norm(a, b=0.5, /, c=1, *, eps=None): pass", []),
])
def test_the_default_epsilon_of_the_codes_own_batch_norm_is_the_one_eps_takes(code: str, expected: list) -> None:
    assert list(i3d_torchscript._default_eps(ast.parse(code))) == expected
