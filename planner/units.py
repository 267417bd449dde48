"""Byte units. Everything inside planner is bytes; GiB (2^30) and GB (10^9) exist only at the edges."""

from __future__ import annotations

from typing import Literal

from .errors import PlannerError

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
    for canonical in UNIT_BYTES:
        if unit.lower() == canonical.lower():
            return canonical
    raise PlannerError(f"unit {unit!r} is not one of {', '.join(UNIT_BYTES)}")


def to_unit(n_bytes, unit: str):
    """Bytes (int or numpy array) expressed in `unit`."""
    return n_bytes / UNIT_BYTES[parse_unit(unit)]


def format_bytes(n_bytes: int, unit: str = "GiB", digits: int = 2) -> str:
    """'15.00 GiB' — always with the unit label."""
    unit = parse_unit(unit)
    return f"{to_unit(n_bytes, unit):,.{digits}f} {unit}"
