"""What every log reader shares: a row of the reconciliation, the result, and finding a figure's line."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

MIB, GIB = 2**20, 2**30


@dataclass
class Row:
    """One figure the log prints, beside planner's figure for the same configuration."""

    figure: str
    logged: float
    planner: float | None  # None: planner has no figure for it (the note says why)
    unit: str
    note: str = ""
    line: int | None = None  # 1-based line of the log the figure is on
    resolution: float = 0.0  # half the last digit the log prints the figure to, in `unit`

    @property
    def error_pct(self) -> float | None:
        return None if self.planner is None or not self.logged else 100 * (self.planner / self.logged - 1)

    def within(self, pct: float) -> bool:
        """planner's figure is the logged one to within the log's rounding plus `pct` % of it."""
        if self.planner is None:
            return False
        return abs(self.planner - self.logged) <= self.resolution + abs(self.logged) * pct / 100 + 1e-9


@dataclass
class LogCheck:
    engine: str
    settings: dict
    rows: list[Row] = field(default_factory=list)
    model: str = ""


def line_of(text: str, pos: int) -> int:
    return text.count("\n", 0, pos) + 1


def first(pattern: re.Pattern, text: str) -> tuple[re.Match | None, int | None]:
    """The first match and its 1-based line."""
    m = pattern.search(text)
    return (m, line_of(text, m.start())) if m else (None, None)


def half_digit(printed: str) -> float:
    """'1918.35' → 0.005, '2.4' → 0.05, '896' → 0.5: the rounding of a printed figure."""
    printed = printed.replace(",", "")
    decimals = len(printed.split(".")[1]) if "." in printed else 0
    return 0.5 * 10.0 ** -decimals


def quoted(text: str, line: int, width: int = 90) -> str:
    """Line `line` of the log, stripped and cut to `width` characters, for an error message."""
    s = text.splitlines()[line - 1].strip() if line else ""
    return s if len(s) <= width else s[: width - 1] + "…"
