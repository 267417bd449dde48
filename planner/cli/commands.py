"""The planning verbs: estimate, table, fit, and the catalog listings."""

from __future__ import annotations

import json

from ..units import format_bytes
from .machine import gpu_label, has_speed, local_json, local_lines, resolve_gpu


def cmd_estimate(a) -> str:
    from ..estimate import estimate
    from ..performance import transformers_attention_note
    from ..units import parse_size

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
        "enforce_eager": True if a.enforce_eager else None,
        "enable_prefix_caching": None if a.prefix_caching is None else a.prefix_caching == "on",
        "cuda_graph_memory_bytes": None if a.cuda_graph_memory is None else round(
            parse_size(a.cuda_graph_memory, "--cuda-graph-memory")),
        "mem_fraction_static": a.mem_fraction_static,
        "tp_size": a.tp_size, "context_length": a.context_length, "engine_version": a.engine_version,
        "max_running_requests": a.max_running_requests, "cpu_offload_gb": a.cpu_offload_gb,
        "kv_unified": True if a.kv_unified else None, "op_offload": False if a.no_op_offload else None,
        "num_ctx": a.num_ctx, "num_parallel": a.num_parallel,
        "num_gpu": a.num_gpu, "kv_cache_type": a.kv_cache_type}.items() if v is not None}
    gpu = _gpu(a)
    quant = _kept(a) if a.keep_bf16 else a.quant
    host_rate = None if a.host_bandwidth is None else parse_size(a.host_bandwidth, "--host-bandwidth", per_second=True)
    e = estimate(a.model, quant=quant, kv_dtype=a.kv_dtype, context=a.context, batch=a.batch, chunk=a.chunk,
                 attention=a.attention, logits=a.logits, runtime=a.runtime, cap_sliding=not a.no_cap_sliding,
                 gpu=gpu, engine=a.engine, prompt=a.prompt, speed_engine=a.speed_engine, efficiency=a.efficiency,
                 prefill_efficiency=a.prefill_efficiency,
                 host_memory_bytes=None if a.host_memory is None else round(parse_size(a.host_memory, "--host-memory")),
                 host_bandwidth_bytes_per_s=host_rate,
                 **options)
    if a.json:
        return json.dumps({**e.to_dict(), **local_json(gpu)}, indent=2)
    w = e.workload
    lines = [f"{e.model} — {w.quant} weights, {w.kv_dtype} KV cache, context {w.context:,}, batch {w.batch}, "
             f"{w.attention} attention" + (f", {e.engine} engine" if e.engine else "")]
    for label, total, parts in (("weights", e.weights_bytes, e.breakdown["weights"]),
                                ("kv cache", e.kv_cache_bytes,
                                 e.breakdown["kv_cache"] if "recurrent_state" in e.breakdown["kv_cache"] else {}),
                                ("activations", e.activation_bytes, e.breakdown["activation"]),
                                ("overhead", e.overhead_bytes, e.breakdown["overhead"])):
        lines.append(f"  {label:<12} {format_bytes(total, a.unit):>14}")
        lines += [f"    {k:<18} {format_bytes(v, a.unit):>12}" for k, v in parts.items() if v]
    lines.append(f"  {'total':<12} {format_bytes(e.total_bytes, a.unit):>14}")
    if e.overhead_bytes and gpu is not None and (runtime := _unmeasured_runtime(gpu)):
        lines.append(f"  (the overhead is CUDA's, measured on an NVIDIA H200; {runtime} is not measured: --runtime "
                     "none leaves it out)")
    lines += _engine_lines(e, a.unit)
    lines += local_lines(gpu, a.unit)
    if (p := e.performance) is not None and not p.fits:
        lines.append(f"{p.gpu}: does NOT fit: {p.reason}")
    elif e.engine_refusal is not None:
        lines.append(f"{e.engine}: {e.engine_refusal}")
    if p is not None and p.fits and not has_speed(gpu):
        lines += [f"{p.gpu}: fits in {format_bytes(p.usable_memory_bytes, a.unit)} "
                  f"({format_bytes(p.headroom_bytes, a.unit)} headroom)",
                  "  speed: not shown (a GPU the catalog lacks has no bandwidth or FLOP/s figures)"]
    elif p is not None and p.fits:
        host = e.engine_details.get("host_total_bytes", 0) if _offloaded(e) else 0
        lines += [f"{p.gpu}: fits in {format_bytes(p.usable_memory_bytes, a.unit)} "
                  f"({format_bytes(p.headroom_bytes, a.unit)} headroom)"
                  + (f"; system RAM must hold the other {format_bytes(host, a.unit)}" if host else "")
                  + (" (checked against this machine's available RAM)" if host and
                     e.engine_details.get("host_memory_from") else ""),
                  f"  time to first token ({p.prompt_tokens:,}-token prompt): "
                  + (f"{p.prefill_seconds:.3f} s{_band(p, 'ttft')}{_served(p)}" if p.prefill_seconds is not None
                     else "not modelled: part of the prompt runs on the CPU (weights in system RAM)" if _offloaded(e)
                     else "unknown (no FLOP/s figure in this GPU's datasheet)"),
                  f"  decode: {p.decode_tokens_per_s:.1f} tokens/s per sequence{_band(p, 'decode')}, "
                  f"{p.throughput_tokens_per_s:.1f} tokens/s for the batch",
                  f"  ({p.engine}; efficiency entries: decode {p.efficiency_entries['decode']}, prefill "
                  f"{p.efficiency_entries['prefill']} — profiles/efficiency.yaml)"]
        if note := transformers_attention_note(p.engine, e.workload.attention, p.gpu, p.eager_attention_seconds):
            lines.append(f"  {note[0].lower()}{note[1:-1]}")
        if _offloaded(e):
            from ..perf import HOST_RAM_BYTES_PER_S

            rate = (f"{host_rate / 1e9:,.1f} GB/s"
                    if host_rate else f"{HOST_RAM_BYTES_PER_S / 1e9:.1f} GB/s, a desktop's two channels of "
                    "DDR5-4800 (--host-bandwidth for yours)")
            lines.append(f"  decode reads what system RAM holds at its bandwidth: {rate}")
        if p.engine_loop_seconds:
            lines.append(f"  each step includes {1e3 * p.engine_loop_seconds:.1f} ms of the V0 engine's host loop "
                         "(scheduling and sampling between GPU steps, before vLLM 0.8.0)")
        if p.host_copy_seconds:
            each = (f"each prompt ubatch ({e.engine_details['ubatch_tokens']:,} tokens) includes"
                    if p.engine == "llama.cpp" else "each forward step includes")
            lines.append(f"  {each} {1e3 * p.host_copy_seconds:.0f} ms copying the weights kept in host memory to the "
                         "GPU (at the PCIe link's datasheet speed: no faster than this)"
                         + ("; decode runs them on the CPU" if p.engine == "llama.cpp" else ""))
        if p.moe_prefill_split_seconds:
            lines.append(f"  the first token includes {p.moe_prefill_split_seconds:.3f} s that {p.engine}'s published "
                         "runs of MoE models split over GPUs take beyond their compute, whatever the prompt (measured, "
                         "its cause not modelled)")
        if p.allreduce_note:
            lines.append(f"  {p.allreduce_note}")
        if p.output_lag_seconds:
            lines.append(f"  the first token also waits {1e3 * p.output_lag_seconds:.1f} ms: vLLM's V0 engine "
                         "(0.6–0.7) hands a step's tokens out after the next step (async output processing)")
    return "\n".join(lines)


def _kept(a) -> str:
    """--quant (else the checkpoint's format) with --keep-bf16's parts left in 16 bits: 'fp8[keep=attn,mlp@0]'."""
    from ..profiles import load_model

    base = a.quant or load_model(a.model).weights_dtype
    if base.endswith("]") and "[keep=" in base:
        return f"{base[:-1]},{a.keep_bf16}]"
    return f"{base}[keep={a.keep_bf16}]"


def _gpu(a):
    """--gpu, or a custom GPU from --gpu-memory, --gpu-bandwidth (and --gpu-tflops-bf16, --gpu-memory-type)."""
    from ..errors import PlannerError
    from ..gpus import custom_gpu
    from ..units import parse_size

    if a.gpu_memory is None and a.gpu_bandwidth is None and a.gpu_tflops_bf16 is None:
        return resolve_gpu(a.gpu)
    if a.gpu is not None:
        raise PlannerError("give either --gpu (a catalog id) or a custom GPU's figures (--gpu-memory, …), not both")
    if a.gpu_memory is None or a.gpu_bandwidth is None:
        raise PlannerError("a custom GPU needs --gpu-memory and --gpu-bandwidth (e.g. 24GiB and 1008GB/s)")
    return custom_gpu(memory_bytes=parse_size(a.gpu_memory, "--gpu-memory"),
                      bandwidth_bytes_per_s=parse_size(a.gpu_bandwidth, "--gpu-bandwidth", per_second=True),
                      tflops_bf16=a.gpu_tflops_bf16, memory_type=a.gpu_memory_type)


def _unmeasured_runtime(gpu) -> str | None:
    from ..gpus import load_gpu
    from ..overhead import unmeasured_runtime

    return unmeasured_runtime(load_gpu(gpu).vendor)


def _band(p, what: str) -> str:
    """' (typically ±12 %)': the median |error| of published runs that did not calibrate planner."""
    err = p.typical_error.get(what)
    return "" if err is None else f" (typically ±{100 * err:.0f} %)"


def _offloaded(e) -> bool:
    """llama.cpp (or Ollama) with weights a decode step reads from system RAM: the figure planner.estimate switches
    to the offloaded speed on."""
    return e.engine in ("llama.cpp", "ollama") and bool(e.engine_details.get("host_moved_bytes"))


def _served(p) -> str:
    """'; through a server about +0.050 s per request': what published server benchmarks add to the prefill."""
    extra = p.request_overhead_seconds
    return "" if not extra else f"; through a server about +{extra:.3f} s per request"


_KERNELS = {"marlin": "Marlin", "triton": "Triton", "flashinfer": "FlashInfer TRT-LLM"}


def _engine_lines(e, unit: str) -> list[str]:
    d = e.engine_details
    if e.engine == "vllm":
        split = (f" on each of {d['gpus']} GPUs (tensor parallel {d['tensor_parallel_size']} × pipeline parallel "
                 f"{d['pipeline_parallel_size']}"
                 + (f" × {d['replicas']} data-parallel replicas" if d["replicas"] > 1 else "")
                 + (f"; experts over {d['expert_parallel_size']} GPUs" if d["enable_expert_parallel"] else "")
                 + (f"; figures for the tightest stage, {d['layers_per_gpu']} layers"
                    if d["pipeline_parallel_size"] > 1 else "")
                 + ")" if d["gpus"] > 1 else "")
        return [f"vLLM {d['engine_version']}{' (LLM class)' if d['entrypoint'] == 'llm' else ''}: budget "
                f"{format_bytes(d['requested_bytes'], unit)} = "
                f"{d['gpu_memory_utilization']:g} × GPU memory{split}; available KV cache memory "
                f"{format_bytes(d['available_kv_bytes'], unit)} (max_num_batched_tokens "
                f"{d['max_num_batched_tokens']:,}, max_num_seqs {d['max_num_seqs']:,}, sampled by "
                + ("PyTorch's sort" if d["sampler"] == "sort" else "a fused top-k/top-p kernel")
                + (f", CUDA graphs estimated at {format_bytes(d['cuda_graph_estimate_bytes'], unit)}"
                   if d["cuda_graph_estimate_bytes"] else "")
                + ("; enforce_eager: no CUDA graphs, the model run uncompiled" if d["enforce_eager"] else "") + ")",
                *([f"  hybrid: a request's state is {d['hybrid_state_bytes']:,} bytes in each recurrent layer; pages "
                   f"of {d['hybrid_page_bytes']:,} bytes ({d['block_size']} attention tokens) "
                   f"in {d['hybrid_attention_groups']} attention and {d['hybrid_state_groups']} state groups of "
                   f"{d['hybrid_group_size']} layers; {d['hybrid_state_blocks']} state block(s) a request"
                   + (" (prefix caching on)" if d["hybrid_prefix_caching"] else "")]
                  if d["hybrid_state_groups"] else []),
                *([f"  sliding windows: {d['hybrid_attention_groups']} full-attention and {d['hybrid_sliding_groups']} "
                   f"sliding-window groups of {d['hybrid_group_size']} layers; a request keeps at most "
                   f"{d['hybrid_sliding_tokens']:,} tokens in each sliding group"]
                  if d["hybrid_sliding_groups"] else []),
                *([f"  MXFP4 experts in the layout of vLLM's {_KERNELS[d['mxfp4_experts']]} MoE kernel (padded as it "
                   "allocates them)"]
                  if d["mxfp4_experts"] != "none" else []),
                f"  GPU KV cache size: {d['kv_tokens']:,} tokens ({d['kv_blocks']:,} blocks of {d['block_size']})",
                f"  maximum concurrency for {d['max_model_len']:,} tokens per request: {d['max_concurrency']:.2f}x",
                *([f"  NCCL's communicators: {format_bytes(d['nccl_bytes'], unit)} per GPU outside PyTorch's pool, "
                   + ("charged against the budget by this release" if d["nccl_charged"] else
                      "beside the budget (set up before vLLM's baseline from 0.11)")]
                  if d.get("nccl_bytes") else []),
                *(["  not counted: the collective library's memory (RCCL on AMD GPUs, NCCL on a GPU given by its "
                   "memory alone), which this release charges with several GPUs (0.3 GiB at TP2 to 2.1 GiB at TP8 "
                   "per GPU in public NCCL logs); the KV cache may be that much smaller"]
                  if d.get("nccl_uncounted") else [])]
    if e.engine == "sglang":
        split = f" on each of {d['tp_size']} GPUs" if d["tp_size"] > 1 else ""
        return [f"SGLang {d['engine_version']}: mem_fraction_static {d['mem_fraction_static']:g} × "
                f"{format_bytes(d['free_before_load_bytes'], unit)} free before loading{split} = "
                f"{format_bytes(d['static_bytes'], unit)} for weights and KV pool",
                f"  loading takes {format_bytes(e.weights_bytes, unit)}: tensors "
                f"{format_bytes(d['weight_tensors_bytes'], unit)}, rotary cache "
                f"{format_bytes(d['rotary_cache_bytes'], 'MiB')}, allocator segment tails "
                f"{format_bytes(d['allocator_tails_bytes'], 'MiB')}"
                + (f", MLA's per-head copies of kv_b_proj {format_bytes(d['mla_absorbed_bytes'], 'MiB')}"
                   if d.get("mla_absorbed_bytes") else "")
                + (f"; {format_bytes(d['host_weights_bytes'], unit)} of decoder-layer weights in host memory "
                   f"(--cpu-offload-gb {d['cpu_offload_gb']:g}), copied in for every forward step"
                   if d.get("host_weights_bytes") else ""),
                f"  KV cache: {d['max_total_num_tokens']:,} tokens ({format_bytes(d['cell_bytes'], 'MiB')} each"
                + (" in the full layers" if d.get("swa_max_total_num_tokens") or d.get("mamba_state_bytes") else "")
                + "); "
                f"max_running_requests {d['max_running_requests']:,}; chunked_prefill_size "
                f"{d['chunked_prefill_size']:,}; request-to-token map {format_bytes(d['req_to_token_bytes'], unit)} "
                f"from the rest",
                *([f"  sliding-window layers: a pool of their own, {d['swa_max_total_num_tokens']:,} tokens "
                   "(swa_full_tokens_ratio 0.8)"] if d.get("swa_max_total_num_tokens") else []),
                *([f"  Gated DeltaNet states: {d['max_mamba_cache_size']:,} requests' worth "
                   f"({format_bytes(d['mamba_state_bytes'], 'MiB')} each, the recurrent state in fp32) before the KV "
                   "pool; 5 a running request with the radix cache on"] if d.get("mamba_state_bytes") else [])]
    if e.engine == "ollama":
        return [f"Ollama {d['engine_version']}: num_ctx {d['num_ctx']:,} × num_parallel {d['num_parallel']} "
                f"({d['kv_cache_type']} cache, {format_bytes(e.kv_cache_bytes, unit)} on the GPU); "
                f"{d['layers_offloaded']}/{d['layers_model']} layers on the GPU"
                + (f" (the routed experts of the first {d['n_cpu_moe']} layers in system RAM)"
                   if d.get("n_cpu_moe") else "")
                + f", flash attention {'on' if d['flash_attn'] else 'off'}",
                *([f"  its own estimate chose the layers (llm/memory.go): "
                   f"{format_bytes(d['estimate_vram_bytes'], unit)} on the GPU of "
                   f"{format_bytes(d['estimate_total_bytes'], unit)} in all "
                   f"(KV {format_bytes(d['estimate_kv_bytes'], unit)}, "
                   f"graph {format_bytes(d['estimate_graph_full_bytes'], unit)} full / "
                   f"{format_bytes(d['estimate_graph_partial_bytes'], unit)} partial); llama.cpp then allocates "
                   f"the figures above"] if "estimate_vram_bytes" in d else []),
                f"  ollama ps: SIZE {d['size_bytes'] / 1e9:.1f} GB, PROCESSOR {d['processor']}"]
    if e.engine == "llama.cpp":
        mib = 2**20
        fa = "on" if d["flash_attn"] else "off"
        per_seq = d["n_ctx"] if d["kv_unified"] else d["n_ctx"] // d["n_parallel"]
        overflow = ([f"  n_ctx_per_seq ({per_seq:,}) > n_ctx_train ({d['n_ctx_train']:,}): llama.cpp runs it and warns "
                     "of a training-context overflow; past the trained length quality needs RoPE scaling "
                     "(--rope-scaling yarn)"] if per_seq > d["n_ctx_train"] else [])
        return [f"llama.cpp ({d['engine_version']}): n_ctx {d['n_ctx']:,} over {d['n_parallel']} slot(s), "
                f"{d['kv_cells']:,} KV cells, "
                f"K ({d['type_k']}) {d['kv_k_bytes'] / mib:.2f} MiB, "
                f"V ({d['type_v']}) {d['kv_v_bytes'] / mib:.2f} MiB; flash attention {fa}",
                f"  {min(d['n_gpu_layers'], d['n_layers_model'])}/{d['n_layers_model']} layers on the GPU"
                + (f"; the routed experts of the first {d['n_cpu_moe']} layers in system RAM (--n-cpu-moe "
                   f"{d['n_cpu_moe']})" if d.get("n_cpu_moe") else "")
                + (f"; the tensors -ot {d['override_tensor']} names in system RAM" if d.get("override_tensor") else "")
                + (f" (--fit: the most that leave {d['fit_target_bytes'] / mib:.0f} MiB free; set --n-gpu-layers to "
                   "choose)" if d.get("fit") else "")
                + (" (-ngl defaults to 0 before b6325; set --n-gpu-layers)" if d.get("ngl_default_zero") else ""),
                f"  host (system RAM): weights {d['host_weights_bytes'] / mib:.2f} MiB, "
                f"KV {d['host_kv_bytes'] / mib:.2f} MiB, compute {d['host_compute_bytes'] / mib:.2f} MiB, "
                f"output {d['host_output_bytes'] / mib:.2f} MiB", *overflow]
    if e.engine == "transformers":
        return [f"transformers {d['engine_version']} generate(): the rules of that release's cache classes and "
                "modeling code"]
    return []


def cmd_table(a) -> str:
    from ..profiles import load_model

    spec = load_model(a.model)  # before pandas loads: an unknown model is reported at once
    from ..sweep import TABLE_QUANTS, table

    quants = a.quants.split(",") if a.quants else TABLE_QUANTS
    df = table(spec, quants=quants, contexts=a.contexts, unit=a.unit, batch=a.batch, kv_dtype=a.kv_dtype)
    if a.csv:
        return df.to_csv(float_format="%.3f").rstrip()
    head = (f"{spec.name}: total memory ({a.unit}) by quantization × context, batch {a.batch}, "
            f"KV {a.kv_dtype or 'bf16/fp16'}, incl. activations and CUDA overhead")
    return head + "\n" + df.to_string(float_format=lambda v: f"{v:.2f}")


def cmd_fit(a) -> str:
    from ..profiles import load_model

    if a.train:
        from .train import cmd_fit_train

        return cmd_fit_train(a)
    load_model(a.model)  # before pandas loads: an unknown model is reported at once
    gpu = resolve_gpu(a.gpu)
    from ..fit import context_per_quant, fit

    if a.gpu and a.context is None:
        df = context_per_quant(a.model, gpu=gpu, batch=a.batch)
        if a.json:
            return df.to_json(orient="records", indent=2)
        lines = [f"{a.model} on {gpu_label(gpu)}: largest context per quantization (batch {a.batch}); the total and "
                 "the decode speed at that context",
                 *local_lines(gpu, a.unit),
                 f"  {'quant':<10} {'max context':>12} {'total':>14} {'decode tok/s':>13}  limited by"]
        for r in df.itertuples():
            total = format_bytes(r.total_bytes, a.unit) if r.max_context else "—"
            speed = f"{r.decode_tokens_per_s:.1f}" if r.max_context and has_speed(gpu) else "—"
            lines.append(f"  {r.quant:<10} {r.max_context:>12,} {total:>14} {speed:>13}  "
                         f"{r.limited_by if r.max_context else 'weights alone do not fit'}")
        return "\n".join(lines)
    where = local_lines(gpu, a.unit)  # a local GPU is one GPU: no tensor-parallel counts of it
    df = fit(a.model, context=a.context, batch=a.batch, gpus=gpu if a.gpu else None,
             min_tokens_per_s=a.min_tokens_per_s, **({"gpu_counts": [1]} if where else {}))
    if a.json:
        return df.to_json(orient="records", indent=2)
    if df.empty:
        which = f"nothing on {gpu_label(gpu)} alone" if where else "no catalog GPU (up to 8 of a kind)"
        return "\n".join(where + [f"{which} fits this configuration" + (
            f" at ≥ {a.min_tokens_per_s:g} tokens/s" if a.min_tokens_per_s else "")])
    lines = where + [f"{'gpu':<18} {'n':>2} {'quant':<8} {'kv':<5} {'per GPU':>12} {'tok/s':>8}  per-GPU breakdown"]
    for r in df.head(a.top).itertuples():
        total = format_bytes(r.per_gpu_total_bytes, a.unit)
        speed = f"{r.decode_tokens_per_s:>8.1f}" if has_speed(gpu) else f"{'—':>8}"
        lines.append(f"{r.gpu:<18} {r.n_gpus:>2} {r.quant:<8} {r.kv_dtype:<5} {total:>12} "
                     f"{speed}  {r.explanation}")
    return "\n".join(lines)


def cmd_gpus(a) -> str:
    from ..gpus import list_gpus, load_gpu

    rows = [f"{'id':<18} {'usable mem':>12} {'bandwidth':>12} {'16-bit TFLOP/s':>14}  name",
            "  (dense peaks; fp32 where the datasheet gives no 16-bit figure)"]
    for gid in list_gpus():
        g = load_gpu(gid)
        peak = g.peak_flops("bf16")
        flops = f"{peak / 1e12:>14.1f}" if peak else f"{'—':>14}"
        rows.append(f"{gid:<18} {format_bytes(g.usable_memory_bytes, a.unit):>12} "
                    f"{g.memory_bandwidth_bytes_per_s / 1e9:>8.0f} GB/s {flops}  {g.name}")
    return "\n".join(rows)


def cmd_models(a) -> str:
    from ..profiles import bundled_profiles

    found = sorted(bundled_profiles().items(), key=lambda kv: kv[0].lower())
    if a.search is not None:
        words = a.search.lower().split()
        found = [(name, s) for name, s in found if all(w in _search_text(name, s) for w in words)]
        if not found:
            return (f"no bundled model matches {a.search!r} (searched ids, aliases, model types and families); "
                    "any Hugging Face id or config.json works too")
    rows = [f"{'model':<44} {'params':>10} {'context':>9}  {'type':<9} model_type"]
    for name, s in found:
        kind = f"MoE {s.moe.experts_per_token}/{s.moe.n_experts}" if s.moe else "dense"
        rows.append(f"{name:<44} {s.param_count / 1e9:>9.2f}B {s.max_context:>9,}  {kind:<9} {s.model_type}")
    return "\n".join(rows)


def _search_text(name: str, spec) -> str:
    """What `models --search` looks in: id, aliases, model_type, family (the name without its org, size and
    suffixes: "Llama-3.1" for meta-llama/Llama-3.1-8B-Instruct) and "moe" or "dense", lower-cased."""
    import re

    base = name.split("/")[-1]
    family = re.split(r"-(?:\d+(?:\.\d+)?x)?\d+(?:\.\d+)?[bm]\b", base, maxsplit=1, flags=re.I)[0]
    kind = "moe" if spec.moe else "dense"
    return " ".join([name, *spec.aliases, spec.model_type, family, kind,
                     str(getattr(spec, "family", "") or "")]).lower()


def cmd_quants(a) -> str:
    from ..kv import kv_dtype_names
    from ..quant.catalog import get_quant, quant_names

    rows = [f"{'name':<18} description"]
    rows += [f"{n:<18} {get_quant(n).description}" for n in quant_names()]
    rows.append(f"\nKV-cache dtypes: {', '.join(kv_dtype_names())}")
    return "\n".join(rows)
