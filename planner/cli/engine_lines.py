"""What `planner estimate --engine` prints of the engine's own accounting: vLLM's budget, blocks and concurrency,
SGLang's pool, llama.cpp's and Ollama's buffers, transformers' cache (one engine's lines each)."""

from __future__ import annotations

from ..units import format_bytes

_KERNELS = {"marlin": "Marlin", "triton": "Triton", "flashinfer": "FlashInfer TRT-LLM"}

_MLA_LATENT = ("  MLA: the latent cached, as in a GGUF converted since llama.cpp's MLA support (April 2025); one "
               "converted before (no attn_k_b tensors) caches every head: --legacy-mla-gguf")
_MLA_HEADS = ("  MLA: every head's K and V cached, as llama.cpp does before its MLA support (b5150) and from a GGUF "
              "converted before it (April 2025)")


def engine_lines(e, unit: str) -> list[str]:
    from ..engines import encoder_note  # loaded by the estimate already

    d = e.engine_details
    if e.engine == "vllm":
        split = (f" on each of {d['gpus']} GPUs (tensor parallel {d['tensor_parallel_size']} × pipeline parallel "
                 f"{d['pipeline_parallel_size']}"
                 + (f" × {d['replicas']} data-parallel replicas; --batch and the figures are one replica's, "
                    "but the all-replicas line" if d["replicas"] > 1 else "")
                 + (f"; whole experts over {d['expert_parallel_size']} GPUs" if d["expert_parallel_size"] > 1
                    else f"; each expert split over {d['moe_split']} GPUs, the data-parallel ranks joining"
                    if d["moe_split"] > d["tensor_parallel_size"] else "")
                 + ("; no custom all-reduce: NCCL/RCCL takes every call" if not d["custom_all_reduce"] else "")
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
                *([f"  block-sparse layers without vLLM's Triton kernel on this GPU (AMD, or NVIDIA before Ampere): a "
                   f"dense attention mask of every head × max_position_embeddings² held beside the weights, "
                   f"{format_bytes(d['blocksparse_mask_bytes'], unit)}"] if d.get("blocksparse_mask_bytes") else []),
                f"  GPU KV cache size: {d['kv_tokens']:,} tokens ({d['kv_blocks']:,} blocks of {d['block_size']})",
                f"  maximum concurrency for {d['max_model_len']:,} tokens per request: {d['max_concurrency']:.2f}x",
                *([f"  max_model_len {d['max_model_len']:,} is longer than the context asked: vLLM must hold one "
                   f"request of it to start; --max-model-len {e.workload.context} plans a server for this context"]
                  if d["max_model_len"] > e.workload.context else []),
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
                + f", flash attention {'on' if d['flash_attn'] else 'off'}"
                + (f", num_batch {d['num_batch']:,}" if d.get("num_batch", 512) != 512 else ""),
                *([f"  {note}"] if (note := encoder_note(d, unit)) else []),
                *([f"  num_ctx {d['num_ctx_requested']:,} asked for: Ollama cuts it to the model's trained context "
                   f"({d['num_ctx']:,}), warning \"requested context size too large for model\""]
                  if d.get("num_ctx_requested") else []),
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
        slots = d.get("n_seq_max", d["n_parallel"])
        return [f"llama.cpp ({d['engine_version']}, {d['program']}): n_ctx {d['n_ctx']:,} over {slots} slot(s)"
                + (" (-np unset: llama-server's 4, one unified cache)" if slots > d["n_parallel"] else "") + ", "
                f"{d['kv_cells']:,} KV cells, "
                f"K ({d['type_k']}) {d['kv_k_bytes'] / mib:.2f} MiB, "
                f"V ({d['type_v']}) {d['kv_v_bytes'] / mib:.2f} MiB; flash attention {fa}"
                + (f"; recurrent state {(d['rs_bytes'] + d['host_rs_bytes']) / mib:.2f} MiB (f32, "
                   f"{d['rs_cells']} cell(s): one per slot, whatever n_ctx)" if "rs_cells" in d else ""),
                f"  {min(d['n_gpu_layers'], d['n_layers_model'])}/{d['n_layers_model']} layers on the GPU"
                + (f"; the routed experts of the first {d['n_cpu_moe']} layers in system RAM (--n-cpu-moe "
                   f"{d['n_cpu_moe']})" if d.get("n_cpu_moe") else "")
                + (f"; the tensors -ot {d['override_tensor']} names in system RAM" if d.get("override_tensor") else "")
                + (f" (--fit: the most that leave {d['fit_target_bytes'] / mib:.0f} MiB free; set --n-gpu-layers to "
                   "choose)" if d.get("fit") else "")
                + (" (-ngl defaults to 0 before b6325; set --n-gpu-layers)" if d.get("ngl_default_zero") else ""),
                f"  host (system RAM): weights {d['host_weights_bytes'] / mib:.2f} MiB, "
                f"KV {d['host_kv_bytes'] / mib:.2f} MiB, compute {d['host_compute_bytes'] / mib:.2f} MiB, "
                f"output {d['host_output_bytes'] / mib:.2f} MiB", *overflow,
                *([f"  {note}"] if (note := encoder_note(d, unit)) else []),
                *([_MLA_HEADS if d["mla_cache"] == "every head" else _MLA_LATENT] if d.get("mla_cache") else [])]
    if e.engine == "transformers":
        return [f"transformers {d['engine_version']} generate(): the rules of that release's cache classes and "
                "modeling code"]
    return []
