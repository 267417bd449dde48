"""The planning verbs: estimate, table, fit, and the catalog listings."""

from __future__ import annotations

import json

from ..summary import component_lines, one_pass_prefill, typically
from ..units import format_bytes
from .engine_lines import engine_lines
from .machine import has_speed, local_json, local_lines, resolve_gpu


def _model(a):
    """The command's model, run to --max-context where given (profiles.with_max_context)."""
    from ..profiles import load_model, with_max_context

    return load_model(a.model) if a.max_context is None else with_max_context(a.model, a.max_context)


def _ran_to(a, spec) -> str:
    """A header's clause for --max-context."""
    return f", the model run to {spec.max_context:,} tokens (--max-context: rope scaling)" if a.max_context else ""


def _names_first(a):
    """The weights' format, the GPU and the model looked up, and a context beyond the model's checked, before numpy
    and the engines load: a mistyped name comes back at once (the catalogs and pydantic are all it takes). Returns
    the model."""
    from ..profiles import within_context
    from ..quant.catalog import get_quant

    if a.keep_bf16 is not None and not a.keep_bf16.strip():
        from ..errors import PlannerError

        raise PlannerError("--keep-bf16 needs the parts to keep in 16 bits, e.g. attn,output or mlp@0 (got '')")
    if a.quant is not None and not a.keep_bf16:
        get_quant(a.quant)
    if isinstance(a.gpu, str) and not a.gpu.strip().lower().startswith("local"):
        from ..gpus import load_gpu

        load_gpu(a.gpu)
    spec = _model(a)
    if a.engine is None and a.context is not None:
        within_context("context", a.context, spec)  # as estimate() checks it
    return spec


def cmd_estimate(a) -> str:
    spec = _names_first(a)
    if a.max_context and a.engine == "ollama":
        from ..errors import PlannerError

        raise PlannerError("--max-context does not apply to Ollama, which cuts num_ctx to the model's trained context "
                           "(\"requested context size too large for model\")")
    from ..estimate import estimate
    from ..performance import transformers_attention_note
    from ..units import parse_size

    if a.engine == "sglang" and a.tensor_parallel_size is not None:  # SGLang's own alias of --tp-size
        if a.tp_size not in (None, a.tensor_parallel_size):
            from ..errors import PlannerError

            raise PlannerError(f"--tensor-parallel-size {a.tensor_parallel_size} and --tp-size {a.tp_size} are the "
                               "same SGLang option: give one")
        a.tp_size, a.tensor_parallel_size = a.tensor_parallel_size, None
    options = {k: v for k, v in {
        "max_model_len": a.max_model_len, "gpu_memory_utilization": a.gpu_memory_utilization,
        "max_num_batched_tokens": a.max_num_batched_tokens, "max_num_seqs": a.max_num_seqs, "entrypoint": a.entrypoint,
        "block_size": a.block_size, "n_batch": a.n_batch, "n_ubatch": a.n_ubatch,
        "flash_attn": None if a.flash_attn is None else a.flash_attn == "on", "n_gpu_layers": a.n_gpu_layers,
        "fit": None if a.fit is None else a.fit == "on", "n_cpu_moe": a.n_cpu_moe, "override_tensor": a.override_tensor,
        "n_parallel": a.parallel, "n_ctx": a.n_ctx, "type_v": a.type_v, "cache": a.cache,
        "max_cache_len": a.max_cache_len, "tensor_parallel_size": a.tensor_parallel_size,
        "pipeline_parallel_size": a.pipeline_parallel_size, "data_parallel_size": a.data_parallel_size,
        "enable_expert_parallel": True if a.enable_expert_parallel else None,
        "flashinfer_sampler": True if a.flashinfer_sampler else None, "mxfp4_backend": a.mxfp4_backend,
        "limit_mm_per_prompt": a.limit_mm_per_prompt,
        "enforce_eager": True if a.enforce_eager else None,
        "custom_all_reduce": None if a.custom_all_reduce is None else a.custom_all_reduce == "on",
        "v1_engine": None if a.vllm_engine is None else a.vllm_engine == "v1",
        "enable_prefix_caching": None if a.prefix_caching is None else a.prefix_caching == "on",
        "enable_chunked_prefill": None if a.chunked_prefill is None else a.chunked_prefill == "on",
        "cuda_graph_memory_bytes": None if a.cuda_graph_memory is None else round(
            parse_size(a.cuda_graph_memory, "--cuda-graph-memory")),
        "mem_fraction_static": a.mem_fraction_static,
        "tp_size": a.tp_size, "context_length": a.context_length, "engine_version": a.engine_version,
        "max_running_requests": a.max_running_requests, "cpu_offload_gb": a.cpu_offload_gb,
        "chunked_prefill_size": a.chunked_prefill_size,
        "kv_unified": True if a.kv_unified else None, "op_offload": False if a.no_op_offload else None,
        "mmproj": True if a.mmproj else None, "mla_gguf": False if a.legacy_mla_gguf else None, "program": a.program,
        "num_ctx": a.num_ctx, "num_parallel": a.num_parallel,
        "num_gpu": a.num_gpu, "num_batch": a.num_batch, "kv_cache_type": a.kv_cache_type}.items() if v is not None}
    gpu = _gpu(a)
    quant = _kept(a) if a.keep_bf16 else a.quant
    host_rate = None if a.host_bandwidth is None else parse_size(a.host_bandwidth, "--host-bandwidth", per_second=True)
    e = estimate(spec, quant=quant, kv_dtype=a.kv_dtype, context=a.context, batch=a.batch, chunk=a.chunk,
                 attention=a.attention, logits=a.logits, runtime=a.runtime, cap_sliding=not a.no_cap_sliding,
                 gpu=gpu, engine=a.engine, prompt=a.prompt, speed_engine=a.speed_engine, efficiency=a.efficiency,
                 prefill_efficiency=a.prefill_efficiency,
                 host_memory_bytes=None if a.host_memory is None else round(parse_size(a.host_memory, "--host-memory")),
                 host_bandwidth_bytes_per_s=host_rate,
                 **options)
    if a.json:
        ran_to = {"max_context": spec.max_context} if a.max_context else {}  # --max-context: rope scaling
        return json.dumps({**e.to_dict(), **ran_to, **local_json(gpu)}, indent=2)
    w = e.workload
    chunked = "" if not w.chunk or e.engine else f", prefill in {w.chunk:,}-token chunks" + (
        " (llama.cpp's n_ubatch, as GGUF files run)" if a.chunk is None else "")
    if not e.engine and not w.cap_sliding and not a.no_cap_sliding and spec.sliding_window is not None:
        chunked += f", every token kept on the {spec.sliding_window:,}-token sliding layers (as llama.cpp runs them)"
    attention = "" if e.engine in ("llama.cpp", "ollama") else f"{w.attention} attention"  # no SDPA switch there
    lines = [f"{e.model} — {w.quant} weights, {w.kv_dtype} KV cache, context {w.context:,}, batch {w.batch}"
             + (f", {attention}" if attention else "") + chunked + (f", {e.engine} engine" if e.engine else "")
             + _ran_to(a, spec)]
    lines += component_lines(e, a.unit)
    if e.overhead_bytes and gpu is not None and (runtime := _unmeasured_runtime(gpu)):
        lines.append(f"  (the overhead is CUDA's, measured on an NVIDIA H200; {runtime} is not measured: --runtime "
                     "none leaves it out)")
    if e.engine is None:  # GGUF weights of a model no GGUF of which exists: say what the figure is
        lines += _no_gguf_note(spec, [w.quant], " (--quant int4, for one)", what="these figures are")
    from ..engines import fp32_checkpoint_note, layers_in_host_ram, no_ttft_reason, ollama_library_note

    if note := fp32_checkpoint_note(spec, a.quant, e.engine):
        lines.append(f"  ({note}: --quant bf16 plans that)")
    if library := ollama_library_note(spec, a.quant, e.engine):
        lines.append(f"  ({library[0]}: planner estimate {library[1]} --engine ollama plans that)")
    if note := one_pass_prefill(e, a.unit):  # the plain model: one generate()
        lines.append(f"  ({note}: --engine vllm, sglang or llama.cpp answers for it, or --chunk 2048 here)")
    if origin := e.engine_details.get("dequantized_from"):
        lines.append(f"  ({origin} weights load as bf16 here: transformers dequantizes fp8 below compute capability "
                     "8.9, as on this GPU)")
    lines += engine_lines(e, a.unit)
    lines += local_lines(gpu, a.unit)
    if (p := e.performance) is not None and not p.fits:
        lines.append(f"{p.gpu}: does NOT fit: {p.reason}")
    elif e.engine_refusal is not None:
        lines.append(f"{e.engine}: {e.engine_refusal}")
    if p is not None and p.fits and not has_speed(gpu):
        lines += [f"{p.gpu}: fits in {format_bytes(p.usable_memory_bytes, a.unit)} "
                  f"({format_bytes(p.headroom_bytes, a.unit)} headroom{_tight(p, e.engine)})",
                  "  speed: not shown (a GPU the catalog lacks has no bandwidth or FLOP/s figures)"]
    elif p is not None and p.fits:
        host = e.engine_details.get("host_total_bytes", 0) if layers_in_host_ram(e) else 0
        lines += [f"{p.gpu}: fits in {format_bytes(p.usable_memory_bytes, a.unit)} "
                  f"({format_bytes(p.headroom_bytes, a.unit)} headroom{_tight(p, e.engine)})"
                  + (f"; system RAM must hold the other {format_bytes(host, a.unit)}" if host else "")
                  + (" (checked against this machine's available RAM)" if host and
                     e.engine_details.get("host_memory_from") else ""),
                  f"  time to first token ({p.prompt_tokens:,}-token prompt"
                  + (f"s, all {w.batch:,} prefilled together" if w.batch > 1 else "") + "): "
                  + (f"{p.prefill_seconds:.3f} s{typically(p, 'ttft')}{_served(p)}" if p.prefill_seconds is not None
                     else no_ttft_reason(e)),
                  f"  decode: {p.decode_tokens_per_s:.1f} tokens/s per sequence{typically(p, 'decode')}, "
                  f"{p.throughput_tokens_per_s:.1f} tokens/s for the batch, at the full {w.context:,}-token context",
                  *([f"  serving {w.batch:,} requests at a time, {p.prompt_tokens:,} tokens in and "
                     f"{p.output_tokens:,} out each: {p.serving_decode_tokens_per_s:.1f} tokens/s per request"
                     f"{typically(p, 'serving')}, "
                     f"{p.serving_throughput_tokens_per_s:.1f} in all (each decode step also carries the prefills of "
                     "the requests that replace finished ones, at their full time: a steady flow of arrivals; "
                     "requests that start together land near the decode line)"]
                    if p.serving_decode_tokens_per_s is not None else []),
                  *_replicas_line(e),
                  f"  ({_runs_on(e.engine, p.engine)}; efficiency entries: decode {p.efficiency_entries['decode']}, "
                  f"prefill {p.efficiency_entries['prefill']}, per-layer time {p.efficiency_entries['layers']} — "
                  "profiles/efficiency.yaml)"]
        if p.prompt_kernels:
            lines.append(f"  prompt kernels: {p.prompt_kernels}")
        if note := transformers_attention_note(p.engine, e.workload.attention, p.gpu, p.eager_attention_seconds):
            lines.append(f"  {note[0].lower()}{note[1:-1]}")
        if layers_in_host_ram(e):
            from ..perf import HOST_RAM_BYTES_PER_S
            from ..perf.llamacpp import host_rate as unified_rate

            unified = None if host_rate or gpu is None else unified_rate(gpu)
            rate = (f"{host_rate / 1e9:,.1f} GB/s" if host_rate else
                    f"{unified / 1e9:.1f} GB/s, the unified memory's (--host-bandwidth for what its CPU reaches)"
                    if unified else f"{HOST_RAM_BYTES_PER_S / 1e9:.1f} GB/s, a desktop's two channels of "
                    "DDR5-4800 (--host-bandwidth for yours)")
            lines.append(f"  decode reads what system RAM holds at its bandwidth: {rate}")
        if p.engine_loop_seconds:
            lines.append(f"  each step includes {1e3 * p.engine_loop_seconds:.1f} ms of the V0 engine's host loop "
                         "(scheduling and sampling between GPU steps: vLLM's default before 0.8.0, a fallback or "
                         "VLLM_USE_V1=0 in 0.8–0.10)")
        if p.host_copy_seconds:
            each = (f"each prompt ubatch ({e.engine_details['ubatch_tokens']:,} tokens) includes"
                    if p.engine == "llama.cpp" else "each forward step includes")
            lines.append(f"  {each} {1e3 * p.host_copy_seconds:.0f} ms copying the weights kept in host memory to the "
                         "GPU (at the PCIe link's datasheet speed: no faster than this)"
                         + ("; decode runs them on the CPU" if p.engine == "llama.cpp" else ""))
        if p.moe_split_seconds:
            lines.append(f"  each step includes {1e3 * p.moe_split_seconds:.1f} ms for the MoE layers split over GPUs "
                         f"(layers × routed experts × {p.engine}'s time per expert, fitted on published batch-1 runs "
                         "of 128-512-expert models, all but one on 8 GPUs; a smaller split may take less)")
        if p.moe_prefill_split_seconds:
            lines.append(f"  the first token includes {p.moe_prefill_split_seconds:.3f} s that {p.engine}'s published "
                         "runs of MoE models split over GPUs take beyond their compute, whatever the prompt (measured, "
                         "its cause not modelled)")
        if p.allreduce_note:
            lines.append(f"  {p.allreduce_note}")
        if p.speed_note:
            lines.append(f"  {p.speed_note}")
        if p.output_lag_seconds:
            lines.append(f"  the first token also waits {1e3 * p.output_lag_seconds:.1f} ms: vLLM's V0 engine "
                         "(0.6 on) hands a step's tokens out after the next step (async output processing)")
    return "\n".join(lines)


# Below this share of the GPU left free, a fit is tight (the dashboard's default reserve, under Display): the
# allocator's fragmentation, another process or a desktop can take that much
TIGHT_RESERVE = 0.05


def _tight(p, engine: str | None = None) -> str:
    """'; tight: …' where a fit leaves less than TIGHT_RESERVE of the GPU free; SGLang fills the GPU by design."""
    if engine == "sglang":
        return ("; SGLang takes the GPU by design: mem_fraction_static of the free memory for weights and KV pool, "
                "the rest its reserve for activations and CUDA graphs")
    if p.headroom_bytes >= TIGHT_RESERVE * p.usable_memory_bytes:
        return ""
    return f"; tight: under {TIGHT_RESERVE * 100:g} % of the GPU left free, as the dashboard's reserve marks it"


def _kept(a) -> str:
    """--quant (else the checkpoint's format) with --keep-bf16's parts left in 16 bits: 'fp8[keep=attn,mlp@0]'."""
    from ..profiles import load_model

    base = a.quant or load_model(a.model).weights_dtype
    if base.endswith("]") and "[keep=" in base:
        return f"{base[:-1]},{a.keep_bf16}]"
    return f"{base}[keep={a.keep_bf16}]"


def _gpu(a):
    """--gpu (with --gpu-memory: that GPU with another memory size), or a custom GPU from --gpu-memory,
    --gpu-bandwidth (and --gpu-tflops-bf16, --gpu-memory-type)."""
    from ..errors import PlannerError
    from ..gpus import custom_gpu
    from ..units import parse_size

    if a.gpu_memory_type is not None and a.gpu_bandwidth is None:
        raise PlannerError("--gpu-memory-type describes a custom GPU: give it with --gpu-memory and --gpu-bandwidth")
    if a.gpu_memory is None and a.gpu_bandwidth is None and a.gpu_tflops_bf16 is None:
        return resolve_gpu(a.gpu)
    if a.gpu is not None and a.gpu_bandwidth is None and a.gpu_tflops_bf16 is None:  # a catalog GPU, other memory
        from ..gpus import with_memory

        if str(a.gpu).strip().lower().startswith("local"):
            raise PlannerError("--gpu-memory with --gpu local: the local GPU's memory is what it reports")
        return with_memory(a.gpu, round(parse_size(a.gpu_memory, "--gpu-memory")))
    if a.gpu is not None:
        raise PlannerError("--gpu-bandwidth and --gpu-tflops-bf16 describe a custom GPU, which --gpu (a catalog id) "
                           "has from its datasheet: give --gpu (with --gpu-memory for another memory size) or a "
                           "custom GPU's figures, not both")
    if a.gpu_memory is None or a.gpu_bandwidth is None:
        raise PlannerError("a custom GPU needs --gpu-memory and --gpu-bandwidth (e.g. 24GiB and 1008GB/s)")
    return custom_gpu(memory_bytes=round(parse_size(a.gpu_memory, "--gpu-memory")),
                      bandwidth_bytes_per_s=parse_size(a.gpu_bandwidth, "--gpu-bandwidth", per_second=True),
                      tflops_bf16=a.gpu_tflops_bf16, memory_type=a.gpu_memory_type or "GDDR")


def _unmeasured_runtime(gpu) -> str | None:
    from ..gpus import load_gpu
    from ..overhead import unmeasured_runtime

    return unmeasured_runtime(load_gpu(gpu).vendor)


def _runs_on(engine: str | None, speed: str) -> str:
    """The engine whose figures a speed is: Ollama's are llama.cpp's, and say so."""
    if engine is None:  # the plain model's memory; its speed as the engine users run the format in
        return f"speed as {speed} runs this format"
    return f"{engine} on {speed}'s figures" if engine != speed else speed


def _replicas_line(e) -> list[str]:
    """vLLM's data-parallel replicas together: each runs its own batch, so the server holds and emits that many times
    one replica's (requests spread evenly over them, as vLLM's front end balances them)."""
    n, p = e.engine_details.get("replicas", 1), e.performance
    if n <= 1:
        return []
    rate = p.serving_throughput_tokens_per_s or p.throughput_tokens_per_s
    return [f"  all {n} replicas: {n * e.workload.batch:,} requests at a time, {n * rate:,.1f} tokens/s in all "
            f"({'serving' if p.serving_throughput_tokens_per_s else 'decode'} rate above × {n}: each replica its "
            "own KV cache and scheduler" + (", the MoE layers' split joined by all of them)" if
                                             e.engine_details.get("moe_split", 1) > 1 else ")")]


def _served(p) -> str:
    """'; through a server about +0.050 s per request': what published server benchmarks add to the prefill."""
    extra = p.request_overhead_seconds
    return "" if not extra else f"; through a server about +{extra:.3f} s per request"


def cmd_table(a) -> str:
    spec = _model(a)  # before pandas loads: an unknown model is reported at once
    from ..sweep import table, table_quants

    if a.quants is not None and not a.quants.strip(","):
        from ..errors import PlannerError

        raise PlannerError(f"--quants needs one or more formats, comma-separated (e.g. q4_k_m,fp8), got {a.quants!r}")
    quants = a.quants.split(",") if a.quants else table_quants(spec)
    contexts = None if a.contexts is None else [c for group in a.contexts for c in group]  # each value a list
    if a.json:  # bytes, each row's figures in the order of "contexts"
        from ..sweep import table_contexts

        contexts = table_contexts(spec.max_context) if contexts is None else contexts
        raw = table(spec, quants=quants, contexts=contexts, unit="B", batch=a.batch, kv_dtype=a.kv_dtype)
        return json.dumps({"model": spec.name, "batch": a.batch, "kv_dtype": a.kv_dtype, "contexts": contexts,
                           "what": "total memory in bytes: weights, KV cache, activations and CUDA overhead",
                           "rows": [{"quant": q, "total_bytes": [round(v) for v in raw.loc[q]]} for q in raw.index],
                           "notes": [n.removeprefix("note: ") for n in _no_gguf_note(spec, quants,
                                                                                     defaulted=not a.quants)]},
                          indent=2)
    df = table(spec, quants=quants, contexts=contexts, unit=a.unit, batch=a.batch, kv_dtype=a.kv_dtype)
    if a.csv:
        return df.to_csv(float_format="%.3f").rstrip()
    head = (f"{spec.name}: total memory ({a.unit}) by quantization × context, batch {a.batch}, "
            f"KV {a.kv_dtype or 'bf16/fp16'}, incl. activations and CUDA overhead" + _ran_to(a, spec))
    return "\n".join([head, df.to_string(float_format=lambda v: f"{v:.2f}"),
                      *_no_gguf_note(spec, quants, defaulted=not a.quants)])


def _no_gguf_note(spec, quants, hint: str = " (--quants bf16,fp8,int8,int4)", **kw) -> list[str]:
    """Under a table, ranking or estimate of a model llama.cpp cannot run: what its GGUF figures are (with `hint`),
    or why the default rows have none (engines.no_gguf_note takes `kw`)."""
    from ..engines import no_gguf_note
    from ..quant.catalog import is_gguf_weights

    note = no_gguf_note(spec, quants, **kw)
    return [f"note: {note}" + (hint if any(is_gguf_weights(q, spec) for q in quants) else "")] if note else []
