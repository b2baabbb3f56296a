"""OpenMP thread waiting for the ``frechet`` command: idle threads sleep instead of spinning."""

from __future__ import annotations

import os
import sys


def sleep_idle_threads() -> bool:
    """Set ``OMP_WAIT_POLICY=PASSIVE`` for this process unless the user set a policy (True when set here).

    It must happen before torch is imported (the OpenMP runtime reads it once, when loaded), so it is a no-op once
    torch is in ``sys.modules``. By default an OpenMP thread that finishes its share of a parallel region spins for
    its siblings; when other processes also want the cores, the spinning thread takes the time slice of the one it
    waits for, and every one of the network's parallel regions pays for it: on a shared 2-core machine at load 9 to
    10, Inception's forward pass ran 1.94× faster with idle threads sleeping, DINOv2's 1.77× and CLIP's 1.53×
    (``bench/results/forward_wait_policy.md``).
    With the cores to itself, a sleeping thread costs a wake-up per region: microseconds against milliseconds of work.
    Nothing computed changes.
    """
    if "torch" in sys.modules or "OMP_WAIT_POLICY" in os.environ:
        return False
    os.environ["OMP_WAIT_POLICY"] = "PASSIVE"
    return True
