"""torch.distributed for frechet runs: the process group under ``torchrun``, which shards are this rank's, the device
per LOCAL_RANK, exact reduction of statistics and in-order gathering of feature rows.

Statistics are reduced exactly: rank 0 receives every rank's float64 (n, mean, M2) and merges them with Chan's
formula in rank order, then broadcasts the result, so every rank holds the same statistics; they equal a single
process's to rounding (the pairwise merges are exact in real arithmetic, only their order differs).
"""

from __future__ import annotations

import atexit
import datetime
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.distributed as dist

from frechet.errors import ConfigError
from frechet.stats import FeatureStats

_created_group = False
#: How long a rank leaving the process group waits for the others to be done with it.
_LEAVE_TIMEOUT = datetime.timedelta(seconds=30)


@dataclass(frozen=True)
class World:
    """This process's place among the ranks: global rank and size, and its rank and count on this node."""

    rank: int = 0
    size: int = 1
    local_rank: int = 0
    local_size: int = 1

    @property
    def is_main(self) -> bool:
        """True on rank 0, which writes files and prints results."""
        return self.rank == 0

    def owns(self, shard: int) -> bool:
        """Shards go round-robin, so cached and uncached shards spread evenly over the ranks."""
        return shard % self.size == self.rank


def launched() -> bool:
    """True when started by ``torchrun`` (or another launcher setting RANK and WORLD_SIZE) with more than one rank."""
    return "RANK" in os.environ and _env_int("WORLD_SIZE", 1) > 1


def current() -> World:
    """The world of the initialized default process group, else a single process."""
    if not (dist.is_available() and dist.is_initialized()):
        return World()
    local_size = _env_int("LOCAL_WORLD_SIZE", 1)
    return World(dist.get_rank(), dist.get_world_size(), _env_int("LOCAL_RANK", 0), local_size)


def is_main_process() -> bool:
    """True unless this is a rank other than 0 (of the initialized group, or as the launcher's RANK says)."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank() == 0
    return _env_int("RANK", 0) == 0


def local_device(device: torch.device) -> torch.device:
    """Under a launcher, a CUDA device without an index becomes ``cuda:LOCAL_RANK`` (one GPU per process)."""
    if not launched() or device.type != "cuda" or device.index is not None:
        return device
    local_rank, visible = _env_int("LOCAL_RANK", 0), torch.cuda.device_count()
    if local_rank >= visible:
        raise ConfigError(
            f"LOCAL_RANK {local_rank} has no GPU of its own ({visible} visible); start at most {visible} processes "
            "per node (torchrun --nproc-per-node), or pass --device cpu"
        )
    return torch.device("cuda", local_rank)


def setup(device: torch.device) -> World:
    """Join the launcher's process group (NCCL for CUDA devices, else gloo) unless one is initialized already."""
    global _created_group
    if dist.is_available() and dist.is_initialized():
        return current()
    if not launched():
        return World()
    if not dist.is_available():
        raise ConfigError("this PyTorch build has no torch.distributed; run a single process instead")
    if device.type == "cuda":
        torch.cuda.set_device(device)
    dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    _created_group = True
    atexit.register(shutdown)  # API callers never call shutdown(); a group left to the interpreter's exit can abort
    return current()


def shutdown() -> None:
    """Leave the process group if :func:`setup` created it, once every rank is done with it (gloo: a barrier that
    gives up after ``_LEAVE_TIMEOUT``, so a rank that died cannot hold the others), so no rank's last exchange is cut
    off by another rank leaving first."""
    global _created_group
    if _created_group and dist.is_initialized():
        if dist.get_backend() == "gloo":
            try:
                dist.monitored_barrier(timeout=_LEAVE_TIMEOUT, wait_all_ranks=True)
            except RuntimeError:
                pass  # another rank failed or left: leave anyway
        dist.destroy_process_group()
    _created_group = False


# ---------------------------------------------------------------------------------------------------- reductions
def merge_stats(stats: FeatureStats, world: World) -> FeatureStats:
    """Every rank's statistics merged exactly in rank order; the same result on every rank."""
    if world.size == 1:
        return stats
    state = stats.state()
    n, dim = int(state["n"]), (state["mean"].shape[0] if "mean" in state else 0)
    headers = all_gather_object((n, dim, "rows" in state), world)
    dim = max(d for _, d, _ in headers)
    # the rows themselves travel while N ≤ d, so the exact Gram-form distance stays available as in one process;
    # beyond, the centred second moments
    keep_rows = 0 < sum(count for count, _, _ in headers) <= dim and all(rows for count, _, rows in headers if count)
    if world.is_main:
        total = FeatureStats.from_state(state)
        for rank in range(1, world.size):
            count = headers[rank][0]
            if count:
                total.merge(FeatureStats.from_state(_receive_state(rank, count, dim, keep_rows)))
        state = total.state(rows=keep_rows)
    elif n:
        _send_state(stats.state(rows=keep_rows), keep_rows)
    n = broadcast_object(int(state["n"]), world)
    if n == 0:
        return FeatureStats()
    return FeatureStats.from_state(_broadcast_state(state if world.is_main else None, n, dim, keep_rows))


def gather_rows(parts: Sequence[tuple[int, np.ndarray]], world: World) -> list[tuple[int, np.ndarray]]:
    """Every rank's (key, rows) parts on rank 0, sorted by key (shard index); other ranks get an empty list."""
    if world.size == 1:
        return sorted(parts, key=lambda part: part[0])
    headers = all_gather_object([(key, rows.shape, rows.dtype.str) for key, rows in parts], world)
    if not world.is_main:
        if any(rows.shape[0] for _, rows in parts):
            dist.send(_to_comm(np.concatenate([rows for _, rows in parts if rows.shape[0]])), dst=0)
        return []
    gathered = list(parts)
    for rank in range(1, world.size):
        shapes = [(key, tuple(shape), np.dtype(dtype)) for key, shape, dtype in headers[rank]]
        filled = [(shape, dtype) for _, shape, dtype in shapes if shape[0]]
        received = None
        if filled:
            rows = sum(shape[0] for shape, _ in filled)
            received = _receive(rank, (rows, *filled[0][0][1:]), np.result_type(*[dtype for _, dtype in filled]))
        offset = 0
        for key, shape, dtype in shapes:
            if shape[0]:
                gathered.append((key, received[offset : offset + shape[0]]))
                offset += shape[0]
            else:
                gathered.append((key, np.zeros(shape, dtype)))
    return sorted(gathered, key=lambda part: part[0])


def all_gather_object(obj: Any, world: World) -> list[Any]:
    """One small picklable object from every rank, in rank order, on every rank."""
    if world.size == 1:
        return [obj]
    gathered: list[Any] = [None] * world.size
    dist.all_gather_object(gathered, obj)
    return gathered


def broadcast_object(obj: Any, world: World) -> Any:
    """Rank 0's small picklable object on every rank."""
    if world.size == 1:
        return obj
    holder = [obj]
    dist.broadcast_object_list(holder, src=0)
    return holder[0]


# ---------------------------------------------------------------------------------------------------- transport
def _comm_device() -> torch.device:
    """NCCL moves CUDA tensors only; every other backend (gloo, mixed cpu:gloo,cuda:nccl) takes CPU tensors."""
    if dist.get_backend() == "nccl":
        return torch.device("cuda", torch.cuda.current_device())
    return torch.device("cpu")


def _to_comm(array: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(array)).to(_comm_device())


def _receive(rank: int, shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
    buffer = torch.empty(shape, dtype=torch.from_numpy(np.empty(0, dtype)).dtype, device=_comm_device())
    dist.recv(buffer, src=rank)
    return buffer.cpu().numpy()


def _send_state(state: dict[str, np.ndarray], keep_rows: bool) -> None:
    dist.send(_to_comm(_pack(state, keep_rows)), dst=0)


def _receive_state(rank: int, n: int, dim: int, keep_rows: bool) -> dict[str, np.ndarray]:
    return _unpack(_receive(rank, (_packed_size(n, dim, keep_rows),), np.dtype(np.float64)), n, dim, keep_rows)


def _broadcast_state(state: dict[str, np.ndarray] | None, n: int, dim: int, keep_rows: bool) -> dict[str, np.ndarray]:
    if state is not None:
        packed = _to_comm(_pack(state, keep_rows))
    else:
        packed = torch.empty(_packed_size(n, dim, keep_rows), dtype=torch.float64, device=_comm_device())
    dist.broadcast(packed, src=0)
    return _unpack(packed.cpu().numpy(), n, dim, keep_rows)


def _pack(state: dict[str, np.ndarray], keep_rows: bool) -> np.ndarray:
    """A state as one float64 vector: the mean, then the rows (``keep_rows``) or the centred second moments."""
    return np.concatenate([state["mean"], state["rows" if keep_rows else "m2"].ravel()])


def _packed_size(n: int, dim: int, keep_rows: bool) -> int:
    return dim + (n if keep_rows else dim) * dim


def _unpack(values: np.ndarray, n: int, dim: int, keep_rows: bool) -> dict[str, np.ndarray]:
    rest = values[dim:].reshape(n if keep_rows else dim, dim)
    return {"n": np.asarray(n, dtype=np.int64), "mean": values[:dim], "rows" if keep_rows else "m2": rest}


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    try:
        return int(value)
    except ValueError:
        raise ConfigError(f"environment variable {name}={value!r} must be a whole number") from None
