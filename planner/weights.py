"""Weight bytes of a model in a quantization format, tensor by tensor."""

from __future__ import annotations

from functools import lru_cache
from math import ceil

from .quant.catalog import QuantFormat, get_quant
from .quant.gguf import gguf_tensor_bytes, tensor_types
from .quant.layout import Category, Layout, layout_bytes
from .spec import ModelSpec
from .tensors import WeightTensor, weight_tensors

# Component groups of the weights breakdown.
GROUPS = ("embedding", "attention", "mlp", "experts", "router", "output", "norms_biases")


def tensor_category(t: WeightTensor) -> Category | None:
    """Which catalog category a tensor belongs to; None for norms, biases and sinks (never quantized)."""
    if not t.is_matrix or t.role == "bias":
        return None
    if t.role == "token_embd":
        return "embedding"
    if t.role == "output":
        return "output"
    if t.role.startswith("attn_"):
        return "attn"
    if t.role.startswith("ffn_gate_inp"):
        return "router"
    if t.is_expert:
        return "experts"
    if t.role.endswith("_shexp"):
        return "shared_experts"
    return "mlp"


def _group(t: WeightTensor) -> str:
    cat = tensor_category(t)
    return {None: "norms_biases", "attn": "attention", "shared_experts": "experts"}.get(cat, cat)


def _plain_bytes(t: WeightTensor, fmt: QuantFormat) -> tuple[str, int]:
    cat = tensor_category(t)
    if cat in fmt.overrides:
        return f"{fmt.overrides[cat].bits:g}-bit", layout_bytes(fmt.overrides[cat], t.shape)
    if cat in fmt.quantizes:
        return fmt.name, layout_bytes(fmt.layout, t.shape)
    return f"{fmt.keep_bits}-bit", ceil(t.numel * fmt.keep_bits / 8)


@lru_cache(maxsize=4096)
def tensor_bytes(spec: ModelSpec, quant: str) -> tuple[tuple[str, str, int], ...]:
    """(tensor name, stored type, bytes) for every tensor of `spec` stored as `quant`."""
    fmt = get_quant(quant)
    if fmt.is_gguf:
        types = tensor_types(spec, fmt.gguf_preset)
        return tuple((t.name, types[t.name], gguf_tensor_bytes(t, types[t.name])) for t in weight_tensors(spec))
    return tuple((t.name, *_plain_bytes(t, fmt)) for t in weight_tensors(spec))


@lru_cache(maxsize=4096)
def weights_breakdown(spec: ModelSpec, quant: str) -> dict[str, int]:
    """Weight bytes per component group (embedding, attention, mlp, experts, router, output, norms_biases)."""
    out = dict.fromkeys(GROUPS, 0)
    for t, (_, _, n) in zip(weight_tensors(spec), tensor_bytes(spec, quant), strict=True):
        out[_group(t)] += n
    return out


def weights_bytes(spec: ModelSpec, quant: str | None = None) -> int:
    """Bytes of all weights stored as `quant` (None: the checkpoint's own weights_dtype)."""
    return sum(weights_breakdown(spec, quant or spec.weights_dtype).values())


__all__ = ["GROUPS", "Layout", "tensor_bytes", "tensor_category", "weights_breakdown", "weights_bytes"]
