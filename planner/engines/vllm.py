"""vLLM, 0.4 to 0.33 (the current release, the default): the KV cache gets what the memory budget leaves.

The budget's rules changed across releases (research/vllm_versions.md, read from each release's wheel);
VLLM_RULES lists them, and `engine_version` picks the release whose rules apply."""

from __future__ import annotations

import math
import re
from fractions import Fraction
from math import ceil

from ..activations import step_activation_bytes, tp_shard
from ..efficiency import family
from ..errors import LayoutError, WorkloadError, shown
from ..kv import kv_bytes_per_token_per_layer
from ..layout import check_tensor_parallel
from ..limits import MAX_BATCH, MAX_CONTEXT, MAX_GPUS
from ..overhead import CUDA_CONTEXT_BYTES
from ..spec import ModelSpec
from ..units import format_bytes
from ..weights import is_mxfp4_expert, stage_weights
from .common import EngineMemory, engine_options, mxfp4_expert_factor, release_tuple
from .nccl import vllm_nccl_bytes

# Tensor parallel: each rank's custom all-reduce (distributed/device_communicators/custom_all_reduce.py,
# CustomAllreduce(max_size=8192 * 1024)) allocates an IPC buffer of max_size, a metadata buffer of
# meta_size() + max_size and an 8 MiB rank_data tensor: 24 MiB, and a few KiB of metadata left out.
VLLM_CUSTOM_ALLREDUCE_BYTES = 3 * 8 * 2**20

# vLLM's profile run samples one row of logits per dummy request (max_num_seqs rows) with top-k and top-p on. Bytes
# per logit alive at the sampler's peak, the logits in the model's dtype (2) included:
#   "sort":  PyTorch's top-k/top-p (v1/sample/ops/topk_topp_sampler.py apply_top_k_top_p; V0's sampler.py
#            _apply_top_k_top_p) sorts the fp32 logits: 2 + fp32 copy 4 + sorted values 4 + int64 indices 8, and
#            inside torch.sort of 128 rows or more (aten/src/ATen/native/cuda/SortStable.cu segmented_sort_pairs) an
#            int64 index scratch 8 and cub's alternate key and value buffers 4 + 8 (fewer rows take
#            segmented_sort_pairs_by_full_sort, whose two int2 index buffers and cub's scratch are alike);
#   "fused": FlashInfer's top_k_top_p_sampling_from_logits or the Triton top-k/top-p kernel (0.17+, 8 rows or more):
#            2 + fp32 copy 4 + masked logits or probabilities 4 + 4.
VLLM_SAMPLER_BYTES_PER_LOGIT = {"sort": 38, "fused": 14}

# vLLM's fused MoE (model_executor/layers/fused_moe/fused_moe.py fused_experts_impl) runs a layer's routed experts over
# M = min(tokens, VLLM_FUSED_MOE_CHUNK_SIZE) rows at once, each row once per expert it goes to: intermediate_cache1
# (M, k, N), intermediate_cache2 (M·k, N/2) and intermediate_cache3 (M, k, hidden) in the activation dtype, N the w13
# width on one GPU (2 × the expert's intermediate size, split tp ways unless experts are whole), beside the layer's
# hidden states and residual (M, hidden) and, with shared experts, their output; router logits and the top-k weights
# and ids are small beside them. The chunk: envs.py VLLM_FUSED_MOE_CHUNK_SIZE, 64 Ki rows (v0.7).
VLLM_FUSED_MOE_CHUNK_SIZE = 65536


def vllm_fused_moe_bytes(spec: ModelSpec, tokens: int, *, tp: int, whole_experts: bool) -> int:
    """The fused MoE's peak on one GPU for a forward over `tokens` rows (0 for dense models)."""
    if spec.moe is None:
        return 0
    m = spec.moe
    rows = min(tokens, VLLM_FUSED_MOE_CHUNK_SIZE)
    n = 2 * m.expert_d_ff // (1 if whole_experts else tp)
    caches = rows * m.experts_per_token * (n + n // 2 + spec.d_model) * 2
    return caches + (3 if m.shared_d_ff else 2) * rows * spec.d_model * 2


# V0 runs its models eagerly. Their MLP (models/llama.py LlamaMLP.forward and its kin: `gate_up, _ =
# self.gate_up_proj(x); x = self.act_fn(gate_up); x, _ = self.down_proj(x)`) keeps the fused gate_up output alive
# while the down projection writes its own output, beside the layer's input and residual: 3 rows of hidden size and
# 3 of the intermediate size. From 0.6.5 the tensor-parallel all-reduce is out of place (PR #10121, 2024-11-26,
# distributed/parallel_state.py `_all_reduce_out_place`, pynccl.py `out_tensor = torch.empty_like(in_tensor)`), one
# more row of hidden size while the projection's own output is alive. V1 compiles the model (Inductor frees a buffer
# at its last use), which planner's reference MLP stands for.
VLLM_OUT_OF_PLACE_ALL_REDUCE = (0, 6, 5)


def vllm_v0_mlp_bytes(shard: ModelSpec, tokens: int, *, tp: int, release: tuple[int, ...]) -> int:
    """A V0 rank's dense MLP peak over `tokens` rows at its down projection, in 16-bit activations (0 with no dense
    MLP): the layer's input and residual, the gate_up (or up) output and its activation, the projection's output and,
    under tensor parallel from 0.6.5, the all-reduce's. `shard` is the rank's view (planner.activations.tp_shard)."""
    if not shard.d_ff:
        return 0
    hidden_rows = 3 + (tp > 1 and release >= VLLM_OUT_OF_PLACE_ALL_REDUCE)
    return tokens * (hidden_rows * shard.d_model + (3 if shard.gated_mlp else 2) * shard.d_ff) * 2


VLLM_CURRENT = "0.33.0"
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


# MXFP4 experts (gpt-oss's checkpoints) as vLLM lays them out, by the MoE kernel it picks (model_executor/layers/
# quantization/mxfp4.py create_weights; from 0.20 fused_moe/oracle/mxfp4.py
# mxfp4_round_up_hidden_size_and_intermediate_size and the kernels' priority list):
#   marlin:     intermediate size rounded up to 128, hidden size to 256 — NVIDIA GPUs before Hopper and consumer
#               Blackwell; Hopper too in 0.10.1 (the Triton path needs torch 2.8, 0.10.1 ships 2.7.1) and 0.10.2–0.11
#               (triton_kernels is bundled as vllm/third_party/triton_kernels from 0.12);
#   triton:     intermediate size to 64, hidden size kept — Hopper from 0.12; the swizzled block scales are new
#               tensors and the loaded ones stay allocated until 0.25 ("drop the now-dead weight/scale Parameters");
#   flashinfer: FlashInfer's TRT-LLM kernel, datacenter Blackwell from 0.12 (flashinfer-python a dependency):
#               intermediate size to 256 (128 from 0.27), hidden size to 256.
# Logs: gpt-oss-120b on an H100, 0.10.1 with Marlin 65.97 GiB, 0.14.1 with Triton 64.38 GiB, for 60.77 GiB of tensors.
VLLM_MXFP4_BACKENDS = ("marlin", "triton", "flashinfer")


def vllm_mxfp4_backend(release: tuple[int, ...], gpu) -> str | None:
    """The MXFP4 MoE kernel vLLM picks on a catalog GPU (None: a GPU of unknown architecture, not NVIDIA, or a release
    before 0.10.1, the first to run MXFP4 MoE checkpoints). Datacenter Blackwell before 0.12 takes the Triton path,
    FlashInfer's being opt-in and not installed by `pip install vllm`."""
    if gpu is None or gpu.vendor != "nvidia" or release < (0, 10, 1):
        return None
    if gpu.architecture == "Hopper":
        return "triton" if release >= (0, 12, 0) else "marlin"
    if gpu.architecture == "Blackwell" and gpu.memory_type.startswith("HBM"):
        return "flashinfer" if release >= (0, 12, 0) else "triton"
    return "marlin" if gpu.architecture in ("Ampere", "Ada", "Ada Lovelace", "Blackwell") else None


def vllm_mxfp4_expert_factor(spec: ModelSpec, backend: str, release: tuple[int, ...], split: int) -> Fraction:
    """Bytes vLLM allocates for MXFP4 experts per byte of their tensors, one GPU holding 1/split of each expert's
    intermediate size (tensor parallel; 1, whole experts, under expert parallel)."""
    align_i, align_h = {"marlin": (128, 256), "triton": (64, 1),
                        "flashinfer": (128 if release >= (0, 27, 0) else 256, 256)}[backend]
    return mxfp4_expert_factor(max(1, spec.moe.expert_d_ff // split), spec.d_model, align_i, align_h,
                               scales_kept=backend == "triton" and release < (0, 25, 0))


# MLA with matrix absorption (attention/backends/mla/utils.py process_weights_after_loading, from PR #12528,
# 2025-01-31, until PR #14770 "MLA get rid of materialization", 2025-03-14): besides the raw weights, which prefill
# keeps using, each layer materializes W_Q_UK = W_Q·W_UK (rank × heads·kv_lora_rank, rank = q_lora_rank or the hidden
# size), W_UV_O = W_UV·W_O (heads·kv_lora_rank × hidden) and a contiguous W_QR (rank × heads·rope), heads being the
# rank's share; in the activation dtype, W_Q_UK and W_UV_O requantized to fp8 for fp8 checkpoints (their block scales
# left out). Other formats ran MLA only with VLLM_MLA_DISABLE=1 then, and are not charged. From #14770 on (read at the
# v0.8.5 tag and a September 2025 branch, v1/attention/backends/mla/common.py: "we currently do not have quantized
# bmm's ... we just store fp16/bf16 copies") W_UK_T and W_UV are views of kv_b_proj, but of a dequantized 16-bit copy
# of it for quantized checkpoints: kv_lora_rank × heads·(nope + v) in 16 bits beside the quantized one.
VLLM_MLA_MATERIALIZED = ((0, 7, 1), (0, 8, 0))


def vllm_mla_materialized_bytes(spec: ModelSpec, quant: str, tp: int, release: tuple[int, ...]) -> int:
    """Per layer on one GPU: the absorbed MLA matrices of releases VLLM_MLA_MATERIALIZED, or later the 16-bit copy of
    a quantized kv_b_proj; 0 without MLA or for 16-bit checkpoints after VLLM_MLA_MATERIALIZED."""
    since, until = VLLM_MLA_MATERIALIZED
    if spec.mla is None or release < since:
        return 0
    fam = family(quant, spec)
    m, heads = spec.mla, max(1, spec.n_heads // tp)
    if release >= until:
        return 0 if fam == "float" else m.kv_lora_rank * heads * (m.qk_nope_head_dim + m.v_head_dim) * 2
    if fam not in ("float", "fp8"):
        return 0
    rank = m.q_lora_rank or spec.d_model
    absorbed = (rank + spec.d_model) * heads * m.kv_lora_rank
    return absorbed * (1 if fam == "fp8" else 2) + rank * heads * m.qk_rope_head_dim * 2


def vllm_stage_weights(spec: ModelSpec, quant: str, stage_layers: list[int], *, tp: int = 1, ep: int | None = None,
                       expert_parallel: bool = False, release: tuple[int, ...], mxfp4_backend: str = "none",
                       weights: int | None = None) -> list[int]:
    """Weight bytes vLLM holds on one GPU of each pipeline stage (planner.weights.stage_weights; `weights`, the whole
    model's, where one GPU holds it all), MXFP4 experts in the layout of `mxfp4_backend` (VLLM_MXFP4_BACKENDS): each
    expert's intermediate size split tp ways, or whole under expert_parallel; MLA's absorbed matrices in the releases
    that materialized them (vllm_mla_materialized_bytes)."""
    ep = tp if ep is None else ep
    whole = weights is not None and tp * len(stage_layers) * ep == 1
    out = [weights] if whole else stage_weights(spec, quant, stage_layers, tp=tp, ep=ep)
    if mla := vllm_mla_materialized_bytes(spec, quant, tp, release):
        out = [w + n * mla for w, n in zip(out, stage_layers, strict=True)]
    if spec.moe is None or mxfp4_backend == "none":
        return out
    experts = stage_weights(spec, quant, stage_layers, tp=tp, ep=ep, only=is_mxfp4_expert)
    factor = vllm_mxfp4_expert_factor(spec, mxfp4_backend, release, 1 if expert_parallel else tp)
    return [w + ceil(x * (factor - 1)) for w, x in zip(out, experts, strict=True)]


def vllm_release(version: str) -> tuple[int, ...]:
    """'0.6.3.post1' → (0, 6, 3); refuses what is not a vLLM release planner has rules for."""
    m = re.fullmatch(r"v?(\d+)\.(\d+)(?:\.(\d+))?(?:[a-zA-Z.+-][\w.+-]*)?", str(version).strip()[:64])
    release = tuple(int(g or 0) for g in m.groups()) if m else None
    if release is None or not (0, 4, 0) <= release < (1, 0, 0) or release > release_tuple(VLLM_CURRENT):
        raise WorkloadError(f"engine_version must be a vLLM release from 0.4 to {VLLM_CURRENT}, got {shown(version)}")
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


def vllm_scheduler_defaults(release: tuple[int, ...], *, max_model_len: int, gpu_memory_bytes: int,
                            device_name: str = "") -> dict:
    """max_num_batched_tokens and max_num_seqs as `vllm serve` sets them (research/vllm_versions.md, Defaults).
    V0: 256 sequences; the profile run takes max(max_model_len, 2048) tokens, or chunks (512 up to 0.6.4, 2048
    later) when max_model_len exceeds 32K (0.5.5+). V1 (0.8+): by the GPU — 8192 tokens and 1024 sequences on GPUs of
    70 GiB or more (H100/H200 by name in 0.8.0–0.8.4; A100s excluded from 0.9), 16384 on 160 GiB+ from 0.28;
    else 2048 tokens (and 256 sequences from 0.8.5)."""
    name = device_name.lower()
    if release < (0, 8, 0):
        chunked = release >= (0, 5, 5) and max_model_len > 32768
        tokens = (512 if release <= (0, 6, 4) else 2048) if chunked else max(max_model_len, 2048)
        return {"max_num_batched_tokens": tokens, "max_num_seqs": 256}
    gib = gpu_memory_bytes / 2**30
    if release < (0, 8, 5):
        large = "h100" in name or "h200" in name
        return {"max_num_batched_tokens": 8192 if large else 2048, "max_num_seqs": 1024}
    large = gib >= 70 and (release < (0, 9, 0) or "a100" not in name)
    tokens = 16384 if release >= (0, 28, 0) and gib >= 160 else 8192 if large else 2048
    return {"max_num_batched_tokens": tokens, "max_num_seqs": 1024 if gib >= 70 else 256}


def vllm_stage_layers(n_layers: int, pp: int) -> list[int]:
    """vLLM's split of the layers over `pp` pipeline stages (vllm/distributed/utils.py get_pp_indices): an even share
    each, and the remainder one layer apiece to the stages before the last, from the second-to-last backwards (the
    first holds the embedding, the last the lm_head)."""
    parts = [n_layers // pp] * pp
    for i in range(2, n_layers % pp + 2):
        parts[-i] += 1
    return parts


def vllm_memory(spec: ModelSpec, *, quant: str, kv_dtype: str, gpu_memory_bytes: int, max_model_len: int,
                weights: int, context: int | None = None, batch: int = 1, gpu=None, **options) -> EngineMemory:
    """What vLLM allocates with `weights` bytes of weights on a GPU of `gpu_memory_bytes`, and its verdict.

    gpu_memory_bytes is the total CUDA reports, not the board's capacity: vLLM's budget is a fraction of
    torch.cuda.mem_get_info()'s total (v1/worker/gpu_worker.py init_device: `self.requested_memory =
    self.init_snapshot.total_memory * self.cache_config.gpu_memory_utilization`, the snapshot taken by
    MemorySnapshot.measure(), `self.free_memory, self.total_memory = torch.cuda.mem_get_info()`; V0's
    worker.py determine_num_available_blocks: `free_gpu_memory, total_gpu_memory = torch.cuda.mem_get_info()`).
    That total is what vLLM logs as total_gpu_memory (23.58 GiB on an RTX 3090 whose nvidia-smi says 24,576 MiB,
    vllm#10517; 79.22 GiB on an H100 80GB HBM3 of 81,559 MiB, vllm#10511): pass it when a log gives it
    (planner check-log does); a catalog GPU's total is nvidia-smi's, a few hundred MiB more than CUDA's.

    available = gpu_memory_bytes × gpu_memory_utilization − weights − profile-run activation peak − what the
    release charges besides (VLLM_RULES: the CUDA context in its global periods — cuda_context_bytes, planner's prior
    CUDA_CONTEXT_BYTES measured on an H200, or what a run shows —, the all-reduce buffers until 0.11, the CUDA-graph
    estimate from 0.20; non-torch memory otherwise is baseline and not charged). The profile run
    pushes max_num_batched_tokens tokens through the model with no attention computed, and samples one logits row
    per dummy request (by PyTorch's sort or a fused kernel: VLLM_SAMPLER_BYTES_PER_LOGIT; flashinfer_sampler=True
    where FlashInfer's sampler runs, as in vLLM's Docker images of 0.8–0.11). KV pages: block_size tokens ×
    (2 × kv_heads × head_dim, or one MLA latent) per layer. Before 0.20 CUDA graphs are captured after the KV
    cache is allocated and are not part of the budget.

    Verdict, as vLLM decides at start-up (v1/worker/gpu_worker.py, v1/core/kv_cache_utils.py):
      - the budget must be free when it starts ("Free memory on device … on startup is less than desired GPU
        memory utilization"): here the GPU's memory less the CUDA context;
      - the budget must leave memory for KV blocks ("No available memory for the cache blocks");
      - one request of max_model_len must fit the blocks ("To serve at least one request with the models's max
        seq len …");
    and then `batch` sequences of `context` tokens run at once only when the pool holds them all and
    batch ≤ max_num_seqs; otherwise the scheduler queues the rest.

    data_parallel_size replicas of tensor_parallel_size × pipeline_parallel_size GPUs, each GPU with this budget
    (each replica its own KV cache and scheduler; the figures are one replica's): a GPU holds its stage's layers
    (vllm_stage_layers) with every matrix split tensor_parallel_size ways (planner.weights.stage_weights), its share
    of the KV heads (an MLA latent whole), its heads' and MLP columns' activations beside the whole residual stream
    (planner.activations.tp_shard), the sampler's full logits on the last stage, and with tensor parallel the custom
    all-reduce buffers and NCCL's communicators (planner.engines.nccl). With enable_expert_parallel a MoE's routed
    experts spread whole over the tp × dp GPUs instead of being split tp ways. Every GPU gets the fewest blocks any of
    them has room for (v1/core/kv_cache_utils.py); the figures returned are that GPU's.
    """
    version = options.pop("engine_version", None) or VLLM_CURRENT
    release = vllm_release(version)
    rules = vllm_rules(release)
    if max_model_len > spec.max_context:
        raise WorkloadError(f"max_model_len {max_model_len} exceeds {spec.name}'s max_context {spec.max_context}")
    defaults = {"gpu_memory_utilization": rules["utilization"], "block_size": 64 if spec.mla is not None else 16,
                **vllm_scheduler_defaults(release, max_model_len=max_model_len, gpu_memory_bytes=gpu_memory_bytes,
                                          device_name="" if gpu is None else gpu.name),
                "tensor_parallel_size": 1, "pipeline_parallel_size": 1, "data_parallel_size": 1,
                "enable_expert_parallel": False, "flashinfer_sampler": False,
                "cuda_graph_memory_bytes": VLLM_CUDA_GRAPH_ESTIMATE_BYTES, "cuda_context_bytes": CUDA_CONTEXT_BYTES,
                "mxfp4_backend": vllm_mxfp4_backend(release, gpu) or "none"}
    o = engine_options("vllm", options, defaults,
                       maximum={"block_size": 4096, "max_num_batched_tokens": MAX_CONTEXT, "max_num_seqs": MAX_BATCH,
                                "tensor_parallel_size": MAX_GPUS, "pipeline_parallel_size": MAX_GPUS,
                                "data_parallel_size": MAX_GPUS, "cuda_graph_memory_bytes": gpu_memory_bytes,
                                "cuda_context_bytes": gpu_memory_bytes},
                       minimum={"cuda_graph_memory_bytes": 0, "cuda_context_bytes": 0})
    if o["mxfp4_backend"] not in (*VLLM_MXFP4_BACKENDS, "none"):
        raise WorkloadError(f"mxfp4_backend must be one of {', '.join(VLLM_MXFP4_BACKENDS)} or none, got "
                            f"{shown(o['mxfp4_backend'])}")
    tp, pp, dp = o["tensor_parallel_size"], o["pipeline_parallel_size"], o["data_parallel_size"]
    if tp * pp * dp > MAX_GPUS:
        raise WorkloadError(f"tensor × pipeline × data parallel sizes ask for {tp * pp * dp:,} GPUs, more than "
                            f"{MAX_GPUS:,}")
    # expert parallel: the routed experts spread whole over the tp × dp GPUs of a stage (--enable-expert-parallel)
    ep = tp * dp if o["enable_expert_parallel"] and spec.moe is not None else tp
    if tp > 1:
        check_tensor_parallel(spec, tp)
    if pp > spec.n_layers:
        raise LayoutError(f"pipeline_parallel_size {pp} exceeds {spec.name}'s {spec.n_layers} layers")
    util = o["gpu_memory_utilization"]
    if isinstance(util, bool) or not isinstance(util, (int, float)) or not math.isfinite(util) or not 0 < util <= 1:
        raise WorkloadError(f"gpu_memory_utilization must be within (0, 1], got {shown(util)}")
    context = max_model_len if context is None else context
    if context > max_model_len:
        raise WorkloadError(f"context {context:,} exceeds max_model_len {max_model_len:,}: vLLM rejects longer "
                            "requests; raise max_model_len or lower context")
    tokens = o["max_num_batched_tokens"]
    reqs = min(o["max_num_seqs"], tokens)
    # the layer phases of a forward over `tokens` tokens (attention as SDPA: no scores), logits handled below;
    # under tensor parallel a rank holds its heads and MLP columns, the residual stream whole (tp_shard)
    shard = tp_shard(spec, tp)
    layers = max(int(step_activation_bytes(shard, batch=1, tokens=tokens, attended=1, logits="last",
                                           logits_bits=16, act_bits=16)),
                 vllm_fused_moe_bytes(spec, tokens, tp=tp, whole_experts=bool(o["enable_expert_parallel"])),
                 0 if rules["v1"] else vllm_v0_mlp_bytes(shard, tokens, tp=tp, release=release))
    # every rank gathers the full logits and samples (LogitsProcessor's all-gather); only the last stage has them
    path = "fused" if o["flashinfer_sampler"] or (rules["triton"] and reqs >= 8) else "sort"
    sampler = reqs * spec.vocab_size * VLLM_SAMPLER_BYTES_PER_LOGIT[path]
    last_stage_peak = max(layers, sampler + 2 * tokens * spec.d_model * 2)
    requested = int(gpu_memory_bytes * util)
    stage_layers = vllm_stage_layers(spec.n_layers, pp)
    expert_parallel = bool(o["enable_expert_parallel"]) and spec.moe is not None
    stage_weights_ = vllm_stage_weights(spec, quant, stage_layers, tp=tp, ep=ep, expert_parallel=expert_parallel,
                                        release=release, mxfp4_backend=o["mxfp4_backend"], weights=weights)
    mxfp4_experts = o["mxfp4_backend"] if o["mxfp4_backend"] != "none" and any(
        stage_weights(spec, quant, stage_layers, tp=tp, ep=ep, only=is_mxfp4_expert)) else "none"
    comm = VLLM_CUSTOM_ALLREDUCE_BYTES if tp > 1 else 0
    # NCCL's communicators on the tightest GPU (planner.engines.nccl; NVIDIA GPUs of the catalog: AMD's RCCL is not
    # modelled, nor a GPU known only by its memory)
    nccl = (vllm_nccl_bytes(gpu, tp=tp, pp=pp, release=release, v1=rules["v1"])
            if gpu is not None and gpu.vendor == "nvidia" else 0)
    # what the release charges besides weights and the profile peak: the all-reduce buffers and NCCL (until 0.11),
    # everything already on the GPU (its "global" periods), its CUDA-graph estimate (0.20+)
    charged = ((comm + nccl if rules["comm"] else 0) + (o["cuda_context_bytes"] if rules["context"] else 0)
               + (o["cuda_graph_memory_bytes"] if rules["graphs"] else 0))
    peaks = [layers] * (pp - 1) + [last_stage_peak]
    kv_heads = 1.0 if spec.mla is not None else ceil(spec.n_kv_heads / tp) / spec.n_kv_heads  # a rank's share
    page = ceil(o["block_size"] * kv_bytes_per_token_per_layer(spec, kv_dtype) * kv_heads)
    # each GPU's blocks; the engine takes the fewest over all of them (v1/core/kv_cache_utils.py)
    stage_available = [requested - w - a - charged for w, a in zip(stage_weights_, peaks, strict=True)]
    stage_blocks = [max(0, a) // (page * n) for a, n in zip(stage_available, stage_layers, strict=True)]
    tight = min(range(pp), key=lambda s: (stage_blocks[s], -stage_weights_[s]))
    weights, activation, available, blocks = (stage_weights_[tight], peaks[tight], stage_available[tight],
                                              stage_blocks[tight])
    per_request = ceil(max_model_len / o["block_size"])
    per_sequence = ceil(context / o["block_size"])
    concurrent = min(blocks // per_sequence, o["max_num_seqs"])
    free_at_start = gpu_memory_bytes - o["cuda_context_bytes"]

    def gib(n: int) -> str:
        return format_bytes(n, "GiB")

    if requested > free_at_start and rules["start_check"]:
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
    kv_bytes = blocks * page * stage_layers[tight]  # what the engine allocates on that GPU
    return EngineMemory(
        engine="vllm", weights_bytes=weights, kv_cache_bytes=kv_bytes if tp * pp > 1 else max(0, available),
        activation_bytes=activation,
        refusal=refusal, max_concurrent=concurrent,
        details={"requested_bytes": requested, "available_kv_bytes": available, "kv_blocks": blocks,
                 "kv_tokens": blocks * o["block_size"], "max_concurrency": blocks / per_request,
                 "max_model_len": max_model_len, "fits_max_model_len": 0 < available and blocks >= per_request,
                 "free_at_start_bytes": free_at_start, "gpus": tp * pp * dp, "replicas": dp,
                 "expert_parallel_size": ep if spec.moe is not None else 1, "layers_per_gpu": stage_layers[tight],
                 "communication_bytes": comm, "engine_version": version, "charged_bytes": charged,
                 "sampler": path, "sampler_bytes": sampler if pp == 1 or tight == pp - 1 else 0,
                 "forward_bytes": layers,
                 "mxfp4_experts": mxfp4_experts,
                 "nccl_bytes": nccl, "nccl_charged": bool(nccl) and rules["comm"],
                 # releases before 0.11 charge NCCL's memory; not modelled on AMD GPUs or a GPU given by memory only
                 "nccl_uncounted": tp * pp > 1 and rules["comm"] and nccl == 0,
                 "cuda_graph_estimate_bytes": o["cuda_graph_memory_bytes"] if rules["graphs"] else 0,
                 "v1": rules["v1"], **o})
