"""The roofline itself (planner.perf): FLOPs of a step, decode and prefill steps, tensor-parallel splits and MoE."""

from __future__ import annotations

from functools import lru_cache
from math import ceil

import numpy as np

from ..efficiency import (
    ANY,
    engine_backend,
    moe_expert_overhead,
    moe_prefill_split,
    moe_prefill_tile,
)
from ..errors import WorkloadError
from ..gpus import GPU
from ..kv import kv_cache_bytes
from ..quant.catalog import base_name
from ..spec import STATE_ONLY_KINDS, ModelSpec
from ..tensors import weight_tensors
from .llamacpp import (
    LLAMACPP_N_BATCH,
    LLAMACPP_N_UBATCH,
    llamacpp_dequant_bytes,
    llamacpp_matmul_dtype,
    llamacpp_prefill_family,
    llamacpp_prefill_seconds,
)
from .step import (
    Engine,
    _weight_split,
    default_engine,
    kv_replica_bytes,
    memory_efficiency,
    memory_step_seconds,
    prefill_compute_efficiency,
    replicated_bytes,
    step_seconds,
    weight_bytes_read,
)

# Share of dense peak reached by decode's matmuls when a large batch makes them compute-bound. Measured on an H200
# (profiles/measurements/kernels-cuda.jsonl: every matrix of Llama-3.1-8B, Qwen2.5-32B, Phi-3-small and Llama-3.2-1B
# at batch 64-2048 under one CUDA graph, bf16 and fp8): on the grid 0.40-0.80 by 0.05, the share whose
# max(memory time, FLOPs / (peak x share)) gives the least median |error| over those steps, 0.60 and 0.65 tying at
# 8.4 % (to 0.01 %) and the smaller kept (was a 0.5 prior: 12.7 %). planner.measure.kernels.decode_compute_share
# re-derives it.
DECODE_COMPUTE_EFFICIENCY = 0.6

# Eager attention (transformers' attn_implementation="eager") writes every score of a head's T x T matrix and reads it
# back several times (scale, mask, fp32 softmax, cast, PV): a prefill pays this many bytes per score at the GPU's
# datasheet bandwidth, the masked half included. Measured on an H200 (profiles/measurements/kernels-cuda.jsonl):
# the median over four models' heads at 1,024-8,192 tokens (range 55-67); planner.measure.kernels.eager_bytes_per_score
# re-derives it.
EAGER_ATTENTION_BYTES_PER_SCORE = 60

# Tensor-parallel all-reduce: a fixed latency per call plus ring transfer time. Assumed, not calibrated: the time of an
# engine's own all-reduce kernel (vLLM's, SGLang's, TensorRT-LLM's) or NCCL's within a CUDA graph.
ALLREDUCE_LATENCY_S = 10e-6
# The same call through RCCL, where an engine has no all-reduce kernel of its own on an AMD GPU (vLLM before 0.8.3,
# and on AMD GPUs before the MI300 series: planner.engines.vllm.vllm_custom_allreduce): 13-15 µs for 8-64 KB on 8 ×
# MI300X with one process per GPU, as vLLM runs (AMD, "Understanding RCCL Bandwidth and xGMI Performance on AMD
# Instinct MI300X", rocm.blogs.amd.com, 2025-03-02); the top of it is taken. Published, not fitted: no calibration-
# half run all-reduces through RCCL. rccl-tests driving all 8 GPUs from one process measure 46-56 µs (ROCm/rccl#1562),
# but RCCL takes its MSCCL algorithms on the MI300X only when every rank is its own process (RCCL usage tips,
# rocm.docs.amd.com). Upstream vLLM 0.6 runs on 2-8 MI300X (Argonne's sweep, check half) leave 35-70 µs a call
# unexplained beyond this: said beside the figures (allreduce_note), not fitted.
RCCL_ALLREDUCE_LATENCY_S = 15e-6
# The share of a link's one-way line rate NCCL's ring moves data at: "450GB/s is the line rate. With the protocol
# overhead (~20%) NCCL can get an effective NVLink bandwidth of 370GB/s" (an NCCL maintainer on H100 NVLink,
# github.com/NVIDIA/nccl-tests/issues/212). Published, not fitted; applied to every link (PCIe's own share is lower
# where the GPUs cannot reach each other directly, which planner does not know).
ALLREDUCE_BUS_EFFICIENCY = 0.8
# GPU-to-GPU rate one way for a GPU whose links the catalog does not know (a custom GPU): a PCIe 4.0 x16 slot's
# 32 GB/s, the common case, said beside the figures (allreduce_note).
UNKNOWN_LINK_BYTES_PER_S = 32e9


def compute_dtype(quant: str, engine: Engine = "vllm", *, gpu: GPU | None = None, backend: str | None = None,
                  build: int | None = None, ubatch: int = LLAMACPP_N_UBATCH) -> str:
    """The dtype matmuls run in: fp8 checkpoints on fp8 tensor cores, fp32 in fp32, the rest in 16-bit; llama.cpp's
    as its build runs them at micro-batches of `ubatch` tokens (llamacpp_matmul_dtype)."""
    if engine == "llama.cpp":
        return llamacpp_matmul_dtype(quant, gpu, backend, build, ubatch)
    name = base_name(quant)  # a [keep=…] variant runs its base format's kernels where it quantizes
    return {"fp8": "fp8", "fp8-block": "fp8", "fp32": "fp32", "fp16": "fp16", "f16": "fp16"}.get(name, "bf16")


def _attention_flops_per_pair(spec: ModelSpec) -> int:
    if spec.mla is not None:
        m = spec.mla
        return 2 * spec.n_heads * (2 * m.kv_lora_rank + m.qk_rope_head_dim)
    return 4 * spec.n_heads * spec.head_dim


def _attended_pairs(spec: ModelSpec, *, new, past) -> np.ndarray:
    """(query, key) pairs over all layers when `new` tokens follow `past` cached ones (causal)."""
    new = np.asarray(new, dtype=float)
    past = np.asarray(past, dtype=float)
    total = 0.0
    kinds = spec.layer_kinds()
    # a linear-attention or Mamba layer attends to no past keys
    n_full = len(kinds) - sum(kinds.count(k) for k in ("sliding", *STATE_ONLY_KINDS))
    # full: query i (1-based among the new) sees past + i keys
    total = total + n_full * (new * past + new * (new + 1) / 2)
    if kinds.count("sliding"):
        w = spec.sliding_window
        end = past + new
        # sum over positions p in (past, end] of min(p, w) = F(end) - F(past), F(n) = sum_{p<=n} min(p, w)
        def f(n):
            return np.where(n <= w, n * (n + 1) / 2, w * (w + 1) / 2 + (n - w) * w)
        total = total + kinds.count("sliding") * (f(end) - f(past))
    return total


def step_flops(spec: ModelSpec, quant: str, *, batch, new, past) -> np.ndarray:
    """FLOPs of one step: `batch` sequences each adding `new` tokens after `past` cached ones."""
    return matmul_flops(spec, quant, batch=batch, new=new) + attention_flops(spec, batch=batch, new=new, past=past)


def matmul_flops(spec: ModelSpec, quant: str, *, batch, new) -> np.ndarray:
    """The weight matmuls' FLOPs of `batch` × `new` tokens (routed experts: k of E)."""
    tokens = np.asarray(batch, dtype=float) * np.asarray(new, dtype=float)
    return 2.0 * _weight_split(spec, quant).matmul_params * tokens


def attention_flops(spec: ModelSpec, *, batch, new, past) -> np.ndarray:
    """Attention's FLOPs (QKᵀ and PV) over the (query, key) pairs a causal step attends: the causal half of a prompt's
    score matrix, as flash kernels skip the masked blocks."""
    return np.asarray(batch, dtype=float) * _attention_flops_per_pair(spec) * _attended_pairs(spec, new=new, past=past)


def eager_attention_seconds(spec: ModelSpec, gpu: GPU, *, batch, new, past=0) -> np.ndarray:
    """Eager attention's time over the score matrices of a step: every attention layer's heads each hold
    new × (past + new) scores, masked ones included, at EAGER_ATTENTION_BYTES_PER_SCORE and datasheet bandwidth."""
    kinds = spec.layer_kinds()
    layers = len(kinds) - sum(kinds.count(k) for k in STATE_ONLY_KINDS)
    new = np.asarray(new, dtype=float)
    scores = np.asarray(batch, dtype=float) * layers * spec.n_heads * new * (np.asarray(past, dtype=float) + new)
    return scores * EAGER_ATTENTION_BYTES_PER_SCORE / gpu.memory_bandwidth_bytes_per_s


def decode_seconds_per_token(spec: ModelSpec, gpu: GPU, *, quant: str, kv_dtype: str, context, batch=1,
                             engine: Engine | None = None, cap_sliding: bool = True, backend: str | None = None,
                             efficiency: float | None = None):
    """Seconds per decode step (each of `batch` sequences gets one token) with `context` tokens cached."""
    engine = engine or default_engine(quant, spec, gpu)
    bytes_ = weight_bytes_read(spec, quant, tokens=batch) + kv_cache_bytes(
        spec, context_len=context, batch=batch, kv_dtype=kv_dtype, cap_sliding=cap_sliding)
    flops = step_flops(spec, quant, batch=batch, new=1, past=context)
    eff = memory_efficiency(gpu, quant, engine, spec, backend=backend, efficiency=efficiency)
    work = bytes_ / (gpu.memory_bandwidth_bytes_per_s * eff)
    peak = gpu.peak_flops(compute_dtype(quant, engine))
    if peak is not None:  # without datasheet FLOP/s, decode is memory-bound at batch 1 and the memory time stands
        work = np.maximum(work, flops / (peak * DECODE_COMPUTE_EFFICIENCY))
    return step_seconds(work, spec, engine, backend=engine_backend(engine, gpu, backend), quant=quant)



@lru_cache(maxsize=1024)
def _expert_matmul_params(spec: ModelSpec) -> int:
    """Routed-expert matmul parameters a token uses: experts_per_token of n_experts (0 for dense models)."""
    if spec.moe is None:
        return 0
    return sum(t.numel for t in weight_tensors(spec) if t.is_expert) // spec.moe.n_experts * spec.moe.experts_per_token


def moe_padding_flops(spec: ModelSpec, engine: Engine, *, tokens, step_tokens,
                      backend: str | None = None) -> np.ndarray | float:
    """FLOPs a prefill spends beyond the routed experts' own when the experts' matmuls run in whole tiles: a forward
    step of `step_tokens` tokens hands each expert m = step_tokens·k/E of them on average (even routing), and a tile
    of t rows does t rows' work however few it holds (profiles/efficiency.yaml moe_prefill_tile, read in the
    engine's kernels; llama.cpp's per backend); 0 for dense models, an empty step or where no kernel was read."""
    if spec.moe is None or (entry := moe_prefill_tile(engine, backend or ANY)) is None:
        return 0.0
    tile = entry.moe_prefill_tile
    m = np.asarray(step_tokens, dtype=float) * spec.moe.experts_per_token / spec.moe.n_experts
    padded = np.ceil(m / tile) * tile
    waste = np.divide(padded, m, out=np.ones_like(m), where=m > 0) - 1
    return 2.0 * _expert_matmul_params(spec) * np.asarray(tokens, dtype=float) * waste


def prefill_seconds(spec: ModelSpec, gpu: GPU, *, quant: str, kv_dtype: str, prompt, batch=1,
                    engine: Engine | None = None, cap_sliding: bool = True, backend: str | None = None,
                    efficiency: float | None = None, prefill_efficiency: float | None = None, split: int = 1,
                    stages: int = 1, build: int | None = None, attention: str = "sdpa",
                    n_ubatch: int = LLAMACPP_N_UBATCH, n_batch: int = LLAMACPP_N_BATCH):
    """Seconds to prefill `batch` prompts of `prompt` tokens: the time to first token. split: the work divides over
    that many tensor-parallel GPUs (their all-reduces are the caller's); stages: llama.cpp's layers split over that
    many GPUs, which pipeline its micro-batches (llamacpp_prefill_seconds) of n_ubatch tokens, n_batch at a time.
    attention "eager": the score matrices are materialized (transformers' eager path): their traffic replaces the
    fused kernel's attention FLOPs."""
    engine = engine or default_engine(quant, spec, gpu)
    tokens = np.asarray(batch) * np.asarray(prompt)
    weights = weight_bytes_read(spec, quant, tokens=tokens)
    kv = kv_cache_bytes(spec, context_len=prompt, batch=batch, kv_dtype=kv_dtype, cap_sliding=cap_sliding)
    if attention not in ("sdpa", "eager"):
        raise WorkloadError(f"attention must be 'sdpa' or 'eager', got {attention!r}")
    eager = attention == "eager"
    flops = matmul_flops(spec, quant, batch=batch, new=prompt) if eager else step_flops(spec, quant, batch=batch,
                                                                                        new=prompt, past=0)
    # llama.cpp runs a prompt in micro-batches of n_ubatch tokens; the others run it as one step
    step_tokens = np.minimum(tokens, min(n_ubatch, n_batch)) if engine == "llama.cpp" else tokens
    flops = flops + moe_padding_flops(spec, engine, tokens=tokens, step_tokens=step_tokens,
                                      backend=engine_backend(engine, gpu, backend))
    bandwidth = gpu.memory_bandwidth_bytes_per_s * memory_efficiency(gpu, quant, engine, spec, backend=backend,
                                                                     efficiency=efficiency)
    ubatch = min(n_ubatch, n_batch)
    peak = gpu.peak_flops(compute_dtype(quant, engine, gpu=gpu, backend=backend, build=build, ubatch=ubatch))
    if peak is None:
        return None  # prefill is compute-bound; without a FLOP/s figure there is no honest answer
    kernels = llamacpp_prefill_family(quant, gpu, backend, build, engine=engine, ubatch=ubatch)
    compute_s = flops / (peak * prefill_compute_efficiency(gpu, quant, engine, spec, backend=backend,
                                                           prefill_efficiency=prefill_efficiency,
                                                           prefill_family=kernels))
    if engine == "llama.cpp":  # the dequantize-then-GEMM path (cuBLAS, rocBLAS) first writes the weights as fp16
        dequant_s = llamacpp_dequant_bytes(spec, quant, tokens=tokens) / bandwidth if kernels == "float" else 0.0
        return llamacpp_prefill_seconds(compute_s, weights / bandwidth, kv / bandwidth, spec, engine, tokens=tokens,
                                        stages=stages, dequant_s=dequant_s, n_ubatch=n_ubatch, n_batch=n_batch,
                                        backend=engine_backend(engine, gpu, backend))
    if eager:
        compute_s = compute_s + eager_attention_seconds(spec, gpu, batch=batch, new=prompt)
    return step_seconds(np.maximum((weights + kv) / bandwidth, compute_s) / split, spec, engine, prefill=True,
                        quant=quant)


def _bridged(gpu: GPU) -> bool:
    """A two-card NVLink bridge (RTX 3090, RTX A6000, A100/H100 PCIe): it joins a pair of GPUs, no more."""
    return gpu.interconnect is not None and "bridge" in gpu.interconnect.name.lower()


def split_link(gpu: GPU, n: int = 2):
    """The link a split over n GPUs crosses: the interconnect (a two-card bridge only for two: over more, the ring
    crosses PCIe), else the host link; None where the catalog knows neither."""
    if gpu.interconnect is not None and not (_bridged(gpu) and n > 2):
        return gpu.interconnect
    return gpu.host_link


def link_bytes_per_s(gpu: GPU, n: int = 2) -> float:
    """GPU-to-GPU bandwidth one way over split_link, for a split over n GPUs: half the interconnect's (the catalog gives
    its total both ways, as NVIDIA states it: NVLink 4's 900 GB/s is 450 GB/s each way), of a full mesh (xGMI) the
    n − 1 links to the other GPUs; the host link's (given per direction); else UNKNOWN_LINK_BYTES_PER_S."""
    link = split_link(gpu, n)
    if link is None:
        return UNKNOWN_LINK_BYTES_PER_S
    if link is gpu.interconnect:
        return link.bytes_per_s / 2 * (min(n - 1, link.peers) / link.peers if link.peers else 1.0)
    return link.bytes_per_s


def allreduce_note(gpu: GPU, n: int, *, rccl: bool = False) -> str | None:
    """What a tensor-parallel split over n > 1 GPUs assumes of their link where a real machine may differ, and with
    rccl (the engine all-reduces through RCCL: planner.engines.vllm.vllm_custom_allreduce) the time a call takes;
    None otherwise (NVLink, NVSwitch and xGMI within one machine). Over PCIe only (no GPU-to-GPU link, or a two-card
    bridge and more than two GPUs), NCCL's all-reduce is bound by the host's CPU and memory rather than the link (an
    NCCL maintainer: 28 GB/s of bus bandwidth on 8 × RTX 5090 over PCIe 5.0, github.com/NVIDIA/nccl/issues/1639). Two
    bridged cards: planner assumes the bridge is fitted, which many such pairs lack. Past 8 GPUs a split crosses
    machines, whose network planner does not model."""
    if n < 2:
        return None
    link = _link_note(gpu, n)
    if not rccl:
        return link
    calls = ("each all-reduce goes through RCCL (this engine release has no all-reduce kernel of its own on this "
             f"GPU), taken at {RCCL_ALLREDUCE_LATENCY_S * 1e6:.0f} µs a call as AMD measured it on 8 × MI300X; "
             "published runs of vLLM 0.6 that way on 2-8 MI300X were 35-70 µs a call slower still, which planner does "
             "not explain: expect less speed than shown")
    return calls if link is None else f"{calls}; {link}"


def _link_note(gpu: GPU, n: int) -> str | None:
    rate = link_bytes_per_s(gpu, n) * ALLREDUCE_BUS_EFFICIENCY / 1e9
    library = "RCCL" if gpu.vendor == "amd" else "NCCL"
    if n > 8:
        return (f"a split over {n} GPUs crosses machines (InfiniBand or Ethernet between them), which planner does not "
                f"model: its all-reduces are taken at one machine's {rate:.1f} GB/s each way, so it may run slower")
    if _bridged(gpu) and n == 2:
        pcie = gpu.host_link.name if gpu.host_link else "the host"
        return (f"the 2 GPUs all-reduce over an {gpu.interconnect.name} at {rate:.1f} GB/s each way, assumed fitted; "
                f"without one they go over {pcie}, and a split over them runs slower")
    if gpu.interconnect is None and gpu.host_link is None:
        return (f"this GPU's links are not known: planner takes PCIe 4.0 x16 for them ({rate:.1f} GB/s each way for "
                "the all-reduces)")
    if gpu.interconnect is not None and not _bridged(gpu) and "pcie" not in gpu.interconnect.name.lower():
        return None
    over = gpu.host_link if _bridged(gpu) or gpu.interconnect is None else gpu.interconnect
    return (f"all-reduces over {over.name} taken at {rate:.1f} GB/s each way; on PCIe-only machines {library}'s rate "
            "is set by the host's CPU and memory (8 × RTX 5090 on PCIe 5.0: 28 GB/s, where the link alone would give "
            "51), so a split over them may run slower")


def tensor_parallel_seconds(spec: ModelSpec, gpu: GPU, *, quant: str, kv_dtype: str, context: int, prompt: int,
                            n: int, batch: int = 1, engine: Engine | None = None, cap_sliding: bool = True,
                            backend: str | None = None, efficiency: float | None = None,
                            prefill_efficiency: float | None = None, build: int | None = None,
                            latency: float = ALLREDUCE_LATENCY_S) -> tuple[float, float, float | None]:
    """(decode step, the all-reduces' share of it, time to first token) with every matrix split over `n` GPUs: each
    reads 1/n of the weights and its share of the KV heads (an MLA latent whole), and every layer all-reduces the
    batch's B·d activations twice (16-bit, ring: 2(n−1)/n of the data each way at the link's one-way rate less NCCL's
    protocol overhead, plus `latency` a call: ALLREDUCE_LATENCY_S, or RCCL_ALLREDUCE_LATENCY_S where the engine
    all-reduces through RCCL)."""
    engine = engine or default_engine(quant, spec, gpu)
    kv_share = 1.0 if spec.mla is not None else ceil(spec.n_kv_heads / n) / spec.n_kv_heads
    kv = kv_cache_bytes(spec, context_len=context, batch=batch, kv_dtype=kv_dtype, cap_sliding=cap_sliding)
    link = link_bytes_per_s(gpu, n) * ALLREDUCE_BUS_EFFICIENCY

    def allreduce(tokens):  # two a layer
        return 0.0 if n == 1 else 2 * spec.n_layers * (latency + 2 * (n - 1) / n * tokens * spec.d_model
                                                       * 2 / link)
    # every rank reads its 1/n of the weights, the matrices kept whole on every rank whole, and a whole KV head's
    # projections where n exceeds the KV heads
    read = (weight_bytes_read(spec, quant, tokens=batch) + (n - 1) * replicated_bytes(spec, quant)) / n \
        + kv_replica_bytes(spec, quant, n) + kv * kv_share
    eff = memory_efficiency(gpu, quant, engine, spec, backend=backend, efficiency=efficiency)
    comm = allreduce(batch)
    step = float(memory_step_seconds(read, gpu, eff, spec, engine, backend=backend, quant=quant)) + comm \
        + moe_split_seconds(spec, engine, n)
    ttft = prefill_seconds(spec, gpu, quant=quant, kv_dtype=kv_dtype, prompt=prompt, batch=batch, engine=engine,
                           cap_sliding=cap_sliding, backend=backend, efficiency=efficiency,
                           prefill_efficiency=prefill_efficiency, split=n, build=build)
    return step, comm, None if ttft is None else (float(ttft) + allreduce(batch * prompt) + moe_split_seconds(
        spec, engine, n) + moe_prefill_split_seconds(spec, engine, n))


def moe_prefill_split_seconds(spec: ModelSpec, engine: Engine, n: int) -> float:
    """The fixed time a prefill of a MoE model split over n > 1 GPUs takes beyond its FLOPs, bytes and per-expert time
    (profiles/efficiency.yaml moe_prefill_split_s, an engine's own entry; none for dense models, one GPU, or engines
    without one). SGLang's calibration runs of MoE models on 8 GPUs (5 sources) land ~0.1 s above planner's prefill
    whatever the prompt (DeepSeek-R1 on 8 × B200: 0.126–0.153 s at 610 tokens, 0.166 s at 4,194), served or not; the
    cause is not in planner's terms (the calibration half has no dense SGLang run on several GPUs to tell a MoE cost
    from a multi-GPU one), so the time is a measured constant, named. Applied from two GPUs, measured on eight; a
    check-half run of gpt-oss-120b on 8 × B200 (0.034 s in all) does not follow it."""
    if spec.moe is None or n == 1 or (entry := moe_prefill_split(engine)) is None:
        return 0.0
    return entry.moe_prefill_split_s


def moe_split_seconds(spec: ModelSpec, engine: Engine, n: int) -> float:
    """What a forward step's MoE layers add when split over n > 1 GPUs: MoE layers × routed experts × the fitted time
    per expert (profiles/efficiency.yaml moe_expert_overhead_s; none for dense models or one GPU). Per expert: the
    calibration half's latency-bound runs (DeepSeek-V3's 256 experts, Qwen3-Next's 512) and the MoE runs that are not
    (Mixtral's 8, whose whole measured step is shorter than 32 layers at DeepSeek-V3's per-layer time) both follow it;
    a time per layer, or per expert a token uses, predicts the calibration half's decode worse (8.2 %, 8.1 % against
    7.8 %)."""
    if spec.moe is None or n == 1 or (entry := moe_expert_overhead(engine)) is None:
        return 0.0
    return spec.n_moe_layers * spec.moe.n_experts * entry.moe_expert_overhead_s

