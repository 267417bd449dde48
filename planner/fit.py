"""The reverse questions: the longest context, the largest batch, and which GPUs and formats fit."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .checks import flag, int_list, name_list, positive_float, positive_int
from .engines.transformers import transformers_dequantizes
from .errors import LayoutError, WorkloadError
from .estimate import default_kv_dtype, estimate, resolve_workload
from .gpus import GPU, list_gpus, load_gpu
from .limits import MAX_BATCH, MAX_BYTES, MAX_CONTEXT, MAX_GPUS
from .profiles import load_model
from .quant.catalog import get_quant, is_gguf_weights
from .sweep import published_format, sweep, table_quants
from .units import format_bytes

FIT_QUANTS = ("bf16", "fp8", "q8_0", "int8", "q6_k", "q5_k_m", "q4_k_m", "int4", "q3_k_m", "q2_k")
GPU_COUNTS = (1, 2, 4, 8)
FIT_COLUMNS = ["gpu", "n_gpus", "split", "quant", "kv_dtype", "fits", "meets_target", "per_gpu_total_bytes",
               "headroom_bytes", "decode_tokens_per_s", "gpu_memory_bytes", "bits_per_weight", "explanation",
               "per_gpu_bytes"]


def _usable(gpu: str | GPU, memory_bytes: int | None) -> int:
    if memory_bytes is not None:
        return positive_int("memory_bytes", memory_bytes, MAX_BYTES)
    return load_gpu(gpu).usable_memory_bytes


def _totals(spec, quant, kv_dtype, contexts, batches, **kw) -> np.ndarray:
    df = sweep(spec, quants=[quant], contexts=contexts, batches=batches,
               kv_dtypes=None if kv_dtype is None else [kv_dtype], **kw)
    return df["total_bytes"].to_numpy()


def _largest_fitting(upper: int, spacing, totals, usable: int) -> int:
    """Largest n in 1..upper with totals([n]) <= usable (totals grow with n); 0 when none fits.

    Bisects on vectorized grids of up to 64 probes per round, spaced by `spacing` (np.linspace or np.geomspace).
    """
    lo, hi = 0, upper  # invariant: lo fits (or is 0), everything above hi does not
    while lo < hi:
        probes = np.unique(spacing(lo + 1, hi, num=min(64, hi - lo)).astype(np.int64))
        ok = totals(probes) <= usable
        if not ok.any():
            break  # the first probe is lo + 1
        last = int(np.flatnonzero(ok)[-1])
        lo = int(probes[last])
        hi = int(probes[last + 1]) - 1 if last + 1 < len(probes) else hi
    return lo


# The plain model's workload options max_context and max_batch pass on to sweep()
_SWEEP_OPTIONS = ("chunk", "attention", "logits", "logits_dtype", "runtime", "cap_sliding")


def _prepare(model, gpu, memory_bytes, *, quant, kv_dtype, context, batch, kw, caller):
    unknown = sorted(set(kw) - set(_SWEEP_OPTIONS))
    if unknown:
        hint = (" (an engine's concurrency: planner.estimate(..., engine=...) gives its maximum concurrency)"
                if "engine" in unknown else "")
        raise WorkloadError(f"{caller}() takes no {', '.join(unknown)}: its options are quant, gpu, kv_dtype, "
                            f"memory_bytes, {', '.join(_SWEEP_OPTIONS)}{hint}")
    spec = load_model(model)
    if gpu is None and memory_bytes is None:
        raise WorkloadError("give gpu= (a catalog id) or memory_bytes=")
    w = resolve_workload(spec, plain=True, quant=quant, kv_dtype=kv_dtype, context=context, batch=batch,
                         chunk=kw.get("chunk"), attention=kw.get("attention", "sdpa"), logits=kw.get("logits", "last"),
                         logits_dtype=kw.get("logits_dtype", "fp32"), runtime=kw.get("runtime", "cuda"),
                         cap_sliding=kw.get("cap_sliding", True))
    if gpu is not None and transformers_dequantizes(gpu, w.quant):  # the plain model loads it as bf16 there
        w = w.model_copy(update={"quant": "bf16"})
    return spec, w, _usable(gpu, memory_bytes)


def vllm_runs_format(gpu: GPU, quant: str) -> bool:
    """Whether today's vLLM starts with `quant` weights on `gpu` (its quantization methods' compute capability)."""
    from .engines.common import compute_capable

    try:
        compute_capable("vllm", gpu, quant)
    except WorkloadError:
        return False
    return True


def max_context(model, *, quant: str | None = None, gpu: str | GPU | None = None, batch: int = 1,
                kv_dtype: str | None = None, memory_bytes: int | None = None, **kw) -> int:
    """Largest context (≤ the model's max_context) whose total fits the GPU; 0 when not even one token fits."""
    spec, w, usable = _prepare(model, gpu, memory_bytes, quant=quant, kv_dtype=kv_dtype, context=1, batch=batch,
                               kw=kw, caller="max_context")
    return _largest_fitting(spec.max_context, np.linspace,
                            lambda probes: _totals(spec, w.quant, kv_dtype, probes, [batch], **kw), usable)


def max_batch(model, *, quant: str | None = None, gpu: str | GPU | None = None, context: int | None = None,
              kv_dtype: str | None = None, memory_bytes: int | None = None, limit: int = 1 << 20, **kw) -> int:
    """Largest number of concurrent sequences of `context` tokens that fits; 0 when not even one does."""
    limit = positive_int("limit", limit, MAX_BATCH)
    spec, w, usable = _prepare(model, gpu, memory_bytes, quant=quant, kv_dtype=kv_dtype, context=context, batch=1,
                               kw=kw, caller="max_batch")
    return _largest_fitting(limit, np.geomspace,
                            lambda probes: _totals(spec, w.quant, kv_dtype, [w.context], probes, **kw), usable)


def context_per_quant(model, *, gpu: str | GPU, quants=None, batch: int = 1) -> pd.DataFrame:
    """For each quantization (None: the table's default rows, sweep.table_quants): the largest context that fits
    the GPU, and the speed there."""
    spec, g = load_model(model), load_gpu(gpu)
    rows = []
    for q in (table_quants(spec) if quants is None else name_list("quants", quants)):
        ctx = max_context(spec, quant=q, gpu=g, batch=batch)
        e = estimate(spec, quant=q, context=max(ctx, 1), batch=batch, gpu=g)
        # none: the weights alone do not fit, or they do and the runtime's overhead beside them does not
        none = "weights" if e.weights_bytes > g.usable_memory_bytes else "weights and overhead"
        rows.append(dict(quant=get_quant(q).name, max_context=ctx, weights_bytes=e.weights_bytes,
                         kv_cache_bytes=e.kv_cache_bytes if ctx else 0, total_bytes=e.total_bytes if ctx else None,
                         decode_tokens_per_s=e.decode_tokens_per_s if ctx else None,
                         limited_by=none if not ctx else "max_position_embeddings" if ctx == spec.max_context
                         else "memory"))
    return pd.DataFrame(rows)


def explain(per_gpu: dict, unit: str = "GiB") -> str:
    """A fit row's per-GPU total by component: 'weights 4.11 GiB, kv_cache 4.50 GiB, …' in `unit`."""
    return ", ".join(f"{k.removesuffix('_bytes')} {format_bytes(v, unit)}" for k, v in per_gpu.items()
                     if k != "total_bytes")


def _engine_chunk(spec, gpu: GPU, context: int | None) -> int:
    """The prompt tokens one forward of vLLM takes (its chunked prefill's max_num_batched_tokens for `vllm serve` on
    this GPU, current release: engines.vllm.vllm_scheduler_defaults), at most the context: what a "tensor" row's
    activations are sized by (SGLang chunks alike, by chunked_prefill_size)."""
    from .engines.vllm import VLLM_CURRENT, vllm_release, vllm_scheduler_defaults

    ctx = spec.max_context if context is None else context
    tokens = vllm_scheduler_defaults(vllm_release(VLLM_CURRENT), max_model_len=ctx,
                                     gpu_memory_bytes=gpu.memory_bytes or gpu.usable_memory_bytes,
                                     device_name=gpu.name)["max_num_batched_tokens"]
    return min(tokens, ctx)


def fit(model, *, context: int | None = None, batch: int = 1, gpus=None, quants=None, kv_dtypes=None,
        gpu_counts=GPU_COUNTS, min_tokens_per_s: float | None = None, only_fitting: bool = True,
        **unknown) -> pd.DataFrame:
    """Rank (GPU, GPU count, quantization, KV dtype) options that fit `model` at `context`.

    Ranked by GPU count, then memory per GPU (a proxy for price), then bits per weight (quality), then
    speed. Multi-GPU options split as their runtime would: GGUF formats, which llama.cpp and Ollama run, by layers
    (llama.cpp's default --split-mode layer: split "layers"), the others tensor-parallel (vLLM, SGLang: "tensor"),
    their prompts prefilled in vLLM's chunks (_engine_chunk); a single GPU's rows are the plain model's, as estimate(),
    table() and max_context() give them (the whole prompt at once).
    Each row explains its per-GPU total by component. quants None: FIT_QUANTS, less the GGUF presets of a model
    no GGUF of which exists (engines.runnable_quants).
    """
    from .engines import runnable_quants
    from .parallel import plan

    if unknown:
        from .errors import close_matches

        key = sorted(unknown)[0]
        near = close_matches(key, ["context", "batch", "gpus", "quants", "kv_dtypes", "gpu_counts",
                                   "min_tokens_per_s", "only_fitting"], 3)
        raise WorkloadError(f"fit() has no option {key!r}" + (f"; did you mean {', '.join(near)}?" if near else ""))
    if context is not None:
        positive_int("context", context, MAX_CONTEXT)
    positive_int("batch", batch, MAX_BATCH)
    spec = load_model(model)
    if gpus is None:
        gpus = list_gpus()
    else:
        items = [gpus] if isinstance(gpus, GPU) else gpus
        if not (isinstance(items, (list, tuple)) and any(isinstance(g, GPU) for g in items)):
            items = name_list("gpus", gpus)  # catalog ids only
        gpus = [load_gpu(g) for g in items]  # a GPU of one's own (with_memory, custom_gpu) as it is
    # by default FIT_QUANTS, less the GGUF presets of a model no GGUF of which exists
    if quants is None:  # and first the checkpoint's own format where it is published quantized (gpt-oss's mxfp4)
        quants = tuple(dict.fromkeys(published_format(spec) + runnable_quants(spec, FIT_QUANTS)))
    else:
        quants = name_list("quants", quants)
    kv_dtypes = None if kv_dtypes is None else name_list("kv_dtypes", kv_dtypes)
    gpu_counts = int_list("gpu_counts", gpu_counts, MAX_GPUS)
    flag("only_fitting", only_fitting)
    if min_tokens_per_s is not None:
        positive_float("min_tokens_per_s", min_tokens_per_s)
    rows = []
    for g in gpus:
        gpu = load_gpu(g)
        chunk = {"chunk": _engine_chunk(spec, gpu, context)}  # a "tensor" row's prefill, vLLM's on this GPU
        for q in quants:
            mode = "pp" if is_gguf_weights(q, spec) else "tp"
            if mode == "tp" and not vllm_runs_format(gpu, q):
                continue  # vLLM would not start with this format on this GPU (fp8 on a V100)
            for kv in (kv_dtypes or [default_kv_dtype(q)]):
                for n in gpu_counts:
                    try:
                        p = plan(spec, gpu=gpu, n_gpus=n, mode=mode, quant=q, kv_dtype=kv, context=context,
                                 batch=batch, **(chunk if mode == "tp" and n > 1 else {}))
                    except LayoutError:
                        continue  # vLLM would refuse this split (planner.parallel.check_layout says why)
                    meets = min_tokens_per_s is None or (p.decode_tokens_per_s or 0) >= min_tokens_per_s
                    rows.append(dict(
                        gpu=gpu.id, n_gpus=n, split="layers" if mode == "pp" else "tensor",
                        quant=p.quant, kv_dtype=p.kv_dtype, fits=p.fits, meets_target=meets,
                        per_gpu_total_bytes=p.per_gpu["total_bytes"], headroom_bytes=p.headroom_bytes,
                        decode_tokens_per_s=p.decode_tokens_per_s, gpu_memory_bytes=gpu.usable_memory_bytes,
                        bits_per_weight=8 * p.per_gpu["weights_bytes"] * n / spec.param_count,
                        explanation=explain(p.per_gpu), per_gpu_bytes=dict(p.per_gpu)))
                    if p.fits and meets:
                        break  # more GPUs of this kind only cost more
    df = pd.DataFrame(rows, columns=FIT_COLUMNS)
    if only_fitting:
        df = df[df["fits"] & df["meets_target"]]
    return df.sort_values(["n_gpus", "gpu_memory_bytes", "bits_per_weight", "decode_tokens_per_s"],
                          ascending=[True, True, False, False]).reset_index(drop=True)
