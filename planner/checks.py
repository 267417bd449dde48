"""Argument checks shared by the public functions: each names the argument, the value and what was expected."""

from __future__ import annotations

import math

from .errors import WorkloadError
from .errors import shown as _show


def positive_int(name: str, value, maximum: int | None = None, *, minimum: int = 1) -> int:
    """An int (not a bool, not a float) within minimum..maximum."""
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise WorkloadError(f"{name} must be an integer ≥ {minimum}, got {_show(value)}")
    if maximum is not None and value > maximum:
        raise WorkloadError(f"{name} must be at most {maximum:,}, got {value:,}")
    return int(value)


def prompt_tokens(prompt, context: int) -> int:
    """A prompt's tokens (None: the whole context), at most the context."""
    prompt = context if prompt is None else positive_int("prompt", prompt)
    if prompt > context:
        raise WorkloadError(f"prompt {prompt:,} exceeds context {context:,}: a prompt fills at most the context")
    return prompt


def positive_float(name: str, value) -> float:
    """A finite number > 0."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
        raise WorkloadError(f"{name} must be a finite number > 0, got {_show(value)}")
    return float(value)


def flag(name: str, value) -> bool:
    if not isinstance(value, bool):
        raise WorkloadError(f"{name} must be true or false, got {_show(value)}")
    return value


def name_list(name: str, value) -> list[str]:
    """One name or a non-empty list of names (non-empty strings)."""
    items = [value] if isinstance(value, str) else value
    if isinstance(items, (list, tuple)) and items and all(isinstance(v, str) and v.strip() for v in items):
        return list(items)
    raise WorkloadError(f"{name} must be a name or a non-empty list of names, got {_show(value)}")


def int_list(name: str, value, maximum: int) -> list[int]:
    """One int or a non-empty list of ints within 1..maximum."""
    items = [value] if isinstance(value, int) and not isinstance(value, bool) else value
    if not isinstance(items, (list, tuple, range)) or not items:
        raise WorkloadError(f"{name} must be an integer or a non-empty list of integers, got {_show(value)}")
    return [positive_int(name, v, maximum) for v in items]
