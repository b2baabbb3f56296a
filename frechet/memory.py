"""How much memory a run may still take, so that a batch that cannot fit is refused by name instead of the process
being killed: the kernel's MemAvailable, bounded by the control group's limit where one is set."""

from __future__ import annotations

import contextlib
from pathlib import Path

#: Allocations below this size are never checked: reading the limits costs more than they risk.
CHECK_ABOVE_BYTES = 256 << 20
_CGROUP_V2 = Path("/sys/fs/cgroup")
_CGROUP_V1 = Path("/sys/fs/cgroup/memory")


def available_memory() -> int | None:
    """Bytes this process can still allocate without swapping or being killed, or None where it cannot be told."""
    candidates = [_meminfo_available(), _cgroup_room()]
    known = [value for value in candidates if value is not None]
    return min(known) if known else None


def shortfall(needed: int) -> int | None:
    """The bytes available when ``needed`` is more than that (sizes up to ``CHECK_ABOVE_BYTES`` are not checked),
    else None: a plan that cannot fit is refused before it starts."""
    if needed <= CHECK_ABOVE_BYTES:
        return None
    available = available_memory()
    return available if available is not None and needed > available else None


def describe_bytes(count: float) -> str:
    """A size in words: 512 B, 3.2 MB, 7.7 TB."""
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if count < 1000 or unit == "TB":
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1000
    return f"{count:.1f} TB"


def _meminfo_available() -> int | None:
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    return None


def _cgroup_room() -> int | None:
    """The control group's limit less its usage (v2, else v1), None without a limit."""
    for limit_file, usage_file in ((_CGROUP_V2 / "memory.max", _CGROUP_V2 / "memory.current"),
                                   (_CGROUP_V1 / "memory.limit_in_bytes", _CGROUP_V1 / "memory.usage_in_bytes")):
        with contextlib.suppress(OSError, ValueError):
            limit = limit_file.read_text().strip()
            if limit == "max" or int(limit) >= 1 << 60:  # v1 writes a huge number for "no limit"
                return None
            return max(0, int(limit) - int(usage_file.read_text().strip()))
    return None
