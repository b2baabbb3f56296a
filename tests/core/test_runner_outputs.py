"""The runner tells an embedder which outputs each input needs, so it can skip the rest."""

from __future__ import annotations

import numpy as np
import torch

import frechet
from frechet.embedder import Embedder
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
