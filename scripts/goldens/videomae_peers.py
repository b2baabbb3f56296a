"""The peer's side of scripts/goldens/videomae_parity.py, run in the video reference environment (never imported by
frechet): cd-fvd 0.1.1's own VideoMAE-v2 model, preprocessing, feature statistics and distance on the clips and
random weights that script wrote.

Usage (by videomae_parity.py): REFENV_PYTHON videomae_peers.py WORKDIR
Reads WORKDIR/config.json ({"width", "depth", "heads", "hidden", "crop", "full"}), real.npy and fake.npy (uint8
(N, T, H, W, 3)) and weights.pth (the checkpoint, wrapped in "module"); writes WORKDIR/peers.npz: the network input
of every clip (cd-fvd's preprocess_videomae), the features (the model's forward_features, through cd-fvd's
get_videomae_features into its FeatureStats), cd-fvd's FVD from those statistics, and for the first real video the
input after cd-fvd's video-file loader step (data_utils.preprocess at ``crop``, then compute_real_stats' ``x 255``
and ``.byte()``) for both backbones: preprocess_videomae and preprocess_i3d of those bytes.

- "full": cd-fvd's own load_videomae_model (vit_giant_patch14_224 and its checkpoint loading) on weights.pth;
- otherwise cd-fvd's VisionTransformer with vit_giant_patch14_224's arguments but the reduced width, depth, heads and
  MLP units of config.json, loaded from weights.pth the way load_videomae_model does.
"""

from __future__ import annotations

import json
import sys
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


def main() -> None:
    from cdfvd import fvd as cd
    from cdfvd.third_party.VideoMAEv2.utils import preprocess_videomae
    from cdfvd.utils.metric_utils import FeatureStats

    work = Path(sys.argv[1])
    config = json.loads((work / "config.json").read_text())
    torch.set_num_threads(max(1, torch.get_num_threads()))
    model = _model(work, config)
    out: dict[str, np.ndarray] = {}
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
