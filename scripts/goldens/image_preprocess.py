"""Goldens for image decoding and the three preprocessing modes: the peers' own network inputs on generated files.

Run in the reference venv (../shared/refenv.sh image):
    $(/work/shared/refenv.sh image) scripts/goldens/image_preprocess.py

It writes a small image set (PNG, JPEG, TIFF, BMP, WebP; several sizes and Pillow modes) to
tests/goldens/image/inputs/, then feeds every file through each peer's own code up to the first convolution:
torch-fidelity (ImagesPathDataset + FeatureExtractorInceptionV3: TF1 bilinear, (x-128)/128) for "tf",
pytorch-fid (ImagePathDataset + ToTensor + InceptionV3 with resize_input/normalize_input) for "pytorch-fid",
and clean-fid (ResizeDataset in "clean" mode + InceptionV3W's normalization) for "clean". The network weights are
never loaded; a hook captures the tensor entering the first layer. It records in tests/goldens/image/:
preprocess.json — per file the decoded uint8 shape and sha256, and per mode the sha256 of the float32 input bytes;
preprocess.npz  — per file and mode the float32 values at fixed sampled positions plus the whole border, and the
float64 mean of each channel, so a test can report the max abs error where hashes differ. For extra in-memory
noise arrays of awkward sizes (1x1, 5x299, 598x451, …) it records the sha256 of each peer's input as well.
It also checks that each peer's result does not depend on the batch it is computed in.
"""

from __future__ import annotations

import hashlib
import json
from importlib.metadata import version
from contextlib import contextmanager
from pathlib import Path
from unittest import mock

import numpy as np
import torch
from PIL import Image

ROOT = Path(__file__).resolve().parents[2]
GOLDENS = ROOT / "tests" / "goldens" / "image"
INPUTS = GOLDENS / "inputs"
MODES = ("tf", "pytorch-fid", "clean")
SIZE = 299
SAMPLES = 2048
SEED = 3
#: (height, width) of extra in-memory arrays fed straight to each peer's resize: tiny, thin, near-299, large.
ARRAY_SIZES = [(1, 1), (2, 3), (5, 299), (299, 5), (298, 300), (301, 299), (150, 149), (598, 451)]


# ------------------------------------------------------------------------------------------------ the image set
def _picture(width: int, height: int, rng: np.random.Generator, noise: float = 12.0) -> np.ndarray:
    """A uint8 (H, W, 3) picture with smooth gradients, fine stripes, hard-edged blocks and some noise."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float64)
    u, v = x / max(width - 1, 1), y / max(height - 1, 1)
    red = 255 * u
    green = 127.5 + 127.5 * np.sin(2 * np.pi * (3 * u + 2 * v))
    blue = 255 * (1 - v) * (0.5 + 0.5 * np.cos(x / 1.7))
    picture = np.stack([red, green, blue], axis=-1)
    for _ in range(4):
        x0, y0 = rng.integers(0, width), rng.integers(0, height)
        picture[y0 : y0 + max(height // 4, 1), x0 : x0 + max(width // 5, 1)] = rng.integers(0, 256, 3)
    picture += rng.normal(0.0, noise, picture.shape)
    return np.clip(np.rint(picture), 0, 255).astype(np.uint8)


def write_inputs() -> list[Path]:
    """Write the image set; every file is made from a seeded generator, so the set is reproducible."""
    rng = np.random.default_rng(SEED)
    INPUTS.mkdir(parents=True, exist_ok=True)
    files: dict[str, Image.Image | tuple[Image.Image, dict]] = {}
    for width, height in [(32, 32), (64, 48), (299, 299), (300, 297), (17, 301)]:
        files[f"rgb_{width}x{height}.png"] = Image.fromarray(_picture(width, height, rng))
    for width, height in [(333, 517), (512, 384), (1000, 750)]:
        files[f"rgb_{width}x{height}.jpg"] = (Image.fromarray(_picture(width, height, rng, 4.0)), {"quality": 90})
    files["rgb_120x100.bmp"] = Image.fromarray(_picture(120, 100, rng))
    files["rgb_150x110.webp"] = (Image.fromarray(_picture(150, 110, rng)), {"lossless": True})
    files["l_100x80.png"] = Image.fromarray(_picture(100, 80, rng)[:, :, 1])
    files["l_81x81.jpg"] = Image.fromarray(_picture(81, 81, rng)[:, :, 0])
    gray_alpha = np.stack([_picture(50, 70, rng)[:, :, 0], _picture(50, 70, rng)[:, :, 2]], axis=-1)
    files["la_50x70.png"] = Image.fromarray(gray_alpha)
    rgba = np.concatenate([_picture(120, 90, rng), _picture(120, 90, rng)[:, :, :1]], axis=-1)
    files["rgba_120x90.png"] = Image.fromarray(rgba)
    palette = Image.fromarray(_picture(77, 65, rng)).quantize(colors=16, dither=Image.Dither.NONE)
    files["p_77x65.png"] = (palette, {"transparency": 3})
    files["cmyk_90x60.jpg"] = (Image.fromarray(_picture(90, 60, rng)).convert("CMYK"), {"quality": 92})
    sixteen = (_picture(64, 64, rng)[:, :, 0].astype(np.uint16) * 4).astype(np.uint16)  # 0..1020: beyond 8 bits
    files["i16_64x64.png"] = Image.fromarray(sixteen)
    files["i32_45x35.tiff"] = Image.fromarray(_picture(45, 35, rng)[:, :, 1].astype(np.int32) * 2 - 100)
    files["f_40x30.tiff"] = Image.fromarray(_picture(40, 30, rng)[:, :, 2].astype(np.float32) * 1.3 - 20.25)
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90° clockwise to display
    files["exif_rot6_64x40.jpg"] = (Image.fromarray(_picture(64, 40, rng, 4.0)), {"quality": 95, "exif": exif})
    written = []
    for name, spec in files.items():
        image, options = spec if isinstance(spec, tuple) else (spec, {})
        image.save(INPUTS / name, **options)
        written.append(INPUTS / name)
    return sorted(written)


# ------------------------------------------------------------------------------------------------ the peers
class _Captured(Exception):
    """Raised by the hook on a network's first layer, carrying the tensor that would have entered it."""

    def __init__(self, tensor: torch.Tensor) -> None:
        super().__init__()
        self.tensor = tensor


def _capture(module, args):
    raise _Captured(args[0].detach().clone())


def _first_input(model, batch: torch.Tensor) -> torch.Tensor:
    try:
        with torch.no_grad():
            model(batch)
    except _Captured as captured:
        return captured.tensor
    raise RuntimeError("the first layer was never reached")


@contextmanager
def _no_weights(module):
    """Build a peer's network without its weights: nothing is downloaded, nothing is loaded."""
    with mock.patch.object(module, "load_state_dict_from_url", lambda *args, **kwargs: {}), \
            mock.patch.object(torch.nn.Module, "load_state_dict", lambda self, *args, **kwargs: None):
        yield


class _Normalization(torch.nn.Module):
    """Stands in for clean-fid's torchscript layers: the input it is given is the network input."""

    def forward(self, x):
        raise _Captured(x.detach().clone())


def array_image(height: int, width: int) -> np.ndarray:
    """A uint8 (H, W, 3) noise image from PCG64's raw byte stream (stable across NumPy versions)."""
    raw = np.random.default_rng([SEED, height, width]).bytes(height * width * 3)
    return np.frombuffer(raw, dtype=np.uint8).reshape(height, width, 3)


def peer_array_inputs() -> dict[str, object]:
    """mode -> function from a uint8 (H, W, 3) array to the peer's network input (1, 3, 299, 299)."""
    import cleanfid.resize
    import torchvision.transforms as transforms

    pipelines = peer_pipelines()
    resize_clean = cleanfid.resize.build_resizer("clean")
    return {
        "tf": lambda array: _first_input(pipelines["tf"][1], torch.from_numpy(array.copy()).permute(2, 0, 1)[None]),
        "pytorch-fid": lambda array: _first_input(pipelines["pytorch-fid"][1], transforms.ToTensor()(array)[None]),
        "clean": lambda array: _first_input(pipelines["clean"][1], transforms.ToTensor()(resize_clean(array))[None]),
    }


def peer_pipelines() -> dict[str, tuple]:
    """mode -> (dataset over files, model up to its first layer), each built from the peer's own classes."""
    import cleanfid.inception_torchscript
    import cleanfid.utils
    import pytorch_fid.fid_score
    import pytorch_fid.inception
    import torch_fidelity.datasets
    import torch_fidelity.feature_extractor_inceptionv3 as fidelity_inception
    import torchvision.transforms as transforms

    with _no_weights(fidelity_inception):
        fidelity = fidelity_inception.FeatureExtractorInceptionV3("inception-v3-compat", ["2048"])
    fidelity.Conv2d_1a_3x3.register_forward_pre_hook(_capture)

    with _no_weights(pytorch_fid.inception):
        pytorch_fid_model = pytorch_fid.inception.InceptionV3(output_blocks=[0]).eval()
    pytorch_fid_model.blocks[0].register_forward_pre_hook(_capture)

    clean = cleanfid.inception_torchscript.InceptionV3W.__new__(cleanfid.inception_torchscript.InceptionV3W)
    torch.nn.Module.__init__(clean)
    clean.resize_inside = False
    clean.layers = _Normalization()

    return {
        "tf": (lambda files: torch_fidelity.datasets.ImagesPathDataset(files), fidelity),
        "pytorch-fid": (
            lambda files: pytorch_fid.fid_score.ImagePathDataset(files, transforms=transforms.ToTensor()),
            pytorch_fid_model,
        ),
        "clean": (lambda files: cleanfid.utils.ResizeDataset(files, mode="clean"), clean),
    }


# ------------------------------------------------------------------------------------------------ goldens
def sample_positions() -> np.ndarray:
    """Flat indices into a (3, SIZE, SIZE) tensor: SAMPLES seeded random ones, then every border value."""
    rng = np.random.default_rng(SEED)
    random = rng.choice(3 * SIZE * SIZE, size=SAMPLES, replace=False)
    grid = np.arange(3 * SIZE * SIZE).reshape(3, SIZE, SIZE)
    border = np.concatenate([grid[:, 0, :], grid[:, -1, :], grid[:, :, 0], grid[:, :, -1]], axis=1).ravel()
    return np.concatenate([np.sort(random), border]).astype(np.int64)


def _sha256(array: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(array).tobytes()).hexdigest()


def main() -> None:
    files = write_inputs()
    names = [path.name for path in files]
    positions = sample_positions()
    values = np.zeros((len(files), len(MODES), positions.size), dtype=np.float32)
    channel_mean = np.zeros((len(files), len(MODES), 3), dtype=np.float64)
    record: dict[str, dict] = {name: {} for name in names}

    import torch_fidelity.datasets

    decoded = torch_fidelity.datasets.ImagesPathDataset([str(path) for path in files])
    for index, name in enumerate(names):
        rgb = decoded[index].permute(1, 2, 0).numpy()  # the peers all decode with Image.open(path).convert("RGB")
        record[name]["decoded"] = {"shape": list(rgb.shape), "sha256": _sha256(rgb)}

    for mode_index, (mode, (make_dataset, model)) in enumerate(peer_pipelines().items()):
        dataset = make_dataset([str(path) for path in files])
        for index, name in enumerate(names):
            item = dataset[index]
            single = _first_input(model, item[None])[0].to(torch.float32)
            paired = _first_input(model, torch.stack([item, item.flip(-1)]))[0].to(torch.float32)
            if not torch.equal(single, paired):
                raise SystemExit(f"{mode}: {name} changes with its batch; the golden would be ambiguous")
            if tuple(single.shape) != (3, SIZE, SIZE):
                raise SystemExit(f"{mode}: {name} gave shape {tuple(single.shape)}")
            array = single.numpy()
            record[name][mode] = _sha256(array)
            values[index, mode_index] = array.ravel()[positions]
            channel_mean[index, mode_index] = array.astype(np.float64).mean(axis=(1, 2))

    arrays: dict[str, dict] = {}
    for height, width in ARRAY_SIZES:
        array = array_image(height, width)
        arrays[f"{height}x{width}"] = {
            mode: _sha256(make(array)[0].to(torch.float32).numpy()) for mode, make in peer_array_inputs().items()
        }

    packages = ("torch", "pillow", "numpy", "torch-fidelity", "pytorch-fid", "clean-fid")
    versions = {name: version(name) for name in packages}
    golden = {
        "source": "scripts/goldens/image_preprocess.py",
        "modes": list(MODES),
        "size": SIZE,
        "versions": versions,
        "files": record,
        "arrays": arrays,
    }
    (GOLDENS / "preprocess.json").write_text(json.dumps(golden, indent=1) + "\n")
    np.savez_compressed(
        GOLDENS / "preprocess.npz",
        files=np.array(names),
        modes=np.array(MODES),
        positions=positions,
        values=values,
        channel_mean=channel_mean,
    )
    between = {
        f"{a} vs {b}": float(np.abs(values[:, i] - values[:, j]).max())
        for i, a in enumerate(MODES)
        for j, b in enumerate(MODES)
        if i < j
    }
    print(json.dumps({"files": len(names), "versions": versions, "max_abs_between_modes": between}, indent=1))


if __name__ == "__main__":
    main()
