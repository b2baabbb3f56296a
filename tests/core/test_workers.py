"""Default DataLoader workers: one per core for decoding beside an accelerator, none where a CPU forward pass
already occupies the few cores there are (measured in bench/results/throughput.md)."""

import pytest
import torch

from frechet import Embedder
from frechet.loading import default_workers


class _Images(Embedder):
    name = "images"
    domain = "image"
    outputs = {"out": 1}
    default_output = "out"

    def transform(self, item):
        return item

    def forward(self, batch):
        return {"out": batch}


def _on(device):
    embedder = _Images()
    embedder.device = torch.device(device)
    return embedder


@pytest.mark.parametrize(
    ("device", "cores", "expected"),
    [("cpu", 1, 0), ("cpu", 2, 0), ("cpu", 4, 4), ("cpu", 16, 8), ("cuda", 2, 2), ("cuda", 1, 1), ("cuda", 64, 8)],
)
def test_workers_follow_the_cores_but_leave_a_small_cpu_to_the_forward_pass(device, cores, expected):
    assert default_workers([_on(device)], 1000, 64, cores=cores) == expected


def test_ranks_on_one_node_share_its_cores():
    assert default_workers([_on("cuda")], 1000, 64, processes_on_node=4, cores=16) == 4
    assert default_workers([_on("cpu")], 1000, 64, processes_on_node=4, cores=8) == 0


def test_no_workers_when_there_is_nothing_to_overlap():
    assert default_workers([_on("cuda")], 64, 64, cores=16) == 0  # a single batch
    trivial = _on("cuda")
    trivial.parallel_transform = False
    assert default_workers([trivial], 1000, 64, cores=16) == 0
