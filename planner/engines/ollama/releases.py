"""Ollama's rules by release, read from its source at each tag (github.com/ollama/ollama; research/sglang_ollama.md).

OLLAMA_RULES: each row holds from its release until the next row's. The columns:
  num_ctx      the default context: 2048 (envconfig ContextLength until v0.6.6), 4096 (44b466eeb, v0.6.7), or by the
               GPUs' memory, 4K/32K/256K (0334ffa62, v0.15.5).
  parallel     OLLAMA_NUM_PARALLEL unset: the slot counts server/sched.go tries, the first whose estimate fits the
               GPU whole (pickBestFullFitByLibrary, numParallelToTry = [defaultParallel, 1]): defaultParallel 4 until
               v0.6.6, 2 from v0.6.7 (fe5b9bb21), 1 from v0.10.0 (20c3266e9, #11330).
  flash_attn   OLLAMA_FLASH_ATTENTION unset: off until v0.12.3; from v0.12.4 (fdb109469) on for the architectures
               fs/ggml FlashAttention() lists (OLLAMA_FLASH_MODELS); from v0.13.4 (bd6c1d6b4) llama.cpp's "auto"
               for models on the llama.cpp runner too; from v0.30.0 llama-server's "auto" for all.
  layers       who decides the layers on the GPU: "estimate", llm/memory.go's EstimateGPULayers (planner.engines.
               ollama.estimate), until v0.12.10 — from v0.12.0 not for Ollama-engine models (OLLAMA_ENGINE_MODELS),
               whose layout follows the runner's measured allocations (d5a0d8d90 "New memory management"); from
               v0.12.11 (f560bd077) "measured" for every model, keeping Ollama's 457 MiB minimum free; "fit",
               llama-server's own --fit from v0.30.0 (9db4bdbad), keeping its 1 GiB fit target free
               (planner.engines.llamacpp.fit).
  unified_kv   one KV cache all slots share (the runner's vendored llama.cpp before the per-sequence split, which
               arrived with the vendoring of v0.11.5).

OLLAMA_SINCE: single changes, by the first release that has them (`git tag --contains` of the commit).
"""

from __future__ import annotations

import re

from ...errors import WorkloadError, shown
from ..common import release_tuple

OLLAMA_CURRENT = "0.33"
OLLAMA_OLDEST = "0.3.0"
# The llama.cpp build Ollama's oldest release planner has rules for vendors: v0.3.0's llm/llama.cpp submodule is
# commit d94c6e0cc (2024-07-22), the 3440th of llama.cpp's history (`git rev-list --count`). Every later release
# vendors a later one, so Ollama's speed takes llama.cpp's current prefill kernels (planner.perf.llamacpp: MMQ from
# b3216, i-quants from b3317 and b3428) whatever its version.
OLLAMA_OLDEST_LLAMACPP_BUILD = 3440
# The llama.cpp each release vendors, from the release that first vendored each build: the llm/llama.cpp submodule
# (to 0.3.x), llama/vendoring's LLAMACPP_BASE_COMMIT (0.4-0.5.x), Makefile.sync's FETCH_HEAD (0.5.13-0.17), the
# LLAMA_CPP_VERSION file (0.30 on), at each tag of github.com/ollama/ollama; a commit's build is its `git rev-list
# --count` in llama.cpp's history. Its runner lays out and allocates as that build does (-ngl's output layer last
# before b7467, the graph's host inputs, the cache's padding).
OLLAMA_LLAMACPP_BUILDS = (
    ("0.3.0", 3440), ("0.3.1", 3485), ("0.3.4", 3535), ("0.3.10", 3661), ("0.3.14", 3862), ("0.5.2", 4260),
    ("0.5.3", 4327), ("0.5.5", 4419), ("0.5.13", 4779), ("0.6.6", 5125), ("0.6.7", 5162), ("0.6.8", 5237),
    ("0.7.0", 5359), ("0.11.5", 6121), ("0.12.4", 6646), ("0.12.6", 6752), ("0.12.11", 6840), ("0.13.2", 7209),
    ("0.13.3", 7345), ("0.13.5", 7437), ("0.30.0", 9452), ("0.30.1", 9479), ("0.30.4", 9493), ("0.30.5", 9509),
    ("0.30.9", 9626), ("0.30.10", 9672), ("0.30.11", 9781), ("0.31.0", 9840), ("0.31.2", 9888), ("0.32.2", 10069),
    ("0.32.3", 10091), ("0.32.6", 10242), ("0.32.8", 10353), ("0.32.10", 10380), ("0.32.14", 10434),
    ("0.32.15", 10488),
)

_COLUMNS = ("num_ctx", "parallel", "flash_attn", "layers", "unified_kv")
_ROWS = (  # since,  num_ctx, parallel, flash_attn, layers, unified_kv
    ("0.3.0", 2048, (4, 1), "off", "estimate", True),
    ("0.6.7", 4096, (2, 1), "off", "estimate", True),
    ("0.10.0", 4096, (1,), "off", "estimate", True),
    ("0.11.5", 4096, (1,), "off", "estimate", False),
    ("0.12.0", 4096, (1,), "off", "estimate+engine", False),
    ("0.12.4", 4096, (1,), "model", "estimate+engine", False),
    ("0.12.11", 4096, (1,), "model", "measured", False),
    ("0.13.4", 4096, (1,), "model+llama-auto", "measured", False),
    ("0.15.5", "vram", (1,), "model+llama-auto", "measured", False),
    ("0.30.0", "vram", (1,), "auto", "fit", False),
)
OLLAMA_RULES = tuple((since, dict(zip(_COLUMNS, row, strict=True))) for since, *row in _ROWS)

OLLAMA_SINCE = {
    "kv_cache_type": "0.5.0",         # OLLAMA_KV_CACHE_TYPE (PR #6279, 1bdab9fdb); before, always f16
    "rocm_flash": "0.5.0",            # discover FlashAttentionSupported: ROCm joins CUDA (driver 7+) and Metal
    "weights_total_blocks": "0.6.1",  # 033cec232: memory.weights.total without each layer's KV
    "gemma3_sliding_kv": "0.6.3",     # f66216e39: KV per layer, Gemma 3's sliding layers smaller
    "weights_total_output": "0.6.3",  # memory.weights.total = blocks + the output layer
    "last_first": "0.7.0",            # 0478d440f: layers assigned last to first, overflow per layer's own size
    "output_overflow_always": "0.7.1",  # a2cc8571c: the output counts as overflow even under a num_gpu cap
    "gptoss_graph": "0.11.0",         # GraphSize's gpt-oss case: full = partial = 4·heads/kv_heads·KV/6
    "gptoss_graph_halved": "0.11.8",  # partial 2·heads/kv_heads·KV/6, or a flash-attention figure
    "per_sequence_batch": "0.11.5",   # d5a0d8d90: GraphSize multiplies num_ctx by the slots (the scheduler did)
    "gemma2_no_flash": "0.11.11",     # 29ddfc2ca: SupportsFlashAttention excludes gemma2
    "llama_server": "0.30.0",         # 9db4bdbad: llama-server runs every GGUF model (Ollama's Go engine removed)
}

# Architectures Ollama added after its oldest release planner has rules for: model_type -> first release
# (model/models/<arch>/ appears at that tag)
# llama4: f0c66e6de "llama4", first tag v0.6.7. The rest: the first tag whose vendored llama.cpp (or own engine) has
# the architecture, each release's code read; Ollama vendored no llama.cpp between May and 14 August 2025, so the
# architectures llama.cpp added then arrive together in 0.11.5 (glm4_moe and minimax_m2 from the code alone).
OLLAMA_ARCH_SINCE = {"gemma3": "0.6.0", "gemma3_text": "0.6.0", "gpt_oss": "0.11.0", "llama4_text": "0.6.7",
                     "olmoe": "0.3.14", "olmo2": "0.5.2", "deepseek_v3": "0.5.5", "qwen3": "0.6.6",
                     "qwen3_moe": "0.6.6", "ernie4_5": "0.11.5", "smollm3": "0.11.5", "glm4_moe": "0.11.5",
                     "minimax_m2": "0.13.2", "qwen3_5_text": "0.17.1", "qwen3_5_moe_text": "0.17.1",
                     "mistral3": "0.6.5", "qwen3_vl": "0.12.7", "qwen3_vl_moe": "0.12.7",  # ollama/ollama#12665
                     "qwen2_5_vl": "0.7.0"}  # model/models/qwen25vl (0aa8b371d, #10385), first tag v0.7.0
# Architectures that run on Ollama's own engine (fs/ggml OllamaEngineRequired), as planner's model_type, by the
# first release of each list: from v0.12.0 their layout follows the measured allocations, not memory.go's estimate.
_ENGINE = {"gemma3", "gemma3_text", "gemma3n", "mistral3", "qwen3", "llama4", "llama4_text", "mllama", "qwen2_5_vl",
           "gpt_oss"}
OLLAMA_ENGINE_MODELS = (("0.12.0", frozenset(_ENGINE)), ("0.12.2", frozenset(_ENGINE | {"qwen3_moe"})))
# Sliding-window models on Ollama's own engine (fs/ggml OllamaEngineRequired: Gemma 3 from its arrival in 0.6.0,
# gpt-oss from 0.11.0, until llama-server took every model in 0.30), which sizes a sliding layer's cache itself
# (kvcache/causal.go Init, read at v0.6.3, v0.9.0, v0.11.0, v0.12.10): slots × memory + num_batch cells, padded to
# 256 with flash attention and to 32 without (ml/backend/ggml CacheConfig), every cell (slots × num_ctx) where the
# memory reaches num_ctx. The memory is the window for Gemma 3 (NewSWACache, from 1feff6197 "Sliding window cache
# only needs a single batch total", first in v0.6.3; 0.6.0-0.6.2 kept every cell) and 4,096 tokens for gpt-oss
# (NewSWAMemCache(sliding_window, 4096), model/models/gptoss/model.go). model_type → (first release, memory; None:
# the window).
OLLAMA_GO_SWA = {"gemma3": ("0.6.3", None), "gemma3_text": ("0.6.3", None), "gpt_oss": ("0.11.0", 4096)}
# 1fc35f126 ("kvcache: Clean up sliding window state with independent batches", first in v0.12.4): with several slots
# the memory is at least window + 1, and a memory equal to num_ctx keeps every cell (before: only a larger one)
OLLAMA_GO_SWA_EXACT_SINCE = "0.12.4"
# Architectures whose flash attention is on by default (fs/ggml FlashAttention()), by the first release of each list
_FLASH = {"gpt_oss", "qwen3", "qwen3_moe"}
OLLAMA_FLASH_MODELS = (("0.12.4", frozenset(_FLASH)), ("0.12.6", frozenset(_FLASH | {"gemma3", "gemma3_text"})),
                       ("0.12.8", frozenset(_FLASH | {"gemma3", "gemma3_text", "qwen3_vl", "qwen3_vl_moe"})))


def ollama_release(version: str | None) -> tuple[int, ...]:
    """'0.5.4', 'v0.12.10-rc1' → (0, 5, 4), (0, 12, 10); None: the current release. Refuses what planner has no
    rules for."""
    if version is None:
        return release_tuple(OLLAMA_CURRENT)
    m = re.fullmatch(r"v?(\d+)\.(\d+)(?:\.(\d+))?(?:[-+.][\w.+-]*)?", str(version).strip()[:64])
    release = tuple(int(g or 0) for g in m.groups()) if m else None
    if release is None or not release_tuple(OLLAMA_OLDEST) <= release <= release_tuple(OLLAMA_CURRENT) + (99,):
        raise WorkloadError(f"engine_version must be an Ollama release from {OLLAMA_OLDEST} to {OLLAMA_CURRENT}, "
                            f"got {shown(version)}")
    return release


def ollama_llamacpp_build(release: tuple[int, ...]) -> int:
    """The llama.cpp build `release` vendors (OLLAMA_LLAMACPP_BUILDS)."""
    return next(build for since_, build in reversed(OLLAMA_LLAMACPP_BUILDS) if release >= release_tuple(since_))


def ollama_rules(release: tuple[int, ...]) -> dict:
    """The row of OLLAMA_RULES that holds for `release`."""
    return next(rules for since, rules in reversed(OLLAMA_RULES) if release >= release_tuple(since))


def since(release: tuple[int, ...], change: str) -> bool:
    """Whether `release` has the change OLLAMA_SINCE names."""
    return release >= release_tuple(OLLAMA_SINCE[change])


def arrived(release: tuple[int, ...], model_type: str) -> str | None:
    """The release that first ran this architecture when `release` is older (OLLAMA_ARCH_SINCE), else None."""
    first = OLLAMA_ARCH_SINCE.get(model_type)
    return first if first is not None and release < release_tuple(first) else None


def _listed(lists, release: tuple[int, ...], model_type: str) -> bool:
    found = [models for first, models in lists if release >= release_tuple(first)]
    return bool(found) and model_type in found[-1]


def on_ollama_engine(release: tuple[int, ...], model_type: str) -> bool:
    """Whether `release` runs this architecture on Ollama's own engine (OllamaEngineRequired)."""
    return _listed(OLLAMA_ENGINE_MODELS, release, model_type)


def go_swa_cells(release: tuple[int, ...], spec, num_ctx: int, slots: int, num_batch: int, flash: bool) -> int | None:
    """The sliding layers' cells (all slots) where Ollama's own engine sizes them (OLLAMA_GO_SWA); None where the
    runner's llama.cpp does."""
    first, memory = OLLAMA_GO_SWA.get(spec.model_type, (None, None))
    if first is None or not spec.sliding_window or release < release_tuple(first) or since(release, "llama_server"):
        return None
    memory = memory or spec.sliding_window
    if release >= release_tuple(OLLAMA_GO_SWA_EXACT_SINCE):  # 1fc35f126: one more cell with several slots, and a
        memory = max(memory, spec.sliding_window + 1) if slots > 1 else memory  # memory of num_ctx keeps every cell
        whole = memory >= num_ctx
    else:
        whole = memory > num_ctx
    if whole:
        return slots * num_ctx
    step = 256 if flash else 32
    return -(-(slots * memory + num_batch) // step) * step


def flash_by_default(release: tuple[int, ...], model_type: str) -> bool:
    """Whether `release` turns flash attention on for this architecture when OLLAMA_FLASH_ATTENTION is unset (the
    GPU and model permitting)."""
    rule = ollama_rules(release)["flash_attn"]
    if rule == "auto" or (rule == "model+llama-auto" and not on_ollama_engine(release, model_type)):
        return True
    return rule != "off" and _listed(OLLAMA_FLASH_MODELS, release, model_type)


def release_name(release: tuple[int, ...]) -> str:
    return ".".join(str(x) for x in release)
