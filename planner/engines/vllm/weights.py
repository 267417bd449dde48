"""The weights vLLM holds on one GPU: each pipeline stage's layers, MXFP4 experts in its kernels' layouts, MLA's
absorbed matrices in the releases that materialized them."""

from __future__ import annotations

from fractions import Fraction
from math import ceil

from ...efficiency import family
from ...spec import ModelSpec
from ...weights import is_mxfp4_expert, stage_weights
from ..common import ARCHITECTURE_CAPABILITY, datacenter_blackwell, mxfp4_expert_factor

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
    if datacenter_blackwell(gpu):
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
    """Weight bytes vLLM holds on one GPU of each pipeline stage (planner.weights.stage_weights; `weights`, the
    whole model's, where one GPU holds it all) with the rotary cache (vllm_rotary_cache_bytes), MXFP4 experts in the
    layout of `mxfp4_backend` (VLLM_MXFP4_BACKENDS): the routed experts split `ep` ways (default tp), each expert's
    intermediate size, or under expert_parallel whole experts (the heaviest GPU's); MLA's absorbed matrices in the
    releases that materialized them (vllm_mla_materialized_bytes)."""
    ep = tp if ep is None else ep
    whole = weights is not None and tp * len(stage_layers) * ep == 1
    rotary = vllm_rotary_cache_bytes(spec)  # every stage's model and every rank holds the cache whole
    out = [w + rotary for w in ([weights] if whole else stage_weights(spec, quant, stage_layers, tp=tp, ep=ep,
                                                                     whole_experts=expert_parallel))]
    if mla := vllm_mla_materialized_bytes(spec, quant, tp, release):
        out = [w + n * mla for w, n in zip(out, stage_layers, strict=True)]
    if spec.moe is None or mxfp4_backend == "none":
        return out
    experts = stage_weights(spec, quant, stage_layers, tp=tp, ep=ep, whole_experts=expert_parallel,
                            only=is_mxfp4_expert)
    factor = vllm_mxfp4_expert_factor(spec, mxfp4_backend, release, 1 if expert_parallel else ep)
    return [w + ceil(x * (factor - 1)) for w, x in zip(out, experts, strict=True)]


VLLM_FP32_ROPE = frozenset({"gpt_oss"})  # model_executor/models/gpt_oss.py: get_rope(..., dtype=torch.float32)


def vllm_rotary_cache_bytes(spec: ModelSpec) -> int:
    """The rotary embedding's cos/sin cache, a buffer each pipeline stage's model holds once (get_rope memoises it)
    and every tensor-parallel rank whole: max_position_embeddings × the rotary dims in the model's 16-bit dtype
    (layers/rotary_embedding.py: _compute_cos_sin_cache, then .to(dtype); fp32 where the model asks, VLLM_FP32_ROPE);
    32 MiB for Llama-3.1-8B, the 0.03 GiB its "Model loading took" lines hold beyond the tensors. MLA models' scaled
    cache, partial rotary dims and a second cache for local layers are not modelled (head_dim, one cache)."""
    dtype_bytes = 4 if spec.model_type in VLLM_FP32_ROPE else 2
    return 0 if spec.mla is not None else spec.max_context * spec.head_dim * dtype_bytes


def vllm_stage_layers(n_layers: int, pp: int) -> list[int]:
    """vLLM's split of the layers over `pp` pipeline stages (vllm/distributed/utils.py get_pp_indices): an even share
    each, and the remainder one layer apiece to the stages before the last, from the second-to-last backwards (the
    first holds the embedding, the last the lm_head)."""
    parts = [n_layers // pp] * pp
    for i in range(2, n_layers % pp + 2):
        parts[-i] += 1
    return parts


# Phi-3-small's block-sparse layers (0.4.3-0.9.2) run vLLM's Triton kernel on NVIDIA GPUs of compute capability 8.0
# and up; elsewhere (AMD, older NVIDIA, CPU) LocalStridedBlockSparseAttn falls back to SDPA with a dense additive mask
# built at model init (attention/ops/blocksparse_attention/interface.py `use_spda = is_hip() or is_cpu() or not
# IS_COMPUTE_8_OR_ABOVE`, utils.py get_sparse_attn_mask(return_dense=True, dense_mask_type="bias"), read in 0.6.1 and
# 0.8.4): every head of the model (total_num_heads, blocksparse_attn.py) × max_position_embeddings² (phi3_small.py
# bs_params' max_seqlen: the config's, not max_model_len), 16-bit, lru_cached so that one tensor serves every layer,
# held for the process's life. 4 GiB for the 8K model; 1 TiB for the 128K one (vllm-project/vllm#7590: "Tried to
# allocate 1024.00 GiB" on 4 × T4). Its construction briefly needs about twice that (kron, causal product and bias
# are whole copies), not modelled.
def vllm_blocksparse_mask_bytes(spec: ModelSpec, gpu) -> int:
    """The dense mask vLLM holds for a block-sparse model on a GPU its kernel does not run on (AMD, NVIDIA before
    Ampere); 0 for other models and GPUs, and for a GPU known only by its figures."""
    if spec.block_sparse is None or gpu is None:
        return 0
    dense = gpu.vendor == "amd" or ARCHITECTURE_CAPABILITY.get(gpu.architecture, 80) < 80
    return spec.n_heads * spec.max_context**2 * 2 if dense else 0
