"""Typed exceptions: every user error names the field and the value that caused it."""

from __future__ import annotations

import difflib


def shown(value, limit: int = 80) -> str:
    """repr() of a user's value for a message, cut to `limit` characters."""
    text = repr(value)
    return text if len(text) <= limit else text[:limit - 3] + "..."


class PlannerError(ValueError):
    """Base class for errors a user can fix by changing their input."""


class UnknownModelError(PlannerError):
    """No bundled profile, config.json or file matches the given model name."""


class UnknownQuantError(PlannerError):
    """A quantization or KV-cache dtype name is not in the catalog."""


class ConfigImportError(PlannerError):
    """A config.json cannot be turned into a ModelSpec (unknown model_type, missing field, bad value)."""


class WorkloadError(PlannerError):
    """A workload argument (context, batch, chunk size, …) is out of range."""


class LayoutError(WorkloadError):
    """A multi-GPU layout the engine would refuse (heads not divisible by the tensor-parallel size, …)."""


def close_matches(name: str, candidates, n: int = 5) -> list[str]:
    """Up to `n` candidates that look like `name`, best first (case-insensitive): those it begins (a100 →
    a100-sxm-80gb) or that begin it (Llama-3.1-8B-Instruct → Llama-3.1-8B), then difflib's closest, then those that
    contain it (llama-3-8b in meta-llama/Meta-Llama-3-8B)."""
    lowered = {c.lower(): c for c in candidates}
    key = name.lower()
    hits = [k for k in lowered if k.startswith(key)]
    hits += [k for k in lowered if key.startswith(k) and k not in hits]
    hits += [k for k in difflib.get_close_matches(key, list(lowered), n=n, cutoff=0.5) if k not in hits]
    hits += [k for k in lowered if key in k and k not in hits]
    return [lowered[h] for h in hits[:n]]


def no_option(function: str, unknown, known, *, list_known: bool = True) -> WorkloadError:
    """The error for keyword arguments `function` does not take: the first, and the options it looks like (where
    none does, every option it takes, unless list_known is false: estimate()'s are too many to list)."""
    key = sorted(unknown)[0]
    near = close_matches(key, known, 3)
    return WorkloadError(f"{function}() has no option {key!r}" + (
        f"; did you mean {', '.join(near)}?" if near else f"; it takes {', '.join(known)}" if list_known
        else f"; help(planner.{function}) lists them"))


def did_you_mean(name: str, candidates) -> str:
    matches = close_matches(name, candidates)
    return f"; did you mean: {', '.join(matches)}?" if matches else ""
