"""SGLang (0.5.23; its released wheels, research/sglang_ollama.md): a static share of the memory that is free before
the weights load holds the weights and the KV pool; everything else comes out of what is left.

Rules, as `python -m sglang.launch_server` applies them:
  - gpu_mem: nvidia-smi's memory.total of the smallest visible GPU, in MiB (utils/common.py
    get_nvgpu_memory_capacity). Its tier sets chunked_prefill_size and the decode CUDA graphs' max batch
    (arg_groups/memory_hook.py handle_gpu_memory_settings).
  - mem_fraction_static, when not given: (gpu_mem − reserved) / gpu_mem, rounded to 3 places, reserved (MiB) =
    512 ("constant meta data") + 1.5 × max(chunked_prefill_size, 2048) (activations) + tp × pp / 8 × 1024 +
    2 × max_bs (decode graphs), at least 10 GiB on GPUs above 60 GiB. Prefill CUDA graphs add a few MiB per
    captured size (MLA models 1.5 GiB), left out here.
  - KV pool: rest = free after loading − free before loading × (1 − mem_fraction_static), i.e. free before ×
    mem_fraction_static − weights; tokens = rest // cell, a cell being one token's K and V over the layers on one GPU
    (KV heads ÷ tp; an MLA latent whole) (mem_cache/kv_cache_configurator.py _profile_available_bytes,
    model_executor/pool_configurator.py). "Free before loading" is the CUDA total less the CUDA context.
  - max_running_requests: clamp(tokens / context_length × 512, 2048, 4096), at most tokens // 2
    (resolve_max_num_reqs); the request-to-token map, (requests + 1) × (context_length + 4) int32, is allocated
    after the pool, out of the slack, as are CUDA graphs and activations. The radix cache has no pool of its own:
    cached prefixes are slots of the same KV pool.
"""

from __future__ import annotations

import re
from math import ceil

from ..errors import LayoutError, WorkloadError, shown
from ..kv import kv_bytes_per_token_per_layer
from ..layout import check_tensor_parallel
from ..limits import MAX_BATCH, MAX_CONTEXT, MAX_GPUS
from ..overhead import CUDA_CONTEXT_BYTES, overhead_breakdown
from ..spec import ModelSpec
from ..units import format_bytes
from ..weights import is_mxfp4_expert, stored_tensors, tp_replicated
from .common import EngineMemory, engine_options, mxfp4_expert_factor

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
    datacenter_blackwell = (gpu is not None and gpu.vendor == "nvidia" and gpu.architecture == "Blackwell"
                            and gpu.memory_type.startswith("HBM"))
    return "flashinfer" if datacenter_blackwell else "triton"


def sglang_loaded_bytes(spec: ModelSpec, quant: str, tp: int = 1, gpu=None) -> dict[str, int]:
    """What one GPU holds once SGLang has loaded `spec` in `quant` split tp_size ways: the weight tensors (MXFP4
    experts in its MoE kernel's layout on `gpu`, a catalog GPU), the rotary cache and the allocator's segment tails
    (see above)."""
    factor = 1
    if spec.moe is not None:
        flashinfer = sglang_mxfp4_backend(gpu) == "flashinfer"
        factor = mxfp4_expert_factor(max(1, spec.moe.expert_d_ff // tp), spec.d_model, 256 if flashinfer else 32,
                                     256 if flashinfer else 1, scales_kept=not flashinfer)
    params: dict[str, int] = {}
    for t in stored_tensors(spec, quant):
        name = t.name
        for pattern, fused in _FUSED:
            name = pattern.sub(fused, name)
        share = ceil(t.nbytes / (1 if tp_replicated(t) else tp)) if t.is_matrix else t.nbytes
        params[name] = params.get(name, 0) + (ceil(share * factor) if is_mxfp4_expert(t) else share)
    tails = sum(-n % ALLOCATOR_ROUND_BYTES for n in params.values() if n >= ALLOCATOR_LARGE_BYTES)
    rotary = spec.mla.qk_rope_head_dim if spec.mla is not None else spec.head_dim
    return {"weight_tensors": sum(params.values()), "rotary_cache": spec.max_context * rotary * 4,
            "allocator_tails": tails, "mla_absorbed": sglang_mla_absorbed_bytes(spec, tp, quant=quant, gpu=gpu)}


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
SGLANG_LARGE_GPU_RESERVE_MIB = 10 * 1024  # the floor on GPUs above 60 GiB


def sglang_defaults(gpu_mem_mib: float, tp: int, pp: int = 1) -> dict:
    """chunked_prefill_size, cuda_graph_max_bs and mem_fraction_static as SGLang picks them for this GPU."""
    chunked, small, large = next((c, s, big) for limit, c, s, big in SGLANG_TIERS if gpu_mem_mib < limit * 1024)
    max_bs = small if tp < 4 else large
    reserved = SGLANG_META_MIB + 1.5 * max(chunked, 2048) + tp * pp / 8 * 1024 + 2 * max_bs
    if gpu_mem_mib > 60 * 1024:
        reserved = max(reserved, SGLANG_LARGE_GPU_RESERVE_MIB)
    return {"chunked_prefill_size": chunked, "cuda_graph_max_bs": max_bs,
            "mem_fraction_static": round((gpu_mem_mib - reserved) / gpu_mem_mib, 3)}


def sglang_memory(spec: ModelSpec, *, quant: str, kv_dtype: str, gpu_memory_bytes: int, smi_memory_bytes: int,
                  context: int, batch: int = 1, gpu=None, **options) -> EngineMemory:
    """What SGLang allocates on each GPU for `spec` in `quant` (tp_size splits it; what loading takes:
    sglang_loaded_bytes), on GPUs whose CUDA total is gpu_memory_bytes (nvidia-smi's: smi_memory_bytes; `gpu` the
    catalog GPU, where known), and its verdict for `batch` requests of `context` tokens."""
    given = dict(options)
    defaults = {"mem_fraction_static": 0.0, "tp_size": 1, "context_length": spec.max_context,
                "max_running_requests": 0, "chunked_prefill_size": 0}
    o = engine_options("sglang", {k: v for k, v in given.items() if k != "mem_fraction_static"},
                       {k: v for k, v in defaults.items() if k != "mem_fraction_static"},
                       maximum={"tp_size": MAX_GPUS, "context_length": MAX_CONTEXT, "max_running_requests": MAX_BATCH,
                                "chunked_prefill_size": MAX_CONTEXT}, minimum={"max_running_requests": 0,
                                                                               "chunked_prefill_size": 0})
    tp = o["tp_size"]
    if tp > 1:
        try:
            check_tensor_parallel(spec, tp)
        except LayoutError as e:
            raise LayoutError(str(e).replace("tensor parallel", "tp_size")) from None
    if o["context_length"] > spec.max_context:
        raise WorkloadError(f"context_length {o['context_length']:,} exceeds {spec.name}'s max_context "
                            f"{spec.max_context:,}")
    if context > o["context_length"]:
        raise WorkloadError(f"context {context:,} exceeds context_length {o['context_length']:,}: SGLang rejects "
                            "longer requests")
    picked = sglang_defaults(smi_memory_bytes / MIB, tp)
    frac = given.get("mem_fraction_static")
    if frac is None:
        frac = picked["mem_fraction_static"]
    elif isinstance(frac, bool) or not isinstance(frac, (int, float)) or not 0 < frac < 1:
        raise WorkloadError(f"mem_fraction_static must be within (0, 1), got {shown(frac)}")
    chunked = o["chunked_prefill_size"] or picked["chunked_prefill_size"]
    loaded = sglang_loaded_bytes(spec, quant, tp, gpu)
    per_gpu = sum(loaded.values())
    heads = 1.0 if spec.mla is not None else ceil(spec.n_kv_heads / tp) / spec.n_kv_heads
    cell = ceil(kv_bytes_per_token_per_layer(spec, kv_dtype) * heads) * spec.n_layers
    free_before = gpu_memory_bytes - CUDA_CONTEXT_BYTES
    rest = int(free_before * frac) - per_gpu
    tokens = max(0, rest) // cell
    length = o["context_length"]
    requests = o["max_running_requests"] or min(max(int(tokens / length * 512), 2048), 4096)
    requests = max(1, min(requests, tokens // 2)) if tokens else 0
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
    elif batch > requests:
        refusal = (f"SGLang runs at most {requests:,} requests at once (max_running_requests); batch {batch:,} "
                   "would queue")
    else:
        refusal = None
    # what the slack holds besides the CUDA runtime's own (planner.overhead): activations, CUDA graphs, the map
    runtime = sum(overhead_breakdown("cuda").values()) - CUDA_CONTEXT_BYTES
    return EngineMemory(
        engine="sglang", weights_bytes=per_gpu, kv_cache_bytes=tokens * cell,
        activation_bytes=max(0, slack - runtime), refusal=refusal,
        max_concurrent=min(requests, tokens // context) if context else requests,
        details={"engine_version": SGLANG_VERSION, "mem_fraction_static": frac, "tp_size": tp,
                 "free_before_load_bytes": free_before, "static_bytes": int(free_before * frac),
                 "max_total_num_tokens": tokens, "cell_bytes": cell, "max_running_requests": requests,
                 "req_to_token_bytes": req_to_token, "chunked_prefill_size": chunked,
                 "cuda_graph_max_bs": picked["cuda_graph_max_bs"], "context_length": length,
                 **{f"{k}_bytes": v for k, v in loaded.items()},
                 "gpus": tp})
