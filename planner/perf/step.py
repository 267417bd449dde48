"""Step costs shared by every speed model: bytes a step reads, the engine's per-step and per-layer time, and the
efficiency lookups (profiles/efficiency.yaml)."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache
from math import ceil

import numpy as np

from ..efficiency import (
    ANY,
    efficiencies,
    engine_backend,
    floor_seconds_per_layer,
    layer_overhead,
    prefill_layer_overhead,
)
from ..errors import WorkloadError, shown
from ..gpus import GPU
from ..quant.catalog import base_name, get_quant, is_gguf_weights
from ..spec import ModelSpec
from ..tensors import vision_param_count
from ..weights import stored_tensors, tp_matrix_share, tp_replicated

Engine = str  # a speed engine of planner.efficiency.SPEED_ENGINES


# Decode memory efficiency and prefill compute efficiency per engine, backend, weight family and GPU class live in
# profiles/efficiency.yaml (planner/efficiency/), each with its derivation and sources.

def memory_efficiency(gpu: GPU, quant: str, engine: Engine, spec: ModelSpec | None = None, *,
                      backend: str | None = None, efficiency: float | None = None) -> float:
    """Share of datasheet bandwidth a decode step reaches: `efficiency` if given, else the table's entry."""
    if efficiency is not None:
        return _own("efficiency", efficiency)
    return efficiencies(gpu, quant, engine, spec, backend=backend)[0].decode_memory


def prefill_compute_efficiency(gpu: GPU, quant: str, engine: Engine, spec: ModelSpec | None = None, *,
                       backend: str | None = None, prefill_efficiency: float | None = None,
                       prefill_family: str | None = None) -> float:
    if prefill_efficiency is not None:
        return _own("prefill_efficiency", prefill_efficiency)
    return efficiencies(gpu, quant, engine, spec, backend=backend, prefill_family=prefill_family)[1].prefill_compute


# The smallest own efficiency taken: 1 % of a datasheet figure. The lowest entry of profiles/efficiency.yaml is an
# order of magnitude above it; a share below it is a typo (1e-3 for 1e-1), whose times would read as hours.
MIN_OWN_EFFICIENCY = 0.01


def _own(name: str, value) -> float:
    """A user's own efficiency for one run: a share in [MIN_OWN_EFFICIENCY, 1]."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not MIN_OWN_EFFICIENCY <= value <= 1:
        raise WorkloadError(f"{name} must be a share of the datasheet figure from {MIN_OWN_EFFICIENCY:g} to 1, got "
                            f"{shown(value)}")
    return float(value)


# The weight formats MLX runs: 16- and 32-bit floats and mlx.core.quantize's modes, "affine" (2-8 bits in groups of
# 32, 64 or 128, a scale and a bias each: the catalog's int4 and int8 formats stand for it), "mxfp4", "mxfp8" and
# "nvfp4" (https://ml-explore.github.io/mlx/build/html/python/_autosummary/mlx.core.quantize.html). Formats made for
# CUDA kernels (AWQ, GPTQ, EXL2, bitsandbytes, per-tensor or block fp8) have none on an Apple GPU: mlx_lm.convert
# quantizes the 16-bit weights into its own formats instead.
MLX_FORMATS = ("fp32", "fp16", "bf16", "mxfp4", "mxfp8", "nvfp4")
MLX_FORMAT_PREFIXES = ("int4", "int8", "mlx-")
# The format an Apple GPU runs where fit() is asked for int4 or int8: MLX's own (mlx_lm convert -q,
# groups of 64, embeddings and output layer quantized), what mlx-community publishes
APPLE_EQUIVALENT = {"int4": "mlx-4bit", "int8": "mlx-8bit"}


def apple_formats(quants, gpu) -> tuple[str, ...]:
    """`quants` as an Apple GPU runs them (APPLE_EQUIVALENT); on any other GPU as they are."""
    if getattr(gpu, "vendor", None) != "apple":
        return tuple(quants)
    return tuple(dict.fromkeys(APPLE_EQUIVALENT.get(q, q) for q in quants))


def apple_runnable(quants, gpu, spec: ModelSpec | None = None) -> tuple[tuple[str, ...], list[str]]:
    """A default list of formats on `gpu`: (those a runtime there loads, as apple_formats names them; the catalog
    names of those it leaves out). Any other GPU keeps them all."""
    if getattr(gpu, "vendor", None) != "apple":
        return tuple(quants), []
    named = apple_formats(quants, gpu)
    return (tuple(q for q in named if apple_runs_format(q, spec)),
            [get_quant(q).name for q in named if not apple_runs_format(q, spec)])


def apple_runs_format(quant: str, spec: ModelSpec | None = None) -> bool:
    """Whether a runtime on an Apple GPU loads `quant` weights: GGUF in llama.cpp's Metal backend, MLX's own formats
    (MLX_FORMATS) in MLX; a model file's own tensors ("checkpoint") are taken as loadable."""
    name = base_name(quant)
    return is_gguf_weights(quant, spec) or name in (*MLX_FORMATS, "checkpoint") or name.startswith(MLX_FORMAT_PREFIXES)


def default_engine(quant: str, spec: ModelSpec | None = None, gpu=None) -> Engine:
    """GGUF runs in llama.cpp; bitsandbytes weights (nf4, fp4, bnb-int8) in transformers, their own library's home
    (today's vLLM dropped them in 0.28); everything else in a compiled engine of the vLLM class (SGLang for a model
    vLLM no longer runs), or on an Apple GPU (where vLLM has no Metal backend) in MLX."""
    if is_gguf_weights(quant, spec):
        return "llama.cpp"
    if getattr(gpu, "vendor", None) == "apple" or base_name(quant).startswith("mlx-"):
        return "mlx"  # MLX's own formats run in MLX (its CUDA backend too), nothing else loads them
    from ..engines.vllm.releases import BITSANDBYTES_QUANTS, VLLM_REMOVED

    if base_name(quant) in BITSANDBYTES_QUANTS:
        return "transformers"
    # a model today's vLLM no longer runs (Phi-3-small): SGLang
    return "sglang" if spec is not None and spec.model_type in VLLM_REMOVED else "vllm"


@dataclass(frozen=True)
class _WeightSplit:
    dense: int        # bytes read every step (all but experts and the embedding table)
    experts: int      # bytes of all routed experts
    embedding: int    # bytes of the token-embedding table when it is not also the lm_head
    matmul_params: int  # parameters in matmuls per token (routed experts: k of E)
    replicated: int   # bytes of the dense ones tensor parallelism keeps whole on every rank (weights.tp_replicated)


@lru_cache(maxsize=4096)
def _weight_split(spec: ModelSpec, quant: str) -> _WeightSplit:
    dense = experts = embedding = replicated = 0
    for t in stored_tensors(spec, quant):
        if t.group == "vision":  # an image encoder runs once per image, before the prefill: no step reads it
            continue
        if t.is_routed_expert:
            experts += t.nbytes
        elif t.group == "embedding" and not spec.tie_embeddings:
            embedding += t.nbytes
        else:
            dense += t.nbytes
            replicated += t.nbytes if t.is_matrix and tp_replicated(t) else 0
    matmul = spec.active_param_count - (0 if spec.tie_embeddings else spec.vocab_size * spec.d_model) \
        - vision_param_count(spec)
    return _WeightSplit(dense, experts, embedding, matmul, replicated)


def replicated_bytes(spec: ModelSpec, quant: str) -> int:
    """Weight bytes a step reads whole on every tensor-parallel rank: MLA's down-projections and MoE routers."""
    return _weight_split(spec, quant).replicated


@lru_cache(maxsize=4096)
def kv_replica_bytes(spec: ModelSpec, quant: str, n: int) -> int:
    """Weight bytes a step on one of `n` tensor-parallel ranks reads beyond 1/n of the key and value projections:
    where n exceeds the KV heads each rank holds a whole KV head (weights.tp_matrix_share); 0 otherwise."""
    if n <= spec.n_kv_heads or spec.mla is not None:
        return 0
    extra = sum(t.nbytes * (tp_matrix_share(t, spec, n) - Fraction(1, n)) for t in stored_tensors(spec, quant)
                if t.is_matrix and not t.is_routed_expert and t.group != "vision" and not tp_replicated(t))
    return ceil(extra)


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


def memory_step_seconds(bytes_, gpu: GPU, eff: float, spec: ModelSpec, engine: Engine, *,
                        backend: str | None = None, quant: str | None = None):
    """A step that moves `bytes_` at `eff` of the GPU's bandwidth (step_seconds adds the engine's layer costs)."""
    return step_seconds(bytes_ / (gpu.memory_bandwidth_bytes_per_s * eff), spec, engine,
                        backend=engine_backend(engine, gpu, backend), quant=quant)


def step_seconds(work_s, spec: ModelSpec, engine: Engine, *, prefill: bool = False, backend: str = ANY,
                 quant: str | None = None):
    """One forward step whose bytes and FLOPs take `work_s` on the GPU, as the engine runs it (prefill: a whole
    prompt, or one of llama.cpp's micro-batches).

    Eager engines launch every kernel from Python: the step lasts at least their layer floor, and the GPU's work
    hides under it or the floor under the work. Graph-launched and compiled engines add a fixed time per layer to
    whatever the work takes (short kernels and synchronisation that a byte or FLOP count does not see), a prefill
    step its own where one was fitted; llama.cpp's per `backend` where its runs gave one (Metal encodes every
    step's command buffers anew, CUDA replays a graph). All per-layer figures are fitted on the calibration half
    (profiles/efficiency.yaml). quant: the weights' format, whose kernels may have a floor of their own
    (planner.efficiency.FLOOR_KERNELS)."""
    return np.maximum(work_s, layer_floor_seconds(spec, engine, quant)) + layer_overhead_seconds(spec, engine,
                                                                                          prefill=prefill,
                                                                                          backend=backend)


def layer_floor_seconds(spec: ModelSpec, engine: Engine, quant: str | None = None) -> float:
    """An eager engine's least step time: layers × its per-layer floor for the kernels that run `quant`
    (profiles/efficiency.yaml); else 0."""
    floor = floor_seconds_per_layer(engine, quant)
    return spec.n_layers * floor if floor is not None else 0.0


def layer_overhead_seconds(spec: ModelSpec, engine: Engine, *, prefill: bool = False, backend: str = ANY) -> float:
    """A non-eager engine's time added to every step: layers × its per-layer overhead (a prefill step's where one was
    fitted: prefill_layer_overhead_s, else the decode step's; llama.cpp's for its `backend`); 0 for eager engines."""
    if prefill and (entry := prefill_layer_overhead(engine, backend)) is not None:
        return spec.n_layers * entry.prefill_layer_overhead_s
    entry = layer_overhead(engine, backend)
    return spec.n_layers * entry.layer_overhead_s if entry is not None else 0.0


def serving_step_seconds(step_s: float, prefill_s: float, batch: int, output_tokens: int) -> float:
    """A decode step's time per request in a steady stream of `batch` concurrent requests that each generate
    `output_tokens`: every slot finishes a request and takes a new one every `output_tokens` steps, whose prompt must
    be prefilled, so each step also carries on average (batch − 1) / batch of the batch's prefill (`prefill_s`, all
    `batch` prompts together) over `output_tokens` steps — a request's own prefill is its time to first token, not
    part of its decode steps. Taken at the prefill's full time, as an engine without chunked prefill stalls its
    decodes for it; chunked prefill hides part of it under the memory-bound decode, so this is the slower end."""
    return step_s + (batch - 1) / batch * prefill_s / output_tokens


def serving_stream(step_s: float | None, prefill_s: float | None, batch: int, prompt: int,
                   context: int) -> tuple[int, float] | None:
    """(tokens each request generates, its decode tokens/s) in a steady stream of `batch` requests of `prompt` tokens
    that each fill `context` (serving_step_seconds; `prefill_s`: all `batch` prompts together, as the caller's time to
    first token counts them); None for one request, a prompt that fills the context, or a figure that is missing."""
    if batch == 1 or prompt >= context or step_s is None or prefill_s is None:
        return None
    return context - prompt, 1 / serving_step_seconds(step_s, prefill_s, batch, context - prompt)
