"""The tensor-parallel layout rules vLLM (and SGLang) apply, for any GPU: planner.parallel.check_layout and the
engines use them."""

from __future__ import annotations

from .errors import LayoutError
from .spec import ModelSpec


def check_tensor_parallel(spec: ModelSpec, n: int) -> None:
    """check_layout's tensor-parallel rules (vLLM's), for any GPU."""
    if spec.n_heads % n:
        raise LayoutError(f"tensor parallel {n}: {spec.name}'s {spec.n_heads} attention heads do not divide by {n}")
    if spec.mla is None and (spec.n_kv_heads % n if spec.n_kv_heads >= n else n % spec.n_kv_heads):
        raise LayoutError(f"tensor parallel {n}: {spec.name}'s {spec.n_kv_heads} KV heads neither divide by {n} "
                          f"nor divide it")
    widths = {"intermediate_size": spec.d_ff}
    if spec.moe is not None:
        widths |= {"expert intermediate_size": spec.moe.expert_d_ff, "shared expert size": spec.moe.shared_d_ff}
    for what, width in widths.items():
        if width % n:
            raise LayoutError(f"tensor parallel {n}: {spec.name}'s {what} {width} does not divide by {n}")
