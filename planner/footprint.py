"""An estimate's workload and its bytes: the caller's settings resolved and checked (resolve_workload), and the KV
cache and the prefill and decode activation peaks of `context` tokens × `batch` sequences (workload_bytes)."""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from .activations import DEQUANT_CHUNK_ROWS, decode_activation_bytes, prefill_activation_bytes
from .checks import positive_int
from .engines.llamacpp.graph import LLAMACPP_SWA
from .errors import WorkloadError, shown
from .kv import get_kv_dtype, kv_cache_bytes
from .limits import MAX_BATCH, MAX_BYTES, MAX_CONTEXT
from .profiles import within_context
from .quant.catalog import get_quant, is_gguf_weights
from .spec import ModelSpec
from .weights import stored_tensors
from .workload import Workload

DEFAULT_CONTEXT = 4096  # tokens, when the caller gives none (capped at the model's max_context)


# Every integer below 2^53 is a float64. The memory formulas are sums, products and maxima of non-negative
# integers, none larger than the total, so a total below it is computed exactly in floating point.
EXACT_IN_FLOAT = 2**53


def workload_bytes(spec: ModelSpec, w: Workload, *, context, batch, weights: int):
    """(KV cache, prefill peak, decode peak) bytes for `context` tokens × `batch` sequences (ints or int arrays).

    Evaluated once in float64, where nothing wraps around: below EXACT_IN_FLOAT the values are exact and come back
    as ints (int64 arrays); up to MAX_BYTES (4 EiB) they are evaluated again in int64, exact there too; beyond it
    the workload is refused — no machine holds it, and int64 would wrap.
    """
    if isinstance(context, int) and isinstance(batch, int):  # one point, as a plan asks: asked again and again
        return _point_bytes(spec, w, context, batch, weights)
    return _workload_bytes(spec, w, context=context, batch=batch, weights=weights)


@lru_cache(maxsize=4096)
def _point_bytes(spec: ModelSpec, w: Workload, context: int, batch: int, weights: int) -> tuple[int, int, int]:
    return _workload_bytes(spec, w, context=context, batch=batch, weights=weights)


def _workload_bytes(spec: ModelSpec, w: Workload, *, context, batch, weights: int):
    kv, prefill, decode = _kv_and_activations(spec, w, np.asarray(context, np.float64),
                                              np.asarray(batch, np.float64))
    as_float = [np.asarray(v, np.float64) for v in (kv, prefill, decode)]  # a scalar may come back a Python int
    largest = weights + float(np.max(as_float[0] + np.maximum(as_float[1], as_float[2])))
    if largest > MAX_BYTES:
        raise WorkloadError(f"context {int(np.max(context)):,} × batch {int(np.max(batch)):,} needs about "
                            f"{largest / 2**60:,.0f} EiB, beyond the {MAX_BYTES // 2**60} EiB planner computes "
                            "exactly; lower the batch or the context")
    if largest >= EXACT_IN_FLOAT:
        return _kv_and_activations(spec, w, np.asarray(context, np.int64), np.asarray(batch, np.int64))
    return tuple(int(v) if np.ndim(v) == 0 else np.asarray(v).astype(np.int64) for v in (kv, prefill, decode))


def _kv_and_activations(spec: ModelSpec, w: Workload, context: np.ndarray, batch: np.ndarray):
    kv = kv_cache_bytes(spec, context_len=context, batch=batch, kv_dtype=w.kv_dtype, cap_sliding=w.cap_sliding)
    act_kw = dict(context_len=context, batch=batch, **activation_options(spec, w))
    return kv, prefill_activation_bytes(spec, chunk=w.chunk, **act_kw), decode_activation_bytes(spec, **act_kw)


def activation_dtype(quant: str) -> str:
    """The dtype activations run in: fp32 or fp16 with such weights, bf16 otherwise."""
    return {"fp32": "fp32", "fp16": "fp16"}.get(get_quant(quant).name, "bf16")


def act_bits(quant: str) -> int:
    return 32 if activation_dtype(quant) == "fp32" else 16


def activation_options(spec: ModelSpec, w: Workload) -> dict:
    """The keywords planner.activations needs besides context and batch, derived from the workload."""
    # a cache in another dtype than the activations is converted when read
    kv_factor = 0 if get_kv_dtype(w.kv_dtype).name == activation_dtype(w.quant) else 1
    return dict(attention=w.attention, act_bits=act_bits(w.quant), logits=w.logits,
                logits_bits=get_kv_dtype(w.logits_dtype).bits, dequant=dequant_widths(spec, w.quant),
                kv_factor=kv_factor)


_PLAIN = {"F32", "F16", "BF16", "F64", "fp32", "fp16", "bf16", "16-bit", "32-bit"}


@lru_cache(maxsize=1024)
def _dequant_widths(spec: ModelSpec, quant: str) -> tuple[tuple[str, int], ...]:
    widths = {"attn": 0, "mlp": 0, "mlp_in": 0, "head": 0}
    rows = {"attn": 0, "mlp": 0, "mlp_in": 0, "head": 0}
    phase = {"attention": "attn", "mlp": "mlp", "experts": "mlp", "output": "head"}
    for t in stored_tensors(spec, quant):
        key = "head" if (t.group == "embedding" and spec.tie_embeddings) else phase.get(t.group)
        if key == "mlp" and "ffn_down" not in t.name:  # the gate and up projections: the MLP's intermediates
            key = "mlp_in"                             # are still being built while they dequantize
        if key and t.is_matrix and t.stored_as not in _PLAIN:
            chunk_rows = min(DEQUANT_CHUNK_ROWS, t.rows)
            if chunk_rows * t.cols > rows[key] * widths[key]:
                widths[key], rows[key] = t.cols, chunk_rows
    return tuple(widths.items()) + tuple((f"{k}_rows", v) for k, v in rows.items())


def dequant_widths(spec: ModelSpec, quant: str) -> dict[str, float]:
    """Widest row of the matrices stored packed (dequantized on the fly), per phase: attn, mlp (the down
    projection), mlp_in (gate and up), head; and the unpacking overhead (int4's nibbles are split into bytes before
    they are widened: 1.5)."""
    return dict(_dequant_widths(spec, quant)) | {"unpack": 1.5 if get_quant(quant).name.startswith("int4") else 1.0}


def default_kv_dtype(quant: str, spec: ModelSpec | None = None) -> str:
    """The KV dtype engines use with these weights: fp16 for GGUF (llama.cpp's f16), else the activation dtype."""
    return "fp16" if is_gguf_weights(quant, spec) else activation_dtype(quant)


# A GGUF file runs only in llama.cpp and what is built on it (Ollama, LM Studio, llama-cpp-python), which prefill a
# prompt in micro-batches of n_ubatch tokens, 512 unless set (common/common.h n_ubatch; llama-server -ub). The plain
# model takes a GGUF format's prompt in such chunks (of each sequence: at a batch above 1, an upper bound on
# llama.cpp's 512 in all), not all at once as a PyTorch runtime would: a 128K-token prompt of Llama-3.1-8B in Q4_K_M
# would otherwise take 12.5 GiB of activations, and 5.8 GiB of allocator slack with them, that no runtime of the file
# allocates.
GGUF_PREFILL_CHUNK = 512


def resolve_workload(spec: ModelSpec, *, quant, kv_dtype, context, batch, chunk, attention, logits,
                     logits_dtype, runtime, cap_sliding, beyond_training: bool = False,
                     plain: bool = False) -> Workload:
    """Fill defaults and check every argument, naming the one that is wrong. beyond_training: a context above the
    model's max_context is allowed (llama.cpp runs it, warning of a training-context overflow). plain: the plain
    model's workload (no engine), whose GGUF weights prefill in chunks of GGUF_PREFILL_CHUNK unless `chunk` says."""
    gguf = plain and is_gguf_weights(spec.weights_dtype if quant is None else quant, spec)
    if plain and chunk is None:
        chunk = GGUF_PREFILL_CHUNK if gguf else None
    fmt = get_quant(spec.weights_dtype if quant is None else quant)
    if beyond := [f"{c}@{i}" for c, i in fmt.keep_layers if i >= spec.n_layers]:
        raise WorkloadError(f"quant {fmt.name!r} keeps {beyond[0]} in 16 bits, but {spec.name}'s layers are "
                            f"0–{spec.n_layers - 1}")
    quant = fmt.name
    kv_dtype = default_kv_dtype(quant, spec) if kv_dtype is None else get_kv_dtype(kv_dtype).name
    context = min(DEFAULT_CONTEXT, spec.max_context) if context is None else positive_int("context", context)
    if beyond_training and context > MAX_CONTEXT:
        raise WorkloadError(f"context {context} exceeds {MAX_CONTEXT:,}")
    if not beyond_training:
        within_context("context", context, spec)
    if chunk is not None:
        positive_int("chunk", chunk, MAX_CONTEXT)
    for field, value, allowed in (("attention", attention, ("sdpa", "eager")), ("logits", logits, ("last", "all")),
                                  ("runtime", runtime, ("cuda", "none"))):
        if value not in allowed:
            raise WorkloadError(f"{field} must be one of {', '.join(allowed)}, got {shown(value)}")
    if not isinstance(cap_sliding, bool):
        raise WorkloadError(f"cap_sliding must be true or false, got {shown(cap_sliding)}")
    logits_dtype = get_kv_dtype(logits_dtype).name
    if logits_dtype not in ("fp32", "fp16", "bf16"):
        raise WorkloadError(f"logits_dtype must be one of fp32, fp16, bf16, got {shown(logits_dtype)}")
    batch = positive_int("batch", batch, MAX_BATCH)
    if gguf and spec.model_type not in LLAMACPP_SWA:  # a GGUF file runs in llama.cpp, which keeps every token on
        cap_sliding = False                            # these models' sliding layers (Mistral-7B-v0.1, Phi-3 4k)
    return Workload(quant=quant, kv_dtype=kv_dtype, context=context, batch=batch, chunk=chunk, attention=attention,
                    logits=logits, logits_dtype=logits_dtype, runtime=runtime, cap_sliding=cap_sliding)


def batch_state(spec: ModelSpec, batch: int) -> int:
    """The linear-attention layers' recurrent state for `batch` sequences (0 for attention-only models)."""
    from .kv import recurrent_state_bytes_per_sequence

    return batch * recurrent_state_bytes_per_sequence(spec)
