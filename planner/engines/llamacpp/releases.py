"""llama.cpp's memory rules by build (`engine_version`, e.g. "b5000"), read from its history.

A build number is the count of commits up to it (`git rev-list --count`, which is what llama.cpp's CMake stamps as
LLAMA_BUILD_NUMBER and what its bNNNN release tags name), so each change below is dated by the build that first has
its commit. Read in the full history of ggml-org/llama.cpp (a fork with every commit to Aug 2026).

LLAMACPP_RULES: each row holds from its build until the next row's. The columns:
  pad          how n_ctx is rounded up before the cells are allocated: "none" (before b2771, and again b6868–b6974
               after PR #16812 "memory : remove KV cache size padding"); 256 (b2771, the flash-attention PR #5021);
               "fa" — 256 with flash attention, else 32 (b2871, PR #7257 "less KV padding when FA is off"); "256+seq",
               256 for the whole context and then for each sequence's share (b6975, PR #17046).
  swa          the cells of a sliding-window layer: "full", every cell (before b5429); "n_batch", pad(n_swa ·
               sequences + n_batch) (b5429, PR #13194 "kv-cache : add SWA support"); "n_ubatch", with n_ubatch
               (b5554, PR #13833); the 256 pad of b6975 applies to it too.
  streams      "unified": one cache all sequences share (before b5913); "split": a stream of n_ctx / n_parallel
               cells per sequence unless kv_unified (b5913, PR #14363 "llama : add high-throughput mode").
  flash_attn   the default: "none", no flash attention yet (before b2771); "off" (b2771); "auto", on where the
               backend supports it (b6325, PR #15434 "use FA + max. GPU layers by default").
  layers       -ngl unset: "none" on the GPU (llama_model_default_params' n_gpu_layers = 0; Metal builds 999);
               "all" (b6325, PR #15434); "fit", the most that leave --fit-target free (b7407, PR #16653, on by default:
               common.h fit_params = true).
  output       where -ngl puts the output layer: "last", on the GPU only with every repeating layer (n_gpu_layers >
               n_layer); "first", before any repeating layer, so -ngl k holds the output and k − 1 layers (PR #18148
               "llama: offload output layer to GPU first", b7467).
Oldest build modelled: b1619 (PR #4309 "per-layer KV cache"), from which each layer's cells sit where its weights
do. Older builds kept the cache on the host unless every layer was offloaded; planner refuses them.
Not versioned: the compute buffer's graph (replayed on the current graph, planner.engines.llamacpp.graph), but for
its output rows (LLAMACPP_OUTPUTS_MAX). llama-server's default of 4 slots sharing one unified cache when -np is unset
(b6925, PR #16736, tools/server/server.cpp: "n_parallel is set to auto, using n_parallel = 4 and kv_unified = true"):
the cache holds the workload's batch × context cells, and the 4 slots count where a slot holds something of its own
(a hybrid's recurrent state, the output rows). check-log applies the build a log prints (planner.measure.logs.llamacpp).
"""

from __future__ import annotations

import re

from ...errors import WorkloadError, shown
from ..common import arch_key, pad

LLAMACPP_OLDEST = 1619
LLAMACPP_CURRENT = 9489  # the newest build whose change planner follows (PR #23907, below)
LLAMACPP_OUTPUT_FIRST = 7467  # PR #18148 (commit 57c1e05, 2025-12-18): -ngl offloads the output layer first
# The graph's host inputs (buffers.host_inputs), by the builds of the merge commits that changed them
LLAMACPP_SET_ROWS = 6071  # PR #14959 "llama : enable LLAMA_SET_ROWS=1 by default" (commit a4569c4, 2025-08-02)
LLAMACPP_EMBD_INPUT = 7774  # PR #18550 "ggml : add ggml_build_forward_select" (commit 365a3e8, 2026-01-19)
LLAMACPP_F16_MASK = 9410  # PR #23764 "llama: use f16 mask for FA to save VRAM" (release b9410, 2026-05-29)
# PR #23907 "cuda: reserve space for quantize kv-cache at startup" (f8f0a47a5, 2026-06-03): a prompt's flash attention
# over a quantized cache converts K and V to f16 inside the compute buffer, no longer in CUDA's pool as it runs
LLAMACPP_FA_F16_RESERVED = 9489
# PR #23861 "llama: limit max outputs of llama_context" (de6f727aa, 2026-06-01, build 9460): llama-server reserves its
# graph for n_outputs_max = min(n_batch, n_parallel × (1 + the drafts a speculative decoder checks)) output rows
# (tools/server/server-context.cpp server_output_limits, common/speculative.cpp common_speculative_get_output_limits),
# where every token of the ubatch was one before: the last layer's FFN and the logits shrink to those rows. The
# library's default (llama-cpp-python, llama-bench: common.h n_outputs_max = 0) stays n_batch. A b9849 log of
# Qwen3.5-35B-A3B (-np 1 -ub 2048) prints "n_outputs_max = 1" and a 308 MiB compute buffer where 2,048 rows of its
# 248,320 logits alone would be 1,940 MiB.
LLAMACPP_OUTPUTS_MAX = 9460
# The fused GATED_DELTA_NET op for a prompt's ubatch, which planner's Gated DeltaNet graph replays (graph._gdn): PR
# #19504 (c5a778891, b8233) fused only the single-token step (llama-context.cpp "fused_gdn_ch = false; // TODO");
# the chunked path is fused from PR #20340 (d28961d81, b8299) on the CPU, CUDA (ROCm) and Metal, and on Vulkan from
# PR #20334 (deee23863, b8317). Earlier builds reserve the unfused chunked graph (delta-net-base.cpp
# build_delta_net_chunking), whose intermediates planner does not replay: the analytic floor stands for them.
LLAMACPP_FUSED_GDN = {"cuda": 8299, "cpu": 8299, "metal": 8299, "vulkan": 8317}
# llama-server with -np unset: from b6925 (PR #16736, cd5e3b575) "n_parallel == 1 && !kv_unified" became 4 slots over
# one unified cache (-np 1 given or not, the default then being 1); from b7433 (7b1db3d3b) -np defaults to auto (-1),
# and auto is 4 unified slots whatever --kv-unified says (tools/server/server.cpp)
LLAMACPP_AUTO_SLOTS = 6925
LLAMACPP_AUTO_NP = 7433  # PR #16736: llama-server's -np defaults to auto, 4 slots over one unified cache
LLAMA_SERVER_AUTO_SLOTS = 4
PROGRAMS = ("llama-server", "library")  # what runs the model: the server, or the library through its own context
LLAMACPP_OP_OFFLOAD = 2454  # PR #6083 "backend : offload large batches to GPU" (commit 2bf8d0f, 2024-03-18)
LLAMACPP_NO_OP_OFFLOAD = 5346  # PR #13386 "--no-op-offload" (commit 7f323a589): the offload above can be turned off
# MLA (deepseek2: DeepSeek-V2/V3/R1, Kimi K2) caches. Before PR #12801 "DeepSeek V2/V3 MLA implementation" (merged
# 2025-04-15), and for any GGUF converted before it (no attn_k_b tensors, no key_length_mla: "Legacy non-MLA GGUF
# files can still be loaded and used as normal, but they won't benefit from the reduced KV-cache size"), every head's
# K (n_head × (nope + rope)) and V (n_head × v_head_dim): build 4963 prints K 11712 MiB, V 7808 MiB for DeepSeek-R1 at
# n_ctx 4096 (github.com/ArmDeveloperEcosystem/arm-learning-paths, deepseek-cpu). From it, an MLA-converted GGUF
# caches the latent as K (kv_lora_rank + rope, 576) and V (kv_lora_rank, 512): build 5331 prints K 1098 MiB, V 976 MiB
# for DeepSeek-V3-0324 at 16384 (ik_llama.cpp#394). PR #19067 "kv-cache : support V-less cache" (2026-01-24) drops V.
# Their builds are the merges' commit counts in llama.cpp's history (daa422881, #12801: 5137; d9c6ce46f, #19067: 7832).
# DeepSeek-V3.2's sparse attention (PR #23346, 1f0aa2a69, build 9411: LLAMACPP_ADDED) adds an indexer key cache beside
# the latent (src/llama-kv-cache-dsa.cpp: a second llama_kv_cache of one head of indexer_head_size, type_k, as many
# cells): LLAMACPP_DSA_INDEXER.
LLAMACPP_MLA_LATENT = 5137
LLAMACPP_V_LESS = 7832
LLAMACPP_DSA_INDEXER = 9411

_COLUMNS = ("pad", "swa", "streams", "flash_attn", "layers", "output")
_ROWS = (  # since build, pad, swa, streams, flash_attn, layers, output
    (1619, "none", "full", "unified", "none", "none", "last"),
    (2771, 256, "full", "unified", "off", "none", "last"),
    (2871, "fa", "full", "unified", "off", "none", "last"),
    (5429, "fa", "n_batch", "unified", "off", "none", "last"),
    (5554, "fa", "n_ubatch", "unified", "off", "none", "last"),
    (5913, "fa", "n_ubatch", "split", "off", "none", "last"),
    (6325, "fa", "n_ubatch", "split", "auto", "all", "last"),
    (6868, "none", "n_ubatch", "split", "auto", "all", "last"),
    (6975, "256+seq", "n_ubatch", "split", "auto", "all", "last"),
    (7407, "256+seq", "n_ubatch", "split", "auto", "fit", "last"),
    (LLAMACPP_OUTPUT_FIRST, "256+seq", "n_ubatch", "split", "auto", "fit", "first"),
)
LLAMACPP_RULES = tuple((since, dict(zip(_COLUMNS, row, strict=True))) for since, *row in _ROWS)


# Architectures llama.cpp added after its oldest build planner has rules for: engines.common.arch_key → (first
# build, the pull request that added it). The build of a merge commit is the repository's commit count there, as its
# release tags number them (checked on b5074, b5092 and b6754 in full-history copies); Qwen3.5's b7990 is the tag
# Homebrew's formula pins to #19468's merge (fc0fe400). Hybrid models (recurrent.py) from their own pull requests:
# Falcon-H1 (#14534), Jamba (#7531) and Granite 4.0 H (#13550) in July 2025 on the hybrid cache of b5702 (#13979),
# Qwen3-Next (#16095).
LLAMACPP_ADDED = {
    # the first build of each older architecture (the merge commit's `git rev-list --count`, which equals the release
    # tag on all 2,365 tags of a full-history mirror): Mixtral's experts in the llama architecture (#4406, b1629;
    # files converted after #6387 at b2587 keep each projection's experts in one tensor, which older builds cannot
    # read), Qwen2 (#5037), Gemma (#5631), Qwen2-MoE (#6074), Phi-3 (#6852; its 128K LongRoPE models from #7225:
    # LLAMACPP_PHI3_LONGROPE), DeepSeek-V2 (#7519), Gemma 2 (#8156; its logit soft-capping came at b3266), PhiMoE
    # (#11003), Qwen3-VL's text model too (#16780 adds its rope mode to ggml)
    "mixtral": (1629, "#4406"), "qwen2": (1923, "#5037"), "gemma": (2223, "#5631"), "qwen2_moe": (2683, "#6074"),
    "phi3": (2717, "#6852"), "deepseek_v2": (3023, "#7519"), "gemma2": (3259, "#8156"), "phimoe": (4453, "#11003"),
    "qwen3_vl": (6887, "#16780"), "qwen3_vl_moe": (6887, "#16780"),
    "olmoe": (3766, "#9462"), "olmo2": (4168, "#10500"), "deepseek_v3": (4417, "#11049"),
    "gemma3_text": (4875, "#12343"), "llama4_text": (5074, "#12791"), "qwen3": (5092, "#12828"),
    "qwen3_moe": (5092, "#12828"), "smollm3": (5847, "#14581"), "glm4_moe": (6085, "#14939"),
    "gpt_oss": (6096, "#15091"), "minimax_m2": (6906, "#16831"), "qwen3_5_text": (7990, "#19468"),
    "qwen3_5_moe_text": (7990, "#19468"),
    "deepseek_v32": (LLAMACPP_DSA_INDEXER, "#23346"),
    "falcon_h1": (5851, "#14534"), "jamba": (5856, "#7531"), "granitemoehybrid": (5868, "#13550"),
    "qwen3_next": (7186, "#16095"),
    # Qwen2.5-VL's language model is converted to Qwen2-VL's architecture ("qwen2vl", #10361 at b4327); the converter
    # takes Qwen2_5_VLForConditionalGeneration from b4975 (#12595), its image encoder (mmproj) from b5263 (#13209)
    "qwen2_5_vl": (4327, "#10361"),
}


# Phi-3's models past 16K tokens (Phi-3-mini/medium-128k, Phi-3.5-mini, Phi-4-mini) scale their rope with LongRoPE,
# which llama.cpp reads from #7225 (b2961); the 4K models and Phi-4 (16K, no scaling) from #6852 (b2717)
LLAMACPP_PHI3_SHORT = 16384
# Llama 3.1's rope scaling (rope_type llama3) as the rope_freqs tensor its GGUFs carry since #8676 (b3472); an older
# build refuses such a file ("wrong number of tensors"), and ran only files converted before without the scaling
LLAMACPP_LLAMA3_ROPE = (3472, "#8676")
LLAMACPP_PHI3_LONGROPE = (2961, "#7225")


# The hybrid architectures (linear attention or Mamba beside attention) whose memory planner models in llama.cpp
# (recurrent.py); others are refused rather than sized as attention-only models
LLAMACPP_HYBRID = frozenset({"falcon_h1", "jamba", "granitemoehybrid", "qwen3_next", "qwen3_5_text",
                             "qwen3_5_moe_text"})


def llamacpp_runs(spec, build: int) -> None:
    """Refuse a model whose architecture `build` predates (LLAMACPP_ADDED): it fails to load ("unknown model
    architecture"); and a hybrid model outside LLAMACPP_HYBRID, whose recurrent layers planner cannot size there."""
    if spec.recurrent and arch_key(spec) not in LLAMACPP_HYBRID:
        raise WorkloadError(f"llama.cpp: {spec.name} ({arch_key(spec)}) mixes recurrent and attention layers in a "
                            "way planner does not model for llama.cpp (it does for Qwen3-Next, Qwen3.5, Jamba, "
                            "Granite 4.0 H and Falcon-H1)")
    added, what = LLAMACPP_ADDED.get(arch_key(spec)), f"its architecture ({arch_key(spec)})"
    if arch_key(spec) == "phi3" and spec.max_context > LLAMACPP_PHI3_SHORT:
        added, what = LLAMACPP_PHI3_LONGROPE, "its LongRoPE scaling (Phi-3 past 16K tokens)"
    if spec.rope_type == "llama3" and (added is None or added[0] < LLAMACPP_LLAMA3_ROPE[0]):
        added, what = LLAMACPP_LLAMA3_ROPE, "its rope frequency factors (Llama 3.1's rope_freqs)"
    if added is not None and build < added[0]:
        first, pr = added
        raise WorkloadError(f"llama.cpp b{build} cannot load {spec.name}: {what} arrived in b{first} "
                            f"(ggml-org/llama.cpp{pr}); engine_version='b{first}' or later")


def llamacpp_build(version) -> int:
    """'b5000', '5000' or 5000 → 5000; None: the current rules (LLAMACPP_CURRENT). Refuses builds planner has no
    rules for."""
    if version is None:
        return LLAMACPP_CURRENT
    m = re.fullmatch(r"b?(\d{1,6})(?:\s*\([0-9a-f]{6,40}\))?", str(version).strip()[:80])
    build = int(m[1]) if m else None
    if build is None or build < LLAMACPP_OLDEST:
        raise WorkloadError(f"engine_version must be a llama.cpp build such as b{LLAMACPP_CURRENT}, from "
                            f"b{LLAMACPP_OLDEST} (the per-layer KV cache), got {shown(version)}")
    return build


def build_name(build: int) -> str:
    return f"b{build}" if build <= LLAMACPP_CURRENT else f"b{build} (rules of b{LLAMACPP_CURRENT})"


def llamacpp_rules(build: int) -> dict:
    """The row of LLAMACPP_RULES that holds for `build`."""
    return next(rules for since, rules in reversed(LLAMACPP_RULES) if build >= since)


def kv_cells(rules: dict, n_ctx: int, slots: int, unified: bool, flash_attn: bool) -> tuple[int, int]:
    """(n_ctx as the build pads it, cells per stream): one stream of every cell when unified, else one per slot."""
    rule = rules["pad"]
    if rule == "256+seq":  # b6975 (llama-context.cpp): the whole context, then each sequence's share
        n_ctx = pad(n_ctx, 256)
        return (n_ctx, n_ctx) if unified else (n_ctx, pad(n_ctx // slots, 256))
    step = _pad_step(rules, flash_attn)
    if unified:
        n_ctx = pad(n_ctx, step)
        return n_ctx, n_ctx
    per_stream = pad(-(-n_ctx // slots), step)  # b5913–b6974 (create_memory): each stream's share rounded up
    return per_stream * slots, per_stream


def swa_cells(rules: dict, per_stream: int, n_swa: int, slots: int, unified: bool, n_batch: int, n_ubatch: int,
              flash_attn: bool) -> int:
    """Cells of a sliding-window layer in one stream (llama_kv_cache_iswa's size_swa)."""
    if rules["swa"] == "full":
        return per_stream
    wanted = n_swa * (slots if unified else 1) + (n_batch if rules["swa"] == "n_batch" else n_ubatch)
    if rules["pad"] == "256+seq":
        return pad(min(per_stream, wanted), 256)
    return min(per_stream, pad(wanted, _pad_step(rules, flash_attn)))


def _pad_step(rules: dict, flash_attn: bool) -> int:
    """The multiple a build before b6975 rounds cells up to (1: none)."""
    return {"none": 1, "fa": 256 if flash_attn else 32}.get(rules["pad"], rules["pad"])
