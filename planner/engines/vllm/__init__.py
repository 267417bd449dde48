"""vLLM, 0.4 to 0.33 (the current release, the default): the KV cache gets what the memory budget leaves.

The budget's rules changed across releases (research/vllm_versions.md, read from each release's wheel);
VLLM_RULES lists them, and `engine_version` picks the release whose rules apply."""

from __future__ import annotations

import math
from math import ceil

from ...activations import step_activation_bytes, tp_shard
from ...errors import LayoutError, WorkloadError, shown
from ...kv import dsa_token_bytes_per_layer
from ...layout import check_quant_shards, check_tensor_parallel
from ...limits import MAX_BATCH, MAX_CONTEXT, MAX_GPUS
from ...overhead import CUDA_CONTEXT_BYTES
from ...profiles import within_context
from ...quant.catalog import is_gguf_weights
from ...spec import ModelSpec
from ...units import format_bytes
from ...weights import is_mxfp4_expert, stage_weights
from ..common import EngineMemory, compute_capable, datacenter_blackwell, engine_options, release_tuple
from ..nccl import vllm_nccl_bytes
from . import scheduler as sched
from .hybrid import vllm_hybrid_layout, vllm_hybrid_pages, vllm_stage_tensors, vllm_state_bytes
from .profile import (
    VLLM_CUSTOM_ALLREDUCE_BYTES,
    VLLM_FUSED_MOE_CHUNK_SIZE,
    VLLM_OUT_OF_PLACE_ALL_REDUCE,
    VLLM_SAMPLER_BYTES_PER_LOGIT,
    mm_limits,
    vllm_eager_mlp_bytes,
    vllm_encoder_cache_bytes,
    vllm_encoder_forward_bytes,
    vllm_encoder_item,
    vllm_fused_moe_bytes,
    vllm_mm_items,
    vllm_moe_workspace_bytes,
    vllm_v0_mm_tokens,
)
from .releases import (
    BITSANDBYTES_QUANTS,
    VLLM_ASYNC_OUTPUT_SINCE,
    VLLM_CUDA_GRAPH_ESTIMATE_BYTES,
    VLLM_CURRENT,
    VLLM_FORMATS_REMOVED,
    VLLM_FP8_BLOCK_SHARDS_SINCE,
    VLLM_REMOVED,
    VLLM_RULES,
    VLLM_TOKENS_FROM_CONCURRENCY,
    VLLM_V0_RULES,
    vllm_added,
    vllm_custom_allreduce,
    vllm_first_token_waits_a_step,
    vllm_release,
    vllm_rules,
    vllm_synchronous_loop,
    vllm_v0_reason,
)
from .scheduler import VLLM_ENTRYPOINTS, vllm_scheduler_defaults
from .weights import (
    VLLM_MLA_MATERIALIZED,
    VLLM_MXFP4_BACKENDS,
    vllm_blocksparse_mask_bytes,
    vllm_mla_materialized_bytes,
    vllm_mxfp4_backend,
    vllm_mxfp4_expert_factor,
    vllm_rotary_cache_bytes,
    vllm_stage_layers,
    vllm_stage_weights,
)

__all__ = [
    "VLLM_ASYNC_OUTPUT_SINCE", "VLLM_CUDA_GRAPH_ESTIMATE_BYTES", "VLLM_CURRENT", "VLLM_CUSTOM_ALLREDUCE_BYTES",
    "VLLM_ENTRYPOINTS",
    "VLLM_FUSED_MOE_CHUNK_SIZE", "VLLM_MLA_MATERIALIZED", "VLLM_MXFP4_BACKENDS", "VLLM_OUT_OF_PLACE_ALL_REDUCE",
    "VLLM_RULES", "VLLM_SAMPLER_BYTES_PER_LOGIT", "VLLM_TOKENS_FROM_CONCURRENCY", "vllm_custom_allreduce",
    "vllm_eager_mlp_bytes",
    "vllm_first_token_waits_a_step", "vllm_fused_moe_bytes", "vllm_hybrid_layout", "vllm_hybrid_pages",
    "vllm_memory", "vllm_mla_materialized_bytes", "vllm_mxfp4_backend", "vllm_mxfp4_expert_factor", "vllm_release",
    "vllm_rotary_cache_bytes", "vllm_rules", "vllm_scheduler_defaults", "vllm_stage_layers", "vllm_stage_weights",
    "vllm_state_bytes", "vllm_synchronous_loop",
]


# The KV block sizes vLLM takes (--block-size): vllm/config/cache.py `BlockSize = Literal[1, 8, 16, 32, 64, 128, 256]`
# (earlier V1 releases' list ends at 128; V0's arg_utils offered 8–128, "on CUDA devices, only block sizes up to 32
# are supported"). A hybrid model's attention block size is vLLM's own choice (engines/vllm/hybrid.py), not one of
# these.
VLLM_BLOCK_SIZES = (1, 8, 16, 32, 64, 128, 256)


# From 0.30.0 (0.29 not read; taken with it) the start-up check plans against the blocks the pool can hand out, one
# fewer than allocated: "Reserve the null block BlockPool permanently holds back" (v1/core/kv_cache_planning.py
# get_kv_cache_configs, check_memory), so one request of max_model_len needs one block more than it uses
VLLM_NULL_BLOCK_CHECK_SINCE = (0, 29, 0)


def vllm_token_bytes_per_layer(spec: ModelSpec, kv_dtype: str, gpu=None) -> int:
    """One token's cache in one layer as vLLM pages it: K and V (an MLA latent); for a sparse-attention MLA model
    (DeepSeek-V3.2) its fp8 cache in DeepSeek's scaled layout (kv.ds_mla_fp8_row_bytes) and the indexer's keys in the
    same page (v1/kv_cache_interface.py sums an index group's specs; models/deepseek_v2.py DeepseekV32IndexerCache).
    On compute capability 10 an fp8 cache takes FLASHINFER_MLA_SPARSE first (platforms/cuda.py, 0.33), which keeps
    standard fp8 rows ("Using standard fp8 KV cache format", mla_attention.py)."""
    return dsa_token_bytes_per_layer(spec, kv_dtype, scaled_fp8=not datacenter_blackwell(gpu))


def vllm_memory(spec: ModelSpec, *, quant: str, kv_dtype: str, gpu_memory_bytes: int, max_model_len: int,
                weights: int, context: int | None = None, batch: int = 1, gpu=None, **options) -> EngineMemory:
    """What vLLM allocates with `weights` bytes of weights on a GPU of `gpu_memory_bytes`, and its verdict.

    gpu_memory_bytes is the total CUDA reports, not the board's capacity: vLLM's budget is a fraction of
    torch.cuda.mem_get_info()'s total (v1/worker/gpu_worker.py init_device: `self.requested_memory =
    self.init_snapshot.total_memory * self.cache_config.gpu_memory_utilization`, the snapshot taken by
    MemorySnapshot.measure(), `self.free_memory, self.total_memory = torch.cuda.mem_get_info()`; V0's
    worker.py determine_num_available_blocks: `free_gpu_memory, total_gpu_memory = torch.cuda.mem_get_info()`).
    That total is what vLLM logs as total_gpu_memory (23.58 GiB on an RTX 3090 whose nvidia-smi says 24,576 MiB,
    vllm#10517; 79.22 GiB on an H100 80GB HBM3 of 81,559 MiB, vllm#10511): pass it when a log gives it
    (planner check-log does); a catalog GPU's total is nvidia-smi's, a few hundred MiB more than CUDA's.

    available = gpu_memory_bytes × gpu_memory_utilization − weights − profile-run activation peak − what the
    release charges besides (VLLM_RULES: the CUDA context in its global periods — cuda_context_bytes, planner's prior
    CUDA_CONTEXT_BYTES measured on an H200, or what a run shows —, the all-reduce buffers until 0.11, the CUDA-graph
    estimate from 0.20, none with enforce_eager; non-torch memory otherwise is baseline and not charged). The profile
    run pushes max_num_batched_tokens tokens through the model with no attention computed, and samples one logits row
    per dummy request (by PyTorch's sort or a fused kernel: VLLM_SAMPLER_BYTES_PER_LOGIT; flashinfer_sampler=True
    where FlashInfer's sampler runs, as in vLLM's Docker images of 0.8–0.11). KV pages: block_size tokens ×
    (2 × kv_heads × head_dim, or one MLA latent) per layer; a hybrid model's recurrent states share those pages
    (vllm_hybrid_layout, V1 0.11+). Before 0.20 CUDA graphs are captured after the KV cache is allocated and are not
    part of the budget.

    max_num_batched_tokens and max_num_seqs default as vLLM sets them for the GPU and release
    (vllm_scheduler_defaults): for `vllm serve`, or with entrypoint="llm" for the offline LLM class (`LLM(...)`,
    `vllm bench throughput`), whose profile run takes twice the tokens below 160 GiB.

    Verdict, as vLLM decides at start-up (v1/worker/gpu_worker.py, v1/core/kv_cache_utils.py):
      - the budget must be free when it starts ("Free memory on device … on startup is less than desired GPU
        memory utilization"): here the GPU's memory less the CUDA context;
      - the budget must leave memory for KV blocks ("No available memory for the cache blocks");
      - one request of max_model_len must fit the blocks ("To serve at least one request with the models's max
        seq len …");
    and then `batch` sequences of `context` tokens run at once only when the pool holds them all and
    batch ≤ max_num_seqs; otherwise the scheduler queues the rest.

    data_parallel_size replicas of tensor_parallel_size × pipeline_parallel_size GPUs, each GPU with this budget
    (each replica its own KV cache and scheduler; the figures are one replica's): a GPU holds its stage's layers
    (vllm_stage_layers) with every matrix split tensor_parallel_size ways (planner.weights.stage_weights), its share
    of the KV heads (an MLA latent whole), its heads' and MLP columns' activations beside the whole residual stream
    (planner.activations.tp_shard), the sampler's full logits on the last stage, and with tensor parallel the custom
    all-reduce buffers and NCCL's communicators (planner.engines.nccl). A MoE's routed experts go over the tp × dp GPUs
    (the data-parallel ranks join their split): each expert's columns split, or with enable_expert_parallel whole
    experts, the first n_experts mod (tp × dp) GPUs one more each. Every GPU gets the fewest blocks any of
    them has room for (v1/core/kv_cache_utils.py); the figures returned are that GPU's.
    """
    version = options.pop("engine_version", None) or VLLM_CURRENT
    release = vllm_release(version)
    shown_version = version
    if spec.model_type in VLLM_REMOVED and release >= release_tuple(VLLM_REMOVED[spec.model_type][0]):
        _, why, last = VLLM_REMOVED[spec.model_type]
        raise WorkloadError(f"vLLM {version} cannot run {spec.name}: {why}; engine_version='{last}' (CLI "
                            f"--engine-version {last}) plans the V0 engine that ran it, or engine='sglang' "
                            "(transformers cannot: its remote code no longer runs)")
    if (added := vllm_added(spec)) is not None and release < release_tuple(added[0]):
        first, why = added
        raise WorkloadError(f"vLLM {version} cannot run {spec.name}: {why}; engine_version='{first}' or later")
    family = "gguf" if is_gguf_weights(quant, spec) else (
        "bitsandbytes" if quant.split("[", 1)[0] in BITSANDBYTES_QUANTS else None)
    if family is not None and release >= release_tuple(VLLM_FORMATS_REMOVED[family][0]):
        last, what = VLLM_FORMATS_REMOVED[family]
        raise WorkloadError(f"vLLM {version} cannot load {what}: it dropped them in {last}; quant {quant!r} needs "
                            f"engine_version older than {last} (CLI --engine-version)")
    compute_capable("vllm", gpu, quant, spec, release)
    fallback = {}
    v1_engine = options.pop("v1_engine", None)
    if v1_engine is True and spec.model_type in VLLM_REMOVED and release >= (0, 8, 0):
        raise WorkloadError(f"v1_engine=True: vLLM's V1 engine never ran {spec.name} (its architecture is not "
                            "V1-compatible; 0.8 and 0.9 ran it on V0)")
    if v1_engine is False and spec.model_type == "gpt_oss":
        raise WorkloadError(f"v1_engine=False: vLLM's V0 engine cannot run {spec.name} (its attention backends have "
                            "no attention sinks; gpt-oss runs on V1 only)")
    v0_why = vllm_v0_reason(spec, release, gpu, quant=quant, kv_dtype=kv_dtype,
                            pipeline_parallel_size=options.get("pipeline_parallel_size") or 1, v1_engine=v1_engine)
    if spec.model_type in VLLM_REMOVED and release >= (0, 8, 0):  # 0.8 and 0.9 fell back to V0 for it
        last = VLLM_REMOVED[spec.model_type][2]
        shown_version, release = f"{version} (its V0 engine: {last}'s rules)", vllm_release(last)
        fallback = {"v0_rules_of": last}
    elif v0_why is not None:
        shown_version, release = f"{version} (its V0 engine, {v0_why}: {VLLM_V0_RULES}'s rules)", \
            vllm_release(VLLM_V0_RULES)
        fallback = {"v0_rules_of": VLLM_V0_RULES}
    rules = vllm_rules(release)
    within_context("max_model_len", max_model_len, spec)
    entrypoint = options.get("entrypoint")
    if entrypoint is not None and entrypoint not in VLLM_ENTRYPOINTS:
        raise WorkloadError(f"entrypoint must be serve (vllm serve) or llm (the offline LLM class), got "
                            f"{shown(entrypoint)}")
    entrypoint = entrypoint or "serve"
    chunked, chunking = sched.vllm_chunking(spec, release, options, max_model_len)
    defaults = {"entrypoint": "serve", "gpu_memory_utilization": rules["utilization"],
                "block_size": 64 if spec.mla is not None else 16,
                **vllm_scheduler_defaults(release, max_model_len=max_model_len, gpu_memory_bytes=gpu_memory_bytes,
                                          device_name="" if gpu is None else gpu.name, entrypoint=entrypoint,
                                          chunked=chunked, **chunking),
                "tensor_parallel_size": 1, "pipeline_parallel_size": 1, "data_parallel_size": 1,
                "enable_expert_parallel": False, "flashinfer_sampler": False, "enforce_eager": False,
                "enable_prefix_caching": "auto", "enable_chunked_prefill": None, "custom_all_reduce": None,
                "cuda_graph_memory_bytes": VLLM_CUDA_GRAPH_ESTIMATE_BYTES, "cuda_context_bytes": CUDA_CONTEXT_BYTES,
                "mxfp4_backend": vllm_mxfp4_backend(release, gpu) or "none", "limit_mm_per_prompt": None}
    o = engine_options("vllm", options, defaults,
                       maximum={"block_size": 4096, "max_num_batched_tokens": MAX_CONTEXT, "max_num_seqs": MAX_BATCH,
                                "tensor_parallel_size": MAX_GPUS, "pipeline_parallel_size": MAX_GPUS,
                                "data_parallel_size": MAX_GPUS, "cuda_graph_memory_bytes": gpu_memory_bytes,
                                "cuda_context_bytes": gpu_memory_bytes},
                       minimum={"cuda_graph_memory_bytes": 0, "cuda_context_bytes": 0})
    if o["block_size"] not in VLLM_BLOCK_SIZES:
        raise WorkloadError(f"block_size must be one of {', '.join(map(str, VLLM_BLOCK_SIZES))} (vLLM's "
                            f"--block-size), got {shown(o['block_size'])}")
    if o["mxfp4_backend"] not in (*VLLM_MXFP4_BACKENDS, "none"):
        raise WorkloadError(f"mxfp4_backend must be one of {', '.join(VLLM_MXFP4_BACKENDS)} or none, got "
                            f"{shown(o['mxfp4_backend'])}")
    tp, pp, dp = o["tensor_parallel_size"], o["pipeline_parallel_size"], o["data_parallel_size"]
    if tp * pp * dp > MAX_GPUS:
        raise WorkloadError(f"tensor × pipeline × data parallel sizes ask for {tp * pp * dp:,} GPUs, more than "
                            f"{MAX_GPUS:,}")
    # A MoE's routed experts go over the tp × dp GPUs of a stage: whole experts with --enable-expert-parallel, else
    # each expert's columns, the data-parallel ranks joining the tensor-parallel split for the MoE layers alone
    # (fused_moe/config.py flatten_tp_across_dp: "When TP = 1, DP = 2 and EP = False … sharded across 2 devices",
    # 0.10 and 0.33 alike)
    expert_parallel = bool(o["enable_expert_parallel"]) and spec.moe is not None
    ep = tp * dp if spec.moe is not None else tp
    if tp > 1 or ep > 1:
        if tp > 1:
            check_tensor_parallel(spec, tp)
        any_split = release >= release_tuple(VLLM_FP8_BLOCK_SHARDS_SINCE)
        check_quant_shards(spec, quant, tp, engine="vLLM", expert_tp=0 if any_split else 1 if expert_parallel else ep,
                           routed_fix="expert parallelism, or vLLM 0.31.0 or later")
    if pp > spec.n_layers:
        raise LayoutError(f"pipeline_parallel_size {pp} exceeds {spec.name}'s {spec.n_layers} layers")
    util = o["gpu_memory_utilization"]
    if isinstance(util, bool) or not isinstance(util, (int, float)) or not math.isfinite(util) or not 0 < util <= 1:
        raise WorkloadError(f"gpu_memory_utilization must be within (0, 1], got {shown(util)}")
    context = max_model_len if context is None else context
    if context > max_model_len:
        raise WorkloadError(f"context {context:,} exceeds max_model_len {max_model_len:,}: vLLM rejects longer "
                            "requests; raise max_model_len or lower context")
    tokens, o["max_num_seqs"] = sched.vllm_scheduler(release, o, options, max_model_len=max_model_len, chunked=chunked)
    o["max_num_batched_tokens"], o["enable_chunked_prefill"] = tokens, chunked
    reqs = min(o["max_num_seqs"], tokens)
    # the layer phases of a forward over `tokens` tokens (attention as SDPA: no scores), logits handled below;
    # under tensor parallel a rank holds its heads and MLP columns, the residual stream whole (tp_shard)
    shard = tp_shard(spec, tp)
    # a vision model's dummy batch: V1 encodes N items before the forward; V0 runs every item's tokens through the
    # language model, max(tokens, their sum + 2), their embeddings and the merged input's alive beside it
    limits = mm_limits(spec, o["limit_mm_per_prompt"])
    mm_tokens = vllm_v0_mm_tokens(spec, max_model_len, limits) if not rules["v1"] else 0
    forward_tokens = max(tokens, mm_tokens + 2) if mm_tokens else tokens
    # a MoE's expert scratch: from 0.14 a persistent workspace, held through the sampler's run too
    workspace = vllm_moe_workspace_bytes(spec, tokens, tp=ep, whole_experts=expert_parallel, release=release)
    moe_rows = (3 if spec.moe is not None and spec.moe.shared_d_ff else 2) * tokens * spec.d_model * 2
    layers = max(int(step_activation_bytes(shard, batch=1, tokens=forward_tokens, attended=1, logits="last",
                                           logits_bits=16, act_bits=16)),
                 workspace + moe_rows if workspace else vllm_fused_moe_bytes(spec, tokens, tp=ep,
                                                                             whole_experts=expert_parallel),
                 vllm_eager_mlp_bytes(shard, tokens, tp=tp, release=release)
                 if o["enforce_eager"] or not rules["v1"] else 0)
    # every rank gathers the full logits and samples (LogitsProcessor's all-gather); only the last stage has them
    path = "fused" if o["flashinfer_sampler"] or (rules["triton"] and reqs >= 8) else "sort"
    sampler = reqs * spec.vocab_size * VLLM_SAMPLER_BYTES_PER_LOGIT[path]
    last_stage_peak = max(layers, workspace + sampler + 2 * tokens * spec.d_model * 2)
    requested = int(gpu_memory_bytes * util)
    stage_layers = vllm_stage_layers(spec.n_layers, pp)
    stage_weights_ = vllm_stage_weights(spec, quant, stage_layers, tp=tp, ep=ep, expert_parallel=expert_parallel,
                                        release=release, mxfp4_backend=o["mxfp4_backend"], weights=weights)
    mask = vllm_blocksparse_mask_bytes(spec, gpu)  # held beside the weights from model init (a V0 log counts it there)
    stage_weights_ = [w + mask for w in stage_weights_]
    mxfp4_experts = o["mxfp4_backend"] if o["mxfp4_backend"] != "none" and any(
        stage_weights(spec, quant, stage_layers, tp=tp, ep=ep, whole_experts=expert_parallel,
                      only=is_mxfp4_expert)) else "none"
    sched.vllm_options_apply(spec, options, mxfp4_experts=mxfp4_experts, quant=quant)
    # vLLM's own all-reduce kernel and its buffers, where the release has it on this GPU and the run leaves it on
    custom = vllm_custom_allreduce(version, gpu, o["custom_all_reduce"], tp)
    comm = VLLM_CUSTOM_ALLREDUCE_BYTES if tp > 1 and custom else 0
    # NCCL's communicators on the tightest GPU (planner.engines.nccl; NVIDIA GPUs of the catalog: AMD's RCCL is not
    # modelled, nor a GPU known only by its memory)
    nccl = (vllm_nccl_bytes(gpu, tp=tp, pp=pp, release=release, v1=rules["v1"])
            if gpu is not None and gpu.vendor == "nvidia" else 0)
    # what the release charges besides weights and the profile peak: the all-reduce buffers and NCCL (until 0.11),
    # everything already on the GPU (its "global" periods), its CUDA-graph estimate (0.20+)
    charged = ((comm + nccl if rules["comm"] else 0) + (o["cuda_context_bytes"] if rules["context"] else 0)
               + (o["cuda_graph_memory_bytes"] if rules["graphs"] and not o["enforce_eager"] else 0))
    peaks = [layers] * (pp - 1) + [last_stage_peak]
    # the first stage encodes the largest multimodal item, then holds the outputs through the language model's run
    if mm_tokens:  # V0: one item of each kind per dummy sequence, as many sequences as the batch takes
        items = max(1, min(o["max_num_seqs"], tokens // mm_tokens))
        item_tokens = vllm_encoder_item(spec, max_model_len, limits)
        outputs = 2 * forward_tokens * spec.d_model * 2
    else:
        items, item_tokens = vllm_mm_items(spec, max_model_len=max_model_len, tokens=tokens,
                                           max_num_seqs=o["max_num_seqs"], release=release, limits=limits)
        outputs = vllm_encoder_cache_bytes(spec, items, item_tokens)
    peaks[0] = max(peaks[0], vllm_encoder_forward_bytes(spec, items, item_tokens, tp)) + outputs
    kv_heads = 1.0 if spec.mla is not None else ceil(spec.n_kv_heads / tp) / spec.n_kv_heads  # a rank's share
    # a block's bytes on a GPU: a page per layer of its stage, or, for a hybrid model, a page per layer of a group
    caching = o["enable_prefix_caching"]  # "auto": the release's default
    if caching is not True and caching is not False and caching != "auto":
        raise WorkloadError(f"enable_prefix_caching must be true, false or 'auto' (the release's default), got "
                            f"{shown(caching)}")
    hybrid = vllm_hybrid_layout(spec, rules, tp=tp, pp=pp, kv_dtype=kv_dtype, block_size=o["block_size"],
                                release=release, gpu=gpu, prefix_caching=None if caching == "auto" else caching,
                                max_num_batched_tokens=o["max_num_batched_tokens"])
    block_size = hybrid.block_size if hybrid else o["block_size"]
    page = ceil(block_size * vllm_token_bytes_per_layer(spec, kv_dtype, gpu) * kv_heads)
    if hybrid and pp > 1:  # the whole model's groups, each stage holding its layers of them
        block_bytes = [hybrid.page_bytes * n
                       for n in vllm_stage_tensors(spec, hybrid.group_size, stage_layers, release)]
    else:
        block_bytes = [hybrid.block_bytes] if hybrid else [page * n for n in stage_layers]
    # each GPU's blocks; the engine takes the fewest over all of them (v1/core/kv_cache_utils.py)
    stage_available = [requested - w - a - charged for w, a in zip(stage_weights_, peaks, strict=True)]
    stage_blocks = [max(0, a) // b for a, b in zip(stage_available, block_bytes, strict=True)]
    tight = min(range(pp), key=lambda s: (stage_blocks[s], -stage_weights_[s]))
    weights, activation, available, blocks = (stage_weights_[tight], peaks[tight], stage_available[tight],
                                              stage_blocks[tight])
    blocks_for = hybrid.blocks_per_request if hybrid else (lambda tokens: ceil(tokens / block_size))  # one request's
    per_request, per_sequence = blocks_for(max_model_len), blocks_for(context)
    concurrent = min(blocks // per_sequence, o["max_num_seqs"])
    # the blocks the checks below ask for: one max_model_len request (and the null block), `batch` of `context`
    needed = max(per_request + (release >= VLLM_NULL_BLOCK_CHECK_SINCE), batch * per_sequence)
    free_at_start = gpu_memory_bytes - o["cuda_context_bytes"]
    null = release >= VLLM_NULL_BLOCK_CHECK_SINCE
    # the longest max_model_len these blocks start with, up to the model's context (what fit's table shows)
    longest = sched.vllm_longest_request(blocks_for, blocks - null, spec.max_context) if available > 0 else 0

    def gib(n: int) -> str:
        return format_bytes(n, "GiB")

    if requested > free_at_start and rules["start_check"]:
        refusal = (f"vLLM would not start: gpu_memory_utilization {util:g} asks for {gib(requested)}, but about "
                   f"{gib(free_at_start)} is free once the CUDA context is up; lower gpu_memory_utilization")
    elif available <= 0:
        held = f", {gib(mask)} of it the block-sparse layers' dense mask" if mask else ""
        refusal = (f"vLLM would not start: weights ({gib(weights)}{held}) and the profile-run peak ({gib(activation)}) "
                   f"leave no memory for KV blocks in the {gib(requested)} budget")
    elif blocks - null < per_request:
        held = " (one kept back as its null block)" if null else ""
        longest = min(longest, max_model_len)
        hint = (f"; lower max_model_len ({longest:,} tokens is the longest it starts with)"
                if longest else "; no max_model_len fits")
        refusal = (f"vLLM would not start: one request of max_model_len {max_model_len:,} tokens needs "
                   f"{per_request:,} KV blocks, the {gib(available)} left hold {blocks:,}{held}{hint}")
    elif batch > concurrent:
        limit = "max_num_seqs" if concurrent == o["max_num_seqs"] else "the KV pool"
        refusal = (f"vLLM runs at most {concurrent:,} sequences of {context:,} tokens at once ({limit}); "
                   f"batch {batch:,} would queue")
    else:
        refusal = None
    kv_bytes = blocks * block_bytes[tight]  # what the engine allocates on that GPU
    return EngineMemory(
        engine="vllm", weights_bytes=weights, kv_cache_bytes=kv_bytes if tp * pp > 1 else max(0, available),
        activation_bytes=activation,
        refusal=refusal, max_concurrent=concurrent,
        details={"requested_bytes": requested, "available_kv_bytes": available, "kv_blocks": blocks,
                 # "GPU KV cache size: N tokens": blocks × block (a hybrid: blocks // groups × block) up to 0.20.0,
                 # concurrency × max_model_len from 0.20.1 (v1/core/kv_cache_utils.py get_kv_cache_capacity)
                 "kv_tokens": int(blocks / per_request * max_model_len) if release >= VLLM_TOKENS_FROM_CONCURRENCY
                 else hybrid.printed_tokens(blocks) if hybrid else blocks * block_size,
                 "max_concurrency": blocks / per_request,
                 "max_model_len": max_model_len, "fits_max_model_len": 0 < available and blocks >= per_request,
                 "longest_max_model_len": longest,
                 "kv_block_bytes": block_bytes[tight], "kv_blocks_needed": needed,
                 "free_at_start_bytes": free_at_start, "gpus": tp * pp * dp, "replicas": dp,
                 "expert_parallel_size": ep if expert_parallel else 1,
                 "moe_split": ep if spec.moe is not None else 1, "layers_per_gpu": stage_layers[tight],
                 "communication_bytes": comm, "engine_version": shown_version, **fallback, "charged_bytes": charged,
                 "sampler": path, "sampler_bytes": sampler if pp == 1 or tight == pp - 1 else 0,
                 "forward_bytes": layers, "moe_workspace_bytes": workspace, "mm_items": items,
                 "mm_item_tokens": item_tokens,
                 "mxfp4_experts": mxfp4_experts, "blocksparse_mask_bytes": mask,
                 "nccl_bytes": nccl, "nccl_charged": bool(nccl) and rules["comm"],
                 # releases before 0.11 charge NCCL's memory; not modelled on AMD GPUs or a GPU given by memory only
                 "nccl_uncounted": tp * pp > 1 and rules["comm"] and nccl == 0,
                 "cuda_graph_estimate_bytes": o["cuda_graph_memory_bytes"] if rules["graphs"] and not o["enforce_eager"]
                 else 0,
                 "v1": rules["v1"], **o,
                 "limit_mm_per_prompt": ",".join(f"{m}={n}" for m, n in limits.items() if n is not None),
                 "block_size": block_size, "custom_all_reduce": custom,
                 # a hybrid model's layout (0: attention layers only): one request's state in a recurrent layer,
                 # the page both kinds share, layers per group, groups of each kind
                 "hybrid_state_bytes": hybrid.state_bytes if hybrid else 0,
                 "hybrid_page_bytes": hybrid.page_bytes if hybrid else 0,
                 "hybrid_group_size": hybrid.group_size if hybrid else 0,
                 "hybrid_attention_groups": hybrid.attention_groups if hybrid else 0,
                 "hybrid_state_groups": hybrid.state_groups if hybrid else 0,
                 "hybrid_state_blocks": hybrid.state_blocks if hybrid else 0,
                 "hybrid_prefix_caching": bool(hybrid and hybrid.prefix_caching),
                 "hybrid_sliding_groups": hybrid.sliding_groups if hybrid else 0,
                 "hybrid_sliding_tokens": hybrid.sliding_tokens if hybrid else 0})

