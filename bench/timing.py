"""Timing shared by the benchmark scripts."""

from __future__ import annotations

import os
import socket
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path


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


@dataclass(frozen=True)
class Sample:
    """Wall and CPU seconds of each round of one action (per unit: per document for a batch)."""

    wall: list[float]
    cpu: list[float]

    @property
    def median(self) -> float:
        """Return the median wall time in seconds."""
        return statistics.median(self.wall)

    @property
    def cpu_median(self) -> float:
        """Return the median CPU time in seconds."""
        return statistics.median(self.cpu)

    def cell(self, rate: bool = False) -> str:
        """Return ``median (min–max, CPU median)`` in ms, or in units per second when ``rate``."""
        if rate:
            return f"{1 / self.median:.1f}/s ({1 / max(self.wall):.1f}–{1 / min(self.wall):.1f}, CPU {1 / self.cpu_median:.1f}/s)"
        return (f"{self.median * 1000:.1f} ms ({min(self.wall) * 1000:.1f}–{max(self.wall) * 1000:.1f},"
                f" CPU {self.cpu_median * 1000:.1f})")


Timed = Callable[[], tuple[float, float]]
"""One round of an action: returns its (wall, CPU) seconds per unit."""


def timed(action: Callable[[], object], units: int = 1) -> Timed:
    """Return ``action`` as a :data:`Timed` round measured in this process (wall clock and process CPU time)."""

    def run() -> tuple[float, float]:
        wall, cpu = time.perf_counter(), time.process_time()
        action()
        return (time.perf_counter() - wall) / units, (time.process_time() - cpu) / units

    return run


def interleave(actions: dict[str, Timed], rounds: int) -> dict[str, Sample]:
    """Run one untimed round of each action, then ``rounds`` rounds of A, B, A, B...; return each one's sample."""
    for action in actions.values():
        action()
    walls: dict[str, list[float]] = {name: [] for name in actions}
    cpus: dict[str, list[float]] = {name: [] for name in actions}
    for _ in range(rounds):
        for name, action in actions.items():
            wall, cpu = action()
            walls[name].append(wall)
            cpus[name].append(cpu)
    return {name: Sample(walls[name], cpus[name]) for name in actions}


def free_port() -> int:
    """Return a TCP port that is free on loopback right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def tree_cpu_seconds(pid: int) -> float:
    """Return the user + system CPU seconds of a process and its live children (gunicorn master and workers)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(stat.parent.name) == pid or int(fields[1]) == pid:
            total += (int(fields[11]) + int(fields[12])) / tick
    return total
