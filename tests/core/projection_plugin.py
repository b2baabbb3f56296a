"""Test-only plugin: a seeded random projection of feature rows (outputs "projected" and "logits") that counts its
forward calls and can sleep per batch, a second one declared the lean way (``wide``), and a folder source of one-row
``.npy`` files (items with paths) that counts how often it decodes an item.

Installed by the tests as a throwaway distribution with a "frechet" entry point; subprocesses find it on PYTHONPATH.
Forward calls are counted in ``CALLS``.
"""

import time
from pathlib import Path

import numpy as np
import torch

from frechet import Embedder, Option, Source, hookimpl
from frechet.errors import InputError

CALLS = 0
LOADS = 0
LOGITS = 5


def projection_matrix(in_dims: int, dims: int, seed: int) -> torch.Tensor:
    """The projection the embedder applies: float64 N(0, 1) entries from ``seed``."""
    return torch.randn(in_dims, dims, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def project(rows: np.ndarray, dims: int = 6, seed: int = 0) -> np.ndarray:
    """What the embedder computes for ``rows`` (the oracle for the tests): float32 tanh of the projection."""
    matrix = projection_matrix(rows.shape[1], dims, seed)
    return torch.tanh(torch.from_numpy(np.asarray(rows, np.float64)) @ matrix).float().numpy()


class Projection(Embedder):
    name = "projection"
    domain = "features"
    parallel_transform = False

    def __init__(self, seed="0", dims="6", delay="0"):
        super().__init__()
        self.seed, self.dims, self.delay = int(seed), int(dims), float(delay)
        self.outputs = {"projected": self.dims, "logits": LOGITS}
        self.default_output = "projected"

    def transform(self, item):
        if not np.isfinite(item).all():
            raise InputError("a feature row holds NaN or Inf")
        return torch.from_numpy(item)

    def forward(self, batch):
        global CALLS
        CALLS += 1
        if self.delay:
            time.sleep(self.delay)
        projected = torch.tanh(batch @ projection_matrix(batch.shape[1], self.dims, self.seed)).float()
        return {"projected": projected, "logits": 4 * projected[:, :LOGITS]}

    def config(self):
        return {"seed": self.seed, "dims": self.dims}  # the delay does not change the numbers


class Wide(Projection):
    """test: a wider projection, declared by its class (options checked by the core)"""

    name = "wide"
    outputs = {"projected": None, "logits": LOGITS}
    options = (Option("seed", int, default=7, help="projection seed"), Option("dims", int, default=9))

    def __init__(self, seed: int = 7, dims: int = 9) -> None:
        super().__init__(seed=seed, dims=dims)


class RowFiles(Source):
    """A folder of ``*.npy`` files, each one feature row; item i is the i-th file by name."""

    domain = "features"

    def __init__(self, folder):
        super().__init__(str(folder))
        self.paths = sorted(Path(folder).glob("*.npy"))

    def __len__(self):
        return len(self.paths)

    def load(self, index):
        global LOADS
        LOADS += 1
        return np.load(self.paths[index]).astype(np.float64)

    def item_name(self, index):
        return str(self.paths[index])

    def item_path(self, index):
        return self.paths[index]


@hookimpl
def frechet_register_embedders(register):
    register("projection", Projection, domain="features", outputs={"projected": None, "logits": LOGITS},
             description="test: seeded random projection of feature rows")
    register(Wide)


@hookimpl
def frechet_register_sources(register):
    register("row-files", RowFiles, domain="features", directories=True, description="test: folder of one-row .npy")
