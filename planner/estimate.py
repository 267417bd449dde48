"""estimate(): memory to run one model at one workload, broken down by component."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from .checks import positive_float, positive_int, prompt_tokens
from .engines.dispatch import engine_context, engine_memory, host_ram, host_verdict
from .engines.llamacpp import cpu_overrides
from .engines.transformers import transformers_dequantizes
from .errors import WorkloadError, shown
from .footprint import act_bits, batch_state, resolve_workload, workload_bytes
from .kv import indexer_cache_bytes
from .limits import MAX_BYTES
from .overhead import overhead_breakdown
from .perf.llamacpp import host_rate
from .performance import Performance, host_copied, offloaded, performance, served_stream, speeds_only_if_fits
from .profiles import load_model
from .spec import ModelSpec
from .weights import weights_breakdown
from .workload import Workload


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

    def summary(self, unit: str = "GiB") -> str:
        """The estimate in lines, as print() shows it: what runs, its bytes by component (in `unit`: B, KB, MB,
        GB, KiB, MiB, GiB), and whether it fits the GPU, with its speed."""
        from .summary import summary

        return summary(self, unit)

    def __str__(self) -> str:
        return self.summary()

    def __repr__(self) -> str:
        from .summary import short_repr

        return short_repr(self)


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
            from .errors import no_option

            names = [*inspect.signature(estimate).parameters][1:-1] + sorted({o for v in ENGINE_OPTIONS.values()
                                                                             for o in v})
            raise no_option("estimate", [key], names, list_known=False)
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
        mem = engine_memory(spec, w, engine, gpu, totals, engine_options, act_bits=act_bits(w.quant))
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
