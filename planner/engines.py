"""Engine-aware memory: what vLLM, llama.cpp and transformers actually allocate.

Each engine is a function of the spec, the weights format and the engine's own settings that returns
device bytes per component plus the engine's own figures (KV blocks, cells, host buffers). The rules
follow the engine versions named in each docstring, read from their source (notes in research/).
"""

from __future__ import annotations

from math import ceil

from pydantic import BaseModel, ConfigDict, Field

from .activations import step_activation_bytes
from .errors import WorkloadError
from .kv import get_kv_dtype, kv_bytes_per_token_per_layer
from .spec import ModelSpec
from .weights import stored_tensors

ENGINES = ("vllm", "llama.cpp", "transformers")

# vLLM's profile run converts the dummy requests' logits to fp32 and samples them with top-k/top-p on:
# fp32 logits, softmax probabilities, the sorted values and their int64 indices are alive together
# (v1/sample/sampler.py, vLLM 0.11): 4 + 4 + 4 + 8 bytes per logit.
VLLM_SAMPLER_BYTES_PER_LOGIT = 20
LLAMA_CPP_PAD = 256  # cells: n_ctx is rounded up to 256 since llama.cpp PR #17046 (Nov 2025)


class EngineMemory(BaseModel):
    """Device memory by component under one engine, and the engine's own figures."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    engine: str
    weights_bytes: int
    kv_cache_bytes: int
    activation_bytes: int
    details: dict[str, float | int | str | bool] = Field(default_factory=dict)


def _pad(n: int, to: int) -> int:
    return -(-n // to) * to


def _options(engine: str, given: dict, allowed: dict) -> dict:
    unknown = set(given) - set(allowed)
    if unknown:
        raise WorkloadError(f"engine {engine!r} has no option {sorted(unknown)[0]!r}; it takes "
                            f"{', '.join(sorted(allowed))}")
    out = {**allowed, **{k: v for k, v in given.items() if v is not None}}
    for key, value in out.items():
        if isinstance(allowed[key], bool):
            if not isinstance(value, bool):
                raise WorkloadError(f"{key} must be true or false, got {value!r}")
        elif isinstance(allowed[key], int) and allowed[key] is not None:
            if isinstance(value, bool) or not isinstance(value, int) or value < (0 if key == "n_gpu_layers" else 1):
                raise WorkloadError(f"{key} must be a positive integer, got {value!r}")
    return out


def vllm_memory(spec: ModelSpec, *, quant: str, kv_dtype: str, gpu_memory_bytes: int, max_model_len: int,
                weights: int, **options) -> EngineMemory:
    """vLLM V1 (0.9–0.18; read in 0.11.0): the KV cache gets what the memory budget leaves.

    available = gpu_memory_bytes × gpu_memory_utilization − weights − profile-run activation peak − non-torch
    increase (none here: the CUDA context predates vLLM's baseline snapshot and is not charged). The profile run
    pushes max_num_batched_tokens tokens through the model with no attention computed, and samples one fp32
    logits row per dummy request. KV pages: block_size tokens × (2 × kv_heads × head_dim, or one MLA latent) per
    layer. CUDA graphs are captured after the KV cache is allocated and are not part of the budget.
    """
    defaults = {"gpu_memory_utilization": 0.9, "block_size": 64 if spec.mla is not None else 16,
                "max_num_batched_tokens": 2048, "max_num_seqs": 256}
    o = _options("vllm", options, defaults)
    util = o["gpu_memory_utilization"]
    if not isinstance(util, (int, float)) or not 0 < util <= 1:
        raise WorkloadError(f"gpu_memory_utilization must be within (0, 1], got {util!r}")
    if max_model_len > spec.max_context:
        raise WorkloadError(f"max_model_len {max_model_len} exceeds {spec.name}'s max_context {spec.max_context}")
    tokens = o["max_num_batched_tokens"]
    reqs = min(o["max_num_seqs"], tokens)
    # the layer phases of a forward over `tokens` tokens (attention as SDPA: no scores), logits handled below
    layers = int(step_activation_bytes(spec, batch=1, tokens=tokens, attended=1, logits="last",
                                       logits_bits=16, act_bits=16))
    sampler = reqs * spec.vocab_size * (2 + VLLM_SAMPLER_BYTES_PER_LOGIT)
    activation = max(layers, sampler + 2 * tokens * spec.d_model * 2)
    requested = int(gpu_memory_bytes * util)
    available = requested - weights - activation
    page = o["block_size"] * kv_bytes_per_token_per_layer(spec, kv_dtype)
    blocks = max(0, available) // (page * spec.n_layers)
    kv_tokens = blocks * o["block_size"]
    per_request = ceil(max_model_len / o["block_size"])
    return EngineMemory(
        engine="vllm", weights_bytes=weights, kv_cache_bytes=max(0, available), activation_bytes=activation,
        details={"requested_bytes": requested, "available_kv_bytes": available, "kv_blocks": blocks,
                 "kv_tokens": kv_tokens, "max_concurrency": blocks / per_request, "max_model_len": max_model_len,
                 "fits_max_model_len": blocks >= per_request, **o})


def llamacpp_memory(spec: ModelSpec, *, quant: str, kv_dtype: str, n_ctx: int, **options) -> EngineMemory:
    """llama.cpp (upstream Nov 2025 – Jan 2026 rules): what sits on the GPU with -ngl layers offloaded.

    Cells: n_ctx rounded up to 256 (split per slot when --parallel without a unified cache); sliding layers
    keep pad256(min(cells, n_swa × slots + n_ubatch)). token_embd stays in host memory; a tied lm_head is a
    duplicated copy on the GPU. GPU compute buffer: without flash attention the f32 KQ scores and mask,
    n_kv × n_ubatch × (n_head + 1) × 4 B; with it, the larger of the f32 logits of one ubatch and the FFN
    activations, plus n_ubatch × (n_ff + n_embd) × 4 B of other activations.
    """
    defaults = {"n_batch": 2048, "n_ubatch": 512, "flash_attn": True, "n_gpu_layers": spec.n_layers + 1,
                "n_parallel": 1, "kv_unified": False, "type_v": None}
    o = _options("llama.cpp", options, defaults)
    type_k = kv_dtype
    type_v = get_kv_dtype(o["type_v"] or kv_dtype).name
    if get_kv_dtype(type_v).block and not o["flash_attn"]:
        raise WorkloadError(f"type_v {type_v!r} is quantized, which llama.cpp allows only with flash_attn")
    n_ubatch = min(o["n_ubatch"], o["n_batch"], n_ctx)
    np_ = o["n_parallel"]
    if o["kv_unified"] or np_ == 1:
        cells = _pad(n_ctx, LLAMA_CPP_PAD)
        swa_cells = _pad(min(cells, (spec.sliding_window or 0) * np_ + n_ubatch), LLAMA_CPP_PAD)
    else:
        per_seq = _pad(ceil(n_ctx / np_), LLAMA_CPP_PAD)
        cells = per_seq * np_
        swa_cells = _pad(min(per_seq, (spec.sliding_window or 0) + n_ubatch), LLAMA_CPP_PAD) * np_
    row_k = kv_bytes_per_token_per_layer(spec, type_k) // 2
    row_v = kv_bytes_per_token_per_layer(spec, type_v) // 2
    kinds = spec.layer_kinds()
    gpu_first = max(spec.n_layers + 1 - o["n_gpu_layers"], 0)  # layers >= gpu_first run on the GPU
    kv_gpu = kv_host = 0
    for i, kind in enumerate(kinds):
        n = (swa_cells if kind == "sliding" else cells) * (row_k + row_v)
        kv_gpu, kv_host = (kv_gpu + n, kv_host) if i >= gpu_first else (kv_gpu, kv_host + n)
    w_gpu = w_host = 0
    output_on_gpu = o["n_gpu_layers"] >= 1
    for t in stored_tensors(spec, quant):
        if t.group == "embedding":
            w_host += t.nbytes
            if spec.tie_embeddings and output_on_gpu:
                w_gpu += t.nbytes  # llama.cpp duplicates the tied matrix as the GPU's lm_head
        elif t.layer is not None:
            w_gpu, w_host = (w_gpu + t.nbytes, w_host) if t.layer >= gpu_first else (w_gpu, w_host + t.nbytes)
        elif output_on_gpu:
            w_gpu += t.nbytes
        else:
            w_host += t.nbytes
    n_kv = cells if (o["kv_unified"] or np_ == 1) else cells // np_
    # besides scores and logits, the graph holds about one ubatch of FFN and residual activations in f32
    d_ff = max(spec.d_ff, spec.moe.expert_d_ff if spec.moe else 0)
    other = n_ubatch * (d_ff + spec.d_model) * 4
    if o["flash_attn"]:
        compute = max(spec.vocab_size * n_ubatch * 4, other)
    else:
        compute = n_kv * n_ubatch * (spec.n_heads + 1) * 4 + other
    host_compute = n_kv * n_ubatch * 4 + n_ubatch * spec.d_model * 4
    output = spec.vocab_size * np_ * 4
    return EngineMemory(
        engine="llama.cpp", weights_bytes=w_gpu, kv_cache_bytes=kv_gpu, activation_bytes=compute if w_gpu else 0,
        details={"n_ctx": n_ctx, "kv_cells": cells, "swa_cells": swa_cells if "sliding" in kinds else 0,
                 "kv_k_bytes": sum((swa_cells if k == "sliding" else cells) * row_k for k in kinds),
                 "kv_v_bytes": sum((swa_cells if k == "sliding" else cells) * row_v for k in kinds),
                 "type_k": type_k, "type_v": type_v, "host_weights_bytes": w_host, "host_kv_bytes": kv_host,
                 "host_compute_bytes": host_compute, "host_output_bytes": output,
                 "host_total_bytes": w_host + kv_host + host_compute + output,
                 **{k: v for k, v in o.items() if k != "type_v"}})


def transformers_memory(spec: ModelSpec, *, quant: str, kv_dtype: str, context: int, batch: int, weights: int,
                        kv: int, attention: str, chunk: int | None, act_bits: int, **options) -> EngineMemory:
    """transformers generate() (4.5x): dynamic cache, whole-prompt prefill, last-token logits upcast to fp32.

    Beyond the plain model: the dynamic cache grows by concatenation, so a layer's old and new K/V coexist for a
    moment (one layer of KV extra); GQA keys and values are repeated to every query head before attention
    (repeat_kv, eager and SDPA alike); eager attention keeps the scores, their fp32 softmax and its cast back —
    8 bytes per score at 16-bit.
    """
    _options("transformers", options, {})
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
