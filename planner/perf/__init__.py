"""Roofline speed: a step takes the longer of its compute time and its memory time.

Counted per step (batch B, context S):
  bytes   weights read once per step — routed experts only as many as the batch touches,
          E·(1 − (1 − k/E)^tokens) per MoE layer; the embedding table only for the rows looked up —
          plus the whole KV cache read by decode (sliding layers their window), written by prefill.
  FLOPs   2 per weight per token for every matmul (the lm_head included), plus attention:
          4·heads·head_dim per (query, attended key) pair; MLA per pair 2·heads·(2·kv_lora + rope).
time = max(FLOPs / (peak · η_compute), bytes / (bandwidth · η_memory)).

The η come from profiles/efficiency.yaml (planner/efficiency/), fitted on the calibration half of the published
runs and ../shared/reference-data.md (benchmarks/calibrate_speed.py); the check half judges them (README,
docs/accuracy.md).

The package: step.py (bytes a step reads, per-step and per-layer engine time, efficiency lookups), llamacpp.py
(llama.cpp's prefill kernels by build, its micro-batch pipeline, layers in system RAM), roofline.py (FLOPs, decode,
prefill, tensor parallel, MoE).
"""

from .llamacpp import (
    HOST_MEMORY_EFFICIENCY,
    HOST_RAM_BYTES_PER_S,
    LLAMACPP_CDNA1_ROCBLAS_BUILD,
    LLAMACPP_CDNA3_MMQ_BUILD,
    LLAMACPP_CDNA_MMQ_BUILD,
    LLAMACPP_CDNA_ROCBLAS_BUILD,
    LLAMACPP_MAX_COPIES,
    LLAMACPP_MMQ_BUILD,
    LLAMACPP_N_BATCH,
    LLAMACPP_N_UBATCH,
    cdna_prefill_path,
    llamacpp_dequant_bytes,
    llamacpp_matmul_dtype,
    llamacpp_prefill_family,
    llamacpp_prefill_seconds,
    offload_seconds_per_token,
    pipeline_steps,
)
from .roofline import (
    ALLREDUCE_LATENCY_S,
    DECODE_COMPUTE_EFFICIENCY,
    EAGER_ATTENTION_BYTES_PER_SCORE,
    RCCL_ALLREDUCE_LATENCY_S,
    _expert_matmul_params,
    allreduce_note,
    compute_dtype,
    decode_seconds_per_token,
    eager_attention_seconds,
    link_bytes_per_s,
    moe_padding_flops,
    moe_prefill_split_seconds,
    moe_split_seconds,
    prefill_seconds,
    step_flops,
    tensor_parallel_seconds,
)
from .step import (
    Engine,
    apple_formats,
    apple_runnable,
    apple_runs_format,
    default_engine,
    experts_touched_fraction,
    layer_floor_seconds,
    layer_overhead_seconds,
    memory_efficiency,
    memory_step_seconds,
    prefill_compute_efficiency,
    serving_step_seconds,
    serving_stream,
    step_seconds,
    weight_bytes_read,
)

__all__ = [
    "ALLREDUCE_LATENCY_S", "DECODE_COMPUTE_EFFICIENCY", "EAGER_ATTENTION_BYTES_PER_SCORE", "HOST_MEMORY_EFFICIENCY",
    "HOST_RAM_BYTES_PER_S", "LLAMACPP_CDNA1_ROCBLAS_BUILD", "LLAMACPP_CDNA3_MMQ_BUILD", "LLAMACPP_CDNA_MMQ_BUILD",
    "LLAMACPP_CDNA_ROCBLAS_BUILD", "LLAMACPP_MAX_COPIES", "LLAMACPP_MMQ_BUILD", "LLAMACPP_N_BATCH", "LLAMACPP_N_UBATCH",
    "RCCL_ALLREDUCE_LATENCY_S",
    "Engine", "_expert_matmul_params", "allreduce_note", "apple_formats", "apple_runnable", "apple_runs_format",
    "cdna_prefill_path", "compute_dtype",
    "decode_seconds_per_token", "default_engine", "eager_attention_seconds", "experts_touched_fraction",
    "layer_floor_seconds", "layer_overhead_seconds", "link_bytes_per_s", "llamacpp_dequant_bytes",
    "llamacpp_matmul_dtype", "llamacpp_prefill_family", "llamacpp_prefill_seconds", "memory_efficiency",
    "memory_step_seconds", "moe_padding_flops", "moe_prefill_split_seconds", "moe_split_seconds",
    "offload_seconds_per_token", "pipeline_steps", "prefill_compute_efficiency", "prefill_seconds",
    "serving_step_seconds", "serving_stream", "step_flops", "step_seconds", "tensor_parallel_seconds",
    "weight_bytes_read",
]
