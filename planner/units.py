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
    raise PlannerError(f"unit {shown(unit)} is not one of {', '.join(UNIT_BYTES)} (in any case: gib is GiB; GiB is "
                       "2^30 bytes, GB 10^9)")


def to_unit(n_bytes, unit: str):
    """Bytes (int or numpy array) expressed in `unit`."""
    return n_bytes / UNIT_BYTES[parse_unit(unit)]


def format_bytes(n_bytes: int, unit: str = "GiB", digits: int = 2) -> str:
    """'15.00 GiB' — always with the unit label; bytes as a whole number ('16,106,127,360 B')."""
    unit = parse_unit(unit)
    return f"{to_unit(n_bytes, unit):,.{0 if unit == 'B' else digits}f} {unit}"


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


SIZE_UNITS = {"b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12, "kib": 2**10, "mib": 2**20,
              "gib": 2**30, "tib": 2**40}


def ungrouped(s: str) -> str | None:
    """'8,192' → '8192', '1,008gb' → '1008gb': commas only where they group thousands. None where a comma does
    anything else ('24,5gib', a decimal comma; '4096,32768', two numbers), which a caller refuses: read as
    grouping they would be 245 GiB and 409,632,768 tokens."""
    import re

    if "," not in s:
        return s
    m = re.fullmatch(r"(\d{1,3}(?:,\d{3})+)(\.\d+)?([a-z/]*)", s)
    return None if m is None else m[1].replace(",", "") + (m[2] or "") + m[3]


def parse_size(text, field: str, *, per_second: bool = False) -> float:
    """'24GiB' → 25769803776, '1008GB/s' → 1.008e12 (per_second: the '/s' is optional), '512B' → 512. A number
    without a unit is refused: "24" meant as GiB would otherwise be 24 bytes and a silent "does not fit"."""
    import re

    s = ungrouped(str(text).strip().lower().replace(" ", "")) or ""  # "": refused below, with the text as given
    if per_second:
        s = s.removesuffix("/s").removesuffix("ps")
    m = re.fullmatch(r"(\d+(?:\.\d+)?)([kmgt]i?b|b)?", s)
    if not m:
        raise PlannerError(f"{field} must be a size such as 24GiB or 1008GB{'/s' if per_second else ''}, "
                           f"got {shown(text)}")
    if m[2] is None:
        example = f"{m[1]}GB/s" if per_second else f"{m[1]}GiB or {m[1]}GB"
        raise PlannerError(f"{field} needs a unit, e.g. {example} (B for bytes), got {shown(text)}")
    value = float(m[1]) * SIZE_UNITS[m[2]]
    if not 0 < value < 2**60:
        raise PlannerError(f"{field} must be positive and below 2^60 bytes, got {shown(text)}")
    return value
