"""Ollama (0.33; research/sglang_ollama.md, read from its source at each tag): llama.cpp with Ollama's defaults —
its context, its slots, its cache type — and its own choice of how many layers go to the GPU.

Rules:
  - num_ctx, when not given: 4096, 32768 or 262144 as the GPUs' total memory (less OLLAMA_GPU_OVERHEAD) is below
    23 GiB, below 47 GiB or more (v0.15.5+, server/routes.go Serve); clamped to the model's context length. Before:
    4096 (v0.6.7–v0.15.4), 2048 (≤ v0.6.6).
  - num_parallel (OLLAMA_NUM_PARALLEL): 1 (v0.10.0+). The cache holds num_ctx × num_parallel cells
    (llama-server -c num_ctx·np -np np).
  - OLLAMA_KV_CACHE_TYPE: f16, q8_0 or q4_0 (quantized types need flash attention); flash attention: llama.cpp's
    "auto", on where the GPU supports it.
  - Layers: every layer and the output on the GPU when they, their cache, the compute buffer, the CUDA runtime and
    the 457 MiB minimum Ollama keeps free per GPU fit its memory; else as many layers as fit, the rest in system RAM
    (Ollama ≤ 0.12 chose this itself, EstimateGPULayers; from 0.30 llama-server's own fit does, to the same end).
  - `ollama ps`: SIZE is all the model's memory, GPU and system RAM; PROCESSOR "100% GPU", "100% CPU" or
    "48%/52% CPU/GPU" by the share of SIZE in system RAM (cmd/cmd.go ListRunningHandler).
"""

from __future__ import annotations

from ..errors import WorkloadError, shown
from ..limits import MAX_CONTEXT
from ..spec import ModelSpec
from .common import EngineMemory, engine_options
from .llamacpp import llamacpp_memory

OLLAMA_VERSION = "0.33"
OLLAMA_MINIMUM_MEMORY_BYTES = 457 * 2**20  # discover/gpu.go cudaMinimumMemory (ROCm the same)
OLLAMA_METAL_MINIMUM_MEMORY_BYTES = 512 * 2**20  # Metal's
GIB = 2**30
OLLAMA_KV_TYPES = {"f16": "fp16", "q8_0": "q8_0", "q4_0": "q4_0"}


def ollama_num_ctx(total_bytes: int) -> int:
    """Ollama's default num_ctx for GPUs of this much memory in all (v0.15.5+)."""
    return 262144 if total_bytes >= 47 * GIB else 32768 if total_bytes >= 23 * GIB else 4096


def processor(size: int, vram: int) -> str:
    """`ollama ps`'s PROCESSOR column for a model of `size` bytes with `vram` of them on GPUs."""
    if vram == 0:
        return "100% CPU"
    if vram == size:
        return "100% GPU"
    cpu = round((size - vram) / size * 100)
    return f"{cpu}%/{100 - cpu}% CPU/GPU"


def ollama_memory(spec: ModelSpec, *, quant: str, kv_dtype: str, gpu_memory_bytes: int, overhead_bytes: int,
                  context: int | None, batch: int = 1, minimum_bytes: int = OLLAMA_MINIMUM_MEMORY_BYTES,
                  **options) -> EngineMemory:
    """What Ollama allocates for `spec` in `quant` (a GGUF type) on a GPU of gpu_memory_bytes (CUDA's total), of
    which overhead_bytes go to the CUDA runtime; `context` None: Ollama's default num_ctx."""
    defaults = {"num_ctx": 0, "num_parallel": 1, "kv_cache_type": "", "flash_attn": True}
    o = engine_options("ollama", options, defaults, minimum={"num_ctx": 0},
                       maximum={"num_ctx": MAX_CONTEXT, "num_parallel": 512})
    by_dtype = {v: k for k, v in OLLAMA_KV_TYPES.items()}
    if not o["kv_cache_type"]:  # unset: the workload's KV dtype names it (f16 by default for GGUF weights)
        if kv_dtype not in by_dtype:
            raise WorkloadError(f"Ollama's cache is f16, q8_0 or q4_0 (OLLAMA_KV_CACHE_TYPE), not kv_dtype "
                                f"{kv_dtype!r}")
        o["kv_cache_type"] = by_dtype[kv_dtype]
    if o["kv_cache_type"] not in OLLAMA_KV_TYPES:
        raise WorkloadError(f"kv_cache_type must be one of {', '.join(OLLAMA_KV_TYPES)} (OLLAMA_KV_CACHE_TYPE), got "
                            f"{shown(o['kv_cache_type'])}")
    cache = OLLAMA_KV_TYPES[o["kv_cache_type"]]
    if cache != "fp16" and not o["flash_attn"]:
        raise WorkloadError(f"kv_cache_type {o['kv_cache_type']!r} needs flash attention (Ollama falls back to f16 "
                            "without it)")
    if kv_dtype not in ("fp16", cache):
        raise WorkloadError(f"Ollama's cache type is kv_cache_type ({o['kv_cache_type']}); kv_dtype {kv_dtype!r} "
                            "contradicts it")
    num_ctx = o["num_ctx"] or context or ollama_num_ctx(gpu_memory_bytes)
    num_ctx = min(num_ctx, spec.max_context)  # "requested context size too large for model"
    slots = o["num_parallel"]
    if batch > slots:
        raise WorkloadError(f"batch {batch} exceeds num_parallel {slots}: Ollama serves num_parallel requests at once")
    if context is not None and context > num_ctx:
        raise WorkloadError(f"context {context:,} exceeds num_ctx {num_ctx:,}")
    common = dict(quant=quant, kv_dtype=cache, context=num_ctx, batch=slots, n_parallel=slots,
                  n_ctx=num_ctx * slots, flash_attn=o["flash_attn"])
    room = gpu_memory_bytes - overhead_bytes - minimum_bytes

    def placed(layers: int) -> EngineMemory:
        return llamacpp_memory(spec, **common, n_gpu_layers=layers)

    def fits(m: EngineMemory) -> bool:
        return m.weights_bytes + m.kv_cache_bytes + m.activation_bytes <= room

    # the most layers that fit (device memory grows with every layer): all of them and the output, else bisect
    chosen = placed(spec.n_layers + 1)
    if not fits(chosen):
        low, high = 0, spec.n_layers  # fits(low) taken as true: no layer on the GPU is always possible
        while low < high:
            mid = (low + high + 1) // 2
            low, high = (mid, high) if fits(placed(mid)) else (low, mid - 1)
        chosen = placed(low)
    d = chosen.details
    vram = chosen.weights_bytes + chosen.kv_cache_bytes + chosen.activation_bytes
    size = vram + d["host_total_bytes"]
    on_gpu = min(d["n_gpu_layers"], spec.n_layers + 1)
    if on_gpu == spec.n_layers + 1:  # every layer on the GPU: Ollama counts the CPU-side input weights and buffers
        vram = size                  # as VRAM "to represent complete offloading" (llm/server.go VRAMSize)
    return EngineMemory(
        engine="ollama", weights_bytes=chosen.weights_bytes, kv_cache_bytes=chosen.kv_cache_bytes,
        activation_bytes=chosen.activation_bytes, refusal=None, max_concurrent=slots,
        details={**d, "engine_version": OLLAMA_VERSION, "num_ctx": num_ctx, "num_parallel": slots,
                 "kv_cache_type": o["kv_cache_type"], "layers_offloaded": on_gpu, "layers_model": spec.n_layers + 1,
                 "size_bytes": size, "vram_bytes": vram, "processor": processor(size, vram if on_gpu else 0),
                 "minimum_memory_bytes": minimum_bytes})
