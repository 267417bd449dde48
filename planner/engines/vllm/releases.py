"""vLLM's releases: which rules each period's budget follows, its scheduler defaults, its engine loop."""

from __future__ import annotations

import re
from functools import lru_cache

from ...errors import WorkloadError, shown
from ...quant.catalog import base_name, is_gguf_weights
from ..common import ARCHITECTURE_CAPABILITY, arch_key, release_tuple
from .scheduler import (  # noqa: F401 (re-exported: the scheduler's rules lived here)
    VLLM_ENTRYPOINTS,
    VLLM_V0_MM_MIN_BATCHED_TOKENS,
    vllm_check_scheduler,
    vllm_chunked_prefill,
    vllm_scheduler_adjusted,
    vllm_scheduler_defaults,
)

VLLM_CURRENT = "0.33.0"
# from 0.31.0 vLLM refines an fp8-block checkpoint's scale blocks to a routed expert's shard and takes any split
# (resolve_fp8_moe_weight_block_shape; 0.28.0 quantization/fp8.py raises "The output_size of gate's and up's weight =
# 192 is not divisible by weight quantization block_n = 128"): planner.layout.check_quant_shards
VLLM_FP8_BLOCK_SHARDS_SINCE = "0.31.0"
# What each release charges against gpu_memory_utilization × CUDA's total, from the first release that did so:
#   context: what is on the GPU before this instance adds to it, the CUDA context at least ("a global limit":
#            V0 0.6.4; V1 0.6.4–0.9.0.1, the default engine from 0.8.0);
#   comm:    the tensor-parallel all-reduce buffers (until 0.11 made distributed init part of the baseline);
#   graphs:  the CUDA-graph memory it estimates before sizing the KV cache (on by default from 0.20);
#   start_check: refuses to start when less than the budget is free (V1 0.9.1+);
#   triton:  its sampler's top-k/top-p is a Triton kernel for 8 rows or more (0.17+); before, PyTorch's sort unless
#            FlashInfer's sampler runs (flashinfer_sampler: V1 with FlashInfer installed — the vllm[flashinfer]
#            extra in 0.10.1–0.11, a dependency from 0.12 — and VLLM_USE_FLASHINFER_SAMPLER on, the default only in
#            0.8–0.11; vLLM's Docker images ship FlashInfer, `pip install vllm` does not before 0.12).
_RULE_KEYS = ("v1", "context", "comm", "graphs", "start_check", "utilization", "triton")
VLLM_RULES = tuple((since, dict(zip(_RULE_KEYS, values, strict=True))) for since, *values in (
    # since     v1     context comm   graphs start_check utilization triton
    ("0.4.0",  False, False,  True,  False, False,      0.9,        False),
    ("0.6.4",  False, True,   True,  False, False,      0.9,        False),
    ("0.6.5",  False, False,  True,  False, False,      0.9,        False),
    ("0.8.0",  True,  True,   True,  False, False,      0.9,        False),
    ("0.9.1",  True,  False,  True,  False, True,       0.9,        False),
    ("0.11.0", True,  False,  False, False, True,       0.9,        False),
    ("0.17.0", True,  False,  False, False, True,       0.9,        True),
    ("0.20.0", True,  False,  False, True,  True,       0.92,       True),
))
# The CUDA-graph memory vLLM 0.20+ estimates and takes from the KV budget depends on the model and the sizes it
# captures; published "Estimated CUDA graph memory: X GiB total" lines range 0.07–1.58 GiB (7 logs; research/
# vllm_versions.md). This is their median, a prior until a measurement replaces it; a run's own "Estimated CUDA graph
# memory" line replaces it through the cuda_graph_memory_bytes option (check-log does so).
VLLM_CUDA_GRAPH_ESTIMATE_BYTES = int(0.61 * 2**30)
# "GPU KV cache size: N tokens" is int(max concurrency × max_model_len) from 0.20.1 (v1/core/kv_cache_utils.py
# get_kv_cache_capacity: "Sourcing this from the concurrency calculation handles hybrid layouts correctly"); up to
# 0.20.0 it is blocks // KV cache groups × block_size (0.20.0 kv_cache_utils.py:1694)
VLLM_TOKENS_FROM_CONCURRENCY = (0, 20, 1)


# Architectures vLLM no longer runs: (the first release without it, why, the release whose rules plan the last that ran
# it). Phi-3-small's block-sparse attention left with PR #21217 ("[V0 Deprecation] Deprecate BlockSparse Attention &
# Phi3-Small", merged 2025-07-19, before 0.10.0); 0.8 and 0.9 ran it on the V0 engine, whose rules 0.7.3's are.
VLLM_REMOVED = {"phi3small": ("0.10.0", "its block-sparse attention was removed in 0.10 (vllm-project/vllm#21217)",
                              "0.7.3")}
# Models a release before this one cannot run: model_type → (first release, why). Llama 4: "vLLM now supports the
# Llama 4 herd of models … by updating to version v0.8.3 or later" (blog.vllm.ai/2025/04/05/llama4.html)
VLLM_ADDED = {
    "llama4_text": ("0.8.3", "Llama 4 arrived in 0.8.3 (blog.vllm.ai/2025/04/05/llama4.html)"),
    # Phi3SmallForCausalLM came with vllm-project/vllm#4799 (May 2024), first released in 0.4.3 (vllm#5244 runs it
    # there; vllm#4993's 0.4.2 registry lacks it)
    "phi3small": ("0.4.3", "Phi-3-small's Phi3SmallForCausalLM arrived in 0.4.3 (vllm-project/vllm#4799)"),
    # model_executor/models/registry.py of each release's wheel (0.6.6, 0.7.0, 0.7.3, 0.8.0, 0.8.2, 0.8.3, 0.8.4,
    # 0.10.0 read): Gemma3ForCausalLM first in 0.8.0, Mistral3ForConditionalGeneration in 0.8.3, Qwen3ForCausalLM and
    # Qwen3MoeForCausalLM in 0.8.4, Glm4MoeForCausalLM in 0.10.0 (GLM-4.5 was published 2025-07-28, after 0.9.2);
    # GptOssForCausalLM in 0.10.1 (not in 0.10.0's)
    "gemma3_text": ("0.8.0", "Gemma 3's Gemma3ForCausalLM is first in 0.8.0's model registry"),
    # the same registries (vllm/model_executor/models/__init__.py up to 0.6.1, registry.py after) of every release
    # 0.4.0-0.6.6, 0.10.1-0.11.1 read: Phi3ForCausalLM first in 0.4.2; DeepseekV2ForCausalLM, Gemma2ForCausalLM and
    # JambaForCausalLM in 0.5.1; PhiMoEForCausalLM in 0.6.0; OlmoeForCausalLM in 0.6.2; Olmo2ForCausalLM in 0.6.5;
    # DeepseekV3ForCausalLM in 0.6.6; Qwen3NextForCausalLM in 0.10.2; DeepseekV32ForCausalLM in 0.11.0
    "phi3": ("0.4.2", "Phi-3's Phi3ForCausalLM is first in 0.4.2's model registry"),
    "deepseek_v2": ("0.5.1", "DeepSeek-V2's DeepseekV2ForCausalLM is first in 0.5.1's model registry"),
    "gemma2": ("0.5.1", "Gemma 2's Gemma2ForCausalLM is first in 0.5.1's model registry"),
    "jamba": ("0.5.1", "Jamba's JambaForCausalLM is first in 0.5.1's model registry"),
    "phimoe": ("0.6.0", "Phi-3.5-MoE's PhiMoEForCausalLM is first in 0.6.0's model registry"),
    "olmoe": ("0.6.2", "OLMoE's OlmoeForCausalLM is first in 0.6.2's model registry"),
    "olmo2": ("0.6.5", "OLMo 2's Olmo2ForCausalLM is first in 0.6.5's model registry"),
    "deepseek_v3": ("0.6.6", "DeepSeek-V3's DeepseekV3ForCausalLM is first in 0.6.6's model registry"),
    "qwen3_next": ("0.10.2", "Qwen3-Next's Qwen3NextForCausalLM is first in 0.10.2's model registry"),
    "deepseek_v32": ("0.11.0", "DeepSeek-V3.2's DeepseekV32ForCausalLM is first in 0.11.0's model registry"),
    "mistral3": ("0.8.3", "Mistral3ForConditionalGeneration is first in 0.8.3's model registry"),
    "qwen3": ("0.8.4", "Qwen3ForCausalLM is first in 0.8.4's model registry"),
    "qwen3_moe": ("0.8.4", "Qwen3MoeForCausalLM is first in 0.8.4's model registry"),
    "glm4_moe": ("0.10.0", "GLM-4.5's Glm4MoeForCausalLM is not in its model registry (0.10.0's has it)"),
    "gpt_oss": ("0.10.1", "gpt-oss's GptOssForCausalLM arrived in 0.10.1 (not in 0.10.0's model registry)"),
    # Qwen3-VL's recipe asks vllm >= 0.11.0 (vllm-project/recipes ee57b23; the model's code came with
    # vllm-project/vllm#24727); Qwen3.5's: "Use vLLM nightly wheel until 0.17.0 is released" (a64aa0c), 0.16.0
    # refuses it
    "qwen2_5_vl": ("0.7.2", "Qwen2_5_VLForConditionalGeneration is first in 0.7.2's model registry"),
    "qwen3_vl": ("0.11.0", "Qwen3-VL arrived in 0.11.0 (vllm-project/vllm#24727)"),
    "qwen3_vl_moe": ("0.11.0", "Qwen3-VL arrived in 0.11.0 (vllm-project/vllm#24727)"),
    "qwen3_5_text": ("0.17.0", "Qwen3.5 arrived in 0.17.0 (vllm-project/recipes, Qwen3.5)"),
    "qwen3_5_moe_text": ("0.17.0", "Qwen3.5 arrived in 0.17.0 (vllm-project/recipes, Qwen3.5)"),
}


# Weight formats a release from this one on no longer loads: the quantization methods of
# model_executor/layers/quantization/__init__.py in each release's wheel list "gguf" through 0.23.0 and "bitsandbytes"
# through 0.27.0; 0.24.0 and 0.28.0 drop them and their model loaders.
VLLM_FORMATS_REMOVED = {"gguf": ("0.24.0", "GGUF files (llama.cpp or Ollama run them)"),
                        "bitsandbytes": ("0.28.0", "bitsandbytes weights (nf4, fp4, bnb-int8)")}
BITSANDBYTES_QUANTS = frozenset({"nf4", "nf4-dq", "fp4", "fp4-dq", "bnb-int8"})


# Rope scaling a release before this one cannot read (model_executor/layers/rotary_embedding.py get_rope of each
# wheel): Llama 3.1's "llama3" first in 0.5.3.post1, whose 0.5.3 lacks it (planner takes a post build as its release);
# "longrope" from 0.5.1 (0.4.2-0.5.0 read only the name "su", which Phi-3's first configs carried: a snapshot of
# those ran there, the configs as published now do not). linear, dynamic and yarn are in every release planner has
# rules for.
VLLM_ROPE_ADDED = {
    "llama3": ("0.5.3", "Llama 3.1's rope scaling (rope_type llama3) arrived in 0.5.3.post1 (planner reads 0.5.3 as "
                        "that build)"),
    "longrope": ("0.5.1", "its rope scaling under the name longrope is read from 0.5.1 (before, only as su, the name "
                          "Phi-3's first configs used)"),
}


def vllm_added(spec) -> tuple[str, str] | None:
    """(the first vLLM release that runs `spec`, why), where a later one than planner's oldest rules: its architecture
    or its rope scaling, whichever came last."""
    found = [a for a in (VLLM_ADDED.get(arch_key(spec)), VLLM_ROPE_ADDED.get(spec.rope_type or "")) if a is not None]
    return max(found, key=lambda a: release_tuple(a[0]), default=None)


def vllm_first_release(spec) -> str | None:
    """The first vLLM release that runs `spec` (vllm_added), where a later one than planner's oldest rules."""
    added = vllm_added(spec)
    return None if added is None else added[0]


# The releases PyPI lists from 0.4.0 on (`pip index versions vllm`, 2026-12-02; .postN builds share their release's
# number): a version that is none of them (0.8.99, 0.8.5.1) is refused; a pre-release (0.9.0rc1, 0.8.6.dev12) is taken
# as the release it leads to, and so is the patch after a minor's last one (AMD's rocm/vllm-dev images print 0.6.7.dev).
VLLM_PUBLISHED = frozenset(
    "0.4.0 0.4.1 0.4.2 0.4.3 0.5.0 0.5.1 0.5.2 0.5.3 0.5.4 0.5.5 0.6.0 0.6.1 0.6.2 0.6.3 0.6.4 0.6.5 0.6.6 0.7.0 0.7.1 "
    "0.7.2 0.7.3 0.8.0 0.8.1 0.8.2 0.8.3 0.8.4 0.8.5 0.9.0 0.9.0.1 0.9.1 0.9.2 0.10.0 0.10.1 0.10.1.1 0.10.2 0.11.0 "
    "0.11.1 0.11.2 0.12.0 0.13.0 0.14.0 0.14.1 0.15.0 0.15.1 0.16.0 0.17.0 0.17.1 0.18.0 0.18.1 0.19.0 0.19.1 0.20.0 "
    "0.20.1 0.20.2 0.21.0 0.22.0 0.22.1 0.23.0 0.24.0 0.25.0 0.25.1 0.26.0 0.27.0 0.27.1 0.28.0 0.29.0 0.30.0 0.31.0 "
    "0.32.0 0.33.0".split())


def vllm_release(version: str) -> tuple[int, ...]:
    """'0.6.3.post1' → (0, 6, 3); refuses what is not a vLLM release planner has rules for."""
    return _release(version) if isinstance(version, str) else _parse_release(version)


@lru_cache(maxsize=256)  # asked for every row of a fit table: the same few strings
def _release(version: str) -> tuple[int, ...]:
    return _parse_release(version)


def _parse_release(version) -> tuple[int, ...]:
    text = str(version).strip()[:64]
    m = re.fullmatch(r"v?(\d+)\.(\d+)(?:\.(\d+))?(\.\d+)?((?:rc|\.?dev|a|b)\w*)?(?:[.+-][\w.+-]*)?", text)
    release = tuple(int(g or 0) for g in m.groups()[:3]) if m else None
    if release is None or not (0, 4, 0) <= release < (1, 0, 0) or release > release_tuple(VLLM_CURRENT):
        raise WorkloadError(f"engine_version must be a vLLM release from 0.4 to {VLLM_CURRENT}, got {shown(version)}")
    number = ".".join(str(n) for n in release) + (m[4] or "")
    same = sorted((v for v in VLLM_PUBLISHED if v.startswith(f"{release[0]}.{release[1]}.")), key=release_tuple)
    next_dev = not m[4] and same and release[2] == release_tuple(same[-1])[2] + 1  # 0.6.7.dev of AMD's images
    if number not in VLLM_PUBLISHED and not m[5] and not next_dev:
        raise WorkloadError(f"engine_version {shown(version)} is no vLLM release (PyPI lists "
                            f"{', '.join(same) or 'none'} of {release[0]}.{release[1]})")
    return release


def vllm_rules(release: tuple[int, ...]) -> dict:
    return next(rules for since, rules in reversed(VLLM_RULES) if release >= release_tuple(since))


def vllm_synchronous_loop(version: str | None) -> bool:
    """Whether the release (None: the current one) runs vLLM's V0 engine, whose loop schedules, prepares inputs,
    samples and processes outputs in one Python process between GPU steps; V1, the default engine from 0.8.0, moves
    the engine core to its own busy loop and overlaps that work with the GPU (VLLM_RULES "v1")."""
    return not vllm_rules(vllm_release(VLLM_CURRENT if version is None else version))["v1"]


# V0's async output processing (on by default from 0.6.0 with CUDA graphs and one pipeline stage: config.py
# verify_async_output_proc) processes a step's outputs in a callback during the next step, and step_async returns them
# when that step is done (engine/async_llm_engine.py, v0.7.2): a request's first token reaches its caller one decode
# step after its prefill. V1 sends each step's outputs as soon as that step is sampled.
VLLM_ASYNC_OUTPUT_SINCE = "0.6.0"


def vllm_first_token_waits_a_step(version: str | None) -> bool:
    """Whether the release's engine (None: the current one) hands out the first token only after the next step."""
    return vllm_synchronous_loop(version) and \
        vllm_release(VLLM_CURRENT if version is None else version) >= release_tuple(VLLM_ASYNC_OUTPUT_SINCE)


# V1, the default engine from 0.8.0, needed an Ampere or newer NVIDIA GPU (flash-attn) until 0.10.2: on one of compute
# capability below 8.0 (Volta, Turing: V100, T4, RTX 20xx) releases 0.8.0-0.10.1 fell back to V0
# (engine/arg_utils.py _is_v1_supported_oracle, "Compute Capability < 8.0", read in the 0.8.0, 0.10.0 and 0.10.1
# wheels; 0.10.2's has no such check), as VLLM_USE_V1=0 asked for it from 0.8.0 until V0 left in 0.11.0. The last
# V0-default release's rules stand for that engine, as for Phi-3-small (VLLM_REMOVED).
VLLM_V1_BEFORE_AMPERE_SINCE = "0.10.2"
VLLM_V0_REMOVED_IN = "0.11.0"
VLLM_V0_RULES = "0.7.3"


def _fp8_kv_runs_v1(release: tuple[int, ...], capability: int | None, mla: bool) -> bool:
    """Whether V1 took an fp8 KV cache on this NVIDIA GPU (`capability` ×10): not in 0.8.0-0.8.1 (any KV dtype but
    auto fell back); 0.8.2-0.9.2 with FlashAttention 3 only (flash_attn_supports_fp8: Hopper); 0.10.0-0.10.2 on
    Hopper and Blackwell (platforms/cuda.py is_kv_cache_dtype_supported), an MLA model anywhere in 0.10.2 (FlashMLA)."""
    if release < (0, 8, 2) or capability is None:
        return release >= (0, 8, 2)
    if release < (0, 10, 0):
        return 90 <= capability < 100
    return capability >= 90 or (mla and release >= (0, 10, 2))


def vllm_v0_fallback(release: tuple[int, ...], capability: int | None, v1_engine: bool | None, *,
                     vendor: str = "nvidia", kv_dtype: str = "auto", pipeline_parallel_size: int = 1,
                     quant: str = "bf16", gguf: bool = False, mla: bool = False) -> str | None:
    """Why a release whose default engine is V1 runs V0 here (None: it runs V1, or V0 is its default anyway):
    v1_engine False (VLLM_USE_V1=0), or what vLLM's _is_v1_supported_oracle (engine/arg_utils.py, read in the 0.8.0,
    0.8.2, 0.8.4, 0.8.5, 0.9.0-0.9.2 and 0.10.0-0.10.2 wheels) falls back to V0 for among planner's options: an NVIDIA
    GPU of compute `capability` (×10) below 8.0 before 0.10.2; pipeline parallel without Ray before 0.9.1; GGUF
    weights before 0.9.0; bitsandbytes before 0.8.3 (0.8.3 not read; 0.8.4's list has only GGUF); fp32 weights before
    0.9.2; an fp8 KV cache V1 could not take (_fp8_kv_runs_v1). Not assumed: upstream builds also fell back on ROCm
    before 0.9.2 unless VLLM_USE_V1=1 was set, but AMD's rocm/vllm images, how most run vLLM on AMD GPUs, and their
    published runs of 0.8.5 and 0.9.1 (calibration half: amd.com's tables, 8 × MI300X) run at V1's speed, without
    V0's 2 ms loop a step; v1_engine=False plans an upstream ROCm build of those releases. A v1_engine True or False
    that the release cannot honour is refused."""
    if v1_engine is not None and not isinstance(v1_engine, bool):
        raise WorkloadError(f"v1_engine must be true, false or None (the release's own choice), got {shown(v1_engine)}")
    v1_default = vllm_rules(release)["v1"]
    if v1_engine is False and (not v1_default or release >= release_tuple(VLLM_V0_REMOVED_IN)):
        why = ("V0 is the only engine planner models before 0.8.0" if not v1_default
               else f"V0 was removed in {VLLM_V0_REMOVED_IN}")
        raise WorkloadError(f"v1_engine=False (VLLM_USE_V1=0) chooses the V0 engine of releases 0.8.0 to 0.10.2; {why}")
    if not v1_default or release >= release_tuple(VLLM_V0_REMOVED_IN):
        if v1_engine is True and not v1_default:
            raise WorkloadError("v1_engine=True: planner models V1 from 0.8.0, where it became the default")
        return None
    base = base_name(quant)
    old_gpu = capability is not None and capability < 80 and release < release_tuple(VLLM_V1_BEFORE_AMPERE_SINCE)
    reasons = [  # (falls back, why, what a refusal of v1_engine=True adds)
        (old_gpu, f"V1 needs an Ampere GPU before {VLLM_V1_BEFORE_AMPERE_SINCE}",
         f"; this GPU has compute capability {capability / 10:.1f}" if old_gpu else ""),
        (pipeline_parallel_size > 1 and release < (0, 9, 1), "V1 runs pipeline parallel without Ray from 0.9.1", ""),
        (gguf and release < (0, 9, 0), "V1 loads GGUF files from 0.9.0", ""),
        (base in BITSANDBYTES_QUANTS and release < (0, 8, 3), "V1 loads bitsandbytes weights from 0.8.3", ""),
        (base == "fp32" and release < (0, 9, 2), "V1 runs fp32 weights from 0.9.2", ""),
        (kv_dtype.startswith("fp8") and vendor == "nvidia" and not _fp8_kv_runs_v1(release, capability, mla),
         "V1 does not take this fp8 KV cache on this GPU", ""),
    ]
    why, detail = next(((w, d) for hit, w, d in reasons if hit), (None, ""))
    if v1_engine is True and why is not None:
        raise WorkloadError(f"v1_engine=True: {why}{detail}")
    if v1_engine is False:
        return why or "VLLM_USE_V1=0"
    return why


def vllm_v0_reason(spec, release: tuple[int, ...], gpu, *, quant: str, kv_dtype: str,
                   pipeline_parallel_size: int = 1, v1_engine: bool | None = None) -> str | None:
    """vllm_v0_fallback for `spec` in `quant` on catalog GPU `gpu` (None: a GPU planner does not know)."""
    nvidia = gpu is not None and gpu.vendor == "nvidia"
    return vllm_v0_fallback(release, ARCHITECTURE_CAPABILITY.get(gpu.architecture) if nvidia else None, v1_engine,
                            vendor=None if gpu is None else gpu.vendor, kv_dtype=kv_dtype,
                            pipeline_parallel_size=pipeline_parallel_size, quant=quant,
                            gguf=is_gguf_weights(quant, spec), mla=spec.mla is not None)


# vLLM's own all-reduce kernel (distributed/device_communicators/custom_all_reduce.py) runs on ROCm from 0.8.3
# ("Add custom allreduce support for ROCM", vllm-project/vllm#14125, in the v0.8.3 release notes of 2025-04-06), and
# only on the MI300 series and later (platforms/rocm.py use_custom_allreduce: gfx94*, gfx95*; #16010): before that
# release, and on other AMD GPUs, every tensor-parallel all-reduce goes through RCCL. AMD's own images (rocm/vllm,
# rocm/vllm-dev) carried the kernel from mid-2024 (ROCm/vllm#27, merged 2024-05-30): custom_all_reduce=True says so.
VLLM_ROCM_CUSTOM_ALLREDUCE_SINCE = "0.8.3"
VLLM_ROCM_CUSTOM_ALLREDUCE_ARCHITECTURES = ("CDNA 3", "CDNA 4")  # gfx94* (MI300X, MI325X), gfx95* (MI350X, MI355X)


# vLLM turns its own all-reduce kernel off (distributed/device_communicators/custom_all_reduce.py, 0.33): for a group
# of a size outside these; over more than two GPUs not all joined by NVLink ("not supported on more than two PCIe-only
# GPUs"); and where the GPUs cannot reach each other's memory (P2P), as GeForce cards cannot over PCIe
VLLM_CUSTOM_ALLREDUCE_SIZES = (2, 4, 6, 8, 16)


def vllm_custom_allreduce(version: str | None, gpu, custom_all_reduce: bool | None = None, tp: int = 2) -> bool:
    """Whether vLLM's release (None: the current one) all-reduces with its own kernel on `gpu` (None: a GPU planner
    does not know, taken as NVIDIA's) over `tp` GPUs rather than through NCCL/RCCL (VLLM_CUSTOM_ALLREDUCE_SIZES and
    the links it needs). custom_all_reduce: True or False as the run set it (False: --disable-custom-all-reduce; True:
    AMD's ROCm images before 0.8.3), None for the release's default."""
    if custom_all_reduce is not None:
        if not isinstance(custom_all_reduce, bool):
            raise WorkloadError(f"custom_all_reduce must be true, false or None (the release's default), got "
                                f"{shown(custom_all_reduce)}")
        return custom_all_reduce
    if tp == 1:  # no tensor-parallel all-reduce at all: the release's default stands
        tp = 2
    if tp not in VLLM_CUSTOM_ALLREDUCE_SIZES:
        return False
    if gpu is None:
        return True
    if gpu.vendor != "amd":
        link = gpu.interconnect.name if gpu.interconnect is not None else ""
        nvlink = link.startswith("NVLink") and "bridge" not in link  # SXM boards: every GPU joined; a bridge pairs two
        if tp > 2 and not nvlink:
            return False
        return "bridge" in link or nvlink or "GeForce" not in gpu.name  # GeForce has no P2P over PCIe
    release = vllm_release(VLLM_CURRENT if version is None else version)
    return release >= release_tuple(VLLM_ROCM_CUSTOM_ALLREDUCE_SINCE) and any(
        (gpu.architecture or "").startswith(a) for a in VLLM_ROCM_CUSTOM_ALLREDUCE_ARCHITECTURES)
