"""The peer's side of scripts/goldens/videomae_parity.py, run in the video reference environment (never imported by
frechet): cd-fvd 0.1.1's own VideoMAE-v2 model, preprocessing, feature statistics and distance on the clips and
random weights that script wrote.

Usage (by videomae_parity.py): REFENV_PYTHON videomae_peers.py WORKDIR
Reads WORKDIR/config.json ({"width", "depth", "heads", "hidden", "crop", "full", "clipwise"}), real.npy and fake.npy
(uint8 (N, T, H, W, 3)) and weights.pth (the checkpoint, wrapped in "module"); writes WORKDIR/peers.npz: the network
input of every clip (cd-fvd's preprocess_videomae), the features (the model's forward_features, through cd-fvd's
get_videomae_features into its FeatureStats), cd-fvd's FVD from those statistics, and for the first real video the
input after cd-fvd's video-file loader step (data_utils.preprocess at ``crop``, then compute_real_stats' ``x 255``
and ``.byte()``) for both backbones: preprocess_videomae and preprocess_i3d of those bytes.

- "full": cd-fvd's own load_videomae_model (vit_giant_patch14_224 and its checkpoint loading) on weights.pth;
- otherwise cd-fvd's VisionTransformer with vit_giant_patch14_224's arguments but the reduced width, depth, heads and
  MLP units of config.json, loaded from weights.pth the way load_videomae_model does;
- "clipwise" (the --full run): the clips go one at a time (real 0, fake 0, real 1, fake 1, ...) through
  get_videomae_features, each into its own FeatureStats, and each clip's features, network seconds and load
  averages are kept in WORKDIR/peer_<label><i>.npz, so a longer run picks up where a shorter or interrupted one
  stopped (the clips are a prefix of the longer run's: i3d_random_weights.parity_clips draws clip by clip). A side's
  statistics are then its clips' features appended in order to one FeatureStats (what get_videomae_features does
  batch by batch), and cd-fvd's FVD is computed from them when each side has at least two clips (one clip has no
  covariance); peers.npz also holds the clips' seconds and load averages, and the model's load seconds when it was
  loaded (not when every clip was kept).
"""

from __future__ import annotations

import json
import os
import sys
import time
from functools import partial
from pathlib import Path

import numpy as np
import torch
from einops import rearrange


def _model(work: Path, config: dict) -> torch.nn.Module:
    from cdfvd.third_party.VideoMAEv2 import videomaev2_finetune as finetune
    from cdfvd.third_party.VideoMAEv2.utils import load_videomae_model

    if config["full"]:
        return load_videomae_model(torch.device("cpu"), str(work / "weights.pth")).eval()
    model = finetune.VisionTransformer(
        img_size=224, patch_size=14, embed_dim=config["width"], depth=config["depth"], num_heads=config["heads"],
        mlp_ratio=config["hidden"] / config["width"], qkv_bias=True,
        norm_layer=partial(torch.nn.LayerNorm, eps=1e-6), num_classes=174, all_frames=16, tubelet_size=2,
        drop_path_rate=0.3, use_mean_pooling=True)
    ckpt = torch.load(work / "weights.pth", map_location="cpu")
    for key in ["model", "module"]:
        if key in ckpt:
            ckpt = ckpt[key]
            break
    model.load_state_dict(ckpt)
    return model.eval()


def _loader_inputs(video: np.ndarray, crop: int) -> dict[str, np.ndarray]:
    """cd-fvd's video-file loader step on one video, then each backbone's preprocessing of its bytes."""
    from cdfvd.third_party.i3d.utils import preprocess_i3d
    from cdfvd.third_party.VideoMAEv2.utils import preprocess_videomae
    from cdfvd.utils.data_utils import preprocess

    batch = {"video": preprocess(torch.from_numpy(video), crop)["video"][None]}
    videos = rearrange(batch["video"] * 255, "b c t h w -> b t h w c").byte().data.numpy()
    return {"crop_bytes": videos, "crop_input_videomae": preprocess_videomae(videos).numpy(),
            "crop_input_i3d": preprocess_i3d(videos).numpy()}


def _full(work: Path, config: dict, out: dict[str, np.ndarray]) -> None:
    """The published size clip by clip (kept per clip in ``work``), then the statistics and, with two clips a side
    or more, the FVD."""
    from cdfvd import fvd as cd
    from cdfvd.third_party.VideoMAEv2.utils import preprocess_videomae
    from cdfvd.utils.metric_utils import FeatureStats

    videos = {label: np.load(work / f"{label}.npy") for label in ("real", "fake")}
    for label, clips in videos.items():
        out[f"input_{label}"] = preprocess_videomae(clips).numpy()
    count = len(videos["real"])
    model = None
    for i in range(count):
        for label, clips in videos.items():
            kept = work / f"peer_{label}{i}.npz"
            if kept.exists():
                continue
            if model is None:
                start = time.perf_counter()
                model = _model(work, config)
                out["load_seconds"] = np.float64(time.perf_counter() - start)
            side = FeatureStats(max_items=None, capture_mean_cov=True, capture_all=True)
            load_before, start = os.getloadavg()[0], time.perf_counter()
            cd.get_videomae_features(side, model, clips[i:i + 1], batchsize=1, device="cpu")
            seconds = time.perf_counter() - start
            np.savez(kept, features=side.get_all(), seconds=seconds, load=[load_before, os.getloadavg()[0]])
            print(f"peer {label} {i}: {seconds:.1f} s", flush=True)
    stats = {}
    for label in videos:
        side = FeatureStats(max_items=None, capture_mean_cov=True, capture_all=True)
        for i in range(count):
            with np.load(work / f"peer_{label}{i}.npz") as kept:
                side.append(kept["features"])
                out[f"seconds_{label}"] = np.append(out.get(f"seconds_{label}", []), kept["seconds"])
                out[f"load_{label}"] = np.concatenate([out.get(f"load_{label}", np.empty((0, 2))), kept["load"][None]])
        out[f"features_{label}"] = side.get_all()
        stats[label] = side
    if count >= 2:
        out["fvd"] = np.float64(cd.cdfvd.compute_fvd_from_stats(None, stats["fake"], stats["real"]))


def main() -> None:
    from cdfvd import fvd as cd
    from cdfvd.third_party.VideoMAEv2.utils import preprocess_videomae
    from cdfvd.utils.metric_utils import FeatureStats

    work = Path(sys.argv[1])
    config = json.loads((work / "config.json").read_text())
    torch.set_num_threads(max(1, torch.get_num_threads()))
    out: dict[str, np.ndarray] = {"torch": np.str_(torch.__version__), "threads": np.int64(torch.get_num_threads())}
    if config.get("clipwise"):
        _full(work, config, out)
        np.savez(work / "peers.npz", **out)
        return
    model = _model(work, config)
    stats = {}
    for label in ("real", "fake"):
        videos = np.load(work / f"{label}.npy")
        out[f"input_{label}"] = preprocess_videomae(videos).numpy()
        side = FeatureStats(max_items=None, capture_mean_cov=True, capture_all=True)
        stats[label] = cd.get_videomae_features(side, model, videos, batchsize=1, device="cpu")
        out[f"features_{label}"] = side.get_all()
        print(label, "done", flush=True)
    out["fvd"] = np.float64(cd.cdfvd.compute_fvd_from_stats(None, stats["fake"], stats["real"]))
    if config["crop"]:
        out.update(_loader_inputs(np.load(work / "real.npy")[0], config["crop"]))
    np.savez(work / "peers.npz", **out)


if __name__ == "__main__":
    main()
