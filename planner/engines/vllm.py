"""vLLM V1 (0.9–0.18; rules read in 0.11.0): the KV cache gets what the memory budget leaves."""

from __future__ import annotations

import math
from math import ceil

from ..activations import step_activation_bytes
from ..errors import WorkloadError, shown
from ..kv import kv_bytes_per_token_per_layer
from ..limits import MAX_BATCH, MAX_CONTEXT
from ..overhead import CUDA_CONTEXT_BYTES
from ..spec import ModelSpec
from ..units import format_bytes
from .common import EngineMemory, engine_options

# vLLM's profile run converts the dummy requests' logits to fp32 and samples them with top-k/top-p on:
# fp32 logits, softmax probabilities, the sorted values and their int64 indices are alive together
# (v1/sample/sampler.py, vLLM 0.11): 4 + 4 + 4 + 8 bytes per logit.
VLLM_SAMPLER_BYTES_PER_LOGIT = 20


def vllm_memory(spec: ModelSpec, *, quant: str, kv_dtype: str, gpu_memory_bytes: int, max_model_len: int,
                weights: int, context: int | None = None, batch: int = 1, **options) -> EngineMemory:
    """What vLLM allocates with `weights` bytes of weights on a GPU of `gpu_memory_bytes`, and its verdict.

    gpu_memory_bytes is the total CUDA reports, not the board's capacity: vLLM's budget is a fraction of
    torch.cuda.mem_get_info()'s total (v1/worker/gpu_worker.py init_device: `self.requested_memory =
    self.init_snapshot.total_memory * self.cache_config.gpu_memory_utilization`, the snapshot taken by
    MemorySnapshot.measure(), `self.free_memory, self.total_memory = torch.cuda.mem_get_info()`; V0's
    worker.py determine_num_available_blocks: `free_gpu_memory, total_gpu_memory = torch.cuda.mem_get_info()`).
    That total is what vLLM logs as total_gpu_memory (23.58 GiB on an RTX 3090 whose nvidia-smi says 24,576 MiB,
    vllm#10517; 79.22 GiB on an H100 80GB HBM3 of 81,559 MiB, vllm#10511): pass it when a log gives it
    (planner check-log does); a catalog GPU's total is nvidia-smi's, a few hundred MiB more than CUDA's.

    available = gpu_memory_bytes × gpu_memory_utilization − weights − profile-run activation peak − non-torch
    increase (none here: the CUDA context predates vLLM's baseline snapshot and is not charged). The profile run
    pushes max_num_batched_tokens tokens through the model with no attention computed, and samples one fp32
    logits row per dummy request. KV pages: block_size tokens × (2 × kv_heads × head_dim, or one MLA latent) per
    layer. CUDA graphs are captured after the KV cache is allocated and are not part of the budget.

    Verdict, as vLLM decides at start-up (v1/worker/gpu_worker.py, v1/core/kv_cache_utils.py):
      - the budget must be free when it starts ("Free memory on device … on startup is less than desired GPU
        memory utilization"): here the GPU's memory less the CUDA context;
      - the budget must leave memory for KV blocks ("No available memory for the cache blocks");
      - one request of max_model_len must fit the blocks ("To serve at least one request with the models's max
        seq len …");
    and then `batch` sequences of `context` tokens run at once only when the pool holds them all and
    batch ≤ max_num_seqs; otherwise the scheduler queues the rest.
    """
    defaults = {"gpu_memory_utilization": 0.9, "block_size": 64 if spec.mla is not None else 16,
                "max_num_batched_tokens": 2048, "max_num_seqs": 256}
    o = engine_options("vllm", options, defaults,
                       maximum={"block_size": 4096, "max_num_batched_tokens": MAX_CONTEXT, "max_num_seqs": MAX_BATCH})
    util = o["gpu_memory_utilization"]
    if isinstance(util, bool) or not isinstance(util, (int, float)) or not math.isfinite(util) or not 0 < util <= 1:
        raise WorkloadError(f"gpu_memory_utilization must be within (0, 1], got {shown(util)}")
    if max_model_len > spec.max_context:
        raise WorkloadError(f"max_model_len {max_model_len} exceeds {spec.name}'s max_context {spec.max_context}")
    context = max_model_len if context is None else context
    if context > max_model_len:
        raise WorkloadError(f"context {context:,} exceeds max_model_len {max_model_len:,}: vLLM rejects longer "
                            "requests; raise max_model_len or lower context")
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
    per_request = ceil(max_model_len / o["block_size"])
    per_sequence = ceil(context / o["block_size"])
    concurrent = min(blocks // per_sequence, o["max_num_seqs"])
    free_at_start = gpu_memory_bytes - CUDA_CONTEXT_BYTES

    def gib(n: int) -> str:
        return format_bytes(n, "GiB")

    if requested > free_at_start:
        refusal = (f"vLLM would not start: gpu_memory_utilization {util:g} asks for {gib(requested)}, but about "
                   f"{gib(free_at_start)} is free once the CUDA context is up; lower gpu_memory_utilization")
    elif available <= 0:
        refusal = (f"vLLM would not start: weights ({gib(weights)}) and the profile-run peak ({gib(activation)}) "
                   f"leave no memory for KV blocks in the {gib(requested)} budget")
    elif blocks < per_request:
        refusal = (f"vLLM would not start: one request of max_model_len {max_model_len:,} tokens needs "
                   f"{per_request:,} KV blocks, the {gib(available)} left hold {blocks:,}; lower max_model_len")
    elif batch > concurrent:
        limit = "max_num_seqs" if concurrent == o["max_num_seqs"] else "the KV pool"
        refusal = (f"vLLM runs at most {concurrent:,} sequences of {context:,} tokens at once ({limit}); "
                   f"batch {batch:,} would queue")
    else:
        refusal = None
    return EngineMemory(
        engine="vllm", weights_bytes=weights, kv_cache_bytes=max(0, available), activation_bytes=activation,
        refusal=refusal, max_concurrent=concurrent,
        details={"requested_bytes": requested, "available_kv_bytes": available, "kv_blocks": blocks,
                 "kv_tokens": blocks * o["block_size"], "max_concurrency": blocks / per_request,
                 "max_model_len": max_model_len, "fits_max_model_len": 0 < available and blocks >= per_request,
                 "free_at_start_bytes": free_at_start, **o})
