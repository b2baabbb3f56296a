"""Goldens for MIND and the Vendi score: torch-fidelity's ``metric_mind`` and the ``vendi-score`` package on committed
feature fixtures.

MIND is not in a torch-fidelity release yet; it is on its master branch (torch_fidelity/metric_mind.py). Run with
the reference venv (../shared/refenv.sh image) plus ``pip install vendi-score``, and a checkout of torch-fidelity's
master outside this repository:

    $(../shared/refenv.sh image) scripts/goldens/mind_vendi.py --torch-fidelity /tmp/torch-fidelity-master

Writes tests/goldens/metrics/mind_{real,fake}.npy, vendi_features.npy (float32, made here deterministically) and
mind_vendi.json (the peers' values, their versions and the commit of torch-fidelity used). MIND's fixtures have
different counts (the larger side is subsampled), one case with equal counts (no permutation) and one of two halves
of the real set (a small MIND). The script also
shows that the seed and the subsampling move MIND far more than the tolerance (1e-6 relative), so a wrong
generator order would be caught.
"""

import argparse
import importlib.metadata
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import torch

GOLDENS = Path(__file__).resolve().parents[2] / "tests" / "goldens" / "metrics"
MIND_CASES = {  # name -> (rows of real, rows of fake, directions, seed)
    "default": (700, 500, 1000, 2020),
    "equal_counts": (500, 500, 1000, 2020),
    "fake_larger_seed_7": (500, 700, 250, 7),
}
VENDI_ORDERS = (1.0, 0.5, 2.0, "inf")


def fixtures(seed: int = 2026) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """MIND's real (700 × 32) and fake (700 × 32, shifted, rescaled, skewed) features and Vendi's 600 × 48
    features (a few clusters of different spread, so the eigenvalues are far from uniform)."""
    rng = np.random.default_rng(seed)
    mixing = rng.standard_normal((32, 32)) / np.sqrt(32)
    real = rng.standard_normal((700, 32)) @ mixing
    fake = (0.8 * rng.standard_normal((700, 32)) + 0.2) @ mixing + 0.3 * rng.exponential(size=(700, 32))
    centres = 3.0 * rng.standard_normal((6, 48))
    labels = rng.integers(0, 6, size=600)
    vendi = centres[labels] + rng.standard_normal((600, 48)) * (0.2 + labels[:, None] / 5.0)
    return real.astype(np.float32), fake.astype(np.float32), vendi.astype(np.float32)


def mind_cases(real: np.ndarray, fake: np.ndarray) -> dict:
    from torch_fidelity.metric_mind import KEY_METRIC_MIND, mind_features_to_metric

    cases = {}
    for name, (n_real, n_fake, directions, seed) in MIND_CASES.items():
        # torch-fidelity's convention: input1 is the generated set, input2 the reference
        out = mind_features_to_metric(torch.from_numpy(fake[:n_fake]), torch.from_numpy(real[:n_real]),
                                      mind_num_projections=directions, cuda=False, rng_seed=seed, verbose=False)
        cases[name] = {"n_real": n_real, "n_fake": n_fake, "directions": directions, "seed": seed,
                       "mind": out[KEY_METRIC_MIND]}
    # two halves of the real set: a small MIND, where float32 rounding weighs most
    out = mind_features_to_metric(torch.from_numpy(real[350:]), torch.from_numpy(real[:350]),
                                  mind_num_projections=1000, cuda=False, rng_seed=2020, verbose=False)
    cases["same_distribution"] = {"real_rows": [0, 350], "fake_rows_of_real": [350, 700], "directions": 1000,
                                  "seed": 2020, "mind": out[KEY_METRIC_MIND]}
    return cases


def mind_sensitivity(real: np.ndarray, fake: np.ndarray) -> dict:
    """How far MIND moves with another seed, or without subsampling the larger side: far beyond 1e-6."""
    from torch_fidelity.metric_mind import KEY_METRIC_MIND, mind_features_to_metric

    def value(x: np.ndarray, y: np.ndarray, seed: int) -> float:
        out = mind_features_to_metric(torch.from_numpy(y), torch.from_numpy(x), mind_num_projections=1000,
                                      cuda=False, rng_seed=seed, verbose=False)
        return out[KEY_METRIC_MIND]

    base = value(real, fake[:500], 2020)
    return {
        "other_seed_relative": abs(value(real, fake[:500], 2021) / base - 1),
        "first_rows_instead_of_permutation_relative": abs(value(real[:500], fake[:500], 2020) / base - 1),
    }


def vendi_cases(features: np.ndarray) -> dict:
    from vendi_score import vendi

    x = features.astype(np.float64)
    normalised = x / np.linalg.norm(x, axis=1, keepdims=True)
    similarity = normalised @ normalised.T
    cases = {"score_X_q1": float(vendi.score_X(x)), "float32_input_score_dual_q1": float(vendi.score_dual(features))}
    for q in VENDI_ORDERS:
        cases[f"score_dual_q{q}"] = float(vendi.score_dual(x, q=q))
        cases[f"score_K_q{q}"] = float(vendi.score_K(similarity, q=q))
    return cases


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--torch-fidelity", type=Path, required=True, help="checkout of torch-fidelity's master")
    args = parser.parse_args()
    sys.path.insert(0, str(args.torch_fidelity))  # its metric_mind.py, ahead of the installed release
    commit = subprocess.run(["git", "-C", str(args.torch_fidelity), "rev-parse", "HEAD"], capture_output=True,
                            text=True, check=True).stdout.strip()
    real, fake, vendi_features = fixtures()
    GOLDENS.mkdir(parents=True, exist_ok=True)
    for name, array in (("mind_real", real), ("mind_fake", fake), ("vendi_features", vendi_features)):
        np.save(GOLDENS / f"{name}.npy", array)
    golden = {
        "sources": {"torch_fidelity_master_commit": commit, "vendi_score": importlib.metadata.version("vendi-score"),
                    "torch": torch.__version__, "numpy": np.__version__},
        "mind": mind_cases(real, fake),
        "mind_sensitivity": mind_sensitivity(real, fake),
        "vendi": vendi_cases(vendi_features),
    }
    (GOLDENS / "mind_vendi.json").write_text(json.dumps(golden, indent=2) + "\n")
    print(json.dumps(golden, indent=2))


if __name__ == "__main__":
    main()
