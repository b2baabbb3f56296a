"""StyleGAN-V's I3D detector (``i3d_torchscript.pt``, a TorchScript port of the TF-hub network) read without running
it, as frechet's folded I3D weights (:mod:`frechet_video.i3d`).

The port's module names are not assumed: the archive's modules are walked in the order it stores them (the order its
modules were built in); every module with a 5-D ``weight`` is a convolution (with ``bias``, where it has one), and
every module holding ``running_mean`` and ``running_var`` a batch norm (with ``weight`` and ``bias`` for its scale
and shift where it has them): torch's own attribute names, which a port built from ``nn.Conv3d`` and a batch norm
keeps whatever it calls its modules. Other tensors (a buffer of the input's scaling) are left alone. Each convolution takes a batch norm beside it in the same parent module, else the
next one unused after it; the pairs are matched in order to the 57 units of TF-hub's network (:data:`UNITS`, TF's
order), each shape checked against its unit, and the one convolution left after them, which must have a bias, is
the logits. Shapes cannot tell apart the first 1x1 units of Branch_0 and Branch_1 in Mixed_3c and Mixed_4d (same
shapes): there the archive's order is trusted.

Each batch norm's epsilon comes from the archive's code text, parsed (never compiled or run): an ``eps`` attribute
of the module, its class's ``eps : Final[float]`` constant, or the 8th argument (or ``eps=``) of a ``batch_norm``
call in its class's code (under an alias as TorchScript writes ``_0 = ….batch_norm`` too), else in its parent's;
failing those, the one value all of the archive's code agrees on; failing that, TF's 1e-3 with a warning. A frozen
archive (``torch.jit.freeze``: batch norms folded into convolutions, the weights inlined as constants of the code)
is refused: which constant is which unit is only readable by running the code.
"""

from __future__ import annotations

import ast
import logging
import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from frechet.errors import WeightsError
from frechet.torchscript_archive import ArchiveError, ScriptArchive, ScriptModule, read_script_archive
from frechet_video.i3d import BN_EPSILON, LOGITS, UNITS, fold_unit

log = logging.getLogger("frechet")

#: The most code text parsed for epsilons (StyleGAN-V's detector has a few hundred kilobytes at most).
MAX_CODE_CHARS = 8 << 20
#: What to pass instead, said after every refusal.
_WHAT = ("pass StyleGAN-V's i3d_torchscript.pt (a TorchScript port of the TF-hub I3D), or the TF-hub or TATS "
         "weights with --weights PATH")


@dataclass(frozen=True)
class _Norm:
    """A batch norm found in the archive: its module and the paths of its tensors (scale and shift optional)."""

    module: ScriptModule
    parent: str
    order: int

    def tensor(self, name: str) -> str | None:
        return _join(self.module.path, name) if name in self.module.tensors else None


@dataclass(frozen=True)
class _Conv:
    """A convolution found in the archive: the path of its 5-D weight, its bias (if any), and its module."""

    weight: str
    bias: str | None
    module: str
    order: int


def stylegan_v_units(path: str | Path) -> dict[str, torch.Tensor]:
    """frechet's folded state dict (``<unit>.weight``, ``<unit>.bias``) from StyleGAN-V's ``i3d_torchscript.pt``
    or any TorchScript port of the TF-hub I3D; WeightsError naming the file where it is not one."""
    try:
        archive = read_script_archive(path)
    except ArchiveError as error:
        raise WeightsError(f"{error}; {_WHAT}") from None
    except OSError as error:
        raise WeightsError(f"{path}: cannot read ({error.strerror or error}); {_WHAT}") from None
    try:
        return _units(archive, str(path))
    except ValueError as error:
        raise WeightsError(f"{path}: {error}; {_WHAT}") from None


def _units(archive: ScriptArchive, name: str) -> dict[str, torch.Tensor]:
    convs, norms = _layers(archive)
    units = [unit for unit in UNITS if unit != LOGITS]
    if len(convs) > len(units) + 1:  # refused before pairing, whose work grows with convolutions times batch norms
        raise ValueError(f"holds {len(convs):,} convolutions, but I3D has {len(units)} units with batch norms and one "
                         "logits convolution")
    if not norms and archive.constant_tensors:
        raise ValueError("a frozen TorchScript archive (torch.jit.freeze): its weights are constants of its code, "
                         "with the batch norms folded in, and which is which unit is only readable by running it; "
                         "pass the archive as saved before freezing")
    pairs = _pairs(convs, norms)
    if len(pairs) != len(units) or len(convs) != len(units) + 1:
        raise ValueError(f"holds {len(pairs)} convolutions with a batch norm and {len(convs) - len(pairs)} without, "
                         f"but I3D has {len(units)} units with batch norms and one logits convolution")
    epsilons = _Epsilons(archive, name)
    folded: dict[str, torch.Tensor] = {}
    for unit, (conv, norm) in zip(units, pairs):
        cin, cout, kernel = UNITS[unit]
        weight = _checked(archive, conv.weight, (cout, cin, kernel, kernel, kernel), unit)
        stats = {key: _checked(archive, norm.tensor(key), (cout,), unit)
                 for key in ("running_mean", "running_var", "weight", "bias") if norm.tensor(key) is not None}
        if (stats["running_var"] < 0).any():
            raise ValueError(f"{norm.tensor('running_var')} (unit {unit}) holds a negative variance; the file is damaged")
        mean = stats["running_mean"]
        if conv.bias is not None:  # BN(conv(x) + b) = BN'(conv(x)) with the mean shifted by b
            mean = mean - _checked(archive, conv.bias, (cout,), unit)
        folded[f"{unit}.weight"], folded[f"{unit}.bias"] = fold_unit(
            weight, stats.get("bias", np.zeros(cout)), mean, stats["running_var"], gamma=stats.get("weight"),
            eps=epsilons.of(norm),
        )
    logits = convs[-1]
    cin, cout, _ = UNITS[LOGITS]
    if logits.bias is None:
        raise ValueError(f"its last convolution ({logits.weight}) has no bias, but I3D's logits convolution has one")
    folded[f"{LOGITS}.weight"] = torch.from_numpy(
        _checked(archive, logits.weight, (cout, cin, 1, 1, 1), LOGITS).astype(np.float32))
    folded[f"{LOGITS}.bias"] = torch.from_numpy(_checked(archive, logits.bias, (cout,), LOGITS).astype(np.float32))
    return folded


def _layers(archive: ScriptArchive) -> tuple[list[_Conv], list[_Norm]]:
    """The convolutions and batch norms of the module tree, in the archive's order."""
    convs: list[_Conv] = []
    norms: list[_Norm] = []
    for order, module in enumerate(archive.modules):
        parent = module.path.rpartition(".")[0] if module.path else ""
        if "running_mean" in module.tensors and "running_var" in module.tensors:
            norms.append(_Norm(module, parent, order))
            continue
        if "weight" in module.tensors and archive.tensors[_join(module.path, "weight")].dim() == 5:
            bias = _join(module.path, "bias") if "bias" in module.tensors else None
            convs.append(_Conv(_join(module.path, "weight"), bias, module.path, order))
    return convs, norms


def _pairs(convs: list[_Conv], norms: list[_Norm]) -> list[tuple[_Conv, _Norm]]:
    """Each convolution with its batch norm: an unused one in the same parent module (the first after it, else the
    first before it), else the next unused one after it. Pairing stops at the first convolution left without one."""
    used: set[int] = set()
    pairs = []
    for conv in convs:
        parent = conv.module.rpartition(".")[0] if conv.module else ""
        free = [norm for norm in norms if norm.order not in used]
        siblings = [norm for norm in free if norm.parent == parent]
        after = [norm for norm in siblings if norm.order > conv.order] or siblings
        chosen = after[0] if after else next((norm for norm in free if norm.order > conv.order), None)
        if chosen is None:
            break
        used.add(chosen.order)
        pairs.append((conv, chosen))
    return pairs


def _checked(archive: ScriptArchive, name: str | None, shape: tuple[int, ...], unit: str) -> np.ndarray:
    """The tensor ``name`` in float64, refusing a shape other than the one ``unit`` needs."""
    tensor = archive.tensors[name] if name is not None else None
    if tensor is None or tuple(tensor.shape) != shape or not tensor.is_floating_point():
        found = "nothing" if tensor is None else f"{tuple(tensor.shape)} ({tensor.dtype})"
        raise ValueError(f"{name} is {found}, but unit {unit} of I3D (TF order) needs a float tensor of shape {shape}")
    values = tensor.double().numpy()
    if not np.isfinite(values).all():
        raise ValueError(f"{name} (unit {unit}) holds values that are not finite; the file is damaged")
    return values


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


class _Epsilons:
    """Batch-norm epsilons as the archive's code text states them (parsed with :mod:`ast`, never run)."""

    def __init__(self, archive: ScriptArchive, name: str) -> None:
        self.name = name
        self.modules = {module.path: module for module in archive.modules}
        self.classes: dict[str, list[float]] = {}  # "file.py:Class" -> eps values its code states
        self.finals: dict[str, float] = {}  # "file.py:Class" -> its ``eps : Final[float]``
        size = sum(len(text) for text in archive.code.values())
        if size > MAX_CODE_CHARS:
            raise ValueError(f"its code text holds {size:,} characters, far more than a network's code (I3D's is a "
                             "few thousand lines); the archive is corrupt or crafted")
        trees = {file: _parse(text) for file, text in archive.code.items()}
        defaults = [eps for tree in trees.values() for eps in _default_eps(tree)]
        for file, tree in trees.items():
            for cls in (node for node in tree.body if isinstance(node, ast.ClassDef)):
                key = f"{file}:{cls.name}"
                final = _final_eps(cls)
                if final is not None:
                    self.finals[key] = final
                self.classes[key] = list(_call_eps(cls, defaults))
        own = (_epsilon(module.values.get("eps")) for module in archive.modules)
        stated = {*self.finals.values(), *(eps for values in self.classes.values() for eps in values),
                  *(eps for eps in own if eps is not None)}
        self.everywhere = sorted(stated)
        self.warned = False

    def of(self, norm: _Norm) -> float:
        """The epsilon of ``norm``: its own, its class's, its parent's, the archive's one value, else TF's."""
        for module in (norm.module, self.modules.get(norm.parent)):
            if module is None:
                continue
            own = _epsilon(module.values.get("eps"))
            if own is not None:
                return own
            key = _class_key(module.kind)
            if key in self.finals:
                return self.finals[key]
            values = set(self.classes.get(key, ()))
            if len(values) == 1:
                return values.pop()
        if len(self.everywhere) == 1:
            return self.everywhere[0]
        if self.everywhere:
            raise ValueError(f"its code states several batch-norm epsilons ({', '.join(map(str, self.everywhere))}) "
                             f"and which belongs to the batch norm {norm.module.path} is not readable")
        if not self.warned:
            log.warning("%s: its code states no batch-norm epsilon; using TF's %g", self.name, BN_EPSILON)
            self.warned = True
        return BN_EPSILON


def _class_key(kind: str) -> str:
    """``__torch__.a.b.Class`` -> ``__torch__/a/b.py:Class``, where TorchScript writes that class's code."""
    module, _, cls = kind.rpartition(".")
    return f"{module.replace('.', '/')}.py:{cls}"


def _parse(text: str) -> ast.Module:
    """A code file's syntax tree; an empty one for text that does not parse (it then states no epsilon)."""
    try:
        return ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return ast.Module(body=[], type_ignores=[])


def _final_eps(cls: ast.ClassDef) -> float | None:
    """The class's ``eps : Final[float] = value``, if it states one."""
    for node in cls.body:
        if (isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.target.id == "eps"
                and _names_final(node.annotation) and _epsilon(_literal(node.value)) is not None):
            return _epsilon(_literal(node.value))
    return None


def _names_final(annotation: ast.expr) -> bool:
    """Whether an annotation mentions ``Final`` (``Final[float]``, ``typing.Final[float]``), found by an iterative
    walk: however deep a crafted annotation nests, reading it cannot overflow the stack."""
    return any((isinstance(node, ast.Name) and node.id == "Final") or (isinstance(node, ast.Attribute)
                                                                        and node.attr == "Final")
               for node in ast.walk(annotation))


def _call_eps(cls: ast.ClassDef, defaults: list[float]) -> Iterator[float]:
    """The literal epsilon of each ``batch_norm`` call in the class's methods: its 8th argument or ``eps=``, or the
    default of the code's own ``def batch_norm`` where the call leaves it out. Calls through a local alias
    (``_0 = __torch__.torch.nn.functional.batch_norm`` … ``_0(…)``) count."""
    for method in (node for node in cls.body if isinstance(node, ast.FunctionDef)):
        aliases = {target.id for node in ast.walk(method) if isinstance(node, ast.Assign)
                   and _names_batch_norm(node.value) for target in node.targets if isinstance(target, ast.Name)}
        for call in (node for node in ast.walk(method) if isinstance(node, ast.Call)):
            if not (_names_batch_norm(call.func) or (isinstance(call.func, ast.Name) and call.func.id in aliases)):
                continue
            keyword = next((item.value for item in call.keywords if item.arg == "eps"), None)
            value = _epsilon(_literal(call.args[7]) if len(call.args) > 7 else _literal(keyword))
            if value is not None:
                yield value
            elif len(call.args) <= 7 and keyword is None and len(set(defaults)) == 1:
                yield defaults[0]


def _default_eps(tree: ast.Module) -> Iterator[float]:
    """The ``eps`` default of each ``def batch_norm(…)`` at the top of a code file."""
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name == "batch_norm":
            arguments = node.args
            positional = [*arguments.posonlyargs, *arguments.args]  # defaults belong to the last of these
            pairs = [*zip(positional[len(positional) - len(arguments.defaults):], arguments.defaults),
                     *zip(arguments.kwonlyargs, arguments.kw_defaults)]
            for arg, default in pairs:
                if arg.arg == "eps" and _epsilon(_literal(default)) is not None:
                    yield _epsilon(_literal(default))


def _names_batch_norm(node: ast.expr) -> bool:
    """``batch_norm``, ``torch.batch_norm``, ``__torch__.torch.nn.functional.batch_norm``, …"""
    return (isinstance(node, ast.Name) and node.id == "batch_norm") or (
        isinstance(node, ast.Attribute) and node.attr == "batch_norm")


def _literal(node: ast.expr | None) -> object:
    if node is None:
        return None
    try:
        return ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, RecursionError, MemoryError):
        return None


def _epsilon(value: object) -> float | None:
    """``value`` as an epsilon: a finite, non-negative int or float (no bool), else None (an int too large for a
    float included)."""
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except OverflowError:
        return None
    return number if math.isfinite(number) and number >= 0 else None
