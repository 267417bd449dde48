"""Ollama (0.3–0.33; research/sglang_ollama.md, read from its source at each tag): llama.cpp with Ollama's defaults —
its context, its slots, its cache type — and its own choice of how many layers go to the GPU. `engine_version`
picks the release whose rules apply (releases.OLLAMA_RULES); the default is the current one.

Rules:
  - num_ctx, when not given: 4096, 32768 or 262144 as the GPUs' total memory (less OLLAMA_GPU_OVERHEAD) is below
    23 GiB, below 47 GiB or more (v0.15.5+, server/routes.go Serve); clamped to the model's context length. Before:
    4096 (v0.6.7–v0.15.4), 2048 (≤ v0.6.6).
  - num_parallel (OLLAMA_NUM_PARALLEL): 1 (v0.10.0+); unset before, 4 slots (2 from v0.6.7) where Ollama's estimate
    puts the whole model on the GPU with them, else 1. The cache holds num_ctx × num_parallel cells
    (llama-server -c num_ctx·np -np np).
  - OLLAMA_KV_CACHE_TYPE: f16, q8_0 or q4_0 (quantized types need flash attention); flash attention: llama.cpp's
    "auto" from v0.30; before, off unless set (on by default for a few architectures from v0.12.4), and never for
    models Ollama did not support it on (Gemma 2, key and value heads of different sizes).
  - Layers: up to v0.12.10 Ollama's own estimate decided them (estimate.py, llm/memory.go), and llama.cpp then
    allocated what it decided, which can exceed the GPU (refused). Later releases place every layer and the output
    when their allocations, the CUDA runtime and a margin fit the GPU's memory; else as many layers as fit, the rest
    in system RAM. The margin: the 457 MiB minimum Ollama keeps free per GPU (until 0.29), then llama-server's fit
    target, 1 GiB (llamacpp/fit.py).
  - num_gpu (a Modelfile or request option): the layers to put on the GPU, -1 (the default) for Ollama's choice;
    the estimate caps at it (up to 0.12.10), later releases pass it as -ngl, whether it fits or not.
  - `ollama ps`: SIZE is all the model's memory, GPU and system RAM; PROCESSOR "100% GPU", "100% CPU" or
    "48%/52% CPU/GPU" by the share of SIZE in system RAM (cmd/cmd.go ListRunningHandler). Up to v0.12.10 both
    came from the estimate (memory.required.full and .partial).
"""

from __future__ import annotations

from ...errors import WorkloadError, shown
from ...limits import MAX_CONTEXT
from ...spec import ModelSpec
from ...weights import vision_encoder_bytes, weights_bytes
from ..common import EngineMemory, arch_key, engine_options
from ..llamacpp import llamacpp_memory, mla_gguf_of
from ..llamacpp.fit import LLAMA_FIT_TARGET_BYTES, device_bytes, fit_placement, most_layers_that_fit
from ..llamacpp.releases import llamacpp_rules
from .estimate import OllamaEstimate, estimate_gpu_layers, graph_batch
from .releases import (
    OLLAMA_CURRENT,
    arrived,
    flash_by_default,
    go_swa_cells,
    ollama_llamacpp_build,
    ollama_release,
    ollama_rules,
    on_ollama_engine,
    release_name,
    since,
)

OLLAMA_VERSION = OLLAMA_CURRENT
OLLAMA_NUM_BATCH = 512  # api.DefaultOptions NumBatch
OLLAMA_MINIMUM_MEMORY_BYTES = 457 * 2**20  # discover/gpu.go cudaMinimumMemory (ROCm the same)
OLLAMA_METAL_MINIMUM_MEMORY_BYTES = 512 * 2**20  # Metal's
GIB = 2**30
OLLAMA_KV_TYPES = {"f16": "fp16", "q8_0": "q8_0", "q4_0": "q4_0"}
_CACHE_NAMES = {v: k for k, v in OLLAMA_KV_TYPES.items()}  # planner's KV dtype → OLLAMA_KV_CACHE_TYPE


def ollama_kv_dtype(kv_dtype: str | None, options: dict) -> str:
    """The workload's KV dtype under Ollama: its kv_cache_type (OLLAMA_KV_CACHE_TYPE) where set, else kv_dtype, else
    f16 (llama.cpp's default cache); both given and different is an error, as a server has one cache type."""
    cache = options.get("kv_cache_type")
    named = OLLAMA_KV_TYPES.get(cache) if isinstance(cache, str) else None
    if named is None:  # unset, or a value _cache_type refuses by name
        return "fp16" if kv_dtype is None else kv_dtype
    if kv_dtype is not None and kv_dtype != named:
        raise WorkloadError(f"kv_dtype {kv_dtype!r} and kv_cache_type {cache!r} name two caches; Ollama has one "
                            "(OLLAMA_KV_CACHE_TYPE): give one of them")
    return named


def minimum_memory_bytes(library: str) -> int:
    """What Ollama keeps free on each GPU of this backend ("cuda", "rocm", "metal")."""
    return OLLAMA_METAL_MINIMUM_MEMORY_BYTES if library == "metal" else OLLAMA_MINIMUM_MEMORY_BYTES


def ollama_num_ctx(total_bytes: int) -> int:
    """Ollama's default num_ctx for GPUs of this much memory in all (v0.15.5+)."""
    return 262144 if total_bytes >= 47 * GIB else 32768 if total_bytes >= 23 * GIB else 4096


def ollama_default_num_ctx(release: tuple[int, ...], total_bytes: int) -> int:
    """The num_ctx `release` uses when none is set (OLLAMA_RULES' num_ctx)."""
    rule = ollama_rules(release)["num_ctx"]
    return ollama_num_ctx(total_bytes) if rule == "vram" else rule


def processor(size: int, vram: int) -> str:
    """`ollama ps`'s PROCESSOR column for a model of `size` bytes with `vram` of them on GPUs."""
    if vram == 0:
        return "100% CPU"
    if vram == size:
        return "100% GPU"
    cpu = round((size - vram) / size * 100)
    return f"{cpu}%/{100 - cpu}% CPU/GPU"


def ollama_memory(spec: ModelSpec, *, quant: str, kv_dtype: str, gpu_memory_bytes: int, overhead_bytes: int,
                  context: int | None, batch: int = 1, library: str = "cuda", **options) -> EngineMemory:
    """What Ollama allocates for `spec` in `quant` (a GGUF type) on a GPU of gpu_memory_bytes (CUDA's total), of
    which overhead_bytes go to the CUDA runtime; `context` None: Ollama's default num_ctx; library: the GPU's
    backend, "cuda", "rocm" or "metal". engine_version: the release whose rules apply (releases.OLLAMA_RULES;
    default the current one). Up to 0.12.10 Ollama's own estimate (estimate.py) chose the layers; the runner's
    llama.cpp then allocated them, and the answer refuses where that would not fit the free memory."""
    release = ollama_release(options.pop("engine_version", None))
    rules = ollama_rules(release)
    minimum_bytes = minimum_memory_bytes(library)
    defaults = {"num_ctx": 0, "num_parallel": 0, "kv_cache_type": "", "flash_attn": None, "num_gpu": -1,
                "num_batch": 0}
    o = engine_options("ollama", options, defaults,
                       minimum={"num_ctx": 0, "num_parallel": 0, "num_gpu": -1, "num_batch": 0},
                       maximum={"num_ctx": MAX_CONTEXT, "num_parallel": 512, "num_gpu": 2**31 - 1,
                                "num_batch": MAX_CONTEXT})
    num_gpu = None if o["num_gpu"] < 0 else o["num_gpu"]  # -1: Ollama decides
    _runs_model(spec, release)
    if spec.chunked_attention and not since(release, "llama_server"):  # Ollama's own engine (llama4, to 0.29): its
        # chunked cache keeps every token (kvcache.NewChunkedAttentionCache, the chunk only masks): no window here
        spec = spec.model_copy(update={"layer_pattern": ("full",), "sliding_window": None, "chunked_attention": False})
    flash_set = o["flash_attn"] is not None
    flash = o["flash_attn"] if flash_set else flash_by_default(release, arch_key(spec))
    if rules["flash_attn"] != "auto":  # before llama-server, Ollama turned it off where it judged it unsupported
        flash = flash and flash_attention_supported(spec, release) and (
            library != "rocm" or since(release, "rocm_flash"))
    cache = _cache_type(o, kv_dtype, flash, release, explicit_flash=flash_set or not _auto_flash(release, spec))
    num_ctx = o["num_ctx"] or context or ollama_default_num_ctx(release, gpu_memory_bytes)
    num_ctx = min(num_ctx, spec.max_context)  # "requested context size too large for model"
    if context is not None and context > num_ctx:
        raise WorkloadError(f"context {context:,} exceeds num_ctx {num_ctx:,}")
    free = gpu_memory_bytes - overhead_bytes  # what the GPU reports free with nothing else on it
    if o["num_parallel"]:
        tries = (o["num_parallel"],)
    else:  # unset: the release's slot counts, the first whose estimate puts the whole model on the GPU
        tries = rules["parallel"]
    estimated = rules["layers"] == "estimate" or (rules["layers"] == "estimate+engine"
                                                  and not on_ollama_engine(release, arch_key(spec)))
    metal = library == "metal"
    est = None
    if estimated:
        for slots in tries:
            est = _estimate(spec, quant, release, num_ctx, slots, cache, flash, free, minimum_bytes, metal, num_gpu,
                            o["num_batch"] or OLLAMA_NUM_BATCH)
            if est.layers == est.layers_model or (num_gpu is not None and est.layers >= num_gpu):
                break
        if est.layers < min(est.layers_model, num_gpu if num_gpu is not None else est.layers_model) \
                and len(tries) > 1:
            slots = 1  # pickBestPartialFitByLibrary: one slot when none fits whole
            est = _estimate(spec, quant, release, num_ctx, 1, cache, flash, free, minimum_bytes, metal, num_gpu,
                            o["num_batch"] or OLLAMA_NUM_BATCH)
    else:
        slots = tries[0]
    if batch > slots:
        why = "" if o["num_parallel"] else (f" (Ollama {release_name(release)} chose it: more slots do not fit the GPU "
                                            "whole by its estimate)" if len(tries) > 1 else " (its default)")
        raise WorkloadError(f"batch {batch} exceeds num_parallel {slots}{why}: Ollama serves num_parallel requests "
                            "at once; set num_parallel")
    build = ollama_llamacpp_build(release)  # the runner's llama.cpp: its layout, padding and host inputs
    split = llamacpp_rules(build)["streams"] == "split"
    num_batch = o["num_batch"] or OLLAMA_NUM_BATCH  # the runner's batch and ubatch (its NewContextParams)
    if since(release, "llama_server"):  # llama-server takes -b N -ub N, N Ollama's choice unless num_batch is set
        num_batch = o["num_batch"] or ollama_auto_batch(spec, quant, num_ctx * slots, free, flash, library)
    common = dict(quant=quant, kv_dtype=cache, context=num_ctx, batch=slots, n_parallel=slots,
                  n_ctx=num_ctx * slots, flash_attn=flash, engine_version=f"b{build}",
                  device_vendor={"metal": "apple", "rocm": "amd"}.get(library, "nvidia"),
                  **({"n_batch": num_batch, "n_ubatch": num_batch} if num_batch != OLLAMA_NUM_BATCH
                     or since(release, "llama_server") else {}),
                  kv_unified=rules["unified_kv"] and slots > 1 if split else None,
                  # its runner: llama.cpp's library until 0.29, llama-server from 0.30 (one output row per slot)
                  program="llama-server" if since(release, "llama_server") else "library")
    common["sliding_cells"] = go_swa_cells(release, spec, num_ctx, slots, num_batch, flash)  # its own engine's rule
    if spec.mla is not None:  # Ollama's library files of MLA models predate llama.cpp's MLA conversion (its 0.32.13
        # runs deepseek-coder-v2:16b with K n_head·192 and V n_head·128): every head cached, unless a file read says
        common["mla_gguf"] = spec.checkpoint is not None and spec.checkpoint.format == "gguf" and mla_gguf_of(spec)

    # a vision model's image encoder, which Ollama's model files carry and load on the GPU beside the layers (`ollama
    # list` sizes gemma3:4b at 3.3 GB, its Q4_K_M text weights 2.49 GB; its compute buffer, taken when an image is
    # encoded, is not counted). The releases whose own estimate chose the layers (to 0.12.10) sized them without it:
    # planner follows that estimate there and counts the encoder only where the allocations decide.
    vision = 0 if estimated else vision_encoder_bytes(spec)

    def placed(layers: int, cpu_moe: int = 0) -> EngineMemory:
        m = llamacpp_memory(spec, **common, n_gpu_layers=layers, n_cpu_moe=cpu_moe)
        if not vision or not layers:
            return m
        return m.model_copy(update={"weights_bytes": m.weights_bytes + vision})  # the vision tower beside them

    device = device_bytes
    refusal = None
    if est is not None:  # the estimate decided; llama.cpp allocates what it decided
        chosen = placed(est.layers)
        if device(chosen) > free:
            refusal = (f"Ollama {release_name(release)}'s estimate puts {est.layers} of {est.layers_model} layers on "
                       f"the GPU, but llama.cpp then allocates {device(chosen) / GIB:.2f} GiB there, more than the "
                       f"{free / GIB:.2f} GiB free: the runner fails to load (CUDA out of memory); set num_gpu lower "
                       "or use a release that measures its allocations (0.12.11+)")
    elif num_gpu is not None:  # num_gpu set: -ngl as given, whether it fits or not
        chosen = placed(num_gpu)
        if device(chosen) > free:
            refusal = (f"num_gpu {num_gpu} puts {device(chosen) / GIB:.2f} GiB on the GPU, more than the "
                       f"{free / GIB:.2f} GiB free: the runner fails to load (CUDA out of memory)")
    else:  # the most layers whose allocations leave Ollama's minimum free (until 0.29), or llama-server's fit target
        if rules["layers"] == "fit":  # llama-server's --fit: a MoE model's experts go to system RAM first
            chosen = fit_placement(spec.n_layers, spec.moe is not None, placed, free - LLAMA_FIT_TARGET_BYTES)
        else:  # Ollama's own layout: whole layers, its minimum left free
            chosen = most_layers_that_fit(spec.n_layers, placed, free - minimum_bytes)
    d = chosen.details
    on_gpu = min(d["n_gpu_layers"], spec.n_layers + 1)
    if est is not None:  # `ollama ps` shows the estimate: SIZE its full figure, on the GPU its partial one
        size, vram = est.total, est.vram
    else:
        vram = device(chosen)
        size = vram + d["host_total_bytes"] + (vision if not d["n_gpu_layers"] else 0)  # the encoder in RAM
        if on_gpu == spec.n_layers + 1 and not d.get("n_cpu_moe"):  # every layer wholly on the GPU: until 0.29
            # Ollama counts the CPU-side input weights and buffers as VRAM "to represent complete offloading"; from
            # 0.30 SIZE is the GPU's buffers alone (llm/llama_server.go MemorySize: total = vram)
            if since(release, "llama_server"):
                size = vram
            else:
                vram = size
    extra = {} if est is None else {
        "estimate_layers": est.layers, "estimate_kv_bytes": est.kv, "estimate_graph_full_bytes": est.graph_full,
        "estimate_graph_partial_bytes": est.graph_partial, "estimate_vram_bytes": est.vram,
        "estimate_total_bytes": est.total, "estimate_weights_bytes": est.repeating + est.output}
    return EngineMemory(
        engine="ollama", weights_bytes=chosen.weights_bytes, kv_cache_bytes=chosen.kv_cache_bytes,
        activation_bytes=chosen.activation_bytes, refusal=refusal, max_concurrent=slots,
        details={**d, "engine_version": release_name(release), "num_ctx": num_ctx, "num_parallel": slots,
                 **({"num_ctx_requested": o["num_ctx"]} if o["num_ctx"] > num_ctx else {}),
                 "kv_cache_type": _CACHE_NAMES[cache], "flash_attn": flash, "num_batch": num_batch,
                 **({"vision_bytes": vision} if vision else {}),
                 "layers_decided_by": "Ollama's estimate (llm/memory.go)" if est is not None else
                 "the allocations themselves", "layers_offloaded": on_gpu, "layers_model": spec.n_layers + 1,
                 "size_bytes": size, "vram_bytes": vram, "processor": processor(size, vram if on_gpu else 0),
                 "minimum_memory_bytes": minimum_bytes,
                 "gpu_margin_bytes": LLAMA_FIT_TARGET_BYTES if rules["layers"] == "fit" else minimum_bytes, **extra})


# llama-server's batch when num_batch is unset (server/sched.go automaticGenerationBatch, 0.30.0-0.33): 512 up to
# 4,096 tokens of context (num_ctx × num_parallel), 1,024 beyond, 2,048 beyond 32,768, each step taken only while
# Ollama's prediction (the model file and an f16 cache of every layer, llm.PredictServerVRAM) stays within 80 % of
# the free memory less the step's surcharge (768 MiB, 2 GiB) and within 75 % (60 %) of it; with flash attention off
# on CUDA, 512, or 256 beyond 4,096 tokens on a GPU of 8 GiB or less.
OLLAMA_BATCH_STEPS = ((32768, 2048, 60, 2 * GIB), (4096, 1024, 75, 768 * 2**20))


def ollama_auto_batch(spec: ModelSpec, quant: str, cells: int, free: int, flash: bool, library: str) -> int:
    """num_batch as Ollama picks it for llama-server (OLLAMA_BATCH_STEPS) for a cache of `cells` on a GPU with
    `free` bytes free."""
    if not flash and library == "cuda":
        return 256 if cells > 4096 and free <= 8 * GIB else OLLAMA_NUM_BATCH
    predicted = weights_bytes(spec, quant) + 2 * spec.n_layers * spec.n_kv_heads * (spec.d_model // spec.n_heads) \
        * cells * 2
    for above, batch, headroom, surcharge in OLLAMA_BATCH_STEPS:
        if cells > above and predicted <= free * headroom // 100 and surcharge <= free * 80 // 100 - predicted:
            return batch
    return OLLAMA_NUM_BATCH


def _estimate(spec, quant, release, num_ctx, slots, cache, flash, free, minimum, metal,
              num_gpu=None, num_batch: int = OLLAMA_NUM_BATCH) -> OllamaEstimate:
    return estimate_gpu_layers(spec, quant, context=num_ctx * slots,
                               batch=graph_batch(release, num_ctx * slots, slots, num_batch),
                               slots=slots, cache=cache, flash_attn=flash, free_bytes=free, minimum_bytes=minimum,
                               metal=metal, release=release, num_gpu=num_gpu)


def _runs_model(spec: ModelSpec, release: tuple[int, ...]) -> None:
    if (first := arrived(release, arch_key(spec))) is not None:
        raise WorkloadError(f"Ollama {release_name(release)} does not run {arch_key(spec)} models: they arrived in "
                            f"{first} (engine_version)")
    if spec.recurrent and not since(release, "llama_server"):  # Qwen3-Next and Qwen3.5 on its own Go engine
        # (model/models/qwen3next, 0.17.1-0.29), sized by its estimate or its own recurrent cache: not modelled
        raise WorkloadError(f"Ollama {release_name(release)}: {spec.name} keeps a recurrent state beside its KV "
                            "cache, which planner models for the llama-server runner of Ollama 0.30 and later only "
                            "(engine_version='0.30.0' or later, or engine llama.cpp)")


def _auto_flash(release: tuple[int, ...], spec: ModelSpec) -> bool:
    """Whether flash attention left unset is llama.cpp's "auto" rather than on: from 0.13.4 for models on the
    llama.cpp runner, where Ollama then ignores a quantized OLLAMA_KV_CACHE_TYPE (llm/server.go)."""
    return ollama_rules(release)["flash_attn"] == "model+llama-auto" and not on_ollama_engine(release, arch_key(spec))


def _cache_type(o: dict, kv_dtype: str, flash: bool, release: tuple[int, ...], *, explicit_flash: bool) -> str:
    """planner's KV dtype of Ollama's cache: OLLAMA_KV_CACHE_TYPE, else the workload's kv_dtype."""
    if not o["kv_cache_type"]:  # unset: the workload's KV dtype names it (f16 by default for GGUF weights)
        if kv_dtype not in _CACHE_NAMES:
            raise WorkloadError(f"Ollama's cache is f16, q8_0 or q4_0 (OLLAMA_KV_CACHE_TYPE), not kv_dtype "
                                f"{kv_dtype!r}")
        o["kv_cache_type"] = _CACHE_NAMES[kv_dtype]
    if o["kv_cache_type"] not in OLLAMA_KV_TYPES:
        raise WorkloadError(f"kv_cache_type must be one of {', '.join(OLLAMA_KV_TYPES)} (OLLAMA_KV_CACHE_TYPE), got "
                            f"{shown(o['kv_cache_type'])}")
    cache = OLLAMA_KV_TYPES[o["kv_cache_type"]]
    if cache != "fp16" and not since(release, "kv_cache_type"):
        raise WorkloadError(f"kv_cache_type {o['kv_cache_type']!r}: Ollama {release_name(release)} has no "
                            "OLLAMA_KV_CACHE_TYPE (it arrived in 0.5.0); its cache is f16")
    if cache != "fp16" and not flash:
        raise WorkloadError(f"kv_cache_type {o['kv_cache_type']!r} needs flash attention (Ollama falls back to f16 "
                            "without it)")
    if cache != "fp16" and not explicit_flash:
        raise WorkloadError(f"kv_cache_type {o['kv_cache_type']!r} needs flash_attn set on (OLLAMA_FLASH_ATTENTION=1): "
                            f"Ollama {release_name(release)} ignores a quantized cache type under its automatic "
                            "flash attention")
    if kv_dtype not in ("fp16", cache):
        raise WorkloadError(f"Ollama's cache type is kv_cache_type ({o['kv_cache_type']}); kv_dtype {kv_dtype!r} "
                            "contradicts it")
    return cache


def flash_attention_supported(spec: ModelSpec, release: tuple[int, ...]) -> bool:
    """fs/ggml SupportsFlashAttention: keys and values of one head size, and not Gemma 2 from 0.11.11."""
    if spec.model_type == "gemma2" and since(release, "gemma2_no_flash"):
        return False
    if spec.mla is not None:
        return spec.mla.qk_nope_head_dim + spec.mla.qk_rope_head_dim == spec.mla.v_head_dim
    return True
