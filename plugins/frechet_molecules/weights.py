"""Where ChemNet's weights come from, and loading them.

``ChemNet_v0.13_pretrained.pt`` ships inside the ``fcd`` wheel (bioinf-jku/FCD, torch's zip format) and the
``fcd_torch`` wheel (insilicomedicine/fcd_torch, torch's legacy format): two files with the same tensors. The file
is taken from ``--weights``, else from an installed ``fcd_torch`` or ``fcd`` package (found without importing it),
else from the weights folder under either canonical name, else downloaded from either project's repository. Both are
read by :mod:`frechet_molecules.chemnet_file`, which runs nothing from them, and the weights are named in the
embedder's id by a digest of their tensors, so statistics made from either file stay comparable.
"""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path

from frechet.errors import WeightsError
from frechet.optional import package_file
from frechet.weights import WeightsSpec, resolve_weights
from frechet_molecules.chemnet import ChemNet, build_chemnet
from frechet_molecules.chemnet_file import ChemNetFileError, Layer, read_chemnet_file

FILE_NAME = "ChemNet_v0.13_pretrained.pt"
#: The file in the fcd_torch 1.0.7 wheel (MIT), torch's legacy format.
FCD_TORCH_WEIGHTS = WeightsSpec(
    "ChemNet v0.13 (fcd_torch)",
    f"https://github.com/insilicomedicine/fcd_torch/raw/master/fcd_torch/{FILE_NAME}",
    sha256="a36658cc7c94d3c728eacd7ed2d2f104753bb2fde742c2817daefe9533a28080",
    filename="ChemNet_v0.13_pretrained-a36658cc.pt",
    description="ChemNet (Preuer et al. 2018) as fcd_torch 1.0.7 ships it",
)
#: The file in the fcd 1.2.2 wheel (LGPL-3.0: its data file only, none of its code, is read), torch's zip format.
FCD_WEIGHTS = WeightsSpec(
    "ChemNet v0.13 (fcd)",
    f"https://github.com/bioinf-jku/FCD/raw/master/fcd/{FILE_NAME}",
    sha256="c22e977602b30eeabd7f81e6c790dd3234c7d7788c6c3e7979d8720ccc96951a",
    filename="ChemNet_v0.13_pretrained-c22e9776.pt",
    description="the same tensors as fcd 1.2.2 ships them",
)
WEIGHTS = (FCD_TORCH_WEIGHTS, FCD_WEIGHTS)
#: The packages whose wheels hold the file, in the order they are looked in.
PACKAGES = ("fcd_torch", "fcd")


def installed_copy() -> Path | None:
    """The weights file inside an installed ``fcd_torch`` or ``fcd`` package, found without importing it."""
    for package in PACKAGES:
        candidate = package_file(package, FILE_NAME)
        if candidate is not None:
            return candidate
    return None


def resolve_chemnet_weights(path: str | Path | None = None) -> Path:
    """The weights file: ``path``, else an installed package's copy, else the weights folder's or a download."""
    if path is None:
        found = installed_copy()
        if found is not None:
            return found
    return resolve_weights(WEIGHTS, path)


def load_layers(path: Path) -> tuple[tuple[Layer, ...], str]:
    """The file's layers and the digest of their tensors (names, shapes and float32 values, in order; -0.0 counted
    as 0.0: the two published files differ only in the sign of the zeros of the LSTMs' second bias). Read once per
    version of the file (its size and modification time)."""
    try:
        status = Path(path).stat()
    except OSError:
        status = None
    return _load_layers(Path(path), None if status is None else (status.st_size, status.st_mtime_ns))


@functools.lru_cache(maxsize=4)
def _load_layers(path: Path, version: tuple[int, int] | None) -> tuple[tuple[Layer, ...], str]:
    try:
        layers = read_chemnet_file(path)
        build_chemnet(layers)
    except ChemNetFileError as error:
        raise WeightsError(f"{error}; pass ChemNet's {FILE_NAME} (from the fcd or fcd_torch package) as --weights") \
            from None
    digest = hashlib.sha256()
    for layer in layers:
        for name, tensor in layer.state.items():
            digest.update(f"{layer.kind}.{name}{tuple(tensor.shape)};".encode())
            digest.update((tensor + 0.0).contiguous().numpy().tobytes())
    return tuple(layers), digest.hexdigest()


def load_chemnet(path: Path) -> ChemNet:
    """A fresh network with the weights at ``path``, in eval mode."""
    layers, _ = load_layers(path)
    return build_chemnet(layers).eval()


def weights_digest(path: Path) -> str:
    """How the embedder id names these weights: the first 8 hex digits of their tensors' digest."""
    return load_layers(path)[1][:8]
