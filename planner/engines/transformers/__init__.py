"""transformers generate() (5.x): its cache classes, its modeling code's temporaries, whole-prompt prefill.

Rules read from transformers 5.24.0 (paths under transformers/) and checked against transformers itself, built at
full size under FakeTensorMode (planner.measure.transformers; profiles/measurements/transformers-fake.jsonl):

  weights  the checkpoint's tensors in the chosen format, except what a class keeps in fp32 whatever the dtype
           (_keep_in_fp32_modules_strict: DeepSeek-V2/V3's router weight and V3's e_score_correction_bias)
  KV       cache="dynamic" (generate()'s default DynamicCache, cache_utils.py): every layer holds the whole prompt.
           A DynamicSlidingWindowLayer keeps a view of the last window − 1 tokens of the concatenated prompt, so
           its storage holds all of them until the first decode step (update: self.keys = full_key_states[...]).
           cache="static" (StaticCache, generate(cache_implementation="static")): max_cache_len tokens per full
           layer and min(sliding_window, max_cache_len) per sliding one, zero-filled at each layer's first update
           (StaticLayer.lazy_initialization). A quantized KV dtype (QuantizedCache) keeps every token of every layer.
  peak     planner.engines.transformers.peak: the largest of the prefill and the first decode step, above weights
           and KV
"""

from __future__ import annotations

from ...checks import positive_int
from ...errors import WorkloadError
from ...kv import get_kv_dtype, kv_bytes_per_token_per_layer, kv_cache_bytes
from ...limits import MAX_CONTEXT
from ...spec import ModelSpec
from ...weights import stored_tensors
from ..common import ARCHITECTURE_CAPABILITY, EngineMemory, engine_options
from .peak import EAGER_ONLY, FP32_ROUTER, Step, attention_used, step_peak

TRANSFORMERS_VERSION = "5.24"  # the release whose code the rules were read from (and measured against)
CACHES = ("dynamic", "static")
# Models the release above cannot generate with: Phi-3-small is not in transformers; its Hub remote code
# (modeling_phi3_small.py) calls Cache.get_usable_length, which transformers 4.54 removed (present in 4.53.3's
# cache_utils.py, absent from 4.54.1's and 5.24's), and it asks for flash-attn (_supports_sdpa = False)
TRANSFORMERS_CANNOT_RUN = {
    "phi3small": "Phi-3-small runs only through its Hub remote code (trust_remote_code), which calls "
                 "Cache.get_usable_length, gone since transformers 4.54, and needs flash-attn; engine='sglang', or "
                 "'vllm' with engine_version 0.9.2 or older, runs it",
}


# transformers' FineGrainedFP8 quantizer (quantizer_finegrained_fp8.py validate_environment, read in 5.24.0): "FP8
# quantized models is only supported on GPUs with compute capability >= 8.9 (e.g 4090/H100) … We will default to
# dequantizing the model to bf16" — block-quantized fp8 checkpoints (weight_block_size) load as bf16 below Ada.
TRANSFORMERS_FP8_MIN_CAPABILITY = 89


def transformers_dequantizes(gpu, quant: str) -> bool:
    """Whether transformers loads `quant` weights dequantized to bf16 on `gpu` (a catalog id or GPU): fp8-block on an
    NVIDIA GPU below compute capability 8.9, or on Apple's (no CUDA or XPU device: "Using FP8 quantized models
    requires a GPU or XPU, we will default to dequantizing"). ROCm's GPUs report capabilities of 9 and above."""
    from ...gpus import load_gpu

    if quant.split("[", 1)[0] != "fp8-block" or (isinstance(gpu, str) and gpu.startswith("local")):
        return False  # this machine's GPU: its architecture is not in the catalog
    g = load_gpu(gpu)
    return g.vendor == "apple" or (g.vendor == "nvidia" and ARCHITECTURE_CAPABILITY.get(g.architecture, 100)
                                   < TRANSFORMERS_FP8_MIN_CAPABILITY)


def fp32_router_bytes(spec: ModelSpec, quant: str) -> int:
    """Bytes transformers adds by keeping the router in fp32 whatever the dtype: the router weight and DeepSeek-V3's
    e_score_correction_bias, 4 bytes per element instead of the format's (_keep_in_fp32_modules_strict in
    models/deepseek_v2/modeling_deepseek_v2.py and models/deepseek_v3/modeling_deepseek_v3.py)."""
    if spec.model_type not in FP32_ROUTER or spec.moe is None:
        return 0
    kept = [t for t in stored_tensors(spec, quant) if "gate_inp.weight" in t.name or "exp_probs_b" in t.name]
    return sum(t.rows * t.cols * 4 - t.nbytes for t in kept)


def _layer_kv(spec: ModelSpec, *, cache: str, context: int, batch: int, kv_dtype: str,
              max_cache_len: int) -> list[int]:
    """Each layer's cache bytes after the prefill of `context` tokens."""
    per_token = batch * kv_bytes_per_token_per_layer(spec, kv_dtype)
    out = []
    for kind in spec.layer_kinds():
        if cache == "static":
            sliding = kind == "sliding" and spec.sliding_window is not None
            out.append(per_token * (min(spec.sliding_window, max_cache_len) if sliding else max_cache_len))
        else:
            out.append(per_token * context)
    return out


def _decode_changes(spec: ModelSpec, *, cache: str, context: int, batch: int, kv_dtype: str,
                    layer_kv: list[int]) -> tuple[list[int], list[int]]:
    """Per layer, the first decode step's change of cache bytes and what its update holds for a moment.

    DynamicLayer.update: torch.cat makes the keys one token longer while the old keys live, then the values (the
    larger of the two old storages). DynamicSlidingWindowLayer.update: both concatenations of the last window − 1
    tokens and the new one are made before the prompt's storages are let go. StaticLayer writes in place
    (index_copy_); a full StaticSlidingWindowLayer rolls its keys and values into copies first.
    """
    per_token = batch * kv_bytes_per_token_per_layer(spec, kv_dtype)
    if spec.mla is not None:  # keys: the kv_lora_rank latent; values: the rotary key
        widths = (spec.mla.kv_lora_rank, spec.mla.qk_rope_head_dim)
    else:
        widths = (spec.head_dim, spec.head_dim)
    growth, transient = [], []
    for kind, kv in zip(spec.layer_kinds(), layer_kv, strict=True):
        sliding = kind == "sliding" and spec.sliding_window is not None
        if cache == "static":
            growth.append(0)
            transient.append(kv if sliding and context >= kv // per_token else 0)  # is_full: the roll path
        elif sliding:
            growth.append(per_token * (min(context, spec.sliding_window - 1) + 1) - kv)
            transient.append(kv)
        else:
            growth.append(per_token)
            transient.append(kv * max(widths) // sum(widths))
    return growth, transient


def transformers_memory(spec: ModelSpec, *, quant: str, kv_dtype: str, context: int, batch: int, weights: int,
                        kv: int, attention: str, chunk: int | None, act_bits: int, **options) -> EngineMemory:
    """transformers generate() (5.x): weights, its cache class's KV and the peak of prefill and first decode step.

    Options: cache ("dynamic", generate()'s default, or "static") and max_cache_len (static only; default the
    context, at least the context).
    """
    if spec.model_type in TRANSFORMERS_CANNOT_RUN:
        raise WorkloadError(f"transformers {TRANSFORMERS_VERSION} cannot generate with {spec.name}: "
                            f"{TRANSFORMERS_CANNOT_RUN[spec.model_type]}")
    opts = engine_options("transformers", options, {"cache": "dynamic", "max_cache_len": None})
    cache, max_cache_len = opts["cache"], opts["max_cache_len"]
    if cache not in CACHES:
        raise WorkloadError(f"engine 'transformers' option cache must be one of {', '.join(CACHES)}, got {cache!r}")
    if chunk is not None:
        raise WorkloadError("transformers' generate() prefills the whole prompt; chunk must be None")
    if cache == "dynamic" and max_cache_len is not None:
        raise WorkloadError("engine 'transformers' option max_cache_len sizes a static cache; it needs cache='static'")
    quantized_kv = get_kv_dtype(kv_dtype).bits < act_bits and get_kv_dtype(kv_dtype).bits <= 8
    if cache == "static":
        if quantized_kv:
            raise WorkloadError(f"transformers' StaticCache holds the model's dtype, not kv_dtype {kv_dtype!r}; "
                                "a quantized KV cache is a QuantizedCache (cache='dynamic')")
        max_cache_len = context if max_cache_len is None else positive_int("max_cache_len", max_cache_len,
                                                                           MAX_CONTEXT)
        if max_cache_len < context:
            raise WorkloadError(f"engine 'transformers' option max_cache_len ({max_cache_len}) must hold the "
                                f"context ({context} tokens)")
    used = attention_used(spec, attention)
    layer_kv = _layer_kv(spec, cache=cache, context=context, batch=batch, kv_dtype=kv_dtype,
                         max_cache_len=max_cache_len or context)
    kv_total = sum(layer_kv)
    if quantized_kv:  # QuantizedCache: every token of every layer, in the quantized format
        kv_total = kv_cache_bytes(spec, context_len=context, batch=batch, kv_dtype=kv_dtype, cap_sliding=False)
    a = act_bits // 8
    step = dict(B=batch, a=a, attention=used, cache=cache, max_cache_len=max_cache_len or context)
    prefill, prefill_at = step_peak(spec, Step(T=context, past=0, **step), layer_kv)
    if cache == "static":  # StaticLayer.lazy_initialization: each layer's cumulative_length, int64, on the device
        prefill += 8 * spec.n_layers
    growth, transient = _decode_changes(spec, cache=cache, context=context, batch=batch, kv_dtype=kv_dtype,
                                        layer_kv=layer_kv)
    decode, decode_at = step_peak(spec, Step(T=1, past=context, **step), layer_kv, growth, transient)
    router = fp32_router_bytes(spec, quant)
    details = {"cache": cache, "attention_used": used, "prefill_peak_bytes": prefill, "prefill_peak_at": prefill_at,
               "decode_peak_bytes": decode, "decode_peak_at": decode_at, "fp32_router_bytes": router}
    if cache == "static":
        details["max_cache_len"] = max_cache_len
    if used != attention:
        details["attention_note"] = f"{EAGER_ONLY[spec.model_type]} has no SDPA path: eager attention"
    return EngineMemory(engine="transformers", weights_bytes=weights + router, kv_cache_bytes=kv_total,
                        activation_bytes=max(prefill, decode),
                        details={"engine_version": TRANSFORMERS_VERSION, **details})
