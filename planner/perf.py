"""Roofline speed: a step takes the longer of its compute time and its memory time.

Counted per step (batch B, context S):
  bytes   weights read once per step — routed experts only as many as the batch touches,
          E·(1 − (1 − k/E)^tokens) per MoE layer; the embedding table only for the rows looked up —
          plus the whole KV cache read by decode (sliding layers their window), written by prefill.
  FLOPs   2 per weight per token for every matmul (the lm_head included), plus attention:
          4·heads·head_dim per (query, attended key) pair; MLA per pair 2·heads·(2·kv_lora + rope).
time = max(FLOPs / (peak · η_compute), bytes / (bandwidth · η_memory)).

The η are named constants below, each with the calibration it came from. Only ../shared/reference-data.md
and our own measurements calibrate them; published runs outside that list check them (README).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from math import ceil

import numpy as np

from .efficiency import (
    decode_floor,
    efficiencies,
    layer_overhead,
    moe_expert_overhead,
    moe_prefill_tile,
    prefill_layer_overhead,
)
from .errors import WorkloadError, shown
from .gpus import GPU
from .kv import kv_cache_bytes
from .quant.catalog import get_quant
from .spec import STATE_ONLY_KINDS, ModelSpec
from .tensors import weight_tensors
from .weights import stored_tensors

Engine = str  # a speed engine of planner.efficiency.SPEED_ENGINES

# Decode memory efficiency and prefill compute efficiency per engine, backend, weight family and GPU class live in
# profiles/efficiency.yaml (planner/efficiency.py), each with its derivation and sources.

# Share of peak reached by decode's skinny matmuls when a large batch makes them compute-bound. Prior, as above.
DECODE_COMPUTE_EFFICIENCY = 0.5

# Tensor-parallel all-reduce: a fixed latency per call plus ring transfer time. Assumed, not calibrated.
ALLREDUCE_LATENCY_S = 10e-6


def memory_efficiency(gpu: GPU, quant: str, engine: Engine, spec: ModelSpec | None = None, *,
                      backend: str | None = None, efficiency: float | None = None) -> float:
    """Share of datasheet bandwidth a decode step reaches: `efficiency` if given, else the table's entry."""
    if efficiency is not None:
        return _own("efficiency", efficiency)
    return efficiencies(gpu, quant, engine, spec, backend=backend)[0].decode_memory


def prefill_compute_efficiency(gpu: GPU, quant: str, engine: Engine, spec: ModelSpec | None = None, *,
                       backend: str | None = None, prefill_efficiency: float | None = None) -> float:
    if prefill_efficiency is not None:
        return _own("prefill_efficiency", prefill_efficiency)
    return efficiencies(gpu, quant, engine, spec, backend=backend)[1].prefill_compute


def _own(name: str, value) -> float:
    """A user's own efficiency for one run: a share in (0, 1]."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= 1:
        raise WorkloadError(f"{name} must be a share of the datasheet figure in (0, 1], got {shown(value)}")
    return float(value)


def default_engine(quant: str, spec: ModelSpec | None = None) -> Engine:
    """GGUF runs in llama.cpp; everything else in a compiled engine of the vLLM class."""
    if get_quant(quant).name == "checkpoint" and spec is not None and spec.checkpoint is not None:
        return "llama.cpp" if spec.checkpoint.format == "gguf" else "vllm"
    return "llama.cpp" if get_quant(quant).is_gguf else "vllm"


def compute_dtype(quant: str, engine: Engine = "vllm") -> str:
    """The dtype matmuls run in: fp8 checkpoints on fp8 tensor cores, fp32 in fp32, the rest in 16-bit.

    llama.cpp's CUDA backend runs its large matmuls through cuBLAS in fp16 with fp16 accumulation
    (CUBLAS_COMPUTE_16F; quantized weights are dequantized to fp16 first), which GeForce cards execute at
    twice their fp32-accumulate tensor rate (catalog key fp16_acc16; other GPUs fall back to fp16).
    """
    name = get_quant(quant).name
    if engine == "llama.cpp" and name not in ("fp32", "gguf-f32"):
        return "fp16_acc16"
    return {"fp8": "fp8", "fp8-block": "fp8", "fp32": "fp32", "fp16": "fp16", "f16": "fp16"}.get(name, "bf16")


@dataclass(frozen=True)
class _WeightSplit:
    dense: int        # bytes read every step (all but experts and the embedding table)
    experts: int      # bytes of all routed experts
    embedding: int    # bytes of the token-embedding table when it is not also the lm_head
    matmul_params: int  # parameters in matmuls per token (routed experts: k of E)


@lru_cache(maxsize=4096)
def _weight_split(spec: ModelSpec, quant: str) -> _WeightSplit:
    dense = experts = embedding = 0
    for t in stored_tensors(spec, quant):
        if t.is_routed_expert:
            experts += t.nbytes
        elif t.group == "embedding" and not spec.tie_embeddings:
            embedding += t.nbytes
        else:
            dense += t.nbytes
    matmul = spec.active_param_count - (0 if spec.tie_embeddings else spec.vocab_size * spec.d_model)
    return _WeightSplit(dense, experts, embedding, matmul)


def experts_touched_fraction(spec: ModelSpec, tokens) -> np.ndarray | float:
    """Expected share of routed experts a step with `tokens` tokens reads: 1 − (1 − k/E)^tokens."""
    if spec.moe is None:
        return 0.0
    return 1.0 - (1.0 - spec.moe.experts_per_token / spec.moe.n_experts) ** np.asarray(tokens, dtype=float)


def weight_bytes_read(spec: ModelSpec, quant: str, *, tokens) -> np.ndarray | float:
    """Weight bytes one forward step over `tokens` tokens reads."""
    w = _weight_split(spec, quant)
    rows = np.minimum(np.asarray(tokens, dtype=float), spec.vocab_size) / spec.vocab_size
    return w.dense + w.experts * experts_touched_fraction(spec, tokens) + w.embedding * rows


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
    w = _weight_split(spec, quant)
    tokens = np.asarray(batch, dtype=float) * np.asarray(new, dtype=float)
    return 2.0 * w.matmul_params * tokens + np.asarray(batch, dtype=float) * _attention_flops_per_pair(spec) * \
        _attended_pairs(spec, new=new, past=past)


def decode_seconds_per_token(spec: ModelSpec, gpu: GPU, *, quant: str, kv_dtype: str, context, batch=1,
                             engine: Engine | None = None, cap_sliding: bool = True, backend: str | None = None,
                             efficiency: float | None = None):
    """Seconds per decode step (each of `batch` sequences gets one token) with `context` tokens cached."""
    engine = engine or default_engine(quant, spec)
    bytes_ = weight_bytes_read(spec, quant, tokens=batch) + kv_cache_bytes(
        spec, context_len=context, batch=batch, kv_dtype=kv_dtype, cap_sliding=cap_sliding)
    flops = step_flops(spec, quant, batch=batch, new=1, past=context)
    eff = memory_efficiency(gpu, quant, engine, spec, backend=backend, efficiency=efficiency)
    work = bytes_ / (gpu.memory_bandwidth_bytes_per_s * eff)
    peak = gpu.peak_flops(compute_dtype(quant, engine))
    if peak is not None:  # without datasheet FLOP/s, decode is memory-bound at batch 1 and the memory time stands
        work = np.maximum(work, flops / (peak * DECODE_COMPUTE_EFFICIENCY))
    return step_seconds(work, spec, engine)


def memory_step_seconds(bytes_, gpu: GPU, eff: float, spec: ModelSpec, engine: Engine):
    """A step that moves `bytes_` at `eff` of the GPU's bandwidth (step_seconds adds the engine's layer costs)."""
    return step_seconds(bytes_ / (gpu.memory_bandwidth_bytes_per_s * eff), spec, engine)


def step_seconds(work_s, spec: ModelSpec, engine: Engine, *, prefill: bool = False):
    """One forward step whose bytes and FLOPs take `work_s` on the GPU, as the engine runs it (prefill: a whole
    prompt, or one of llama.cpp's micro-batches).

    Eager engines launch every kernel from Python: the step lasts at least their layer floor, and the GPU's work
    hides under it or the floor under the work. Graph-launched and compiled engines add a fixed time per layer to
    whatever the work takes (short kernels and synchronisation that a byte or FLOP count does not see), a prefill
    step its own where one was fitted. All per-layer figures are fitted on the calibration half
    (profiles/efficiency.yaml)."""
    return np.maximum(work_s, layer_floor_seconds(spec, engine)) + layer_overhead_seconds(spec, engine,
                                                                                          prefill=prefill)


def layer_floor_seconds(spec: ModelSpec, engine: Engine) -> float:
    """An eager engine's least step time: layers × its per-layer floor (profiles/efficiency.yaml); else 0."""
    floor = decode_floor(engine)
    return spec.n_layers * floor.decode_floor_s_per_layer if floor is not None else 0.0


def layer_overhead_seconds(spec: ModelSpec, engine: Engine, *, prefill: bool = False) -> float:
    """A non-eager engine's time added to every step: layers × its per-layer overhead (a prefill step's where one was
    fitted: prefill_layer_overhead_s, else the decode step's); 0 for eager engines."""
    if prefill and (entry := prefill_layer_overhead(engine)) is not None:
        return spec.n_layers * entry.prefill_layer_overhead_s
    entry = layer_overhead(engine)
    return spec.n_layers * entry.layer_overhead_s if entry is not None else 0.0


@lru_cache(maxsize=1024)
def _expert_matmul_params(spec: ModelSpec) -> int:
    """Routed-expert matmul parameters a token uses: experts_per_token of n_experts (0 for dense models)."""
    if spec.moe is None:
        return 0
    return sum(t.numel for t in weight_tensors(spec) if t.is_expert) // spec.moe.n_experts * spec.moe.experts_per_token


def moe_padding_flops(spec: ModelSpec, engine: Engine, *, tokens, step_tokens) -> np.ndarray | float:
    """FLOPs a prefill spends beyond the routed experts' own when the experts' matmuls run in whole tiles: a forward
    step of `step_tokens` tokens hands each expert m = step_tokens·k/E of them on average (even routing), and a tile
    of t rows does t rows' work however few it holds (profiles/efficiency.yaml moe_prefill_tile, chosen on the
    calibration half's time to first token); 0 for dense models, an empty step or where no tile was fitted."""
    if spec.moe is None or (entry := moe_prefill_tile(engine)) is None:
        return 0.0
    tile = entry.moe_prefill_tile
    m = np.asarray(step_tokens, dtype=float) * spec.moe.experts_per_token / spec.moe.n_experts
    padded = np.ceil(m / tile) * tile
    waste = np.divide(padded, m, out=np.ones_like(m), where=m > 0) - 1
    return 2.0 * _expert_matmul_params(spec) * np.asarray(tokens, dtype=float) * waste


def prefill_seconds(spec: ModelSpec, gpu: GPU, *, quant: str, kv_dtype: str, prompt, batch=1,
                    engine: Engine | None = None, cap_sliding: bool = True, backend: str | None = None,
                    efficiency: float | None = None, prefill_efficiency: float | None = None, split: int = 1,
                    stages: int = 1):
    """Seconds to prefill `batch` prompts of `prompt` tokens: the time to first token. split: the work divides over
    that many tensor-parallel GPUs (their all-reduces are the caller's); stages: llama.cpp's layers split over that
    many GPUs, which pipeline its micro-batches (llamacpp_prefill_seconds)."""
    engine = engine or default_engine(quant, spec)
    tokens = np.asarray(batch) * np.asarray(prompt)
    weights = weight_bytes_read(spec, quant, tokens=tokens)
    kv = kv_cache_bytes(spec, context_len=prompt, batch=batch, kv_dtype=kv_dtype, cap_sliding=cap_sliding)
    flops = step_flops(spec, quant, batch=batch, new=prompt, past=0)
    # llama.cpp runs a prompt in micro-batches of n_ubatch tokens; the others run it as one step
    step_tokens = np.minimum(tokens, LLAMACPP_N_UBATCH) if engine == "llama.cpp" else tokens
    flops = flops + moe_padding_flops(spec, engine, tokens=tokens, step_tokens=step_tokens)
    bandwidth = gpu.memory_bandwidth_bytes_per_s * memory_efficiency(gpu, quant, engine, spec, backend=backend,
                                                                     efficiency=efficiency)
    peak = gpu.peak_flops(compute_dtype(quant, engine))
    if peak is None:
        return None  # prefill is compute-bound; without a FLOP/s figure there is no honest answer
    compute_s = flops / (peak * prefill_compute_efficiency(gpu, quant, engine, spec, backend=backend,
                                                           prefill_efficiency=prefill_efficiency))
    if engine == "llama.cpp":
        return llamacpp_prefill_seconds(compute_s, weights / bandwidth, kv / bandwidth, spec, engine, tokens=tokens,
                                        stages=stages)
    return step_seconds(np.maximum((weights + kv) / bandwidth, compute_s) / split, spec, engine, prefill=True)


def link_bytes_per_s(gpu: GPU) -> float:
    """GPU-to-GPU bandwidth: the interconnect's, else the host link's, else 1 GB/s."""
    return gpu.interconnect.bytes_per_s if gpu.interconnect else (gpu.host_link.bytes_per_s if gpu.host_link else 1e9)


def tensor_parallel_seconds(spec: ModelSpec, gpu: GPU, *, quant: str, kv_dtype: str, context: int, prompt: int,
                            n: int, batch: int = 1, engine: Engine | None = None, cap_sliding: bool = True,
                            backend: str | None = None, efficiency: float | None = None,
                            prefill_efficiency: float | None = None) -> tuple[float, float, float | None]:
    """(decode step, the all-reduces' share of it, time to first token) with every matrix split over `n` GPUs: each
    reads 1/n of the weights and its share of the KV heads (an MLA latent whole), and every layer all-reduces the
    batch's B·d activations twice (16-bit, ring: 2(n−1)/n of the data each way, plus a fixed latency a call)."""
    engine = engine or default_engine(quant, spec)
    kv_share = 1.0 if spec.mla is not None else ceil(spec.n_kv_heads / n) / spec.n_kv_heads
    kv = kv_cache_bytes(spec, context_len=context, batch=batch, kv_dtype=kv_dtype, cap_sliding=cap_sliding)
    link = link_bytes_per_s(gpu)

    def allreduce(tokens):  # two a layer
        return 0.0 if n == 1 else 2 * spec.n_layers * (ALLREDUCE_LATENCY_S + 2 * (n - 1) / n * tokens * spec.d_model
                                                       * 2 / link)
    read = weight_bytes_read(spec, quant, tokens=batch) / n + kv * kv_share
    eff = memory_efficiency(gpu, quant, engine, spec, backend=backend, efficiency=efficiency)
    comm = allreduce(batch)
    step = float(memory_step_seconds(read, gpu, eff, spec, engine)) + comm + moe_split_seconds(spec, engine, n)
    ttft = prefill_seconds(spec, gpu, quant=quant, kv_dtype=kv_dtype, prompt=prompt, batch=batch, engine=engine,
                           cap_sliding=cap_sliding, backend=backend, efficiency=efficiency,
                           prefill_efficiency=prefill_efficiency, split=n)
    return step, comm, None if ttft is None else float(ttft) + allreduce(batch * prompt) + moe_split_seconds(
        spec, engine, n)


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


# llama.cpp hands a prompt to llama_decode in batches of n_batch tokens and runs each batch as micro-batches of
# n_ubatch tokens (defaults 2048 and 512, common/common.h). Each micro-batch is a forward pass of its own: it reads the
# weights and pays the layers' overhead again. With the layers split over GPUs (-sm layer, all offloaded) the
# scheduler keeps up to GGML_SCHED_MAX_COPIES micro-batches of a batch in flight, each on a different GPU (default 4,
# ggml/CMakeLists.txt: "max input copies for pipeline parallelism"; llama.cpp PR #6017, March 2024). Batches do not
# overlap.
LLAMACPP_N_BATCH, LLAMACPP_N_UBATCH, LLAMACPP_MAX_COPIES = 2048, 512, 4


def llamacpp_prefill_seconds(compute_s, weights_s, kv_s, spec: ModelSpec, engine: Engine, *, tokens, stages: int = 1):
    """llama.cpp's prefill of `tokens` tokens: compute_s of FLOPs, weights_s to read the weights once and kv_s to
    write the cache, all on one GPU; run in micro-batches, pipelined over `stages` GPUs that hold consecutive layers.
    A stage-time is one micro-batch's time through all layers ÷ stages; a batch of u micro-batches takes
    pipeline_steps(u, stages) of them."""
    tokens = np.asarray(tokens, dtype=float)
    ubatches = np.ceil(tokens / LLAMACPP_N_UBATCH)
    per_ubatch = step_seconds(np.maximum(weights_s + kv_s / ubatches, compute_s / ubatches), spec, engine,
                              prefill=True)
    full, rest = np.floor(tokens / LLAMACPP_N_BATCH), np.mod(tokens, LLAMACPP_N_BATCH)
    steps = full * pipeline_steps(LLAMACPP_N_BATCH // LLAMACPP_N_UBATCH, stages) + np.where(
        rest > 0, pipeline_steps(np.ceil(rest / LLAMACPP_N_UBATCH), stages), 0.0)
    return per_ubatch / stages * steps


def pipeline_steps(ubatches, stages: int, copies: int = LLAMACPP_MAX_COPIES):
    """Stage-times for `ubatches` micro-batches through `stages` stages with `copies` of them in flight at most.
    Micro-batch j enters the first stage one stage-time after j − 1, and not before micro-batch j − copies has left
    the last; the last one leaves `stages` stage-times after it entered."""
    last = np.asarray(ubatches, dtype=float) - 1
    if stages <= copies:  # a copy is back before it is needed
        return last + stages
    return np.floor(last / copies) * stages + np.mod(last, copies) + stages


# Host RAM bandwidth used for offloaded layers, and the share of it a CPU matmul reaches. Assumed: dual-channel
# DDR5-4800, 2 × 8 B × 4.8e9 = 76.8 GB/s (JEDEC DDR5); efficiency not calibrated (no offload run in the
# calibration set).
HOST_RAM_BYTES_PER_S = 76.8e9
HOST_MEMORY_EFFICIENCY = 0.6


def offload_seconds_per_token(spec: ModelSpec, g: GPU, *, quant: str, kv_total: int, n_gpu_layers: int,
                              host_bytes_per_s: float = HOST_RAM_BYTES_PER_S, batch: int = 1,
                              cpu_moe_layers: int = 0, engine: Engine | None = None, efficiency: float | None = None,
                              full_step: float | None = None) -> float:
    """One decode step with llama.cpp's placement: the last `n_gpu_layers` layers on the GPU (the output too when
    n_gpu_layers > n_layers), the routed experts of the first `cpu_moe_layers` layers in system RAM (--n-cpu-moe),
    the rest in system RAM. What system RAM holds is read there instead of on the GPU: the step is the all-on-GPU
    step (`full_step`, else the GPU's memory step for the same bytes) plus, for those bytes, the host's time less the
    GPU's. Of a MoE model's routed experts each side reads the share a step of `batch` tokens touches; the embedding
    table is only looked up, not read whole (tied, it is the lm_head and read)."""
    from .weights import gpu_first_layer, stored_tensors

    engine = engine or default_engine(quant, spec)
    touched = float(experts_touched_fraction(spec, batch))
    first, output_on_gpu = gpu_first_layer(spec.n_layers, n_gpu_layers), n_gpu_layers > spec.n_layers
    everything = host = 0.0
    for t in stored_tensors(spec, quant):
        if t.group == "embedding" and not spec.tie_embeddings:
            continue  # looked up, not read
        read = t.nbytes * (touched if t.is_routed_expert else 1.0)
        everything += read
        if t.layer is None:
            on_gpu = output_on_gpu
        else:
            on_gpu = t.layer >= first and not (t.is_routed_expert and t.layer < cpu_moe_layers)
        host += 0.0 if on_gpu else read
    kv_host = round(kv_total / spec.n_layers * min(first, spec.n_layers))
    eff = memory_efficiency(g, quant, engine, spec, efficiency=efficiency)
    gpu_rate = g.memory_bandwidth_bytes_per_s * eff
    if full_step is None:
        full_step = float(memory_step_seconds(everything + kv_total, g, eff, spec, engine))
    return full_step + (host + kv_host) * (1 / (host_bytes_per_s * HOST_MEMORY_EFFICIENCY) - 1 / gpu_rate)
