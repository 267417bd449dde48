"""SGLang (0.5.23; its released wheels, research/sglang_ollama.md): a static share of the memory that is free before
the weights load holds the weights and the KV pool; everything else comes out of what is left.

Rules, as `python -m sglang.launch_server` applies them:
  - gpu_mem: nvidia-smi's memory.total of the smallest visible GPU, in MiB (utils/common.py
    get_nvgpu_memory_capacity). Its tier sets chunked_prefill_size and the decode CUDA graphs' max batch
    (arg_groups/memory_hook.py handle_gpu_memory_settings).
  - mem_fraction_static, when not given: (gpu_mem − reserved) / gpu_mem, rounded to 3 places, reserved (MiB) =
    512 ("constant meta data") + 1.5 × max(chunked_prefill_size, 2048) (activations) + tp × pp / 8 × 1024 +
    2 × max_bs (decode graphs) + the prefill CUDA graphs' (8 MiB per captured size, MLA models 1.5 GiB), at least
    10 GiB on GPUs above 60 GiB.
  - KV pool: rest = free after loading − free before loading × (1 − mem_fraction_static), i.e. free before ×
    mem_fraction_static − weights; tokens = rest // cell, a cell being one token's K and V over the layers on one GPU
    (KV heads ÷ tp; an MLA latent whole) (mem_cache/kv_cache_configurator.py _profile_available_bytes,
    model_executor/pool_configurator.py). "Free before loading" is the CUDA total less the CUDA context.
  - max_running_requests: clamp(tokens / context_length × 512, 2048, 4096), at most tokens // 2
    (resolve_max_num_reqs); the request-to-token map, (requests + 1) × (context_length + 4) int32, is allocated
    after the pool, out of the slack, as are CUDA graphs and activations. The radix cache has no pool of its own:
    cached prefixes are slots of the same KV pool.
  - gpt-oss's sliding-window layers get a pool of their own, swa_full_tokens_ratio (0.8) as many tokens as the full
    layers': full tokens = rest // (full layers' cell + 0.8 × sliding layers' cell) (model_executor/pool_configurator.py
    HybridSWAPoolConfigurator; configs/model_config.py SWA_SINK_ARCHS). Gemma 2 and 3 keep one pool for every layer
    (arg_groups/model_overrides/gemma2_gemma3.py disable_hybrid_swa_memory).
  - Gated DeltaNet models (Qwen3-Next): the full-attention layers alone make the cell; a pool of per-request states
    (convolution inputs in bf16, the recurrent state in fp32: configs/mamba_utils.py) takes mamba_full_memory_ratio
    0.9 / 1.9 of the rest first: max_mamba_cache_size = (that − one state) // one state, and (max_mamba_cache_size + 1)
    states come off the rest (mem_cache/kv_cache_configurator.py _handle_max_mamba_cache); with the radix cache on
    (the default) each running request ties up 5 of them, so max_running_requests ≤ max_mamba_cache_size // 5.
"""

from __future__ import annotations

import re
from math import ceil

from ..errors import LayoutError, WorkloadError, shown
from ..kv import dsa_token_bytes_per_layer, gdn_state_bytes
from ..layout import check_quant_shards, check_tensor_parallel
from ..limits import MAX_BATCH, MAX_CONTEXT, MAX_GPUS
from ..overhead import CUDA_CONTEXT_BYTES, overhead_breakdown
from ..spec import ModelSpec
from ..units import format_bytes
from ..weights import is_mxfp4_expert, stored_tensors, tp_matrix_share
from .common import (
    ARCHITECTURE_CAPABILITY,
    EngineMemory,
    compute_capable,
    datacenter_blackwell,
    engine_options,
    mxfp4_expert_factor,
)
from .nccl import vllm_nccl_bytes
from .vllm.releases import VLLM_CURRENT, vllm_release

SGLANG_VERSION = "0.5.23"
MIB = 2**20
# What loading takes besides the weight tensors, as "Load weight end … mem usage" measures it (free memory before −
# after, torch.cuda.empty_cache() first; utils get_available_gpu_memory):
#   - the rotary cos/sin cache, one per model (get_rope memoises it): max_position_embeddings × rotary dims, fp32 on
#     CUDA from 0.4.2.post1 (layers/rotary_embedding.py, "cache needs to be in FP32 for numerical stability");
#   - PyTorch's caching allocator gives every allocation of 10 MiB or more (kMinLargeAlloc) a segment rounded up to
#     2 MiB (kRoundLarge) and empty_cache() cannot return a segment that holds a live block, so each fused parameter's
#     tail stays taken (qkv_proj, gate_up_proj and the rest, as SGLang's layers fuse them).
ALLOCATOR_LARGE_BYTES = 10 * MIB
ALLOCATOR_ROUND_BYTES = 2 * MIB
_FUSED = ((re.compile(r"attn_[qkv]\."), "attn_qkv."),  # planner's (GGUF) tensor names
          (re.compile(r"ffn_(?:gate|up)(_exps|_shexp)?\."), r"ffn_gate_up\1."),
          (re.compile(r"self_attn\.[qkv]_proj\."), "self_attn.qkv_proj."),  # a Hugging Face checkpoint's
          (re.compile(r"experts\.\d+\.(?:gate|up|w1|w3)(?:_proj)?\."), "experts.w13."),
          (re.compile(r"experts\.\d+\.(?:down_proj|w2)\."), "experts.w2."),
          (re.compile(r"(mlp|shared_experts?)\.(?:gate|up)_proj\."), r"\1.gate_up_proj."))


def sglang_mxfp4_backend(gpu) -> str:
    """The MoE kernel SGLang runs MXFP4 experts with (layers/quantization/mxfp4.py, 0.5.x): FlashInfer's TRT-LLM
    kernel on datacenter Blackwell (SM100), which pads each expert's intermediate size (one GPU's part) and hidden
    size to 256 and replaces every parameter; triton_kernels elsewhere, which pads the intermediate size to 32 and
    keeps the loaded block scales beside its swizzled ones."""
    return "flashinfer" if datacenter_blackwell(gpu) else "triton"


def sglang_loaded_bytes(spec: ModelSpec, quant: str, tp: int = 1, gpu=None, cpu_offload_bytes: int = 0
                        ) -> dict[str, int]:
    """What one GPU holds once SGLang has loaded `spec` in `quant` split tp_size ways: the weight tensors (MXFP4
    experts in its MoE kernel's layout on `gpu`, a catalog GPU), the rotary cache and the allocator's segment tails
    (see above). cpu_offload_bytes (--cpu-offload-gb × 2^30, per GPU): the decoder layers' parameters, layer by layer
    and parameter by parameter, move to pinned host memory until that many bytes have (the one that crosses the
    budget included; srt/offloader.py: a per-parameter check before each), embeddings and lm_head staying; their bytes
    are then returned apart, as "cpu_offloaded", which is not on the GPU."""
    factor = 1
    if spec.moe is not None:
        flashinfer = sglang_mxfp4_backend(gpu) == "flashinfer"
        factor = mxfp4_expert_factor(max(1, spec.moe.expert_d_ff // tp), spec.d_model, 256 if flashinfer else 32,
                                     256 if flashinfer else 1, scales_kept=not flashinfer)
    params: dict[str, int] = {}
    layer_of: dict[str, int | None] = {}
    for t in stored_tensors(spec, quant):
        name = t.name
        for pattern, fused in _FUSED:
            name = pattern.sub(fused, name)
        share = ceil(t.nbytes * tp_matrix_share(t, spec, tp)) if t.is_matrix else t.nbytes
        params[name] = params.get(name, 0) + (ceil(share * factor) if is_mxfp4_expert(t) else share)
        layer_of[name] = t.layer
    offloaded = 0
    for name in sorted((n for n in params if layer_of[n] is not None), key=lambda n: layer_of[n]):
        if offloaded >= cpu_offload_bytes:
            break
        offloaded += params.pop(name)
    tails = sum(-n % ALLOCATOR_ROUND_BYTES for n in params.values() if n >= ALLOCATOR_LARGE_BYTES)
    rotary = spec.mla.qk_rope_head_dim if spec.mla is not None else spec.head_dim
    return {"weight_tensors": sum(params.values()), "rotary_cache": spec.max_context * rotary * 4,
            "allocator_tails": tails, "mla_absorbed": sglang_mla_absorbed_bytes(spec, tp, quant=quant, gpu=gpu),
            **({"cpu_offloaded": offloaded} if cpu_offload_bytes else {})}


def sglang_mla_absorbed_bytes(spec: ModelSpec, tp: int, *, quant: str = "bf16", gpu=None) -> int:
    """MLA's w_kc and w_vc: SGLang splits kv_b_proj per head into them after loading, copies beside the checkpoint's
    kv_b_proj, which prefill keeps using (models/deepseek_v2.py post_load_weights); one GPU's heads, every layer. In
    bf16 (fp8 block checkpoints dequantized on CUDA), but fp8 on AMD GPUs, where an fp8 checkpoint's kv_b_proj is
    requantized per tensor instead. 0 without MLA."""
    if spec.mla is None:
        return 0
    m = spec.mla
    size = 1 if quant.startswith("fp8") and gpu is not None and gpu.vendor == "amd" else 2
    return spec.n_layers * m.kv_lora_rank * max(1, spec.n_heads // tp) * (m.qk_nope_head_dim + m.v_head_dim) * size


# handle_gpu_memory_settings' tiers: (below this many GiB of nvidia-smi total, chunked_prefill_size, decode graph
# max_bs for tp < 4, for tp ≥ 4)
SGLANG_TIERS = ((20, 2048, 8, 8), (35, 4096, 48, 160), (60, 4096, 32, 160), (90, 8192, 256, 512),
                (160, 8192, 256, 512), (float("inf"), 16384, 512, 512))
SGLANG_META_MIB = 512  # "Constant meta data (e.g., from attention backend)"
# the catalog's models among configs/model_config.py SWA_SINK_ARCHS (GptOssForCausalLM), and Llama 4, whose chunked
# layers is_hybrid_swa_model puts in the sliding-window pool from 0.5.8 (before, one pool: research/llama4.md)
SGLANG_SWA_POOL_MODELS = ("gpt_oss", "llama4_text")
SGLANG_SWA_FULL_TOKENS_RATIO = 0.8  # arg_groups/fields/schedule.py swa_full_tokens_ratio's fallback
SGLANG_MAMBA_FULL_MEMORY_RATIO = 0.9  # arg_groups/fields/schedule.py mamba_full_memory_ratio's fallback
# states a running request ties up with the radix cache on (the default): 3, and 2 tracking slots under the default
# "extra_buffer" strategy (kv_cache_configurator.py:3062-3088; mem_cache/allocation_sizing.py)
SGLANG_MAMBA_SLOTS_PER_REQUEST = 5
SGLANG_CONV_STATE_BYTES, SGLANG_SSM_STATE_BYTES = 2, 4  # bf16 and float32 (configs/mamba_utils.py)
SGLANG_LARGE_GPU_RESERVE_MIB = 10 * 1024  # the floor on GPUs above 60 GiB


def sglang_pool_layers(spec: ModelSpec) -> tuple[int, int]:
    """Layers in SGLang's KV pool, and in its sliding-window pool (0 where it has none): every layer; for gpt-oss the
    full-attention ones, its sliding layers in a pool of their own; for a Gated DeltaNet model its full-attention
    ones, its states in the state pool."""
    kinds = spec.layer_kinds()
    full, sliding = kinds.count("full") + kinds.count("block_sparse"), kinds.count("sliding")
    if spec.model_type in SGLANG_SWA_POOL_MODELS and sliding:
        return full, sliding
    return (full, 0) if spec.recurrent else (spec.n_layers, 0)


def sglang_state_bytes(spec: ModelSpec, tp: int) -> int:
    """One request's Gated DeltaNet states on one GPU, all layers: convolution inputs (conv_kernel - 1) × conv_dim /
    tp in bf16 and the recurrent state num_value_heads / tp × key_head_dim × value_head_dim in fp32
    (configs/mamba_utils.py, models/qwen3_next.py)."""
    per_layer = gdn_state_bytes(spec.linear_attention, tp=tp, conv_bytes=SGLANG_CONV_STATE_BYTES,
                                state_bytes=SGLANG_SSM_STATE_BYTES)
    return per_layer * spec.layer_kinds().count("linear")


SGLANG_PREFILL_GRAPH_MIB = 8  # arg_groups/memory_hook.py reserve_for_graph_mb: "Only non-torch memory is counted"
SGLANG_MLA_PREFILL_GRAPH_MIB = 1.5 * 1024  # "MLA backend overhead is much higher than expected with fa3"


def sglang_prefill_graph_sizes(max_tokens: int) -> list[int]:
    """The token counts SGLang captures prefill CUDA graphs for, up to max_tokens (the chunked prefill size)
    (arg_groups/cuda_graph_hook.py generate_prefill_cuda_graph_batch_sizes)."""
    sizes = [*range(4, 33, 4), *range(48, 257, 16), *range(288, 513, 32), *range(576, 1025, 64),
             *range(1280, 4097, 256), *range(4608, max_tokens + 1, 512)]
    return [n for n in sizes if n <= max_tokens]


# SGLang 0.5.23 turns the prefill CUDA graphs off for a multimodal model ("Breakable CUDA graph is incompatible with
# multimodal model; disabling prefill CUDA graph": srt/arg_groups/cuda_graph_hook.py) unless its architecture is on
# multimodal_breakable_cuda_graph_supported_model_archs (configs/model_config.py): of planner's, Qwen3.5's
SGLANG_MM_PREFILL_GRAPHS = ("qwen3_5_text", "qwen3_5_moe_text")


def sglang_prefill_graph_mib(spec: ModelSpec | None, chunked: int) -> float:
    """What mem_fraction_static reserves for the prefill CUDA graphs (on by default on CUDA): 8 MiB per captured size
    up to the chunked prefill size (4,096 at most for Llama-2 models), 1.5 GiB for MLA models, none for a multimodal
    model SGLang runs without them (SGLANG_MM_PREFILL_GRAPHS)."""
    if spec is not None and spec.vision is not None and spec.model_type not in SGLANG_MM_PREFILL_GRAPHS:
        return 0  # a multimodal model off SGLang's list runs its prefill without CUDA graphs
    if spec is not None and spec.mla is not None:
        return SGLANG_MLA_PREFILL_GRAPH_MIB
    llama2 = spec is not None and "llama-2" in spec.name.lower()
    return SGLANG_PREFILL_GRAPH_MIB * len(sglang_prefill_graph_sizes(min(chunked, 4096) if llama2 else chunked))


def sglang_defaults(gpu_mem_mib: float, tp: int, pp: int = 1, spec: ModelSpec | None = None,
                    cuda: bool = True) -> dict:
    """chunked_prefill_size, cuda_graph_max_bs and mem_fraction_static as SGLang picks them for this GPU (cuda: an
    NVIDIA GPU, where the prefill CUDA graphs are on by default: model_executor/cuda_graph_config.py)."""
    chunked, small, large = next((c, s, big) for limit, c, s, big in SGLANG_TIERS if gpu_mem_mib < limit * 1024)
    max_bs = small if tp < 4 else large
    reserved = (SGLANG_META_MIB + 1.5 * max(chunked, 2048) + tp * pp / 8 * 1024 + 2 * max_bs
                + (sglang_prefill_graph_mib(spec, chunked) if cuda else 0))
    if gpu_mem_mib > 60 * 1024:
        reserved = max(reserved, SGLANG_LARGE_GPU_RESERVE_MIB)
    fraction = round((gpu_mem_mib - reserved) / gpu_mem_mib, 3)
    if spec is not None and spec.vision is not None:  # a vision-language model: room for its image encoder
        fraction *= sglang_vlm_factor(spec.vision)
    return {"chunked_prefill_size": chunked, "cuda_graph_max_bs": max_bs, "mem_fraction_static": fraction}


# A vision-language model's mem_fraction_static is cut for its image encoder by the encoder's size against a ViT-L/14
# (24 layers of 1,024): 0.95 × clamp(1 − 0.1 × (layers × hidden² / (24 × 1024²) − 1), 0.8, 1.05)
# (arg_groups/memory_hook.py adjust_mem_fraction_for_vlm, SGLang 0.5.23; its post-capture branch, which takes 8 GiB
# instead, is off by default: SGLANG_ENABLE_POST_CAPTURE_KV_SIZING)
SGLANG_VLM_BASE = 0.95


def sglang_vlm_factor(vision) -> float:
    """The factor SGLang multiplies a vision-language model's default mem_fraction_static by (Qwen3-VL's and
    Qwen3.5's 27 × 1,152 encoder: 0.910; Pixtral's 24 × 1,024: 0.95)."""
    ratio = vision.n_layers * vision.d_model**2 / (24 * 1024**2)
    return SGLANG_VLM_BASE * max(0.8, min(1.05, 1.0 - 0.1 * (ratio - 1.0)))


def sglang_default_kv_dtype(spec: ModelSpec, gpu) -> str | None:
    """The cache SGLang picks for DeepSeek's sparse attention (DSA) when kv_cache_dtype is "auto": fp8 on compute
    capability 10 and up, bf16 below (arg_groups/overrides.py _dsa_kv_cache_dtype_default, 0.5.23); None (the
    weights' dtype) for other models and for GPUs planner does not know. `gpu`: a catalog id or a GPU (one with
    another memory, this machine's)."""
    from ..gpus import load_gpu

    if spec.indexer is None or (isinstance(gpu, str) and gpu.strip().lower().startswith("local")):
        return None
    g = load_gpu(gpu) if isinstance(gpu, str) else gpu
    return "fp8" if g.vendor == "nvidia" and _capability_10(g) else None


def _capability_10(gpu) -> bool:
    """Whether an NVIDIA GPU is of compute capability 10 or later (Blackwell), where SGLang's DSA rules change."""
    return ARCHITECTURE_CAPABILITY.get(gpu.architecture, 0) >= 100


def sglang_token_bytes_per_layer(spec: ModelSpec, kv_dtype: str, gpu) -> int:
    """One token's cache in one layer of SGLang's pool: K and V (an MLA latent); for DeepSeek's sparse attention (DSA,
    V3.2) also the indexer's keys with their scales (model_executor/pool_configurator.py, 0.5.23), and an fp8 latent
    in the scaled layout of its Hopper kernels (flashmla_kv: kv.ds_mla_fp8_row_bytes), raw on Blackwell, whose fp8
    default is the trtllm backend, and on AMD (arg_groups/overrides.py _dsa_split_backend_resolution;
    mem_cache/kv_cache_configurator.py calculate_mla_kv_cache_dim)."""
    hopper_or_older = gpu is not None and gpu.vendor == "nvidia" and not _capability_10(gpu)
    return dsa_token_bytes_per_layer(spec, kv_dtype, scaled_fp8=hopper_or_older)


def sglang_memory(spec: ModelSpec, *, quant: str, kv_dtype: str, gpu_memory_bytes: int, smi_memory_bytes: int,
                  context: int, batch: int = 1, gpu=None, free_before_load_bytes: int | None = None,
                  **options) -> EngineMemory:
    """What SGLang allocates on each GPU for `spec` in `quant` (tp_size splits it; what loading takes:
    sglang_loaded_bytes), on GPUs whose CUDA total is gpu_memory_bytes (nvidia-smi's: smi_memory_bytes; `gpu` the
    catalog GPU, where known), and its verdict for `batch` requests of `context` tokens. The pool is sized on the
    memory free before the weights load (free_before_load_bytes where a log measured it), which SGLang measures once
    its parallel groups are up (srt/distributed/bootstrap.py measure_pre_model_load_memory, "Call after parallel
    initialization"): the CUDA context and, over several GPUs, NCCL's communicators (planner.engines.nccl, the least
    that init takes: SGLang's logs print 0.13 GB for it on 4 × L4 and 0.23 GB on 2 × RTX A4500)."""
    compute_capable("sglang", gpu, quant, spec)
    given = dict(options)
    defaults = {"mem_fraction_static": 0.0, "tp_size": 1, "context_length": spec.max_context,
                "max_running_requests": 0, "chunked_prefill_size": 0}
    offload_gb = given.pop("cpu_offload_gb", None)
    offload_gb = 0 if offload_gb is None else offload_gb
    if isinstance(offload_gb, bool) or not isinstance(offload_gb, (int, float)) or not 0 <= offload_gb <= 2**20:
        raise WorkloadError(f"cpu_offload_gb must be a number of GiB from 0 to {2**20:,}, got {shown(offload_gb)}")
    o = engine_options("sglang", {k: v for k, v in given.items() if k != "mem_fraction_static"},
                       {k: v for k, v in defaults.items() if k != "mem_fraction_static"},
                       maximum={"tp_size": MAX_GPUS, "context_length": MAX_CONTEXT, "max_running_requests": MAX_BATCH,
                                "chunked_prefill_size": MAX_CONTEXT}, minimum={"max_running_requests": 0,
                                                                               "chunked_prefill_size": 0},
                       also=("cpu_offload_gb", "mem_fraction_static"))
    tp = o["tp_size"]
    if tp > 1:
        try:
            check_tensor_parallel(spec, tp)
            check_quant_shards(spec, quant, tp, engine="SGLang")
        except LayoutError as e:
            raise LayoutError(str(e).replace("tensor parallel", "tp_size")) from None
    if o["context_length"] > spec.max_context:
        raise WorkloadError(f"context_length {o['context_length']:,} exceeds {spec.name}'s max_context "
                            f"{spec.max_context:,}")
    if context > o["context_length"]:
        raise WorkloadError(f"context {context:,} exceeds context_length {o['context_length']:,}: SGLang rejects "
                            "longer requests")
    picked = sglang_defaults(smi_memory_bytes / MIB, tp, spec=spec, cuda=gpu is None or gpu.vendor == "nvidia")
    frac = given.get("mem_fraction_static")
    if frac is None:
        frac = picked["mem_fraction_static"]
    elif isinstance(frac, bool) or not isinstance(frac, (int, float)) or not 0 < frac < 1:
        raise WorkloadError(f"mem_fraction_static must be within (0, 1), got {shown(frac)}")
    chunked = o["chunked_prefill_size"] or picked["chunked_prefill_size"]
    loaded = sglang_loaded_bytes(spec, quant, tp, gpu, cpu_offload_bytes=int(offload_gb * 2**30))
    host_weights = loaded.pop("cpu_offloaded", 0)  # the parameters moved to the host, copied in every forward step
    per_gpu = sum(loaded.values())
    heads = 1.0 if spec.mla is not None else ceil(spec.n_kv_heads / tp) / spec.n_kv_heads
    layer = ceil(sglang_token_bytes_per_layer(spec, kv_dtype, gpu) * heads)
    pool, sliding = sglang_pool_layers(spec)
    if pool == 0:
        raise WorkloadError(f"{spec.name} has no full-attention layer: SGLang's cache for it is not modelled")
    cell = layer * pool
    if free_before_load_bytes is None:
        nccl = vllm_nccl_bytes(gpu, tp=tp, pp=1, release=vllm_release(VLLM_CURRENT), v1=True) \
            if tp > 1 and gpu is not None and gpu.vendor == "nvidia" else 0
        free_before = gpu_memory_bytes - CUDA_CONTEXT_BYTES - nccl
    else:
        free_before = free_before_load_bytes
    rest = int(free_before * frac) - per_gpu
    state = sglang_state_bytes(spec, tp) if spec.recurrent else 0
    states = 0
    if state and rest > 0:  # the state pool first: mamba_full_memory_ratio / (1 + ratio) of the rest
        states = max(0, int((rest * SGLANG_MAMBA_FULL_MEMORY_RATIO / (1 + SGLANG_MAMBA_FULL_MEMORY_RATIO) - state)
                            // state))
        rest -= (states + 1) * state
    tokens = int(max(0, rest) // (cell + SGLANG_SWA_FULL_TOKENS_RATIO * layer * sliding)) if sliding else \
        max(0, rest) // cell
    swa_tokens = int(tokens * SGLANG_SWA_FULL_TOKENS_RATIO) if sliding else 0
    # that pool keeps each running request's window (Llama 4: its chunk so far), and the prompt chunk being prefilled
    window = min(context, spec.sliding_window or 0)
    swa_room = swa_tokens - min(chunked, context)
    length = o["context_length"]
    requests = o["max_running_requests"] or min(max(int(tokens / length * 512), 2048), 4096)
    requests = max(1, min(requests, tokens // 2)) if tokens else 0
    if state:
        requests = min(requests, states // SGLANG_MAMBA_SLOTS_PER_REQUEST)
    req_to_token = (requests + 1) * (length + 4) * 4
    slack = free_before - int(free_before * frac)

    def gib(n: int) -> str:
        return format_bytes(n, "GiB")

    if rest <= 0:
        refusal = (f"SGLang would not start: the weights ({gib(per_gpu)} per GPU) leave no memory for the KV cache in "
                   f"mem_fraction_static {frac:g} × {gib(free_before)} free; raise mem_fraction_static or tp_size")
    elif req_to_token > slack:
        refusal = (f"SGLang would run out of memory after the pool: its request-to-token map for "
                   f"{requests:,} requests of {length:,} tokens ({gib(req_to_token)}) exceeds the "
                   f"{gib(slack)} mem_fraction_static {frac:g} leaves; lower context_length or max_running_requests")
    elif context > tokens:
        refusal = (f"SGLang's pool holds {tokens:,} tokens, fewer than one request of {context:,}; lower "
                   "context_length or split the model over more GPUs (tp_size)")
    elif batch * context > tokens:
        refusal = (f"SGLang's pool holds {tokens:,} tokens: {batch:,} requests of {context:,} tokens would not all "
                   "run at once (the scheduler queues the rest)")
    elif sliding and batch * window > swa_room:
        refusal = (f"SGLang's sliding-window pool holds {swa_tokens:,} tokens ({SGLANG_SWA_FULL_TOKENS_RATIO:g} of "
                   f"the full layers', swa_full_tokens_ratio): {batch:,} requests keeping {window:,} each beside a "
                   "prompt chunk would not all run at once (the scheduler queues the rest)")
    elif batch > requests:
        refusal = (f"SGLang runs at most {requests:,} requests at once (max_running_requests); batch {batch:,} "
                   "would queue")
    else:
        refusal = None
    # what the slack holds besides the CUDA runtime's own (planner.overhead): activations, CUDA graphs, the map
    runtime = sum(overhead_breakdown("cuda").values()) - CUDA_CONTEXT_BYTES
    return EngineMemory(
        engine="sglang", weights_bytes=per_gpu, kv_cache_bytes=tokens * cell + swa_tokens * layer * sliding
        + (states + 1) * state,
        activation_bytes=max(0, slack - runtime), refusal=refusal,
        max_concurrent=min(requests, tokens // context, max(0, swa_room) // window if sliding and window else requests)
        if context else requests,
        details={"engine_version": SGLANG_VERSION, "mem_fraction_static": frac, "tp_size": tp,
                 "free_before_load_bytes": free_before, "static_bytes": int(free_before * frac),
                 "max_total_num_tokens": tokens, "cell_bytes": cell, "max_running_requests": requests,
                 "req_to_token_bytes": req_to_token, "chunked_prefill_size": chunked,
                 "cuda_graph_max_bs": picked["cuda_graph_max_bs"], "context_length": length,
                 "swa_max_total_num_tokens": swa_tokens, "max_mamba_cache_size": states,
                 "mamba_state_bytes": state, "cpu_offload_gb": offload_gb,
                 "host_weights_bytes": host_weights,
                 **{f"{k}_bytes": v for k, v in loaded.items()},
                 "gpus": tp})
