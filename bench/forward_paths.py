"""Benchmark: ways to run the FID Inception forward pass on the CPU, each against frechet's eager forward pass on the
same batch in the same process, with how far each one moves the features.

    OMP_WAIT_POLICY=PASSIVE python bench/forward_paths.py [--batch 64] [--rounds 3] [--out bench/results/forward_paths]

Inputs: the deterministic random Inception weights of the tests and one batch of uniform random images in [-1, 1]
at 299×299 (the forward pass costs the same for any pixels). The baseline is the embedder's network as it runs
(batch norm folded, channels-last, oneDNN convolutions with the ReLU fused, under ``torch.inference_mode``). Each
variant computes the ``pool`` features (2,048, FID's) of the same batch; the variants take turns within each round
and the median seconds per image count, so background load hits them alike. Run it with the OpenMP wait policy
the ``frechet`` command sets (``OMP_WAIT_POLICY=PASSIVE``), as above. Drift is
``max |f − f_whole| / max |f_whole|`` over the batch: the largest feature change relative to the feature scale
(the exactness bar is 1e-5). Each rate is also given in GFLOP/s (torch's FLOP counter on one image) and as a share of
a 2048 × 2048 float32 matrix product's rate in the same process: how close an exact float32 path is to what this
CPU's cores can do. Variants:

- whole batch: the baseline, ``InceptionEmbedder.forward`` on the whole batch with every intra-op thread (how frechet
  ran every batch before slices);
- slices of K, 1 thread each: ``frechet.slices.forward_in_slices``, the batch as slices of K images on as many
  single-threaded workers as there are intra-op threads (K = 8 is what frechet now runs after a batch's first);
- NCHW: the same network in the contiguous memory format (what channels-last gains);
- batch norm unfolded: convolution, batch norm and ReLU as three operators (what folding gains);
- no_grad: ``torch.no_grad`` instead of ``torch.inference_mode``;
- half / double batch: the batch in two halves, or two batches at once (per image);
- 1 thread: ``torch.set_num_threads(1)``;
- TorchScript frozen: ``torch.jit.trace`` → ``torch.jit.freeze`` → ``torch.jit.optimize_for_inference`` (oneDNN's
  own conv+ReLU fusion and weight prepacking, on the unfused graph);
- merged 1×1: each block's sibling 1×1 convolutions on the same input run as one convolution (their weights
  concatenated), the pool branch's 1×1 convolution applied before the average pool (which commutes with it);
- no concat: each branch's last convolution writes straight into its channels of the block's preallocated output
  (oneDNN's in-place convolution, adding to zeros), no ``torch.cat`` copy;
- bf16 autocast: ``--precision bf16`` (opt-in; the drift it is known for);
- torch.compile (``--compile`` only: compiling takes many minutes on a small CPU): the ``compile=true`` option.

``--wait-policies`` instead times the baseline, and DINOv2 ViT-S/14 and CLIP ViT-B/32 at 224×224 as frechet runs
them (random weights), in fresh processes under each OpenMP wait policy (the default, where idle threads spin, and
``PASSIVE``, which the ``frechet`` command sets), taking turns, and writes that table.

``--slices`` instead times the same three networks whole and in slices of 8 (``frechet.slices``), each with glibc's
default allocator and with large allocations reused (``frechet._malloc``, which the ``frechet`` command applies when
it decodes in its own process), in fresh processes taking turns, with each process's peak RSS.

Writes ``OUT.md`` and ``OUT.json``.
"""

from __future__ import annotations

import argparse
import copy
import math
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch
import torch.nn.functional as F
from torch.utils.flop_counter import FlopCounterMode

import frechet_inception.network as network
from frechet._malloc import reuse_large_allocations
from frechet.slices import forward_in_slices
from frechet_inception.network import FIDInceptionV3, load_network_state, state_dict_layout
from harness import PARITY_SEED, machine_load, publish, random_state_dict

EXACT = 1e-5


def _unfolded() -> FIDInceptionV3:
    state = random_state_dict(state_dict_layout(), PARITY_SEED)
    return load_network_state(state, "random weights").eval().requires_grad_(False)


def _folded() -> FIDInceptionV3:
    return _unfolded().fold_batchnorm().to(memory_format=torch.channels_last)


def _pool(model: FIDInceptionV3) -> Callable[[torch.Tensor], torch.Tensor]:
    return lambda x: model(x.contiguous(memory_format=torch.channels_last), ("pool",))["pool"]


def _chunked(run: Callable[[torch.Tensor], torch.Tensor], size: int) -> Callable[[torch.Tensor], torch.Tensor]:
    return lambda x: torch.cat([run(x[first : first + size]) for first in range(0, len(x), size)])


def _doubled(run: Callable[[torch.Tensor], torch.Tensor]) -> Callable[[torch.Tensor], torch.Tensor]:
    return lambda x: run(torch.cat([x, x]))[: len(x)]


def _one_thread(run: Callable[[torch.Tensor], torch.Tensor]) -> Callable[[torch.Tensor], torch.Tensor]:
    def wrapped(x: torch.Tensor) -> torch.Tensor:
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            return run(x)
        finally:
            torch.set_num_threads(threads)

    return wrapped


def _sliced(run: Callable[[torch.Tensor], torch.Tensor], size: int) -> Callable[[torch.Tensor], torch.Tensor]:
    return lambda x: forward_in_slices(lambda part: {"pool": run(part)}, x, size, torch.inference_mode)["pool"]


def _no_grad(model: FIDInceptionV3) -> Callable[[torch.Tensor], torch.Tensor]:
    def run(x: torch.Tensor) -> torch.Tensor:
        with torch.inference_mode(False), torch.no_grad():
            return _pool(model)(x.clone())

    return run


def _nchw(model: FIDInceptionV3) -> Callable[[torch.Tensor], torch.Tensor]:
    model = copy.deepcopy(model).to(memory_format=torch.contiguous_format)
    return lambda x: model(x.contiguous(), ("pool",))["pool"]


def _bf16(model: FIDInceptionV3) -> Callable[[torch.Tensor], torch.Tensor]:
    def run(x: torch.Tensor) -> torch.Tensor:
        with torch.autocast("cpu", dtype=torch.bfloat16):
            return _pool(model)(x).float()

    return run


def _torchscript(model: FIDInceptionV3, example: torch.Tensor) -> Callable[[torch.Tensor], torch.Tensor]:
    class Pool(torch.nn.Module):
        def __init__(self, inner: FIDInceptionV3) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.inner(x, ("pool",))["pool"]

    fused, network._FUSED_CPU_CONV = network._FUSED_CPU_CONV, False  # trace the plain conv + ReLU graph
    try:
        with torch.inference_mode(False), torch.no_grad():
            traced = torch.jit.trace(Pool(copy.deepcopy(model)).eval(), example.clone(), check_trace=False)
            frozen = torch.jit.optimize_for_inference(torch.jit.freeze(traced))
    finally:
        network._FUSED_CPU_CONV = fused
    return lambda x: frozen(x.contiguous(memory_format=torch.channels_last))


def _compiled(model: FIDInceptionV3) -> Callable[[torch.Tensor], torch.Tensor]:
    compiled = torch.compile(model, dynamic=False, options={"freezing": True})
    return lambda x: compiled(x.contiguous(memory_format=torch.channels_last), ("pool",))["pool"]


# ---- merged 1x1 convolutions and concat-free blocks: alternative block forwards on the folded network ----------

def _conv(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor, unit_conv: torch.nn.Conv2d,
          relu: bool = True) -> torch.Tensor:
    return torch.ops.mkldnn._convolution_pointwise(
        x, weight, bias, unit_conv.padding, unit_conv.stride, unit_conv.dilation, 1, "relu" if relu else "none",
        [None] if relu else [], "" if relu else None,
    )


class _Merged:
    """One convolution for several 1x1 units on the same input; ``split`` gives each unit's output."""

    def __init__(self, units: list[network._ConvUnit]) -> None:
        self.conv = units[0].conv
        self.weight = torch.cat([unit.conv.weight for unit in units]).contiguous(memory_format=torch.channels_last)
        self.bias = torch.cat([unit.conv.bias for unit in units])
        self.sizes = [unit.conv.out_channels for unit in units]

    def __call__(self, x: torch.Tensor, relu: bool = True) -> list[torch.Tensor]:
        return list(_conv(x, self.weight, self.bias, self.conv, relu).split(self.sizes, 1))


def _pool_after(unit: network._ConvUnit, pooled_input: torch.Tensor) -> torch.Tensor:
    """avg_pool then 1x1 conv + ReLU, computed as 1x1 conv, then avg_pool (linear, weights summing to 1), then ReLU."""
    return F.relu(network._avg_pool(_conv(pooled_input, unit.conv.weight, unit.conv.bias, unit.conv, relu=False)))


def _merged_forward(block: torch.nn.Module) -> Callable[[torch.Tensor], torch.Tensor]:
    if isinstance(block, network._InceptionA):
        stem = _Merged([block.branch1x1, block.branch5x5_1, block.branch3x3dbl_1])

        def forward(x: torch.Tensor) -> torch.Tensor:
            one, five, three = stem(x)
            return torch.cat([one, block.branch5x5_2(five.contiguous(memory_format=torch.channels_last)),
                              block.branch3x3dbl_3(block.branch3x3dbl_2(three.contiguous(
                                  memory_format=torch.channels_last))),
                              _pool_after(block.branch_pool, x)], 1)
    elif isinstance(block, network._InceptionC):
        stem = _Merged([block.branch1x1, block.branch7x7_1, block.branch7x7dbl_1])

        def forward(x: torch.Tensor) -> torch.Tensor:
            one, b7, d7 = (part.contiguous(memory_format=torch.channels_last) for part in stem(x))
            b7 = block.branch7x7_3(block.branch7x7_2(b7))
            for unit in (block.branch7x7dbl_2, block.branch7x7dbl_3, block.branch7x7dbl_4, block.branch7x7dbl_5):
                d7 = unit(d7)
            return torch.cat([one, b7, d7, _pool_after(block.branch_pool, x)], 1)
    elif isinstance(block, network._InceptionD):
        stem = _Merged([block.branch3x3_1, block.branch7x7x3_1])

        def forward(x: torch.Tensor) -> torch.Tensor:
            b3, b7 = (part.contiguous(memory_format=torch.channels_last) for part in stem(x))
            for unit in (block.branch7x7x3_2, block.branch7x7x3_3, block.branch7x7x3_4):
                b7 = unit(b7)
            return torch.cat([block.branch3x3_2(b3), b7, F.max_pool2d(x, kernel_size=3, stride=2)], 1)
    elif isinstance(block, network._InceptionE):
        stem = _Merged([block.branch1x1, block.branch3x3_1, block.branch3x3dbl_1])

        def forward(x: torch.Tensor) -> torch.Tensor:
            one, b3, d3 = stem(x)
            b3 = b3.contiguous(memory_format=torch.channels_last)
            d3 = block.branch3x3dbl_2(d3.contiguous(memory_format=torch.channels_last))
            pooled = (block.branch_pool(F.max_pool2d(x, kernel_size=3, stride=1, padding=1)) if block.max_pool
                      else _pool_after(block.branch_pool, x))
            return torch.cat([one, block.branch3x3_2a(b3), block.branch3x3_2b(b3), block.branch3x3dbl_3a(d3),
                              block.branch3x3dbl_3b(d3), pooled], 1)
    else:
        return block.forward
    return forward


def _into(out: torch.Tensor, start: int, unit: network._ConvUnit, x: torch.Tensor) -> int:
    """``unit(x)`` written into ``out``'s channels from ``start`` (which hold zeros); returns the next free channel."""
    conv = unit.conv
    view = out[:, start : start + conv.out_channels]
    torch.ops.mkldnn._convolution_pointwise_.binary(
        view, x, conv.weight, conv.bias, conv.padding, conv.stride, conv.dilation, 1, "add", 1.0, "relu", [None], "",
    )
    return start + conv.out_channels


def _output(x: torch.Tensor, channels: int, size: int) -> torch.Tensor:
    return torch.empty(x.shape[0], channels, size, size, dtype=x.dtype, memory_format=torch.channels_last).zero_()


def _no_concat_forward(block: torch.nn.Module) -> Callable[[torch.Tensor], torch.Tensor]:
    if isinstance(block, network._InceptionA):
        def forward(x: torch.Tensor) -> torch.Tensor:
            out = _output(x, 224 + block.branch_pool.conv.out_channels, x.shape[2])
            at = _into(out, 0, block.branch1x1, x)
            at = _into(out, at, block.branch5x5_2, block.branch5x5_1(x))
            at = _into(out, at, block.branch3x3dbl_3, block.branch3x3dbl_2(block.branch3x3dbl_1(x)))
            _into(out, at, block.branch_pool, network._avg_pool(x))
            return out
    elif isinstance(block, network._InceptionC):
        def forward(x: torch.Tensor) -> torch.Tensor:
            out = _output(x, 768, x.shape[2])
            at = _into(out, 0, block.branch1x1, x)
            at = _into(out, at, block.branch7x7_3, block.branch7x7_2(block.branch7x7_1(x)))
            d7 = block.branch7x7dbl_1(x)
            for unit in (block.branch7x7dbl_2, block.branch7x7dbl_3, block.branch7x7dbl_4):
                d7 = unit(d7)
            at = _into(out, at, block.branch7x7dbl_5, d7)
            _into(out, at, block.branch_pool, network._avg_pool(x))
            return out
    elif isinstance(block, network._InceptionE):
        def forward(x: torch.Tensor) -> torch.Tensor:
            out = _output(x, 2048, x.shape[2])
            at = _into(out, 0, block.branch1x1, x)
            b3 = block.branch3x3_1(x)
            at = _into(out, _into(out, at, block.branch3x3_2a, b3), block.branch3x3_2b, b3)
            d3 = block.branch3x3dbl_2(block.branch3x3dbl_1(x))
            at = _into(out, _into(out, at, block.branch3x3dbl_3a, d3), block.branch3x3dbl_3b, d3)
            pooled = F.max_pool2d(x, kernel_size=3, stride=1, padding=1) if block.max_pool else network._avg_pool(x)
            _into(out, at, block.branch_pool, pooled)
            return out
    else:  # B and D end in a max pool of the input, a copy either way
        return block.forward
    return forward


def _rewired(model: FIDInceptionV3, make: Callable[[torch.nn.Module], Callable]) -> Callable:
    model = copy.deepcopy(model)
    for module in list(model.modules()):
        if isinstance(module, (network._InceptionA, network._InceptionB, network._InceptionC, network._InceptionD,
                               network._InceptionE)):
            module.forward = make(module)
    return _pool(model)


def run(batch_size: int, rounds: int, compile_too: bool) -> dict:
    """Time every variant; returns the results as a JSON-ready dict."""
    load = machine_load()
    reuse_large_allocations()  # as the frechet command does
    sgemm = _sgemm_gflops()
    torch.manual_seed(0)
    batch = (torch.rand(batch_size, 3, 299, 299) * 2 - 1).contiguous(memory_format=torch.channels_last)
    folded = _folded()
    variants: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
        "whole batch": _pool(folded),
        **{f"slices of {size}, 1 thread each": _sliced(_pool(folded), size) for size in (4, 8, 16)},
        "NCHW": _nchw(folded),
        "batch norm unfolded": _pool(_unfolded().to(memory_format=torch.channels_last)),
        "no_grad": _no_grad(folded),
        f"half batch ({batch_size // 2})": _chunked(_pool(folded), batch_size // 2),
        f"double batch ({2 * batch_size})": _doubled(_pool(folded)),
        "1 thread": _one_thread(_pool(folded)),
        "TorchScript frozen": _torchscript(folded, batch[:2]),
        "merged 1x1": _rewired(folded, _merged_forward),
        "no concat": _rewired(folded, _no_concat_forward),
        "bf16 autocast (opt-in)": _bf16(folded),
    }
    if compile_too:
        variants["torch.compile (opt-in)"] = _compiled(folded)
    per_image = {"double batch": 2.0}
    seconds: dict[str, list[float]] = {name: [] for name in variants}
    features: dict[str, torch.Tensor] = {}
    with torch.inference_mode():
        for name, variant in variants.items():  # warm-up: first calls plan, pack and compile
            started = time.perf_counter()
            features[name] = variant(batch[:2])
            features[name] = variant(batch)
            print(f"warm-up {name:<28} {time.perf_counter() - started:7.1f} s", flush=True)
        names = list(variants)
        for round_index in range(rounds):
            for name in names[round_index % len(names):] + names[: round_index % len(names)]:
                started = time.perf_counter()
                variants[name](batch)
                elapsed = time.perf_counter() - started
                factor = next((value for key, value in per_image.items() if name.startswith(key)), 1.0)
                seconds[name].append(elapsed / (batch_size * factor))
                print(f"round {round_index + 1} {name:<28} {1 / seconds[name][-1]:6.2f} images/s", flush=True)
    reference = features["whole batch"]
    scale = reference.abs().max().item()
    median = {name: statistics.median(values) for name, values in seconds.items()}
    return {
        "gflop_per_image": _gflop_per_image(_unfolded()),
        "sgemm_gflops": sgemm,
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "torch": torch.__version__,
        "batch_size": batch_size,
        "rounds": rounds,
        "threads": torch.get_num_threads(),
        "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY", "default"),
        "seconds_per_image": seconds,
        "images_per_s": {name: 1 / value for name, value in median.items()},
        "vs_whole_batch": {name: median["whole batch"] / value for name, value in median.items()},
        "drift": {name: (value - reference).abs().max().item() / scale for name, value in features.items()},
        "load": {"start": load, "end": machine_load()},
    }


def _gflop_per_image(model: FIDInceptionV3) -> float:
    """Multiply-adds (×2) of one image's forward pass to ``pool``, as torch's FLOP counter counts them (on the
    unfolded network: the counter has no formula for oneDNN's fused convolution, and folding removes no product)."""
    with FlopCounterMode(display=False) as counter, torch.inference_mode():
        _pool(model)(torch.zeros(1, 3, 299, 299))
    return counter.get_total_flops() / 1e9


def _sgemm_gflops(size: int = 2048, rounds: int = 10) -> float:
    """This process's float32 matrix-multiply rate with every intra-op thread (best of ``rounds``): the ceiling an
    exact float32 forward pass made of convolutions can approach."""
    a, b = torch.randn(size, size), torch.randn(size, size)
    torch.mm(a, b)
    best = math.inf
    for _ in range(rounds):
        started = time.perf_counter()
        torch.mm(a, b)
        best = min(best, time.perf_counter() - started)
    return 2 * size**3 / best / 1e9


_TIME_TODAY = """
import sys, time, torch
from forward_paths import NETWORKS
from frechet._malloc import reuse_large_allocations
reuse_large_allocations()
torch.manual_seed(0)
run, size = NETWORKS[sys.argv[2]]()
batch = torch.rand(int(sys.argv[1]), 3, size, size) * 2 - 1
with torch.inference_mode():
    run(batch)
    start = time.perf_counter()
    run(batch)
    print(len(batch) / (time.perf_counter() - start))
"""
POLICIES = {"default (spinning)": None, "PASSIVE (sleeping)": "PASSIVE"}
_TIME_SLICES = """
import resource, statistics, sys, time, torch
from forward_paths import NETWORKS
from frechet._malloc import reuse_large_allocations
from frechet.slices import forward_in_slices
batch_size, network, reuse, size = int(sys.argv[1]), sys.argv[2], sys.argv[3] == "1", int(sys.argv[4])
if reuse:
    reuse_large_allocations()
torch.manual_seed(0)
run, side = NETWORKS[network]()
batch = torch.rand(batch_size, 3, side, side) * 2 - 1
forward = run if not size else lambda x: forward_in_slices(lambda p: {"f": run(p)}, x, size, torch.inference_mode)["f"]
rates = []
with torch.inference_mode():
    forward(batch[:2])
    forward(batch)
    for _ in range(3):
        start = time.perf_counter()
        forward(batch)
        rates.append(len(batch) / (time.perf_counter() - start))
print(statistics.median(rates), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
"""
#: The allocator settings and forward paths the slices table compares: (reuse large allocations, slice size or 0).
SLICE_SETUPS = {
    "whole batch, glibc default": (False, 0),
    "whole batch, large allocations reused": (True, 0),
    "slices of 8, glibc default": (False, 8),
    "slices of 8, large allocations reused": (True, 8),
}


def _dinov2() -> tuple[Callable[[torch.Tensor], torch.Tensor], int]:
    from frechet_dinov2.network import ARCHITECTURES, DinoV2

    model = DinoV2(ARCHITECTURES["vits14"]).eval().requires_grad_(False)
    for parameter in model.parameters():  # random weights at the trained networks' scale
        parameter.normal_(0, 0.02)
    return model, 224


def _clip() -> tuple[Callable[[torch.Tensor], torch.Tensor], int]:
    from frechet_clip.network import VIT_B_32, VisionTransformer

    model = VisionTransformer(VIT_B_32).eval().requires_grad_(False)
    for parameter in model.parameters():
        parameter.normal_(0, 0.02)
    return model, 224


#: The networks the wait policies are timed on: a callable on a batch, and its input size. The transformers get
#: random weights at the trained networks' scale (their cost does not depend on the values).
NETWORKS: dict[str, Callable[[], tuple[Callable[[torch.Tensor], torch.Tensor], int]]] = {
    "FID Inception-v3": lambda: (_pool(_folded()), 299),
    "DINOv2 ViT-S/14": _dinov2,
    "CLIP ViT-B/32": _clip,
}


def run_policies(batch_size: int, rounds: int) -> dict:
    """images/s of the baseline in a fresh process per OpenMP wait policy and round, policies taking turns."""
    load = machine_load()
    rates = {network: {name: [] for name in POLICIES} for network in NETWORKS}
    for round_index in range(rounds):
        for network_name in NETWORKS:
            for name, policy in POLICIES.items():
                env = {key: value for key, value in os.environ.items() if key != "OMP_WAIT_POLICY"}
                env.update({"OMP_WAIT_POLICY": policy} if policy else {})
                done = subprocess.run([sys.executable, "-c", _TIME_TODAY, str(batch_size), network_name], env=env,
                                      check=True, capture_output=True, text=True, cwd=Path(__file__).parent)
                rates[network_name][name].append(float(done.stdout.split()[-1]))
                print(f"round {round_index + 1} {network_name:<17} {name:<20} "
                      f"{rates[network_name][name][-1]:6.2f} images/s", flush=True)
    median = {network: {name: statistics.median(values) for name, values in by_policy.items()}
              for network, by_policy in rates.items()}
    return {"machine": f"{platform.machine()}, {os.cpu_count()} cores", "torch": torch.__version__,
            "batch_size": batch_size, "rounds": rounds, "images_per_s_per_round": rates, "images_per_s": median,
            "load": {"start": load, "end": machine_load()}}


def run_slices(batch_size: int, rounds: int) -> dict:
    """images/s and peak RSS of each network, whole batch or in slices, with glibc's default allocator or with large
    allocations reused (as the ``frechet`` command sets it): a fresh process per setup and round, taking turns."""
    load = machine_load()
    rates = {network: {name: [] for name in SLICE_SETUPS} for network in NETWORKS}
    peaks = {network: {name: [] for name in SLICE_SETUPS} for network in NETWORKS}
    for round_index in range(rounds):
        for network_name in NETWORKS:
            for name, (reuse, size) in SLICE_SETUPS.items():
                done = subprocess.run(
                    [sys.executable, "-c", _TIME_SLICES, str(batch_size), network_name, str(int(reuse)), str(size)],
                    check=True, capture_output=True, text=True, cwd=Path(__file__).parent)
                rate, peak = (float(value) for value in done.stdout.split()[-2:])
                rates[network_name][name].append(rate)
                peaks[network_name][name].append(peak)
                print(f"round {round_index + 1} {network_name:<17} {name:<38} {rate:6.2f} images/s, "
                      f"peak RSS {peak:.0f} MiB", flush=True)
    return {"machine": f"{platform.machine()}, {os.cpu_count()} cores", "torch": torch.__version__,
            "threads": torch.get_num_threads(), "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY", "default"),
            "batch_size": batch_size, "rounds": rounds, "images_per_s_per_round": rates, "peak_rss_mib": peaks,
            "images_per_s": {network: {name: statistics.median(values) for name, values in by_setup.items()}
                             for network, by_setup in rates.items()},
            "load": {"start": load, "end": machine_load()}}


def report_slices(results: dict) -> str:
    """The slices results as Markdown."""
    lines = [
        f"Machine: {results['machine']}; torch {results['torch']}; {results['threads']} threads, OMP_WAIT_POLICY "
        f"{results['omp_wait_policy']}; each network as frechet runs it, random weights, a batch of "
        f"{results['batch_size']} random inputs, a fresh process per setup and round (median of 3 timed passes "
        f"each, median over {results['rounds']} rounds taking turns). Machine load (1/5/15 min) "
        f"{results['load']['start']} at the start, {results['load']['end']} at the end.",
        "",
        "| network | setup | images/s | vs whole batch, glibc default | peak RSS | rounds (images/s) |",
        "|---|---|---:|---:|---:|---|",
    ]
    return "\n".join(lines + _network_rows(results, "whole batch, glibc default")) + "\n"


def _network_rows(results: dict, base: str) -> list[str]:
    """A table row per network and setup: images/s, the ratio to setup ``base``, the peak RSS where measured, and
    each round's images/s."""
    rows = []
    for network_name, rates in results["images_per_s"].items():
        for name, rate in rates.items():
            peaks = results.get("peak_rss_mib", {}).get(network_name, {}).get(name)
            peak = f" {max(peaks):.0f} MiB |" if peaks else ""
            rounds = ", ".join(f"{value:.2f}" for value in results["images_per_s_per_round"][network_name][name])
            rows.append(f"| {network_name} | {name} | {rate:.2f} | {rate / rates[base]:.2f}× |{peak} {rounds} |")
    return rows


def report_policies(results: dict) -> str:
    """The wait-policy results as Markdown."""
    lines = [
        f"Machine: {results['machine']}; torch {results['torch']}; each network's forward pass as frechet runs it, "
        f"random weights, a batch of {results['batch_size']} random inputs, a fresh process per policy and round; "
        f"median of {results['rounds']} rounds, policies taking turns. Machine load (1/5/15 min) "
        f"{results['load']['start']} at the start, {results['load']['end']} at the end.",
        "",
        "| network | OMP_WAIT_POLICY | images/s | vs default | rounds |",
        "|---|---|---:|---:|---|",
    ]
    return "\n".join(lines + _network_rows(results, "default (spinning)")) + "\n"


def report(results: dict) -> str:
    """The results as Markdown."""
    lines = [
        f"Machine: {results['machine']}; torch {results['torch']}; {results['threads']} threads, OMP_WAIT_POLICY "
        f"{results['omp_wait_policy']}; FID Inception-v3, "
        f"random weights, one batch of {results['batch_size']} random 299×299 inputs; median of {results['rounds']} "
        f"rounds, variants interleaved. Machine load (1/5/15 min) {results['load']['start']} at the start, "
        f"{results['load']['end']} at the end.",
        "",
        ("| variant | images/s | vs whole batch | GFLOP/s (of float32 matmul) | drift (max \\|Δf\\| / max \\|f\\|) "
         "| exact (≤ 1e-5) |"),
        "|---|---:|---:|---:|---:|---|",
    ]
    gflop, sgemm = results["gflop_per_image"], results["sgemm_gflops"]
    for name, rate in results["images_per_s"].items():
        drift = results["drift"][name]
        lines.append(f"| {name} | {rate:.2f} | {results['vs_whole_batch'][name]:.2f}× | {rate * gflop:.0f} "
                     f"({rate * gflop / sgemm:.0%}) | {drift:.1e} | {'yes' if drift <= EXACT else 'no'} |")
    lines += ["", (f"The network is {gflop:.2f} GFLOP per image (torch's FLOP counter); a 2048 × 2048 float32 "
                   f"matrix product ran at {sgemm:.0f} GFLOP/s in the same process with the same threads.")]
    whole = [1 / value for value in results["seconds_per_image"]["whole batch"]]
    lines += ["", f"The baseline's own rounds ran at {min(whole):.2f}–{max(whole):.2f} images/s "
              f"({max(whole) / min(whole):.2f}× apart): ratios within that spread are noise of the machine's load."]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=64, help="frechet's default batch size")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--compile", action="store_true", help="also time torch.compile (compiles for minutes)")
    parser.add_argument("--wait-policies", action="store_true", help="time the OpenMP wait policies instead")
    parser.add_argument("--slices", action="store_true",
                        help="time whole batches against slices, with and without large allocations reused, instead")
    parser.add_argument("--out", type=Path, help="write OUT.md and OUT.json")
    args = parser.parse_args()
    if args.slices:
        results = run_slices(args.batch, args.rounds)
        publish(report_slices(results), results, args.out)
        return
    if args.wait_policies:
        results = run_policies(args.batch, args.rounds)
        publish(report_policies(results), results, args.out)
        return
    results = run(args.batch, args.rounds, args.compile)
    publish(report(results), results, args.out)


if __name__ == "__main__":
    main()
