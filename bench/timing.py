"""Timing shared by the benchmark scripts."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable


def median_ms(action: Callable[[], object], rounds: int, warm_up: bool = False) -> float:
    """Return the median wall time of ``action`` in milliseconds (after one untimed run if ``warm_up``)."""
    if warm_up:
        action()
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        action()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)
