"""The largest count that passes a monotone test: true up to some n, false after."""

from __future__ import annotations

from collections.abc import Callable


def largest_passing(passes: Callable[[int], bool], upper: int) -> int:
    """The largest n in 1..upper with passes(n); 0 when not even 1 passes. Bisection: about log2(upper) calls."""
    if not passes(1):
        return 0
    lo, hi = 1, upper
    while lo < hi:
        mid = (lo + hi + 1) // 2
        lo, hi = (mid, hi) if passes(mid) else (lo, mid - 1)
    return lo
