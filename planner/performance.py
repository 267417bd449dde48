"""Fit and speed of one estimate on its GPU: the verdict against the GPU's usable memory, time to first token and
decode tokens/s (roofline, planner.perf), with the efficiency entries and typical errors behind them."""

from __future__ import annotations

from math import ceil
from typing import NamedTuple

from pydantic import BaseModel, ConfigDict, Field

from .checks import prompt_tokens
from .errors import WorkloadError, shown
from .paper import lower_first, on_paper
from .spec import ModelSpec
from .workload import Workload


class Performance(BaseModel):
    """Fit and speed on one GPU (roofline, planner.perf)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    gpu: str
    engine: str
    usable_memory_bytes: int
    fits: bool = Field(description="the total fits the GPU's usable memory and the engine (if any) would start and "
                       "run every sequence of the batch at once")
    reason: str | None = Field(None, description="why it does not fit, in one sentence; None when it fits")
    headroom_bytes: int = Field(description="usable memory − total; negative when it does not fit")
    prompt_tokens: int
    prefill_seconds: float | None = Field(
        description="time to first token for `prompt_tokens` per sequence; None when the GPU has no FLOP/s figure, "
        "and, as every speed figure here, when it does not fit (estimate(): speeds_only_if_fits)")
    decode_seconds_per_token: float | None = Field(
        description="one decode step at the full context; None for a GPU without datasheet figures (a local GPU the "
        "catalog lacks) or a setup that does not fit")
    decode_tokens_per_s: float | None = Field(description="per sequence")
    throughput_tokens_per_s: float | None = Field(description="all sequences of the batch together")
    output_tokens: int | None = Field(
        None, description="tokens each request generates (context − prompt) where the batch serves requests: "
        "batch > 1 and a prompt shorter than the context; None otherwise")
    serving_decode_tokens_per_s: float | None = Field(
        None, description="per request in a steady stream of `batch` concurrent requests of `prompt_tokens` in and "
        "`output_tokens` out: each decode step also carries, on average, the prefills of the requests that replace "
        "finished ones ((batch − 1) / batch of the batch's prefill over output_tokens steps; planner.perf."
        "serving_step_seconds), at their full time: chunked prefill hides part of it; None where output_tokens is")
    serving_throughput_tokens_per_s: float | None = Field(
        None, description="all requests of that stream together: batch × serving_decode_tokens_per_s")
    engine_loop_seconds: float = Field(
        0.0, description="what the engine's host loop adds to every step, the prefill's and each decode step's "
        "(vLLM's V0 engine, its default before 0.8.0 and a fallback in 0.8–0.10, schedules and samples between GPU "
        "steps); included in the figures above")
    output_lag_seconds: float = Field(
        0.0, description="what the first token waits after its prefill before it reaches the caller: one decode step "
        "where vLLM's V0 engine (0.6 on) processes outputs asynchronously, handing a step's tokens out after the "
        "next step; included in prefill_seconds")
    host_copy_seconds: float = Field(
        0.0, description="what one copy of the weights kept in host memory to the GPU takes, at the PCIe link's "
        "datasheet speed (so the figures are no faster than this): SGLang's --cpu-offload-gb pays it every forward "
        "step (the prefill once per chunk); llama.cpp with matrices in host memory (--n-cpu-moe, -ot) once per "
        "prompt ubatch (op offload), its decode running them on the CPU instead; included in the figures above")
    moe_split_seconds: float = Field(
        0.0, description="what each forward step of a MoE model split over GPUs takes beyond its bytes and "
        "all-reduces: MoE layers × routed experts × the engine's fitted time per expert (profiles/efficiency.yaml "
        "moe_expert_overhead_s, from published batch-1 runs of 128-512-expert models, all but one on 8 GPUs); included "
        "in the decode and prefill figures")
    moe_prefill_split_seconds: float = Field(
        0.0, description="the fixed time a prefill of a MoE model split over GPUs takes beyond its FLOPs and bytes "
        "under an engine whose calibration runs measured one (profiles/efficiency.yaml moe_prefill_split_s, "
        "SGLang's); included in prefill_seconds")
    eager_attention_seconds: float = Field(
        0.0, description="what eager attention's materialized score matrices take of the prefill (transformers with "
        "attention='eager'; EAGER_ATTENTION_BYTES_PER_SCORE, measured on an H200); included in prefill_seconds")
    speed_note: str | None = Field(
        None, description="where no engine was named and the one whose figures these are (vLLM) does not run the "
        "weight format on this GPU (too old for its kernels): says so, the speed being on paper; None otherwise")
    allreduce_note: str | None = Field(
        None, description="for a tensor-parallel split whose link a real machine may not match (PCIe only, a two-card "
        "bridge, a custom GPU, more than 8 GPUs): the rate the all-reduces are taken at, and why it may be slower "
        "(planner.perf.allreduce_note); None otherwise")
    request_overhead_seconds: float | None = Field(
        None, description="what a served request adds to the time to first token (HTTP, tokenization, scheduling), "
        "from published server benchmarks; None where none is known")
    prompt_kernels: str | None = Field(
        None, description="llama.cpp on an AMD Instinct GPU: the kernels its build runs a prompt's matrices in (MMQ "
        "on the vector units, dequantized weights through rocBLAS, or MMQ on the matrix cores), and whether their "
        "efficiency entry is their own; None elsewhere")
    typical_error: dict[str, float] = Field(
        default_factory=dict, description="decode / ttft (and serving, beside a serving stream's figures: "
        "efficiency.with_serving_error): the median |error| against published runs that did not "
        "calibrate planner (the check half, for the engine the user runs and the weight family: Ollama's own runs for "
        "Ollama, whose figures are llama.cpp's), as a fraction")
    efficiency_entries: dict[str, str] = Field(
        default_factory=dict, description="the efficiency-table entries (profiles/efficiency.yaml) behind the decode "
        "and prefill figures, engine/backend/family/class, or 'yours' for a given efficiency; 'layers': the per-layer "
        "time every step adds, with its entry")



def offloaded(spec: ModelSpec, w: Workload, perf: Performance, *, gpu, n_gpu_layers: int, kv_total: int,
              cpu_moe_layers: int = 0, engine=None, efficiency: float | None = None,
              output_first: bool = False, on_cpu=None, ubatch_copy_bytes: int | None = None,
              ubatch_tokens: int | None = None, host_bytes_per_s: float | None = None) -> Performance:
    """llama.cpp with layers (or, cpu_moe_layers, some layers' routed experts) in CPU RAM: those bytes are read at the
    host's memory speed (host_bytes_per_s, default perf.HOST_RAM_BYTES_PER_S) instead of the GPU's
    (perf.offload_seconds_per_token, from the all-on-GPU step).

    Prefill: with every layer on the GPU and only matrices kept in host memory (--n-cpu-moe, -ot), each prompt
    ubatch of ubatch_tokens (llama.cpp's n_ubatch as it runs: at most n_batch and n_ctx) copies them to the GPU and
    runs there (op offload: ubatch_copy_bytes, what one ubatch copies), so the all-on-GPU prefill gains one copy per
    ubatch of the batch's prompts at the host link's datasheet speed per direction (no faster than this: the
    weights sit in pageable memory by default). Not modelled, so no time to first token: layers in host memory (-ngl
    below the layers: their attention runs on the CPU), no op offload (ubatch_copy_bytes None), and prompts whose
    ubatch is under OP_OFFLOAD_MIN_BATCH tokens (their host matrices run on the CPU)."""
    from .engines.llamacpp import OP_OFFLOAD_MIN_BATCH
    from .gpus import load_gpu
    from .perf import offload_seconds_per_token
    from .perf.llamacpp import HOST_RAM_BYTES_PER_S, LLAMACPP_N_UBATCH

    if perf.decode_seconds_per_token is None:  # a GPU without speed figures
        return perf
    g = load_gpu(gpu)
    step = offload_seconds_per_token(spec, g, quant=w.quant, kv_total=kv_total, n_gpu_layers=n_gpu_layers,
                                     batch=w.batch, cpu_moe_layers=cpu_moe_layers, engine=engine,
                                     efficiency=efficiency, full_step=perf.decode_seconds_per_token,
                                     output_first=output_first, on_cpu=on_cpu,
                                     host_bytes_per_s=host_bytes_per_s or HOST_RAM_BYTES_PER_S)
    prefill = copy = None
    tokens, ubatch_tokens = w.batch * perf.prompt_tokens, ubatch_tokens or LLAMACPP_N_UBATCH
    if ubatch_copy_bytes is not None and perf.prefill_seconds is not None and g.host_link is not None \
            and min(tokens, ubatch_tokens) >= OP_OFFLOAD_MIN_BATCH:
        copy = ubatch_copy_bytes / g.host_link.bytes_per_s
        prefill = perf.prefill_seconds + copy * ceil(tokens / ubatch_tokens)
    return perf.model_copy(update=dict(prefill_seconds=prefill, decode_seconds_per_token=step,
                                       decode_tokens_per_s=1 / step, throughput_tokens_per_s=w.batch / step,
                                       host_copy_seconds=copy or 0.0))


def host_copied(perf: Performance, w: Workload, *, gpu, host_bytes: int, chunk: int) -> Performance:
    """SGLang with --cpu-offload-gb: each forward step first copies the offloaded parameters to the GPU (srt/
    offloader.py: every offloaded module's state moved with .to(device) before its forward), at the host link's
    datasheet speed per direction; a prompt's prefill pays it once per chunk of `chunk` tokens."""
    from .gpus import load_gpu

    g = load_gpu(gpu)
    if perf.decode_seconds_per_token is None or g.host_link is None:
        return perf
    copy = host_bytes / g.host_link.bytes_per_s
    step = perf.decode_seconds_per_token + copy
    prefill = None if perf.prefill_seconds is None else perf.prefill_seconds + copy * ceil(perf.prompt_tokens / chunk)
    return perf.model_copy(update=dict(prefill_seconds=prefill, decode_seconds_per_token=step,
                                       decode_tokens_per_s=1 / step, throughput_tokens_per_s=w.batch / step,
                                       host_copy_seconds=copy))


def performance(spec: ModelSpec, w: Workload, total: int, *, gpu, engine, prompt, refusal: str | None = None,
                efficiency: float | None = None, prefill_efficiency: float | None = None, tp: int = 1,
                pp: int = 1, engine_version: str | None = None, micro_batches: dict | None = None,
                runs_through: str | None = None, custom_all_reduce: bool | None = None) -> Performance:
    """Fit and speed of a run needing `total` bytes on each GPU. tp × pp GPUs (vLLM's tensor and pipeline
    parallel): the speed of the tensor-parallel split (planner.parallel.plan); pipeline stages run one after another
    at batch 1, so they add only their hand-offs. engine_version: the engine's release (None the current one) where
    its speed depends on it: llama.cpp's build picks its prefill kernels, vLLM's release its engine loop.
    micro_batches: llama.cpp's n_ubatch and n_batch, where the run sets them (a prompt runs in micro-batches).
    runs_through: the engine the user runs where it is not `engine` (Ollama, on llama.cpp's figures): the typical
    error is that engine's published runs'. custom_all_reduce: vLLM's own all-reduce kernel on or off as the run set
    it, None the release's default on that GPU (through_rccl)."""
    from .efficiency import efficiency_keys, request_seconds, typical_errors
    from .gpus import load_gpu
    from .machine import has_speed
    from .perf import (
        ALLREDUCE_LATENCY_S,
        LLAMACPP_N_BATCH,
        LLAMACPP_N_UBATCH,
        RCCL_ALLREDUCE_LATENCY_S,
        allreduce_note,
        decode_seconds_per_token,
        default_engine,
        eager_attention_seconds,
        llamacpp_prefill_family,
        moe_prefill_split_seconds,
        moe_split_seconds,
        prefill_seconds,
        tensor_parallel_seconds,
    )

    g = load_gpu(gpu)
    named = engine is not None
    engine = engine or default_engine(w.quant, spec, g)
    note = None if named else on_paper(engine, g, w.quant, spec, w.kv_dtype)
    build, loop, lag = release_speed(engine, v0_speed_version(spec, engine, engine_version, g, w.quant, w.kv_dtype, pp))
    rccl = through_rccl(engine, engine_version, g, custom_all_reduce)
    given = micro_batches or {}
    ubatch = min(given.get("n_ubatch", LLAMACPP_N_UBATCH), given.get("n_batch", LLAMACPP_N_BATCH))
    kernels = llamacpp_prefill_family(w.quant, g, None, build, engine=engine, ubatch=ubatch)
    used = efficiency_keys(g, w.quant, engine, spec, efficiency=efficiency, prefill_efficiency=prefill_efficiency,
                           prefill_family=kernels)
    prompt = prompt_tokens(prompt, w.context)
    kw = dict(quant=w.quant, kv_dtype=w.kv_dtype, batch=w.batch, engine=engine, cap_sliding=w.cap_sliding,
              efficiency=efficiency)
    attention = w.attention if engine == "transformers" else "sdpa"  # only transformers runs eager attention
    if has_speed(g) and tp * pp > 1:
        latency = RCCL_ALLREDUCE_LATENCY_S if rccl else ALLREDUCE_LATENCY_S
        step, _, ttft = tensor_parallel_seconds(spec, g, context=w.context, prompt=prompt, n=tp,
                                                prefill_efficiency=prefill_efficiency, build=build, latency=latency,
                                                **kw)
        step += (pp - 1) * latency + loop
        ttft = None if ttft is None else ttft + loop
    elif has_speed(g):
        step = float(decode_seconds_per_token(spec, g, context=w.context, **kw)) + loop
        ttft = prefill_seconds(spec, g, prompt=prompt, prefill_efficiency=prefill_efficiency, build=build,
                               attention=attention, **(micro_batches or {}), **kw)
        ttft = None if ttft is None else ttft + loop
    else:  # no bandwidth or FLOP/s figures: no speed rather than a made-up one
        step = ttft = None
    lag = step if lag and pp == 1 and step is not None else 0.0  # V0's async output: one pipeline stage only
    ttft = None if ttft is None else ttft + lag
    usable = g.usable_memory_bytes
    reason = refusal
    if total > usable:
        short = f" ({(total - usable) / 2**20:,.1f} MiB short)" if total - usable < 0.01 * 2**30 else ""
        reason = (f"needs {total / 2**30:,.2f} GiB, {g.id} has {usable / 2**30:,.2f} GiB usable{short}"
                  + (f"; and {lower_first(refusal)}" if refusal else ""))
    return Performance(
        gpu=g.id, engine=engine, usable_memory_bytes=usable, fits=reason is None, reason=reason,
        headroom_bytes=usable - total,
        prompt_tokens=prompt, prefill_seconds=None if ttft is None else float(ttft),
        decode_seconds_per_token=step, decode_tokens_per_s=None if step is None else 1 / step,
        throughput_tokens_per_s=None if step is None else w.batch / step,
        efficiency_entries=used,
        typical_error=typical_errors(w.quant, runs_through or engine, spec, g, efficiency=efficiency,
                                     prefill_efficiency=prefill_efficiency),
        engine_loop_seconds=loop if step is not None else 0.0, output_lag_seconds=lag,
        eager_attention_seconds=float(eager_attention_seconds(spec, g, batch=w.batch, new=prompt))
        if attention == "eager" and ttft is not None and tp * pp == 1 else 0.0,
        moe_prefill_split_seconds=moe_prefill_split_seconds(spec, engine, tp) if ttft is not None and tp * pp > 1
        else 0.0,
        moe_split_seconds=moe_split_seconds(spec, engine, tp) if step is not None and has_speed(g) and tp * pp > 1
        else 0.0,
        allreduce_note=allreduce_note(g, tp, rccl=rccl) if has_speed(g) else None, speed_note=note,
        request_overhead_seconds=request_seconds(engine),
        prompt_kernels=_instinct_prompt_kernels(kernels, g, used["prefill"]))


def served_stream(perf: Performance | None, w: Workload) -> Performance | None:
    """The steady-stream figures of a batch that serves requests (batch > 1, a prompt shorter than the context: each
    request generates the rest), from the figures as they stand (after any offload or host copies)."""
    from .perf import serving_stream

    stream = None if perf is None or perf.prefill_seconds is None else serving_stream(
        perf.decode_seconds_per_token, perf.prefill_seconds - perf.output_lag_seconds, w.batch, perf.prompt_tokens,
        w.context)
    if stream is None:
        return perf
    from .efficiency import with_serving_error

    output, rate = stream
    return perf.model_copy(update={"output_tokens": output, "serving_decode_tokens_per_s": rate,
                                   "serving_throughput_tokens_per_s": w.batch * rate,
                                   "typical_error": with_serving_error(perf.typical_error)})


# what a run that does not fit has no figure for: the engine would not start it (or not run every sequence at once)
_SPEEDS = ("prefill_seconds", "decode_seconds_per_token", "decode_tokens_per_s", "throughput_tokens_per_s",
           "output_tokens", "serving_decode_tokens_per_s", "serving_throughput_tokens_per_s")


def speeds_only_if_fits(perf: Performance | None) -> Performance | None:
    """No speed for a setup that does not fit, as the CLI's text and the dashboard show none: a script ranking GPUs
    by tokens/s must not pick one the model does not fit on."""
    if perf is None or perf.fits:
        return perf
    return perf.model_copy(update=dict.fromkeys(_SPEEDS))


# llama.cpp's prompt kernels on AMD Instinct (planner.perf.cdna_prefill_path), as said beside the speed
_INSTINCT_KERNELS = {"dp4a": "MMQ on the vector units (dp4a)", "float": "weights dequantized, then rocBLAS's GEMM",
                     "mfma": "MMQ on the int8 matrix cores"}


def _instinct_prompt_kernels(kernels: str | None, g, entry: str) -> str | None:
    if not g.architecture.startswith("CDNA") or kernels not in _INSTINCT_KERNELS:
        return None
    said = _INSTINCT_KERNELS[kernels]
    if entry == "yours" or entry.split("/")[2] == kernels:
        return said
    if kernels == "mfma":
        return (f"{said}, taken at the rate of the rocBLAS path it replaced (too few calibration runs of its own "
                "yet; llama.cpp moved to it because rocBLAS ran slower)")
    return (f"{said}, at the entry of llama.cpp's prompts on Instinct over all its kernels (too few calibration runs "
            "of its own yet)")


class ReleaseSpeed(NamedTuple):
    build: int | None  # llama.cpp's build (its prefill kernels), None for other engines or the current build
    loop: float  # the engine loop's host time per step
    output_lag: bool  # the first token reaches the caller one decode step after the prefill


def v0_speed_version(spec, engine: str, engine_version: str | int | None, gpu, quant: str, kv_dtype: str,
                     pipeline_parallel_size: int = 1) -> str | int | None:
    """The release whose engine loop a vLLM run's speed follows: 0.7.3's (V0) where the release falls back to its V0
    engine on this setup (planner.engines.vllm.releases.vllm_v0_fallback: an NVIDIA GPU older than Ampere, GGUF or
    bitsandbytes weights, … in 0.8-0.10), else `engine_version` itself."""
    if engine != "vllm" or engine_version is None:
        return engine_version
    from .engines.vllm.releases import VLLM_V0_RULES, vllm_release, vllm_v0_reason

    why = vllm_v0_reason(spec, vllm_release(str(engine_version)), gpu, quant=quant, kv_dtype=kv_dtype,
                         pipeline_parallel_size=pipeline_parallel_size)
    return VLLM_V0_RULES if why is not None else engine_version


def release_speed(engine: str, engine_version: str | int | None) -> ReleaseSpeed:
    """What a speed engine's release (None: the current one) changes in its speed; a version of another engine is
    refused."""
    from .efficiency import sync_loop
    from .engines.llamacpp.releases import llamacpp_build
    from .engines.vllm import vllm_first_token_waits_a_step, vllm_synchronous_loop

    if engine_version is not None and engine not in ("llama.cpp", "vllm"):
        raise WorkloadError(f"engine_version: speed follows the releases of llama.cpp and vLLM only, not {engine}'s; "
                            f"got {shown(engine_version)}")
    build = llamacpp_build(engine_version) if engine == "llama.cpp" and engine_version is not None else None
    # vLLM's V0 engine (before 0.8.0; its fallbacks in 0.8-0.10 come here as 0.7.3) runs its host work between GPU
    # steps; other engines and releases overlap it with the GPU's work, or run it in C++
    version = None if engine_version is None else str(engine_version)
    loop = (entry.sync_loop_step_s if engine == "vllm" and (entry := sync_loop(engine)) is not None
            and vllm_synchronous_loop(version) else 0.0)
    return ReleaseSpeed(build, loop, engine == "vllm" and vllm_first_token_waits_a_step(version))


def through_rccl(engine: str, engine_version: str | int | None, gpu, custom_all_reduce: bool | None = None) -> bool:
    """Whether the engine's tensor-parallel all-reduces go through RCCL (planner.perf.RCCL_ALLREDUCE_LATENCY_S a call)
    rather than a kernel of its own: vLLM where its release has none on that AMD GPU, or where the run turned it off
    (custom_all_reduce False; planner.engines.vllm.vllm_custom_allreduce). Other engines: their own kernel."""
    from .engines.vllm import vllm_custom_allreduce

    if engine != "vllm":
        if custom_all_reduce is not None:
            raise WorkloadError(f"custom_all_reduce is a vLLM option, not {engine}'s; got {shown(custom_all_reduce)}")
        return False
    version = None if engine_version is None else str(engine_version)
    return gpu.vendor == "amd" and not vllm_custom_allreduce(version, gpu, custom_all_reduce)


def transformers_attention_note(engine: str | None, attention: str, gpu: str | None,
                                eager_seconds: float | None = None) -> str:
    """One sentence on transformers' attention in its speed figures ('' where none applies): eager attention's score
    matrices are in the time to first token (`eager_seconds` of it, where given); on a Hopper GPU, SDPA's cuDNN path
    makes decode slower than modelled."""
    from .gpus import load_gpu
    from .perf import EAGER_ATTENTION_BYTES_PER_SCORE

    if engine != "transformers":
        return ""
    if attention == "eager":
        part = f"{eager_seconds:.3f} s of " if eager_seconds else ""
        return (f"The time to first token includes {part}eager attention's score matrices (written and read back "
                f"whole: {EAGER_ATTENTION_BYTES_PER_SCORE} bytes a score, measured on an H200).")
    if gpu is not None and load_gpu(gpu).architecture == "Hopper":
        return ("On Hopper GPUs PyTorch's SDPA may run cuDNN attention, which rebuilds its graph at each decode step: "
                "2-5x the eager decode step on an H200 (transformers 5.17, torch 2.11), not in these figures.")
    return ""
