"""estimate(): memory to run one model at one workload, broken down by component."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from .activations import DEQUANT_CHUNK_ROWS, decode_activation_bytes, prefill_activation_bytes
from .checks import positive_float, positive_int, prompt_tokens
from .engines.dispatch import engine_context, engine_memory, host_ram, host_verdict
from .engines.llamacpp import cpu_overrides
from .engines.llamacpp.graph import LLAMACPP_SWA
from .engines.transformers import transformers_dequantizes
from .errors import WorkloadError, shown
from .kv import get_kv_dtype, indexer_cache_bytes, kv_cache_bytes
from .limits import MAX_BATCH, MAX_BYTES, MAX_CONTEXT
from .overhead import overhead_breakdown
from .perf.llamacpp import host_rate
from .performance import Performance, host_copied, offloaded, performance, served_stream, speeds_only_if_fits
from .profiles import load_model, within_context
from .quant.catalog import get_quant, is_gguf_weights
from .spec import ModelSpec
from .weights import stored_tensors, weights_breakdown
from .workload import Workload

DEFAULT_CONTEXT = 4096  # tokens, when the caller gives none (capped at the model's max_context)


class Estimate(BaseModel):
    """Bytes needed, by component. total = weights + kv_cache + activation + overhead."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    model: str
    workload: Workload
    weights_bytes: int
    kv_cache_bytes: int
    activation_bytes: int
    overhead_bytes: int
    total_bytes: int
    breakdown: dict[str, dict[str, int]] = Field(description="component → part → bytes")
    performance: Performance | None = None
    engine: str | None = Field(None, description="None: the plain analytic model; else vllm, llama.cpp, transformers")
    engine_details: dict[str, float | int | str | bool] = Field(
        default_factory=dict, description="the engine's own figures: KV blocks/tokens/concurrency, host buffers, …")
    engine_refusal: str | None = Field(
        None, description="why the engine would not start or not run the whole batch at once; None when it would")

    @property
    def fits(self) -> bool | None:
        return None if self.performance is None else self.performance.fits

    @property
    def headroom_bytes(self) -> int | None:
        return None if self.performance is None else self.performance.headroom_bytes

    @property
    def decode_tokens_per_s(self) -> float | None:
        return None if self.performance is None else self.performance.decode_tokens_per_s

    @property
    def prefill_seconds(self) -> float | None:
        return None if self.performance is None else self.performance.prefill_seconds

    def to_dict(self) -> dict:
        return self.model_dump(mode="json")


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


def _act_bits(quant: str) -> int:
    return 32 if activation_dtype(quant) == "fp32" else 16


def activation_options(spec: ModelSpec, w: Workload) -> dict:
    """The keywords planner.activations needs besides context and batch, derived from the workload."""
    # a cache in another dtype than the activations is converted when read
    kv_factor = 0 if get_kv_dtype(w.kv_dtype).name == activation_dtype(w.quant) else 1
    return dict(attention=w.attention, act_bits=_act_bits(w.quant), logits=w.logits,
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


def _engine_auto_dtype(spec: ModelSpec, engine: str, version) -> str | None:
    from .engines.common import auto_dtype

    if engine != "vllm" or version is None:
        return auto_dtype(engine, spec)
    from .engines.vllm import vllm_release

    return auto_dtype(engine, spec, vllm_release(version))


def estimate(model: str | Path | ModelSpec, *, quant: str | None = None, kv_dtype: str | None = None,
             context: int | None = None, batch: int = 1, chunk: int | None = None,
             attention: str = "sdpa", logits: str = "last", logits_dtype: str = "fp32",
             runtime: str = "cuda", cap_sliding: bool = True, gpu: str | None = None,
             engine: str | None = None, prompt: int | None = None, speed_engine: str | None = None,
             efficiency: float | None = None, prefill_efficiency: float | None = None,
             host_memory_bytes: int | None = None, host_bandwidth_bytes_per_s: float | None = None,
             **engine_options) -> Estimate:
    """Memory to serve `batch` sequences of `context` tokens of `model` stored as `quant`.

    quant None: the checkpoint's own storage (vLLM and SGLang: a float32 checkpoint in 16 bits, as their dtype "auto"
    loads it). kv_dtype None: fp16 for GGUF, else the activation dtype.
    Activations are the larger of the prefill peak (in chunks of `chunk`; None: the whole prompt, or for GGUF
    weights without an engine llama.cpp's 512-token ubatches, GGUF_PREFILL_CHUNK) and the decode peak.
    gpu: a catalog id; adds `performance` (fits, headroom, time to first token for `prompt` tokens —
    default the whole context — and decode tokens/s at the full context).
    engine: None for the plain analytic model, or "vllm", "llama.cpp", "transformers" for what that engine
    allocates (planner.engines), with its options as keywords: vllm gpu_memory_utilization, max_model_len,
    block_size, max_num_batched_tokens, max_num_seqs, gpu_memory_bytes; llama.cpp n_ctx, n_batch, n_ubatch,
    flash_attn, n_gpu_layers, n_parallel, kv_unified, type_v, program, n_outputs_max. The engine also picks the speed
    model.
    speed_engine: the engine whose speed to model when it is not `engine` (planner.efficiency.SPEED_ENGINES: also
    sglang, tensorrt-llm, gpt-fast, mlc-llm, exllamav2, lmdeploy, autoawq, mlx). efficiency / prefill_efficiency:
    your own share of datasheet bandwidth (decode) and of peak FLOP/s (prefill) for this run, instead of
    profiles/efficiency.yaml's. host_memory_bytes: the system RAM free for what llama.cpp or Ollama leave there;
    more than that does not fit (with gpu="local", default this machine's available RAM).
    host_bandwidth_bytes_per_s: that RAM's bandwidth, which a decode step reads what they leave there at (default
    planner.perf.HOST_RAM_BYTES_PER_S, a desktop's dual-channel DDR5-4800; a server has several times it).
    """
    from .engines import ENGINES, check_engine_formats, engines_taking

    spec = load_model(model)
    if engine is not None and engine not in ENGINES:
        raise WorkloadError(f"engine must be one of {', '.join(ENGINES)}, got {shown(engine)}")
    if engine is None and engine_options:
        key = sorted(engine_options)[0]
        takers = engines_taking(key)
        if not takers:  # a typo, not an engine's option
            import inspect

            from .engines import ENGINE_OPTIONS
            from .errors import close_matches

            names = [*inspect.signature(estimate).parameters][1:-1] + sorted({o for v in ENGINE_OPTIONS.values()
                                                                             for o in v})
            near = close_matches(key, names, 3)
            raise WorkloadError(f"estimate() has no option {key!r}" + (f"; did you mean {', '.join(near)}?"
                                                                        if near else ""))
        raise WorkloadError(f"option {key!r} needs an engine that takes it: "
                            + " or ".join(f"{e} (--engine {e})" for e in takers))
    context = engine_context(spec, engine, context, batch, engine_options, gpu)
    if quant is None and engine in ("vllm", "sglang"):  # a float32 checkpoint loads in 16 bits (dtype "auto")
        quant = _engine_auto_dtype(spec, engine, engine_options.get("engine_version"))
    if engine == "ollama":  # its kv_cache_type names the cache, which the workload's KV dtype then is
        from .engines.ollama import ollama_kv_dtype

        kv_dtype = ollama_kv_dtype(kv_dtype, engine_options)
    if engine == "llama.cpp" and kv_dtype is None:
        # f16 unless -ctk/-ctv say otherwise, whatever the weights: llama.cpp's
        # common/common.h cache_type_k = cache_type_v = GGML_TYPE_F16 (an F32 or BF16 file too)
        kv_dtype = "fp16"
    if engine == "sglang" and kv_dtype is None and spec.indexer is not None and gpu is not None:
        from .engines.sglang import sglang_default_kv_dtype

        kv_dtype = sglang_default_kv_dtype(spec, gpu)
    w = resolve_workload(spec, quant=quant, kv_dtype=kv_dtype, context=context, batch=batch, chunk=chunk,
                         beyond_training=engine == "llama.cpp", plain=engine is None,
                         attention=attention, logits=logits, logits_dtype=logits_dtype, runtime=runtime,
                         cap_sliding=cap_sliding)
    # the format transformers loads as bf16 (fp8-block below compute capability 8.9), else None
    dequantized = w.quant if engine in (None, "transformers") and gpu is not None and transformers_dequantizes(
        gpu, w.quant) else None
    if dequantized:
        w = w.model_copy(update={"quant": "bf16"})
    if gpu is None and (given := [n for n, v in (("speed_engine", speed_engine), ("efficiency", efficiency),
                                                  ("prefill_efficiency", prefill_efficiency)) if v is not None]):
        raise WorkloadError(f"{given[0]} sets a speed figure, which needs a GPU: give gpu (a catalog id, or "
                            "planner.gpus.custom_gpu(...))")
    if prompt is not None:  # also where no GPU asks for its speed
        prompt_tokens(prompt, w.context)
    if engine is not None:
        if spec.recurrent and not (engine in ("vllm", "llama.cpp", "ollama") or engine == "sglang"
                                   and spec.linear_attention is not None and spec.mamba is None
                                   and spec.mamba1 is None):
            raise WorkloadError(f"engine {engine!r}: {spec.name} mixes linear-attention (recurrent state) and "
                                "attention layers, whose engine memory planner models for vLLM, llama.cpp, Ollama "
                                "(and SGLang's Gated DeltaNet models) only; drop the engine for the analytic "
                                "estimate")
        check_engine_formats(spec, engine, quant=w.quant, kv_dtype=w.kv_dtype)
    weights = weights_breakdown(spec, w.quant)
    kv, prefill, decode = workload_bytes(spec, w, context=w.context, batch=w.batch, weights=sum(weights.values()))
    overhead = overhead_breakdown(w.runtime)
    totals = dict(weights_bytes=sum(weights.values()), kv_cache_bytes=kv,
                  activation_bytes=max(prefill, decode), overhead_bytes=sum(overhead.values()))
    state = batch_state(spec, w.batch)
    index = indexer_cache_bytes(spec, context_len=w.context, batch=w.batch)
    breakdown = {"weights": weights, "kv_cache": {"kv_cache": kv - state - index,
                                                  **({"recurrent_state": state} if state else {}),
                                                  **({"indexer_keys": index} if index else {})},
                 "activation": {"prefill_peak": prefill, "decode_peak": decode}, "overhead": overhead}
    details, refusal = {}, None
    if engine is not None:
        mem = engine_memory(spec, w, engine, gpu, totals, engine_options, act_bits=_act_bits(w.quant))
        totals.update(weights_bytes=mem.weights_bytes, kv_cache_bytes=mem.kv_cache_bytes,
                      activation_bytes=mem.activation_bytes)
        breakdown["kv_cache"] = {"kv_cache": mem.kv_cache_bytes}
        # SGLang's figure is the reserve its static share leaves (activations, CUDA graphs and what stays free)
        breakdown["activation"] = {"sglang reserve" if engine == "sglang" else f"{engine} peak": mem.activation_bytes}
        if mem.weights_bytes != sum(weights.values()):
            breakdown["weights"] = {"on device": mem.weights_bytes}
        details, refusal = mem.details, mem.refusal
    if dequantized:
        details = {**details, "dequantized_from": dequantized}
    if details.get("communication_bytes"):  # a tensor-parallel engine's all-reduce buffers, outside PyTorch's pool
        breakdown["overhead"] = {**overhead, "all_reduce_buffers": details["communication_bytes"]}
        totals["overhead_bytes"] += details["communication_bytes"]
    if details.get("nccl_bytes"):  # NCCL's communicators on several GPUs, outside PyTorch's pool
        breakdown["overhead"] = {**breakdown["overhead"], "nccl_buffers": details["nccl_bytes"]}
        totals["overhead_bytes"] += details["nccl_bytes"]
    if engine in (None, "transformers"):  # PyTorch's caching allocator serves the activations
        overhead = overhead_breakdown(w.runtime, activation_bytes=totals["activation_bytes"])
        breakdown["overhead"] = overhead
        totals["overhead_bytes"] = sum(overhead.values())
    total = sum(totals.values())
    split = dict(tp=details.get("tensor_parallel_size", details.get("tp_size", 1)),
                 pp=details.get("pipeline_parallel_size", 1))
    from .efficiency import speed_engine as runs_on

    if speed_engine is not None and gpu is not None:
        from .efficiency import check_engine_loads, check_engine_on
        from .gpus import load_gpu

        check_engine_on(speed_engine, load_gpu(gpu))
        check_engine_loads(speed_engine, w.quant if dequantized is None else dequantized, spec)
    speed = speed_engine or (None if engine is None else runs_on(engine))  # Ollama runs llama.cpp
    # the release decides llama.cpp's prefill kernels and vLLM's engine loop; Ollama's versions are its own, and all
    # vendor a llama.cpp past every kernel change planner models (OLLAMA_OLDEST_LLAMACPP_BUILD)
    version = engine_options.get("engine_version") if engine in ("llama.cpp", "vllm") and speed == engine else None
    if version is not None and engine == "vllm" and details.get("v0_rules_of"):
        version = details["v0_rules_of"]  # a release that fell back to V0 for this model: V0's engine loop
    perf = None if gpu is None else performance(spec, w, total, gpu=gpu, engine=speed, prompt=prompt,
                                                refusal=refusal, efficiency=efficiency,
                                                prefill_efficiency=prefill_efficiency, engine_version=version,
                                                micro_batches={k: details[k] for k in ("n_ubatch", "n_batch")
                                                               if engine == "llama.cpp" and k in details},
                                                runs_through=engine if engine and speed == runs_on(engine) else None,
                                                custom_all_reduce=engine_options.get("custom_all_reduce")
                                                if engine == "vllm" else None, **split)
    if host_bandwidth_bytes_per_s is not None:
        _system_ram_engine(engine, "host_bandwidth_bytes_per_s is the speed llama.cpp or Ollama read system RAM at",
                           "reads nothing there")
        host_bandwidth_bytes_per_s = positive_float("host_bandwidth_bytes_per_s", host_bandwidth_bytes_per_s)
    elif gpu is not None and engine in ("llama.cpp", "ollama"):
        host_bandwidth_bytes_per_s = host_rate(gpu)  # an Apple GPU's unified memory; None: the default
    if perf is not None and engine in ("llama.cpp", "ollama") and details.get("host_moved_bytes"):
        perf = offloaded(spec, w, perf, gpu=gpu, n_gpu_layers=details["n_gpu_layers"], kv_total=kv,
                         cpu_moe_layers=details.get("n_cpu_moe", 0), engine=speed, efficiency=efficiency,
                         output_first=details.get("output_first", False),
                         on_cpu=cpu_overrides(details.get("override_tensor")),
                         ubatch_copy_bytes=details.get("ubatch_copy_bytes"), ubatch_tokens=details.get("ubatch_tokens"),
                         host_bytes_per_s=host_bandwidth_bytes_per_s)
    if perf is not None and engine == "sglang" and details.get("host_weights_bytes"):
        perf = host_copied(perf, w, gpu=gpu, host_bytes=details["host_weights_bytes"],
                           chunk=details["chunked_prefill_size"])
    if host_memory_bytes is None and perf is not None and engine in ("llama.cpp", "ollama") \
            and details.get("host_moved_bytes") and (ram := host_ram(gpu)) is not None:
        host_memory_bytes, details = ram[0], {**details, "host_memory_from": ram[1]}
    if host_memory_bytes is not None:
        _system_ram_engine(engine, "host_memory_bytes checks what llama.cpp or Ollama leave in system RAM",
                           "leaves nothing there")
        perf = host_verdict(perf, details, positive_int("host_memory_bytes", host_memory_bytes, MAX_BYTES))
    perf = speeds_only_if_fits(served_stream(perf, w))
    return Estimate(model=spec.name, workload=w, **totals, total_bytes=total, performance=perf, breakdown=breakdown,
                    engine=engine, engine_details=details, engine_refusal=refusal)


def _system_ram_engine(engine: str | None, what: str, none_there: str) -> None:
    """Refuses a system-RAM option (`what` says what it is) for an engine that leaves nothing in system RAM."""
    if engine not in ("llama.cpp", "ollama"):
        raise WorkloadError(f"{what}; " + ("give engine llama.cpp or ollama" if engine is None else
                                           f"engine {shown(engine)} {none_there}"))


def batch_state(spec: ModelSpec, batch: int) -> int:
    """The linear-attention layers' recurrent state for `batch` sequences (0 for attention-only models)."""
    from .kv import recurrent_state_bytes_per_sequence

    return batch * recurrent_state_bytes_per_sequence(spec)
