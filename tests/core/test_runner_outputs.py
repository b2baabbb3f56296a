"""The runner tells an embedder which outputs each input needs, so it can skip the rest, and checks what it returns."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import frechet
from frechet.embedder import Embedder
from frechet.errors import InputError
from frechet.plugins import get_registry


class _Recorder(Embedder):
    """Features embedder with a 'logits' output that records what each embed call requested."""

    name = "recorder"
    domain = "features"
    calls: list[frozenset[str]] = []

    def __init__(self) -> None:
        super().__init__()
        self.outputs = {"feat": 3, "logits": 4}
        self.default_output = "feat"

    def transform(self, item):
        return torch.as_tensor(item, dtype=torch.float32)

    def request_outputs(self, outputs):
        super().request_outputs(outputs)
        _Recorder.calls.append(self.requested_outputs)

    def forward(self, batch):
        return {name: batch[:, :3] if name == "feat" else batch[:, :4] for name in self.requested_outputs}


def test_each_side_requests_only_the_outputs_its_metrics_read():
    get_registry().add_embedder("recorder", _Recorder, domain="features", outputs={"feat": 3, "logits": 4},
                                description="test")
    _Recorder.calls = []
    rng = np.random.default_rng(0)
    real, fake = rng.standard_normal((12, 4)), rng.standard_normal((12, 4))
    result = frechet.compute(real, fake, embedder="recorder", metrics=["fd", "is"], progress=False)
    # FD reads "feat" of both sides; the Inception Score reads the logits of the fake side only.
    assert _Recorder.calls == [frozenset({"feat"}), frozenset({"feat", "logits"})]
    assert result["fd"] > 0 and result["is_mean"] >= 1


class _Overflowing(Embedder):
    """Features embedder whose output overflows to Inf for rows with a value above 100."""

    name = "overflowing"
    domain = "features"

    def __init__(self) -> None:
        super().__init__()
        self.outputs = {"feat": 3}
        self.default_output = "feat"

    def transform(self, item):
        return torch.as_tensor(item, dtype=torch.float32)

    def forward(self, batch):
        return {"feat": torch.exp(batch)}  # float32 exp overflows above ~88


def test_an_embedder_returning_nan_or_inf_stops_the_run_naming_the_item_even_with_skip_bad(tmp_path):
    get_registry().add_embedder("overflowing", _Overflowing, domain="features", outputs={"feat": 3}, description="test")
    rows = np.random.default_rng(0).standard_normal((12, 3))
    rows[9, 2] = 500.0
    np.save(tmp_path / "rows.npy", rows)
    message = rf"^{tmp_path / 'rows.npy'}\[9\]: embedder 'overflowing' returned NaN or Inf in output 'feat'"
    for skip_bad in (False, True):
        with pytest.raises(InputError, match=message):
            frechet.compute(tmp_path / "rows.npy", rows[:8], embedder="overflowing", batch_size=4, skip_bad=skip_bad,
                            progress=False)
