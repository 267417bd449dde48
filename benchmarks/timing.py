"""The one timing rule of the benchmark scripts: a callable's best wall time over n runs."""

from __future__ import annotations

import time


def best(fn, n: int = 3) -> float:
    """The shortest of n wall-clock runs of fn(), in seconds (the least disturbed by the rest of the machine)."""
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)
