"""A link's values, parsed: each parser takes the raw text of one query parameter and returns its value, or raises
ValueError with the words that finish "Link parameter key=value …" (state.start puts them in a notice)."""

from __future__ import annotations

import re
from collections.abc import Callable

from planner.errors import did_you_mean


def choice(options: Callable[[], list[str]]):
    def parse(raw: str) -> str:
        opts = options()
        if raw in opts:
            return raw
        listed = ", ".join(opts) if len(opts) <= 12 else f"the {len(opts)} choices"
        raise ValueError(f"is not one of {listed}{did_you_mean(raw, opts) if 0 < len(raw) <= 100 else ''}")
    return parse


def tokens(low, high):
    """A token count as the CLI takes it: 8192, 8,192, 8K, 128k, 1M."""
    whole = number(low, high)

    def parse(raw: str):
        import argparse

        from planner.cli.args import parse_tokens

        if len(raw) > 40:
            raise ValueError("is not a whole number")
        if raw.strip().startswith("-"):  # a negative count: below the minimum, as number() says it
            return whole(raw.strip())
        try:
            return whole(str(parse_tokens(raw)))
        except argparse.ArgumentTypeError:
            raise ValueError("is not a whole number of tokens (8192, 8,192 or 8K)") from None
    return parse


def number(low, high, *, whole: bool = True):
    def parse(raw: str):
        try:
            if len(raw) > 40:  # parsing a 10⁵-digit integer alone takes seconds
                raise ValueError
            x = int(raw) if whole else float(raw)
            if x != x:  # NaN
                raise ValueError
        except ValueError:
            raise ValueError(f"is not a {'whole ' if whole else ''}number") from None
        if x > high:
            raise ValueError(f"is above the maximum {high:,}")
        if x < low:
            raise ValueError(f"is below the minimum {low:,}")
        return x
    return parse


def text(pattern: re.Pattern | None, limit: int, what: str):
    def parse(raw: str) -> str:
        if len(raw) > limit or (pattern is not None and raw and not pattern.fullmatch(raw)):
            raise ValueError(f"is not {what}")
        return raw
    return parse


def flag(raw: str) -> bool:
    """1 or 0, as the link writes it; true/false and on/off, as people type them."""
    value = raw.strip().lower()
    if value not in ("0", "1", "true", "false", "on", "off"):
        raise ValueError("is not 0 or 1")
    return value in ("1", "true", "on")


def params(raw: str) -> str:
    from planner.approx import parse_param_count

    try:
        parse_param_count(raw)
    except Exception:
        raise ValueError("is not a parameter count such as 7B") from None
    return raw


def mm_counts_text(raw: str) -> str:
    """vLLM's --limit-mm-per-prompt as typed (image=1,video=0), checked; '' for vLLM's default."""
    import argparse

    from planner.cli.args import mm_counts

    if raw.strip() == "":
        return ""
    try:
        mm_counts(raw[:200])
    except argparse.ArgumentTypeError:
        raise ValueError("is not modality=count pairs such as image=1,video=0") from None
    return raw.strip()
