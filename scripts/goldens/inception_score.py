"""Golden for the Inception Score formula: torch-fidelity's ISC on a fixed logits matrix.

Run in the reference venv (../shared/refenv.sh image):  $(../shared/refenv.sh image) scripts/goldens/inception_score.py
Writes tests/goldens/inception_score_logits.npy and tests/goldens/inception_score.json.
"""

import json
from pathlib import Path

import numpy as np
import torch
from torch_fidelity.metric_isc import isc_features_to_metric

GOLDENS = Path(__file__).resolve().parents[2] / "tests" / "goldens"

logits = (np.random.default_rng(7).standard_normal((120, 50)) * 3).astype(np.float32)
np.save(GOLDENS / "inception_score_logits.npy", logits)
cases = {}
for splits in (10, 4):
    out = isc_features_to_metric(torch.from_numpy(logits), splits=splits, shuffle=True, rng_seed=2020)
    cases[f"splits_{splits}"] = {"splits": splits, "seed": 2020, "is_mean": out["inception_score_mean"],
                                 "is_std": out["inception_score_std"]}
(GOLDENS / "inception_score.json").write_text(json.dumps({"source": "torch-fidelity isc_features_to_metric",
                                                          "cases": cases}, indent=2) + "\n")
print(json.dumps(cases, indent=2))
