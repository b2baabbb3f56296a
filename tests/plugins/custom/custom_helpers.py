"""Helpers for the custom-backbone tests: tiny seeded CNNs, Pillow-drawn image folders, an FD oracle, the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import scipy.linalg
import torch
from PIL import Image, ImageDraw

from frechet.cli import main

#: Side of the generated images and of the tiny models' input.
SIZE = 32


class TinyCNN(torch.nn.Module):
    """Two strided convolutions and a global average pool: (B, 3, h, w) -> (B, dims) features."""

    def __init__(self, dims: int = 6, seed: int = 0) -> None:
        super().__init__()
        torch.manual_seed(seed)
        self.body = torch.nn.Sequential(
            torch.nn.Conv2d(3, 8, 3, stride=2, padding=1),
            torch.nn.ReLU(),
            torch.nn.Conv2d(8, dims, 3, stride=2, padding=1),
            torch.nn.AdaptiveAvgPool2d(1),
            torch.nn.Flatten(),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x) * 10


class TwoHeads(torch.nn.Module):
    """A model returning a dict of named outputs: the TinyCNN features and a 3-d projection of them."""

    def __init__(self) -> None:
        super().__init__()
        self.cnn = TinyCNN()
        self.project = torch.nn.Linear(6, 3)

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        features = self.cnn(x)
        return {"embedding": features, "projection": self.project(features)}


class WithMap(torch.nn.Module):
    """A dict model returning features and, beside them, the (B, C, h, w) map they were pooled from."""

    def __init__(self) -> None:
        super().__init__()
        self.convolutions = TinyCNN().body[:3]

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        feature_map = self.convolutions(x)
        return {"embedding": feature_map.mean(dim=(2, 3)), "map": feature_map}


class SpatialMap(torch.nn.Module):
    """A model that forgets to pool: returns a (B, C, h, w) feature map."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.nn.functional.avg_pool2d(x, 4)


class Flat(torch.nn.Module):
    """A model for one input size only: flatten, then a linear layer sized for SIZE x SIZE images."""

    def __init__(self) -> None:
        super().__init__()
        self.linear = torch.nn.Linear(3 * SIZE * SIZE, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(x.flatten(1))


def save_torchscript(module: torch.nn.Module, path: Path, *, trace: bool = True) -> Path:
    """Trace (or script) ``module`` on a SIZE x SIZE batch and save it as a TorchScript archive."""
    module.eval()
    scripted = torch.jit.trace(module, torch.rand(2, 3, SIZE, SIZE)) if trace else torch.jit.script(module)
    torch.jit.save(scripted, str(path))
    return path


def draw_images(folder: Path, count: int, shape: str, seed: int, size: tuple[int, int] = (SIZE, SIZE)) -> Path:
    """``count`` PNGs of ``size`` (width, height): a random-colour ``shape`` ("ellipse" or "rectangle") on a random
    background, drawn with Pillow."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    width, height = size
    for index in range(count):
        image = Image.new("RGB", size, tuple(int(v) for v in rng.integers(0, 256, 3)))
        draw = ImageDraw.Draw(image)
        x0, y0 = int(rng.integers(0, width // 2)), int(rng.integers(0, height // 2))
        x1, y1 = int(rng.integers(x0 + 4, width)), int(rng.integers(y0 + 4, height))
        getattr(draw, shape)((x0, y0, x1, y1), fill=tuple(int(v) for v in rng.integers(0, 256, 3)))
        image.save(folder / f"{index:03d}.png")
    return folder


def read_images(folder: Path) -> np.ndarray:
    """The folder's PNGs in name order as a uint8 (N, H, W, 3) array."""
    return np.stack([np.asarray(Image.open(path).convert("RGB")) for path in sorted(folder.glob("*.png"))])


def to_unit_batch(images: np.ndarray) -> torch.Tensor:
    """uint8 (N, H, W, 3) -> float32 (N, 3, H, W) in [0, 1], no resizing."""
    return torch.from_numpy(images).permute(0, 3, 1, 2).float() / 255


def oracle_fd(a: np.ndarray, b: np.ndarray) -> float:
    """The Fréchet distance of two feature sets, textbook formula in float64 with scipy's sqrtm."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    mu1, mu2 = a.mean(0), b.mean(0)
    s1, s2 = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    root = scipy.linalg.sqrtm(s1 @ s2).real
    return float(((mu1 - mu2) ** 2).sum() + np.trace(s1 + s2 - 2 * root))


def run_cli(capsys, *args: str) -> tuple[int, dict | None, str]:
    """Run ``frechet ARGS --json`` in-process: exit code, the JSON of the last stdout line (or None), stderr."""
    code = main([*args, "--json"])
    captured = capsys.readouterr()
    lines = captured.out.strip().splitlines()
    return code, json.loads(lines[-1]) if code == 0 and lines else None, captured.err


def save_onnx(
    module: TinyCNN,
    path: Path,
    *,
    batch: int | str = "batch",
    side: int | str = "side",
    outputs: tuple[str, ...] = ("embedding",),
) -> Path:
    """Write ``module`` as an ONNX graph built node by node with onnx's helper API (Conv, Relu, Conv,
    GlobalAveragePool, Flatten, Mul by 10), input "images" of shape (batch, 3, side, side).

    ``outputs`` picks graph outputs among "embedding" (B, dims), "unscaled" (B, dims, before the x10) and "map"
    (the (B, dims, h, w) map before pooling).
    """
    from onnx import TensorProto, helper, numpy_helper, save

    first, second = module.body[0], module.body[2]
    weights = {"w1": first.weight, "b1": first.bias, "w2": second.weight, "b2": second.bias, "ten": torch.tensor(10.0)}
    initializers = [numpy_helper.from_array(value.detach().numpy(), name) for name, value in weights.items()]
    conv = {"strides": [2, 2], "pads": [1, 1, 1, 1]}
    nodes = [
        helper.make_node("Conv", ["images", "w1", "b1"], ["hidden"], **conv),
        helper.make_node("Relu", ["hidden"], ["activated"]),
        helper.make_node("Conv", ["activated", "w2", "b2"], ["map"], **conv),
        helper.make_node("GlobalAveragePool", ["map"], ["pooled"]),
        helper.make_node("Flatten", ["pooled"], ["unscaled"]),
        helper.make_node("Mul", ["unscaled", "ten"], ["embedding"]),
    ]
    dims = second.out_channels
    shapes = {"embedding": [batch, dims], "unscaled": [batch, dims], "map": [batch, dims, None, None]}
    graph = helper.make_graph(
        nodes,
        "tiny_cnn",
        [helper.make_tensor_value_info("images", TensorProto.FLOAT, [batch, 3, side, side])],
        [helper.make_tensor_value_info(name, TensorProto.FLOAT, shapes[name]) for name in outputs],
        initializers,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)
    save(model, str(path))
    return path


def onnx_features(path: Path, batch: torch.Tensor, output: str = "embedding") -> np.ndarray:
    """Features straight from onnxruntime, one run over the whole batch."""
    import onnxruntime

    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run([output], {"images": batch.numpy()})[0].astype(np.float64)
