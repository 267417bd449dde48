"""Beyond one GPU: tensor- and pipeline-parallel splits over N GPUs, and llama.cpp-style CPU offload.

Tensor parallel (Megatron style, as vLLM does it): every matrix is split N ways (attention by heads,
MLP by columns, embedding and lm_head by vocabulary); norms and biases are replicated. Each GPU keeps
ceil(n_kv_heads / N) KV heads (heads are replicated when N exceeds them; an MLA latent is replicated
whole). Per layer, two all-reduces of the B·T·d activations cross the interconnect.
Pipeline parallel: contiguous layer stages; the first stage also holds the embedding, the last the
lm_head and final norm; at batch 1 the stages run one after another, so decode is not faster.
CPU offload: the first `gpu_layers` layers in device memory, the rest (and the embedding table, as
llama.cpp keeps it) in system RAM, read at the host's memory bandwidth each token.
"""

from __future__ import annotations

from math import ceil
from typing import Literal

from pydantic import BaseModel, ConfigDict

from .activations import decode_activation_bytes, tp_shard
from .checks import positive_float, prompt_tokens
from .efficiency import efficiency_keys, request_seconds, typical_errors, with_serving_error
from .errors import LayoutError, WorkloadError, shown
from .footprint import resolve_workload, workload_bytes
from .gpus import GPU, load_gpu
from .layout import check_quant_shards, check_tensor_parallel
from .limits import MAX_GPUS
from .overhead import overhead_bytes
from .perf import (
    ALLREDUCE_LATENCY_S,
    HOST_RAM_BYTES_PER_S,
    RCCL_ALLREDUCE_LATENCY_S,
    allreduce_note,
    decode_seconds_per_token,
    default_engine,
    llamacpp_prefill_family,
    offload_seconds_per_token,
    prefill_seconds,
    serving_stream,
    tensor_parallel_seconds,
)
from .profiles import load_model
from .spec import ModelSpec
from .weights import offload_split, stage_weights, weights_bytes

Mode = Literal["tp", "pp"]


class ParallelPlan(BaseModel):
    """Per-GPU memory and speed of one model split over `n_gpus` GPUs."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    model: str
    gpu: str
    n_gpus: int
    mode: Mode
    quant: str
    kv_dtype: str
    context: int
    batch: int
    per_gpu: dict[str, int]  # weights_bytes, kv_cache_bytes, activation_bytes, overhead_bytes, total_bytes
    fits: bool
    headroom_bytes: int
    decode_seconds_per_token: float
    communication_seconds_per_token: float
    decode_tokens_per_s: float
    prefill_seconds: float | None = None
    efficiency_entries: dict[str, str] = {}  # efficiency.yaml entries behind decode, prefill ("yours"), per-layer time
    typical_error: dict[str, float] = {}  # decode / ttft (/ serving): published runs' median |error| (typical_errors)
    engine_loop_seconds: float = 0.0  # the engine loop's host time in every step (vLLM's V0 engine), included above
    output_lag_seconds: float = 0.0  # the decode step the first token waits for (vLLM V0's async output), included
    request_overhead_seconds: float | None = None  # a served request's latency on top of prefill_seconds
    allreduce_note: str | None = None  # what a tensor split assumes of a link a real machine may not match
    output_tokens: int | None = None  # context − prompt where the batch serves requests (batch > 1, a shorter prompt)
    serving_decode_tokens_per_s: float | None = None  # per request in that stream (perf.serving_step_seconds)


def _tp_weights(spec: ModelSpec, quant: str, n: int) -> int:
    return stage_weights(spec, quant, [spec.n_layers], tp=n)[0]


def _pp_weights(spec: ModelSpec, quant: str, n: int) -> int:
    """The heaviest stage: layers split as evenly as possible, embedding on the first, lm_head on the last."""
    bounds = [round(i * spec.n_layers / n) for i in range(n + 1)]
    return max(stage_weights(spec, quant, [bounds[s + 1] - bounds[s] for s in range(n)]))


def check_layout(spec: ModelSpec, gpu: GPU, n_gpus: int, mode: str) -> None:
    """Refuse a layout as vLLM would, naming the rule; LayoutError says why.

    Tensor parallel (vllm/config/parallel.py, model_executor/layers/linear.py, 0.11): query heads must divide
    by the TP size ("Total number of attention heads (…) must be divisible by tensor parallel size (…)"); KV
    heads must divide by it, or, when fewer, divide it (each is then replicated); every column-split matrix
    must split evenly (`divide()` asserts): the MLP's and each expert's intermediate size. Pipeline parallel
    gives each stage at least one layer (get_pp_indices). Apple GPUs are one per machine.
    """
    if isinstance(n_gpus, bool) or not isinstance(n_gpus, int) or not 1 <= n_gpus <= MAX_GPUS:
        raise WorkloadError(f"n_gpus must be an integer within 1–{MAX_GPUS:,}, got {shown(n_gpus)}")
    if mode not in ("tp", "pp"):
        raise WorkloadError(f"mode must be tp or pp, got {shown(mode)}")
    n = n_gpus
    if n > 1 and gpu.vendor == "apple":
        raise LayoutError(f"{gpu.id}: Apple GPUs are one per machine; n_gpus must be 1, got {n}")
    if mode == "pp":
        if n > spec.n_layers:
            raise LayoutError(f"pipeline parallel over {n} GPUs needs at least {n} layers; {spec.name} has "
                              f"{spec.n_layers}")
        return
    check_tensor_parallel(spec, n)


# llama.cpp (GGUF weights' speed engine) splits a model over GPUs by layers by default (--split-mode layer, what
# mode="pp" plans). Its other modes are not the Megatron split mode="tp" plans: --split-mode row gives each GPU rows of
# every matrix (a split buffer, ggml-cuda) while a layer's KV cache and its other operations stay on the one GPU the
# layer is assigned to (src/llama-model.cpp make_gpu_buft_list, load_tensors), every product gathered there; and
# --split-mode tensor ("split weights and KV across GPUs (parallelized, EXPERIMENTAL)", common/arg.cpp, April 2026)
# runs only the architectures llm_arch_supports_sm_tensor lists. No published run of either calibrates planner.
LLAMACPP_NO_TENSOR_SPLIT = (
    "a tensor-parallel split of GGUF weights over {n} GPUs in llama.cpp is not modelled: llama.cpp splits a model by "
    "layers by default (--split-mode layer), which the pipeline split plans (mode='pp'); its --split-mode row keeps "
    "each layer's KV cache and non-matrix work on one GPU, and --split-mode tensor is experimental. For a tensor "
    "split, plan a format vLLM or SGLang runs (they split every matrix)")


# the workload settings plan() passes on (planner.footprint.resolve_workload); engine options are estimate()'s
PLAN_WORKLOAD = frozenset({"chunk", "attention", "logits", "logits_dtype", "runtime", "cap_sliding"})


def plan(model, *, gpu: str | GPU, n_gpus: int = 1, mode: Mode = "tp", quant: str | None = None,
         kv_dtype: str | None = None, context: int | None = None, batch: int = 1, engine: str | None = None,
         prompt: int | None = None, efficiency: float | None = None, prefill_efficiency: float | None = None,
         backend: str | None = None, engine_version: str | int | None = None,
         custom_all_reduce: bool | None = None, **workload) -> ParallelPlan:
    """Per-GPU memory and decode speed of `model` over `n_gpus` GPUs of one kind; time to first token for `prompt`
    tokens per sequence (default: the whole context). engine: a speed engine of planner.efficiency.SPEED_ENGINES;
    efficiency / prefill_efficiency: your own shares of datasheet bandwidth and FLOP/s instead of the table's;
    backend: llama.cpp's (cuda, rocm, vulkan, metal, sycl, cpu; default from the GPU's vendor); engine_version: the
    release (default the current one) — llama.cpp's build ("b5000") decides its prefill kernels, vLLM's ("0.6.3")
    whether its engine loop adds host time to every step, and on AMD GPUs whether it all-reduces through RCCL;
    custom_all_reduce: vLLM's own all-reduce kernel on or off as the run set it (None: the release's default on that
    GPU; True for AMD's ROCm images, which had it before vLLM 0.8.3). The speeds are the split's whether or not it
    fits (`fits` says; the calibration asks them of runs as they ran), where estimate() gives none for a setup that
    does not fit. A tensor split whose speed engine is llama.cpp (GGUF weights) is refused: LLAMACPP_NO_TENSOR_SPLIT
    says why."""
    from .performance import release_speed, through_rccl, v0_speed_version

    if unknown := sorted(set(workload) - PLAN_WORKLOAD):
        raise WorkloadError(f"plan() has no option {unknown[0]!r}; it takes the workload's "
                            f"{', '.join(sorted(PLAN_WORKLOAD))} beside its named arguments")
    spec, g = load_model(model), load_gpu(gpu)
    check_layout(spec, g, n_gpus, mode)
    w = resolve_workload(spec, plain=True, quant=quant, kv_dtype=kv_dtype, context=context, batch=batch,
                         chunk=workload.get("chunk"), attention=workload.get("attention", "sdpa"),
                         logits=workload.get("logits", "last"), logits_dtype=workload.get("logits_dtype", "fp32"),
                         runtime=workload.get("runtime", "cuda"), cap_sliding=workload.get("cap_sliding", True))
    if mode == "tp" and n_gpus > 1:
        check_quant_shards(spec, w.quant, n_gpus, expert_tp=0)  # routed experts: vLLM's current rule
    if engine is not None:
        from .efficiency import check_engine_on

        check_engine_on(engine, g)
    engine = engine or default_engine(w.quant, spec, g)
    if mode == "tp" and n_gpus > 1 and engine == "llama.cpp":
        raise LayoutError(LLAMACPP_NO_TENSOR_SPLIT.format(n=n_gpus))
    build, loop, lag = release_speed(engine, v0_speed_version(spec, engine, engine_version, g, w.quant, w.kv_dtype,
                                                              n_gpus if mode == "pp" else 1))
    rccl = through_rccl(engine, engine_version, g, custom_all_reduce)
    latency = RCCL_ALLREDUCE_LATENCY_S if rccl else ALLREDUCE_LATENCY_S
    prompt = prompt_tokens(prompt, w.context)
    n = n_gpus
    kv_total, prefill, decode = workload_bytes(spec, w, context=w.context, batch=w.batch,
                                               weights=weights_bytes(spec, w.quant))
    act = max(prefill, decode)
    if mode == "tp":
        weights = _tp_weights(spec, w.quant, n)
        kv_share = 1.0 if spec.mla is not None else ceil(spec.n_kv_heads / n) / spec.n_kv_heads
        kv = ceil(kv_total * kv_share)
        # a rank's heads and MLP columns, the residual stream whole
        _, prefill, decode = workload_bytes(tp_shard(spec, n), w, context=w.context, batch=w.batch,
                                            weights=weights_bytes(spec, w.quant))
        act = max(prefill, decode)
        step, comm, ttft = tensor_parallel_seconds(
            spec, g, quant=w.quant, kv_dtype=w.kv_dtype, context=w.context, prompt=prompt, n=n, batch=w.batch,
            engine=engine, cap_sliding=w.cap_sliding, backend=backend, efficiency=efficiency,
            prefill_efficiency=prefill_efficiency, build=build, latency=latency)
    else:
        weights = _pp_weights(spec, w.quant, n)
        kv = ceil(kv_total / n * ceil(spec.n_layers / n) / (spec.n_layers / n))
        comm = (n - 1) * latency
        step = float(decode_seconds_per_token(spec, g, quant=w.quant, kv_dtype=w.kv_dtype, context=w.context,
                                              batch=w.batch, engine=engine, cap_sliding=w.cap_sliding,
                                              backend=backend, efficiency=efficiency)) + comm
        ttft = prefill_seconds(spec, g, quant=w.quant, kv_dtype=w.kv_dtype, prompt=prompt, batch=w.batch,
                               engine=engine, cap_sliding=w.cap_sliding, backend=backend, efficiency=efficiency,
                               prefill_efficiency=prefill_efficiency, stages=n, build=build)
    step, ttft = step + loop, None if ttft is None else ttft + loop  # the engine loop's host time, once per step
    lag = step if lag and (mode == "tp" or n == 1) else 0.0  # V0's async output, off with pipeline stages
    ttft = None if ttft is None else ttft + lag
    over = overhead_bytes(w.runtime, activation_bytes=act)
    per_gpu = dict(weights_bytes=weights, kv_cache_bytes=kv, activation_bytes=act, overhead_bytes=over)
    per_gpu["total_bytes"] = sum(per_gpu.values())
    headroom = g.usable_memory_bytes - per_gpu["total_bytes"]
    stream = serving_stream(float(step), None if ttft is None else float(ttft) - lag, w.batch, prompt, w.context)
    stream = {} if stream is None else dict(zip(("output_tokens", "serving_decode_tokens_per_s"), stream, strict=True))
    return ParallelPlan(model=spec.name, gpu=g.id, n_gpus=n, mode=mode, quant=w.quant, kv_dtype=w.kv_dtype,
                        context=w.context, batch=w.batch, per_gpu=per_gpu, fits=headroom >= 0,
                        headroom_bytes=headroom, decode_seconds_per_token=float(step),
                        communication_seconds_per_token=float(comm), decode_tokens_per_s=1 / float(step),
                        prefill_seconds=None if ttft is None else float(ttft),
                        efficiency_entries=efficiency_keys(
                            g, w.quant, engine, spec, backend=backend, efficiency=efficiency,
                            prefill_efficiency=prefill_efficiency,
                            prefill_family=llamacpp_prefill_family(w.quant, g, backend, build, engine=engine)),
                        typical_error=(with_serving_error if stream else dict)(typical_errors(
                            w.quant, engine, spec, g, efficiency=efficiency, prefill_efficiency=prefill_efficiency)),
                        engine_loop_seconds=loop, output_lag_seconds=lag,
                        request_overhead_seconds=request_seconds(engine),
                        allreduce_note=allreduce_note(g, n, rccl=rccl) if mode == "tp" else None, **stream)


class OffloadPlan(BaseModel):
    """Layers on the GPU vs in system RAM, as llama.cpp's n_gpu_layers splits them."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    model: str
    gpu: str
    gpu_layers: int
    device_bytes: int
    host_bytes: int
    fits: bool
    decode_seconds_per_token: float
    decode_tokens_per_s: float


def offload(model, *, gpu: str | GPU, gpu_layers: int, quant: str | None = None, kv_dtype: str | None = None,
            context: int | None = None, batch: int = 1,
            host_bytes_per_s: float = HOST_RAM_BYTES_PER_S) -> OffloadPlan:
    """Memory split and decode speed with the first `gpu_layers` layers on the GPU (llama.cpp -ngl)."""
    spec, g = load_model(model), load_gpu(gpu)
    host_bytes_per_s = positive_float("host_bytes_per_s", host_bytes_per_s)
    if isinstance(gpu_layers, bool) or not isinstance(gpu_layers, int) or not 0 <= gpu_layers <= spec.n_layers:
        raise WorkloadError(f"gpu_layers must be an integer within 0–{spec.n_layers}, got {shown(gpu_layers)}")
    w = resolve_workload(spec, plain=True, quant=quant, kv_dtype=kv_dtype, context=context, batch=batch,
                         chunk=None, attention="sdpa", logits="last", logits_dtype="fp32", runtime="cuda",
                         cap_sliding=True)
    kv_total, _, _ = workload_bytes(spec, w, context=w.context, batch=w.batch, weights=weights_bytes(spec, w.quant))
    device, host, _ = offload_split(spec, w.quant, gpu_layers)
    kv_layer = kv_total / spec.n_layers
    kv_dev = round(kv_layer * gpu_layers)
    kv_host = round(kv_layer * (spec.n_layers - gpu_layers))
    act = decode_activation_bytes(spec, context_len=w.context, batch=w.batch)
    device_total = device + kv_dev + act + overhead_bytes("cuda")
    host_total = host + kv_host
    ngl = gpu_layers if gpu_layers < spec.n_layers else spec.n_layers + 1  # all layers: the output with them
    step = offload_seconds_per_token(spec, g, quant=w.quant, kv_total=kv_total, n_gpu_layers=ngl,
                                     host_bytes_per_s=host_bytes_per_s, batch=w.batch)
    return OffloadPlan(model=spec.name, gpu=g.id, gpu_layers=gpu_layers, device_bytes=device_total,
                       host_bytes=host_total, fits=device_total <= g.usable_memory_bytes,
                       decode_seconds_per_token=step, decode_tokens_per_s=1 / step)
