"""The ``cmmd`` metric: CMMD (Jayasumana et al., CVPR 2024), the RBF-kernel MMD of ``mmd`` on CLIP embeddings.

It is ``mmd`` with σ = 10 (the biased estimator over all pairs, diagonal included, × 1000) whose embedder, when
none is named, is CMMD's own: ``clip-vitl14-336`` in ``cmmd`` preprocessing, normalized output. CMMD's reference
code embeds each image set in batches of 32 and drops the last N mod 32 images of each set; option ``cmmd_batch``
reproduces that (``auto``: 32 for features from an embedder in ``cmmd`` preprocessing, 0 otherwise; 0 keeps every
image) and the dropped count is logged and reported.
"""

from __future__ import annotations

import logging
from typing import Any

from frechet.errors import ConfigError
from frechet.metrics.base import Metric, MetricContext, Need, Side
from frechet.metrics.mmd import mmd

log = logging.getLogger("frechet")

#: The batch size of CMMD's reference code, whose remainder it drops.
REFERENCE_BATCH = 32


class CMMDMetric(Metric):
    """Keys ``cmmd``, ``cmmd_dropped_real``, ``cmmd_dropped_fake``; option ``cmmd_batch`` (auto, or a whole number)."""

    name = "cmmd"
    options = {"cmmd_batch": "auto"}
    default_embedder = "clip-vitl14-336"

    def needs(self, context: MetricContext) -> list[Need]:
        return [Need(context.output, "features")]

    def compute(self, real: Side, fake: Side, context: MetricContext) -> dict[str, Any]:
        batch = _batch(context)
        kept, dropped = [], []
        for side in (real, fake):
            features = side.features_of(context.output, self.name)
            count = len(features) - len(features) % batch if batch else len(features)
            if batch and count == 0:
                raise ConfigError(f"cmmd: {side.label} has {len(features)} items, fewer than one batch of {batch} "
                                  "(CMMD's reference drops them all); pass --metric-option cmmd_batch=0 to keep them")
            kept.append(features[:count])
            dropped.append(len(features) - count)
        if any(dropped):
            described = " and ".join(
                f"{n} of {len(rows) + n} items of {side.label}" for side, rows, n in zip((real, fake), kept, dropped)
            )
            log.warning("cmmd: dropped the last %s, as CMMD's reference code does with batches of %d; "
                        "--metric-option cmmd_batch=0 keeps every item", described, batch)
        value = mmd(kept[0], kept[1], device=context.device)
        return {"cmmd": value, "cmmd_dropped_real": dropped[0], "cmmd_dropped_fake": dropped[1]}


def _batch(context: MetricContext) -> int:
    """The batch whose remainder is dropped: ``auto`` is CMMD's 32 for its own preprocessing, else none."""
    value = context.options["cmmd_batch"]
    if str(value).strip().lower() == "auto":
        return REFERENCE_BATCH if "preprocess=cmmd" in context.embedder_id else 0
    try:
        number = int(str(value).strip())
    except ValueError:
        number = -1
    if isinstance(value, bool) or number < 0:
        raise ConfigError(f"metric option cmmd_batch must be auto or a whole number ≥ 0, got {value!r}")
    return number
