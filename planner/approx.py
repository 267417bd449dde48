"""A quick estimate from just a parameter count ("7B"), for users who know nothing else about the model.

Method: a ladder of real published dense Llama-3 shapes (LADDER, read from the bundled profiles). The shape
whose own parameter count is nearest the target in log scale is kept whole — d_model, heads, KV heads,
head_dim, d_ff, vocabulary, tied embeddings, max_context — and only n_layers changes (1..MAX_LAYERS), to the
count that brings the total closest to the target. A parameter count is linear in n_layers, so the result is
within half a layer of the target. Targets a ladder shape cannot reach within TOLERANCE (below one layer of
the smallest shape, above MAX_LAYERS of the largest) are refused rather than answered with another size.
"""

from __future__ import annotations

import math
import re
from functools import lru_cache

from .errors import WorkloadError, shown
from .limits import MAX_LAYERS
from .spec import ModelCard, ModelSpec

MIN_PARAMS = 0.3e9   # one layer of the smallest ladder shape is ~0.32B (its tied embeddings alone 0.26B)
MAX_PARAMS = 3e12    # MAX_LAYERS layers of the largest shape are ~3.27T
BILLIONS_BELOW = 10_000  # a bare number below this is in billions ("70" → 70B); at or above it, a raw count
TOLERANCE = 0.10         # largest relative gap between the target and the spec returned
MAX_TEXT = 40

# Bundled profiles (profiles/models/*.yaml; each names the config.json it was generated from): dense Llama-3
# decoders with one attention kind for every layer, so n_layers can change without any per-layer list.
LADDER = (
    "meta-llama/Llama-3.2-1B",
    "meta-llama/Llama-3.2-3B",
    "meta-llama/Llama-3.1-8B",
    "meta-llama/Llama-3.1-70B",
    "meta-llama/Llama-3.1-405B",
)

_UNITS = {"k": 1e3, "m": 1e6, "b": 1e9, "t": 1e12}
_TEXT = re.compile(r"([0-9.][0-9._eE+-]*)\s*([kmbtKMBT])?")


def _count(n: float) -> str:
    """7.03e9 → '7.03B'."""
    unit, scale = next((u, s) for u, s in (("T", 1e12), ("B", 1e9), ("M", 1e6), ("", 1.0)) if n >= s or u == "")
    return f"{n / scale:,.3f}".rstrip("0").rstrip(".") + unit


def parse_param_count(text: str | float | int) -> float:
    """A parameter count from 7e9, 7_000_000_000, "7B", "350m", "1.5T" or "70" (bare numbers below 10,000 are
    billions). Refuses anything else, and counts outside MIN_PARAMS..MAX_PARAMS, with a WorkloadError."""
    bad = WorkloadError(f"parameters must be a count such as 7B, 350M or 1.5T, got {shown(text)}")
    if isinstance(text, str):
        m = _TEXT.fullmatch(text.strip()) if len(text) <= MAX_TEXT else None
        if m is None:
            raise bad
        try:
            value = float(m.group(1))
        except ValueError:
            raise bad from None
        suffix = m.group(2)
    elif isinstance(text, (int, float)) and not isinstance(text, bool):
        value, suffix = float(text), None
    else:
        raise bad
    if not math.isfinite(value) or value <= 0:
        raise bad
    count = value * (_UNITS[suffix.lower()] if suffix else 1e9 if value < BILLIONS_BELOW else 1.0)
    if not MIN_PARAMS <= count <= MAX_PARAMS:
        raise WorkloadError(f"parameters must be between {_count(MIN_PARAMS)} and {_count(MAX_PARAMS)}, "
                            f"got {shown(text)} ({_count(count)})")
    return count


@lru_cache(maxsize=1)
def _ladder() -> tuple[tuple[ModelSpec, int, int], ...]:
    """(spec, parameters outside the layers, parameters per layer) for each LADDER shape."""
    from .profiles import load_model

    out = []
    for model_id in LADDER:
        spec = load_model(model_id)
        one, two = (spec.model_copy(update={"n_layers": n}).param_count for n in (1, 2))
        out.append((spec, one - (two - one), two - one))
    return tuple(out)


def spec_from_params(params: float | str, *, name: str | None = None) -> ModelSpec:
    """A dense Llama-3-style ModelSpec with close to `params` parameters (anything parse_param_count takes)."""
    if name is not None and (not isinstance(name, str) or not name.strip()):
        raise WorkloadError(f"name must be a non-empty string, got {shown(name)}")
    target = parse_param_count(params)
    spec, base, per_layer = min(_ladder(), key=lambda s: abs(math.log(s[0].param_count / target)))
    n_layers = min(MAX_LAYERS, max(1, round((target - base) / per_layer)))
    total = base + n_layers * per_layer
    if abs(total - target) > TOLERANCE * target:
        lo = _ladder()[0][1] + _ladder()[0][2]
        hi = _ladder()[-1][1] + MAX_LAYERS * _ladder()[-1][2]
        raise WorkloadError(f"parameters {_count(target)} is out of reach of the dense Llama-3 shapes, "
                            f"which span about {_count(lo)} to {_count(hi)}; got {shown(params)}")
    short = spec.name.split("/")[-1]
    fields = spec.model_dump() | {
        "name": name or f"~{_count(total)} dense ({short} shape, {n_layers} layer{'s' * (n_layers > 1)})",
        "source": f"approximation from a parameter count ({_count(target)}): the {spec.name} shape "
                  f"({spec.source}) with {n_layers} layers instead of {spec.n_layers}",
        "aliases": (), "n_layers": n_layers, "card": ModelCard(), "checkpoint": None,
    }
    return ModelSpec(**fields)
