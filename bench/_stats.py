"""Small helpers shared by the benchmarks: percentiles and a description of the machine."""

from __future__ import annotations

import math
import os
import platform
import sys
from collections.abc import Sequence


def percentile(sorted_values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile of an already sorted sequence; 0.0 when it is empty."""
    if not sorted_values:
        return 0.0
    rank = max(1, math.ceil(pct / 100 * len(sorted_values)))
    return sorted_values[min(rank, len(sorted_values)) - 1]


def usable_cpus() -> int:
    """What `nproc` prints: the CPUs this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def machine_line() -> str:
    python = f"{platform.python_implementation()} {sys.version.split()[0]}"
    return (
        f"machine: nproc={usable_cpus()} python={python} "
        f"{platform.system()} {platform.release()} {platform.machine()}"
    )
