"""estimate(): memory to run one model at one workload, broken down by component."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from .activations import decode_activation_bytes, prefill_activation_bytes
from .errors import WorkloadError
from .kv import get_kv_dtype, kv_cache_bytes
from .overhead import Runtime, overhead_breakdown
from .profiles import load_model
from .quant.catalog import get_quant
from .spec import ModelSpec
from .weights import weights_breakdown

DEFAULT_CONTEXT = 4096  # tokens, when the caller gives none (capped at the model's max_context)


class Workload(BaseModel):
    """What is run: how many sequences of how many cached tokens, and how."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    quant: str = Field(description="weights format (catalog name)")
    kv_dtype: str = Field(description="KV-cache element format")
    context: int = Field(description="tokens cached per sequence (prompt + generated)")
    batch: int = Field(description="concurrent sequences")
    chunk: int | None = Field(None, description="prefill chunk size; None prefills the whole prompt at once")
    attention: Literal["sdpa", "eager"] = "sdpa"
    logits: Literal["last", "all"] = "last"
    logits_dtype: str = "fp32"
    runtime: Runtime = "cuda"
    cap_sliding: bool = True


class Performance(BaseModel):
    """Fit and speed on one GPU (roofline, planner.perf)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    gpu: str
    engine: str
    usable_memory_bytes: int
    fits: bool
    headroom_bytes: int = Field(description="usable memory − total; negative when it does not fit")
    prompt_tokens: int
    prefill_seconds: float | None = Field(
        description="time to first token for `prompt_tokens` per sequence; None when the GPU has no FLOP/s figure")
    decode_seconds_per_token: float = Field(description="one decode step at the full context")
    decode_tokens_per_s: float = Field(description="per sequence")
    throughput_tokens_per_s: float = Field(description="all sequences of the batch together")


class Estimate(BaseModel):
    """Bytes needed, by component. total = weights + kv_cache + activation + overhead."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    model: str
    workload: Workload
    weights_bytes: int
    kv_cache_bytes: int
    activation_bytes: int
    overhead_bytes: int
    total_bytes: int
    breakdown: dict[str, dict[str, int]] = Field(description="component → part → bytes")
    performance: Performance | None = None

    @property
    def fits(self) -> bool | None:
        return None if self.performance is None else self.performance.fits

    @property
    def headroom_bytes(self) -> int | None:
        return None if self.performance is None else self.performance.headroom_bytes

    @property
    def decode_tokens_per_s(self) -> float | None:
        return None if self.performance is None else self.performance.decode_tokens_per_s

    @property
    def prefill_seconds(self) -> float | None:
        return None if self.performance is None else self.performance.prefill_seconds

    def to_dict(self) -> dict:
        return self.model_dump(mode="json")


def _check(name: str, value, *, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise WorkloadError(f"{name} must be an integer ≥ {minimum}, got {value!r}")
    return value


def _act_bits(quant: str) -> int:
    return 32 if get_quant(quant).name == "fp32" else 16


def default_kv_dtype(quant: str, spec: ModelSpec | None = None) -> str:
    """The KV dtype engines use with these weights: fp16 for GGUF (llama.cpp's f16), else the activation dtype."""
    fmt = get_quant(quant)
    if fmt.is_gguf or (fmt.name == "checkpoint" and spec is not None and spec.checkpoint is not None
                       and spec.checkpoint.format == "gguf"):
        return "fp16"
    return {"fp32": "fp32", "fp16": "fp16"}.get(fmt.name, "bf16")


def resolve_workload(spec: ModelSpec, *, quant, kv_dtype, context, batch, chunk, attention, logits,
                     logits_dtype, runtime, cap_sliding) -> Workload:
    """Fill defaults and check every argument, naming the one that is wrong."""
    quant = get_quant(quant or spec.weights_dtype).name
    kv_dtype = get_kv_dtype(kv_dtype).name if kv_dtype else default_kv_dtype(quant, spec)
    context = min(DEFAULT_CONTEXT, spec.max_context) if context is None else _check("context", context)
    if context > spec.max_context:
        raise WorkloadError(f"context {context} exceeds {spec.name}'s max_context {spec.max_context}")
    if chunk is not None:
        _check("chunk", chunk)
    for field, value, allowed in (("attention", attention, ("sdpa", "eager")), ("logits", logits, ("last", "all")),
                                  ("runtime", runtime, ("cuda", "none"))):
        if value not in allowed:
            raise WorkloadError(f"{field} must be one of {', '.join(allowed)}, got {value!r}")
    logits_dtype = get_kv_dtype(logits_dtype).name
    if logits_dtype not in ("fp32", "fp16", "bf16"):
        raise WorkloadError(f"logits_dtype must be one of fp32, fp16, bf16, got {logits_dtype!r}")
    return Workload(quant=quant, kv_dtype=kv_dtype, context=context, batch=_check("batch", batch), chunk=chunk,
                    attention=attention, logits=logits, logits_dtype=logits_dtype,
                    runtime=runtime, cap_sliding=cap_sliding)


def estimate(model: str | Path | ModelSpec, *, quant: str | None = None, kv_dtype: str | None = None,
             context: int | None = None, batch: int = 1, chunk: int | None = None,
             attention: str = "sdpa", logits: str = "last", logits_dtype: str = "fp32",
             runtime: str = "cuda", cap_sliding: bool = True, gpu: str | None = None,
             engine: str | None = None, prompt: int | None = None) -> Estimate:
    """Memory to serve `batch` sequences of `context` tokens of `model` stored as `quant`.

    quant None: the checkpoint's own storage. kv_dtype None: fp16 for GGUF, else the activation dtype.
    Activations are the larger of the prefill peak (in chunks of `chunk`) and the decode peak.
    gpu: a catalog id; adds `performance` (fits, headroom, time to first token for `prompt` tokens —
    default the whole context — and decode tokens/s at the full context) for `engine` (llama.cpp or
    vllm; default llama.cpp for GGUF, vllm otherwise).
    """
    spec = load_model(model)
    w = resolve_workload(spec, quant=quant, kv_dtype=kv_dtype, context=context, batch=batch, chunk=chunk,
                         attention=attention, logits=logits, logits_dtype=logits_dtype, runtime=runtime,
                         cap_sliding=cap_sliding)
    weights = weights_breakdown(spec, w.quant)
    kv = kv_cache_bytes(spec, context_len=w.context, batch=w.batch, kv_dtype=w.kv_dtype, cap_sliding=w.cap_sliding)
    act_kw = dict(context_len=w.context, batch=w.batch, attention=w.attention, act_bits=_act_bits(w.quant),
                  logits=w.logits, logits_bits=get_kv_dtype(w.logits_dtype).bits)
    prefill = prefill_activation_bytes(spec, chunk=w.chunk, **act_kw)
    decode = decode_activation_bytes(spec, **act_kw)
    overhead = overhead_breakdown(w.runtime)
    totals = dict(weights_bytes=sum(weights.values()), kv_cache_bytes=kv,
                  activation_bytes=max(prefill, decode), overhead_bytes=sum(overhead.values()))
    total = sum(totals.values())
    perf = None if gpu is None else _performance(spec, w, total, gpu=gpu, engine=engine, prompt=prompt)
    return Estimate(
        model=spec.name, workload=w, **totals, total_bytes=total, performance=perf,
        breakdown={"weights": weights, "kv_cache": {"kv_cache": kv},
                   "activation": {"prefill_peak": prefill, "decode_peak": decode}, "overhead": overhead})


def _performance(spec: ModelSpec, w: Workload, total: int, *, gpu, engine, prompt) -> Performance:
    from .gpus import load_gpu
    from .perf import decode_seconds_per_token, default_engine, memory_efficiency, prefill_seconds

    g = load_gpu(gpu)
    engine = engine or default_engine(w.quant, spec)
    memory_efficiency(g, w.quant, engine)  # validates the engine name
    prompt = w.context if prompt is None else _check("prompt", prompt)
    if prompt > w.context:
        raise WorkloadError(f"prompt {prompt} exceeds context {w.context}")
    kw = dict(quant=w.quant, kv_dtype=w.kv_dtype, batch=w.batch, engine=engine, cap_sliding=w.cap_sliding)
    step = float(decode_seconds_per_token(spec, g, context=w.context, **kw))
    ttft = prefill_seconds(spec, g, prompt=prompt, **kw)
    usable = g.usable_memory_bytes
    return Performance(
        gpu=g.id, engine=engine, usable_memory_bytes=usable, fits=total <= usable, headroom_bytes=usable - total,
        prompt_tokens=prompt, prefill_seconds=None if ttft is None else float(ttft),
        decode_seconds_per_token=step, decode_tokens_per_s=1 / step, throughput_tokens_per_s=w.batch / step)
