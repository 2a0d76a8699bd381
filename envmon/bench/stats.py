"""What every benchmark reports alike: percentiles, and the machine it ran on."""

from __future__ import annotations

import os
import platform
from collections.abc import Sequence


def percentile(values: Sequence[float], q: float) -> float:
    """The nearest-rank ``q`` quantile (0 ≤ q ≤ 1) of ``values``."""
    if not values:
        raise ValueError("percentile of no values")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def machine() -> str:
    """The machine a figure was measured on, for the last JSON line of a benchmark."""
    return f"{platform.machine()} {os.cpu_count()} cores, Python {platform.python_version()}"
