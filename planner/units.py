"""Byte units. Everything inside planner is bytes; GiB (2^30) and GB (10^9) exist only at the edges."""

from __future__ import annotations

from typing import Literal

from .errors import PlannerError, shown

Unit = Literal["GiB", "GB", "MiB", "MB", "B"]

UNIT_BYTES: dict[str, int] = {
    "B": 1,
    "MB": 10**6,
    "GB": 10**9,
    "MiB": 2**20,
    "GiB": 2**30,
}


def parse_unit(unit: str) -> str:
    """Canonical spelling of a unit name, case-insensitive ("gib" → "GiB")."""
    if not isinstance(unit, str):
        raise PlannerError(f"unit must be one of {', '.join(UNIT_BYTES)}, got {shown(unit)}")
    for canonical in UNIT_BYTES:
        if unit.lower() == canonical.lower():
            return canonical
    raise PlannerError(f"unit {shown(unit)} is not one of {', '.join(UNIT_BYTES)}")


def to_unit(n_bytes, unit: str):
    """Bytes (int or numpy array) expressed in `unit`."""
    return n_bytes / UNIT_BYTES[parse_unit(unit)]


def format_bytes(n_bytes: int, unit: str = "GiB", digits: int = 2) -> str:
    """'15.00 GiB' — always with the unit label."""
    unit = parse_unit(unit)
    return f"{to_unit(n_bytes, unit):,.{digits}f} {unit}"


def counts(x):
    """Token or sequence counts as an int64 array; numpy float64 values stay floats (planner.estimate's overflow
    check reruns the formulas in floating point, where nothing wraps around). A Python float is refused."""
    import numpy as np

    arr = np.asarray(x)
    if arr.dtype.kind == "f" and isinstance(x, (np.ndarray, np.floating)) and np.isfinite(arr).all():
        return arr
    if arr.dtype.kind not in "iu" or (arr.size and arr.min() < 0):
        raise PlannerError(f"token and sequence counts must be integers ≥ 0, got {shown(x)}")
    return arr.astype(np.int64)
