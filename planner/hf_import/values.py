"""Strict JSON values: RFC 8259 numbers only, and one typed accessor per kind of config.json value.

Public so that every reader of model metadata (config.json, GGUF metadata) applies the same rules: a count is a JSON
integer within its bounds (not 8.0, "8" or true), a switch a JSON bool (not "false"), a name a JSON string.
"""

from __future__ import annotations

import json
import math
from typing import Any

from ..errors import ConfigImportError

# ModelSpec fields named otherwise than the config.json key they come from, named beside it in messages.
SPEC_FIELDS = {"num_hidden_layers": "n_layers", "hidden_size": "d_model", "num_attention_heads": "n_heads",
                "num_key_value_heads": "n_kv_heads", "max_position_embeddings": "max_context",
                "tie_word_embeddings": "tie_embeddings"}


def parse_json(text: str, where: str) -> Any:
    """JSON as RFC 8259 has it: Python's json also accepts NaN and Infinity, and turns 1e999 into inf; both are
    refused here, and nesting too deep for the parser is a ConfigImportError, not a RecursionError."""
    try:
        return json.loads(text, parse_constant=_no_constant, parse_float=_finite_float, parse_int=_int_literal)
    except RecursionError:
        raise ConfigImportError(f"{where}: not valid JSON (nested too deeply)") from None
    except ValueError as e:  # json.JSONDecodeError and the hooks' refusals
        raise ConfigImportError(f"{where}: not valid JSON ({e})") from None


def _no_constant(name: str):
    raise ValueError(f"{name} is not a JSON number")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"number {text[:40]} is beyond the range of a float")
    return value


def _int_literal(text: str) -> int:
    try:
        return int(text)
    except ValueError:  # Python refuses int(str) of more than 4,300 digits (sys.get_int_max_str_digits)
        raise ValueError(f"an integer of {len(text)} digits is too long") from None


def show_value(value: Any) -> str:
    """A JSON value for a one-line message: short, never recursive, never a huge integer's digits."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value) if -10**18 < value < 10**18 else f"an integer of {value.bit_length()} bits"
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, str):
        return repr(value if len(value) <= 60 else value[:60] + "…")
    if isinstance(value, list) and len(value) <= 4 and all(v is None or isinstance(v, (bool, int, float))
                                                          for v in value):
        return "[" + ", ".join(map(show_value, value)) + "]"
    if isinstance(value, (list, tuple)):
        return f"a list of {len(value)} item{'s' * (len(value) != 1)}"
    if isinstance(value, dict):
        return f"an object with {len(value)} key{'s' * (len(value) != 1)}"
    return f"a {type(value).__name__}"


def check_count(where: str, key: str, value: Any, lo: int, hi: int) -> int:
    """`value` if it is an integer from lo to hi; a bool, 8.0 or "8" is not an integer."""
    if isinstance(value, int) and not isinstance(value, bool) and lo <= value <= hi:
        return value
    field = f" (spec field {SPEC_FIELDS[key]})" if key in SPEC_FIELDS else ""
    raise ConfigImportError(f"{where}: {key} must be an integer from {lo} to {hi}, got {show_value(value)}{field}")


def check_flag(where: str, key: str, value: Any) -> bool:
    """`value` if it is a JSON bool: "false" is a non-empty string, which Python would read as true."""
    if isinstance(value, bool):
        return value
    raise ConfigImportError(f"{where}: {key} must be true or false, got {show_value(value)}")


def check_text(where: str, key: str, value: Any, choices=None) -> str:
    """`value` if it is a string (one of `choices`, when given)."""
    if not isinstance(value, str):
        raise ConfigImportError(f"{where}: {key} must be a string, got {show_value(value)}")
    if choices is not None and value not in choices:
        raise ConfigImportError(f"{where}: {key} {show_value(value)} is not one of {', '.join(choices)}")
    return value


def check_list(where: str, key: str, value: Any, max_len: int) -> list:
    """`value` if it is a JSON array of at most max_len items (checked before any item is looked at)."""
    if not isinstance(value, list):
        raise ConfigImportError(f"{where}: {key} must be a list, got {show_value(value)}")
    if len(value) > max_len:
        raise ConfigImportError(f"{where}: {key} has {len(value)} items, at most {max_len} are allowed")
    return value
