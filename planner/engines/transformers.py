"""transformers generate() (4.5x): the plain model plus what its eager code paths copy."""

from __future__ import annotations

from ..activations import step_activation_bytes
from ..errors import WorkloadError
from ..spec import ModelSpec
from .common import EngineMemory, engine_options


def transformers_memory(spec: ModelSpec, *, quant: str, kv_dtype: str, context: int, batch: int, weights: int,
                        kv: int, attention: str, chunk: int | None, act_bits: int, **options) -> EngineMemory:
    """transformers generate() (4.5x): dynamic cache, whole-prompt prefill, last-token logits upcast to fp32.

    Beyond the plain model: the dynamic cache grows by concatenation, so a layer's old and new K/V coexist for a
    moment (one layer of KV extra); GQA keys and values are repeated to every query head before attention
    (repeat_kv, eager and SDPA alike); eager attention keeps the scores, their fp32 softmax and its cast back —
    8 bytes per score at 16-bit.
    """
    engine_options("transformers", options, {})
    if chunk is not None:
        raise WorkloadError("transformers' generate() prefills the whole prompt; chunk must be None")
    base = int(step_activation_bytes(spec, batch=batch, tokens=context, attended=context, attention="sdpa",
                                     act_bits=act_bits))
    group = spec.n_heads // spec.n_kv_heads if spec.mla is None else 1
    repeat = 2 * batch * spec.n_heads * context * spec.head_dim * act_bits // 8 if group > 1 else 0
    scores = batch * spec.n_heads * context * context * (8 if act_bits == 16 else 12) if attention == "eager" else 0
    cat = kv // spec.n_layers
    activation = base + repeat + scores + cat
    return EngineMemory(engine="transformers", weights_bytes=weights, kv_cache_bytes=kv, activation_bytes=activation,
                        details={"repeat_kv_bytes": repeat, "eager_scores_bytes": scores, "cache_concat_bytes": cat})
