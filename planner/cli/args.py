"""Argument types and the parser class: a bad value is one line and exit code 2, never a usage dump."""

from __future__ import annotations

import argparse
import re

from ..errors import PlannerError
from ..units import parse_unit, ungrouped


class Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, exit 2, no usage dump
        if message.startswith("the following arguments are required: verb"):
            verbs = next(a for a in self._actions if isinstance(a, argparse._SubParsersAction)).choices
            message = f"give a verb: {', '.join(verbs)} (planner VERB --help says more)"
        verb = self.prog.removeprefix("planner").strip()  # "planner: error: estimate: …", not "planner: planner"
        raise PlannerError(f"{verb}: {message}" if verb else message)


def parse_tokens(text: str) -> int:
    """'8192', '8,192', '8K' (= 8192), '128k', '1M' (= 1,048,576), '8.5K' (= 8704) → tokens."""
    s = ungrouped(str(text).strip().lower().replace("_", ""))
    if s is None:
        raise argparse.ArgumentTypeError(f"must be one whole number, got {text!r} (a comma only groups thousands, "
                                         "as in 8,192)")
    mult = {"k": 1024, "m": 1024**2}.get(s[-1:], 1)
    digits = s[:-1] if mult > 1 else s
    whole, _, frac = digits.partition(".")
    if s.startswith("-") and len(s) > 1:
        raise argparse.ArgumentTypeError(f"must be ≥ 1, got {text!r}")
    if not (whole.isdigit() and (not frac or (frac.isdigit() and mult > 1))) or len(digits) > 30:
        suffixed = bool(re.fullmatch(r"[\d.]+[a-z]+", s))  # 8G, 8kb: a suffix other than K and M
        raise argparse.ArgumentTypeError(f"must be a whole number ≥ 1, got {text!r}"
                                         + (" (K and M multiply: 8K is 8,192, 1M 1,048,576)" if suffixed else ""))
    scaled, scale = int(whole + frac) * mult, 10 ** len(frac)  # 8.5K: 85 × 1024 / 10
    if scaled % scale:
        raise argparse.ArgumentTypeError(f"must be a whole number of tokens, got {text!r} ({scaled / scale:,.1f})")
    return scaled // scale


def positives(text: str) -> list[int]:
    """'4096,32768' → [4096, 32768], as --quants takes its list; '8,192' is one number, 8192. A list where a comma
    could be either ('4K,8,192': 4K and 8,192, or 4K, 8 and 192) is refused."""
    if ungrouped(str(text).strip().lower()) is not None:
        return [positive(text)]
    parts = str(text).strip().split(",")
    for a, b in zip(parts, parts[1:], strict=False):  # '8,192' (thousands) or '1,5K' (a decimal comma)
        if re.fullmatch(r"\d{1,3}", a.strip()) and re.fullmatch(r"\d{1,3}[kKmM]?", b.strip()):
            raise argparse.ArgumentTypeError(f"{text!r} is ambiguous: '{a},{b}' may be one number or two; give the "
                                             "values apart (4096 32768) or with units (4K,32K)")
    return [positive(part) for part in parts]


def unit(text: str) -> str:
    try:
        return parse_unit(text)
    except PlannerError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def positive(text: str) -> int:
    n = parse_tokens(text)
    if n < 1:
        raise argparse.ArgumentTypeError(f"must be ≥ 1, got {text!r}")
    return n


def rate(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"must be a finite number > 0, got {text!r}")
    return value


def nonnegative_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not 0 <= value < float("inf"):
        raise argparse.ArgumentTypeError(f"must be a finite number ≥ 0, got {text!r}")
    return value


def mm_counts(text: str) -> dict[str, int]:
    """--limit-mm-per-prompt: 'image=1,video=0' or JSON '{"image": 1, "video": 0}' → {"image": 1, "video": 0}."""
    import json

    raw = str(text).strip()[:200]
    try:
        pairs = json.loads(raw) if raw.startswith("{") else dict(p.split("=", 1) for p in raw.split(",") if p)
        out = {str(k).strip(): int(v) for k, v in pairs.items()}
    except (ValueError, TypeError, AttributeError):
        raise argparse.ArgumentTypeError(f"must be modality=count pairs such as image=1,video=0, got "
                                         f"{text!r}") from None
    if not out:
        raise argparse.ArgumentTypeError(f"must name at least one modality (image=1,video=0), got {text!r}")
    return out
