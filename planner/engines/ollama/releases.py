"""Ollama's rules by release, read from its source at each tag (github.com/ollama/ollama; research/sglang_ollama.md).

Each row holds from its release until the next row's. The columns:
  num_ctx      the default context: 2048 (envconfig ContextLength until v0.6.6), 4096 (44b466eeb, v0.6.7), or by the
               GPUs' memory, 4K/32K/256K (0334ffa62, v0.15.5).
  parallel     OLLAMA_NUM_PARALLEL unset: the slot counts server/sched.go tries, the first whose estimate fits the
               GPU whole (pickBestFullFitByLibrary, numParallelToTry = [defaultParallel, 1]): defaultParallel 4 until
               v0.6.6, 2 from v0.6.7 (fe5b9bb21), 1 from v0.10.0 (20c3266e9, #11330).
  flash_attn   OLLAMA_FLASH_ATTENTION unset: off until v0.12.3; from v0.12.4 (fdb109469) on for the architectures
               fs/ggml FlashAttention() lists; from v0.30.0 llama-server's "auto" (on where the GPU and model allow).
  layers       who decides the layers on the GPU: "estimate", llm/memory.go's EstimateGPULayers (planner.engines.
               ollama.estimate), until v0.12.10; "measured", the runner's own allocations (d5a0d8d90 "New memory
               management": the default for Ollama-engine models from v0.12.0, for every model from v0.12.11,
               f560bd077), keeping its 457 MiB minimum free; "fit", llama-server's own --fit from v0.30.0 (9db4bdbad),
               keeping its 1 GiB fit target free (planner.engines.llamacpp.fit).
  unified_kv   one KV cache all slots share (the runner's vendored llama.cpp before the per-sequence split, which
               arrived with the vendoring of v0.11.5).
  estimate_kv_in_weights  memory.go's logged memory.weights.total counts each layer's KV with its weights until
               v0.6.0 (033cec232, v0.6.1, counts the tensors alone).
  last_first   memory.go assigns layers from the last to the first from v0.7.0 (0478d440f), first to last before.
"""

from __future__ import annotations

import re

from ...errors import WorkloadError, shown

OLLAMA_CURRENT = "0.33"
OLLAMA_OLDEST = "0.3.0"

_COLUMNS = ("num_ctx", "parallel", "flash_attn", "layers", "unified_kv", "estimate_kv_in_weights", "last_first")
_ROWS = (  # since,  num_ctx, parallel, flash_attn, layers, unified_kv, estimate_kv_in_weights, last_first
    ("0.3.0", 2048, (4, 1), "off", "estimate", True, True, False),
    ("0.6.1", 2048, (4, 1), "off", "estimate", True, False, False),
    ("0.6.7", 4096, (2, 1), "off", "estimate", True, False, False),
    ("0.7.0", 4096, (2, 1), "off", "estimate", True, False, True),
    ("0.10.0", 4096, (1,), "off", "estimate", True, False, True),
    ("0.11.5", 4096, (1,), "off", "estimate", False, False, True),
    ("0.12.0", 4096, (1,), "off", "estimate+engine", False, False, True),
    ("0.12.4", 4096, (1,), "model", "estimate+engine", False, False, True),
    ("0.12.11", 4096, (1,), "model", "measured", False, False, True),
    ("0.15.5", "vram", (1,), "model", "measured", False, False, True),
    ("0.30.0", "vram", (1,), "auto", "fit", False, False, True),
)
OLLAMA_RULES = tuple((since, dict(zip(_COLUMNS, row, strict=True))) for since, *row in _ROWS)

# Architectures that ran on Ollama's own engine (fs/ggml OllamaEngineRequired, v0.12.3–v0.12.10), as planner's
# model_type: from v0.12.0 their layers follow the measured allocations, not memory.go's estimate.
OLLAMA_ENGINE_MODELS = frozenset({"gemma3", "gemma3_text", "gemma3n", "gpt_oss", "llama4", "mistral3", "mllama",
                                  "qwen2_5_vl", "qwen3", "qwen3_moe", "qwen3_vl", "qwen3_vl_moe"})
# Architectures whose flash attention is on by default from v0.12.4 (fs/ggml FlashAttention(), v0.13.0)
OLLAMA_FLASH_MODELS = frozenset({"gemma3", "gemma3_text", "gpt_oss", "qwen3", "qwen3_moe", "qwen3_vl",
                                 "qwen3_vl_moe"})


def _tuple(version: str) -> tuple[int, ...]:
    return tuple(int(x) for x in version.split("."))


def ollama_release(version: str | None) -> tuple[int, ...]:
    """'0.5.4', 'v0.12.10-rc1' → (0, 5, 4), (0, 12, 10); None: the current release. Refuses what planner has no
    rules for."""
    if version is None:
        return _tuple(OLLAMA_CURRENT)
    m = re.fullmatch(r"v?(\d+)\.(\d+)(?:\.(\d+))?(?:[-+.][\w.+-]*)?", str(version).strip()[:64])
    release = tuple(int(g or 0) for g in m.groups()) if m else None
    if release is None or not _tuple(OLLAMA_OLDEST) <= release <= _tuple(OLLAMA_CURRENT) + (99,):
        raise WorkloadError(f"engine_version must be an Ollama release from {OLLAMA_OLDEST} to {OLLAMA_CURRENT}, "
                            f"got {shown(version)}")
    return release


def ollama_rules(release: tuple[int, ...]) -> dict:
    """The row of OLLAMA_RULES that holds for `release`."""
    return next(rules for since, rules in reversed(OLLAMA_RULES) if release >= _tuple(since))


def release_name(release: tuple[int, ...]) -> str:
    return ".".join(str(x) for x in release)
