"""glibc malloc tuning for embedding on the CPU: a network's large activations are reused from the heap, not mapped
afresh for every batch."""

from __future__ import annotations

import ctypes
import ctypes.util
import sys

#: mallopt's M_MMAP_THRESHOLD parameter and the largest value it takes (a C int).
_M_MMAP_THRESHOLD = -3
_LARGEST = 2**31 - 1


def reuse_large_allocations() -> bool:
    """Make glibc serve blocks up to 2 GiB from its heap instead of a fresh ``mmap`` each time (Linux/glibc only;
    True when applied).

    By default glibc maps every block above its threshold (at most 32 MiB) anew and unmaps it when freed, so each
    forward pass on the CPU faults in and zeroes its large activations again (182 MiB for Inception's first
    convolution at batch 64). With the threshold raised, freed activations are reused by the next batch: a whole
    batch through Inception on 2 cores ran 1.22× faster (``bench/results/forward_slices.md``; embedders that run CPU
    batches as slices, ``frechet.slices``, are as fast without it). The price is memory: blocks freed below the top
    of the heap are kept for reuse rather than returned to the system (peak RSS 1.7 instead of 1.4 GiB for Inception
    at batch 64), and beside DataLoader workers the heap grew with the number of items; so the runner applies it
    only when asked (``reuse_large_allocations=True``, as the ``frechet`` command does) and items are decoded
    in-process.
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # not glibc (musl has no mallopt)
        return False
    return bool(mallopt(_M_MMAP_THRESHOLD, ctypes.c_int(_LARGEST)))
