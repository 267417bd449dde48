"""The reverse questions: the longest context, the largest batch, and which GPUs and formats fit."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .bisect import largest_passing
from .checks import flag, int_list, name_list, positive_float, positive_int
from .engines.transformers import transformers_dequantizes
from .errors import LayoutError, PlannerError, WorkloadError
from .estimate import estimate
from .footprint import default_kv_dtype, resolve_workload
from .gpus import GPU, list_gpus, load_gpu
from .limits import MAX_BATCH, MAX_BYTES, MAX_CONTEXT, MAX_GPUS
from .perf import apple_formats, apple_runnable, apple_runs_format
from .profiles import load_model, within_context
from .quant.catalog import get_quant, is_gguf_weights
from .sweep import published_format, sweep
from .units import format_bytes
from .weights import weights_bytes

FIT_QUANTS = ("bf16", "fp8", "q8_0", "int8", "q6_k", "q5_k_m", "q4_k_m", "int4", "q3_k_m", "q2_k")
GPU_COUNTS = (1, 2, 4, 8)
FIT_COLUMNS = ["gpu", "n_gpus", "split", "quant", "kv_dtype", "fits", "meets_target", "per_gpu_total_bytes",
               "headroom_bytes", "decode_tokens_per_s", "decode_typical_error", "gpu_memory_bytes", "bits_per_weight",
               "explanation", "per_gpu_bytes", "budget_bytes", "reason"]


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
        raise WorkloadError(f"{caller}() takes no {', '.join(unknown)}: its options are quant, gpu, kv_dtype, "
                            f"memory_bytes, engine, {', '.join(_SWEEP_OPTIONS)}")
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


def _with_engine(model, gpu, memory_bytes, engine, sized: str, **kw):
    """starts(n) for an engine: its estimate with `sized` (context or batch) set to n fits and runs. vLLM and SGLang
    are sized to the context asked (max_model_len, context_length) unless the caller gives one."""
    if gpu is None or memory_bytes is not None:
        raise WorkloadError("with an engine, give gpu= (a catalog id or a GPU): the engine budgets from the GPU's own "
                            "memory")
    spec = load_model(model)

    def starts(n: int) -> bool:
        context = n if sized == "context" else kw["context"]
        own = {"vllm": "max_model_len", "sglang": "context_length"}.get(engine)
        options = {**kw, sized: n, **({own: context} if own and own not in kw else {})}
        e = estimate(spec, gpu=gpu, engine=engine, **options)
        return bool(e.fits) and e.engine_refusal is None

    return spec, starts


def max_context(model, *, quant: str | None = None, gpu: str | GPU | None = None, batch: int = 1,
                kv_dtype: str | None = None, memory_bytes: int | None = None, engine: str | None = None,
                **kw) -> int:
    """Largest context (≤ the model's max_context) whose total fits the GPU; 0 when not even one token fits. With
    an engine (and its options in kw), the largest it starts and runs `batch` sequences of: vLLM's max_model_len,
    SGLang's context_length set to it unless given."""
    if engine is not None:
        spec, starts = _with_engine(model, gpu, memory_bytes, engine, "context", quant=quant, batch=batch,
                                    kv_dtype=kv_dtype, **kw)
        return largest_passing(starts, spec.max_context)
    spec, w, usable = _prepare(model, gpu, memory_bytes, quant=quant, kv_dtype=kv_dtype, context=1, batch=batch,
                               kw=kw, caller="max_context")
    return _largest_fitting(spec.max_context, np.linspace,
                            lambda probes: _totals(spec, w.quant, kv_dtype, probes, [batch], **kw), usable)


def max_batch(model, *, quant: str | None = None, gpu: str | GPU | None = None, context: int | None = None,
              kv_dtype: str | None = None, memory_bytes: int | None = None, limit: int = 1 << 20,
              engine: str | None = None, **kw) -> int:
    """Largest number of concurrent sequences of `context` tokens that fits; 0 when not even one does. With an
    engine, the most it runs at once (vLLM: its KV blocks and max_num_seqs, sized to this context)."""
    limit = positive_int("limit", limit, MAX_BATCH)
    if engine is not None:
        if context is None:
            raise WorkloadError("max_batch() with an engine needs context= (the tokens of each sequence)")
        _, starts = _with_engine(model, gpu, memory_bytes, engine, "batch", quant=quant, context=context,
                                 kv_dtype=kv_dtype, **kw)
        return largest_passing(starts, limit)
    spec, w, usable = _prepare(model, gpu, memory_bytes, quant=quant, kv_dtype=kv_dtype, context=context, batch=1,
                               kw=kw, caller="max_batch")
    return _largest_fitting(limit, np.geomspace,
                            lambda probes: _totals(spec, w.quant, kv_dtype, [w.context], probes, **kw), usable)


def context_per_quant(model, *, gpu: str | GPU, quants=None, batch: int = 1, kv_dtype: str | None = None
                      ) -> pd.DataFrame:
    """For each quantization (None: fit's, FIT_QUANTS with the checkpoint's own format first, less GGUF presets of a
    model no GGUF of which exists and, on an Apple GPU, what no runtime there loads): the largest context that fits
    the GPU, and the speed there."""
    from .engines import runnable_quants

    spec, g = load_model(model), load_gpu(gpu)
    rows = []
    if quants is None:
        named, left_out = apple_runnable(tuple(dict.fromkeys(published_format(spec)
                                                             + runnable_quants(spec, FIT_QUANTS))), g, spec)
    else:
        named, left_out = name_list("quants", quants), []
    for q in named:
        ctx = max_context(spec, quant=q, gpu=g, batch=batch, kv_dtype=kv_dtype)
        e = estimate(spec, quant=q, context=max(ctx, 1), batch=batch, gpu=g, kv_dtype=kv_dtype)
        # none: the weights alone do not fit, or they do and the runtime's overhead beside them does not
        none = "weights" if e.weights_bytes > g.usable_memory_bytes else "weights and overhead"
        rows.append(dict(quant=get_quant(q).name, max_context=ctx, vllm_max_model_len=_vllm_longest(spec, q, g, batch,
                                                                                                  kv_dtype),
                         weights_bytes=e.weights_bytes,
                         kv_cache_bytes=e.kv_cache_bytes if ctx else 0, total_bytes=e.total_bytes if ctx else None,
                         decode_tokens_per_s=e.decode_tokens_per_s if ctx else None,
                         decode_typical_error=e.performance.typical_error.get("decode") if ctx else None,
                         limited_by=none if not ctx else "max_position_embeddings" if ctx == spec.max_context
                         else "memory"))
    df = pd.DataFrame(rows)
    if not df.empty:
        df["vllm_max_model_len"] = df["vllm_max_model_len"].astype("Int64")  # None where vLLM does not apply
    df.attrs["not_on_apple"] = left_out  # not_on_apple(df) says which
    return df


def _vllm_longest(spec, quant: str, gpu: GPU, batch: int, kv_dtype: str | None) -> int | None:
    """The longest max_model_len vLLM starts with for these weights on this GPU (its KV pool holds one request of
    it; prompts prefill in chunks): None for GGUF weights, a batch above 1, or weights vLLM does not load."""
    if batch != 1 or is_gguf_weights(quant, spec) or gpu.vendor == "apple":
        return None
    try:
        return estimate(spec, quant=quant, gpu=gpu, engine="vllm", kv_dtype=kv_dtype).engine_details.get(
            "longest_max_model_len")
    except PlannerError:  # a format or model this vLLM does not run
        return None


def explain(per_gpu: dict, unit: str = "GiB") -> str:
    """A fit row's per-GPU total by component: 'weights 4.11 GiB, kv_cache 4.50 GiB, …' in `unit`."""
    return ", ".join(f"{k.removesuffix('_bytes')} {format_bytes(v, unit)}" for k, v in per_gpu.items()
                     if k != "total_bytes")


def vllm_split_row(spec, gpu: GPU, *, n_gpus: int, quant: str, kv_dtype: str, context: int, batch: int) -> dict:
    """A "tensor" row of fit(): `n_gpus` GPUs as vLLM (current release, `vllm serve` at its defaults, max_model_len the
    context) splits `spec` over them, with vLLM's verdict (estimate(engine="vllm")). Per GPU, what vLLM counts against
    its budget (gpu_memory_utilization × the GPU's memory): the weights, its profile run's peak, what it charges
    besides (its CUDA-graph estimate) and the KV blocks the batch's sequences (and one max_model_len request with the
    null block) need; headroom is what the budget leaves beyond them. LayoutError where vLLM refuses the split,
    WorkloadError where it would not run the model or format."""
    e = estimate(spec, engine="vllm", quant=quant, kv_dtype=kv_dtype, context=context, batch=batch, gpu=gpu,
                 tensor_parallel_size=n_gpus, max_model_len=context)
    d = e.engine_details
    per_gpu = dict(weights_bytes=e.weights_bytes, kv_cache_bytes=d["kv_blocks_needed"] * d["kv_block_bytes"],
                   activation_bytes=e.activation_bytes, overhead_bytes=d["charged_bytes"])
    per_gpu["total_bytes"] = sum(per_gpu.values())
    return dict(fits=bool(e.fits), per_gpu=per_gpu, budget_bytes=d["requested_bytes"],
                headroom_bytes=d["requested_bytes"] - per_gpu["total_bytes"],
                decode_tokens_per_s=e.decode_tokens_per_s, quant=e.workload.quant, kv_dtype=e.workload.kv_dtype,
                decode_typical_error=e.performance.typical_error.get("decode"),
                reason=None if e.fits else e.performance.reason)


def _plan_row(spec, gpu: GPU, *, n_gpus: int, mode: str, quant: str, kv_dtype: str, context: int,
              batch: int) -> dict:
    """A row of fit() from planner.parallel.plan(): one GPU as the plain model runs it, or a GGUF format's layers over
    several as llama.cpp splits them; checked against the GPU's usable memory."""
    from .parallel import plan

    p = plan(spec, gpu=gpu, n_gpus=n_gpus, mode=mode, quant=quant, kv_dtype=kv_dtype, context=context, batch=batch)
    return dict(fits=p.fits, per_gpu=dict(p.per_gpu), budget_bytes=gpu.usable_memory_bytes,
                headroom_bytes=p.headroom_bytes, decode_tokens_per_s=p.decode_tokens_per_s, quant=p.quant,
                kv_dtype=p.kv_dtype, decode_typical_error=p.typical_error.get("decode"), reason=None)


def fit(model, *, context: int | None = None, batch: int = 1, gpus=None, quants=None, kv_dtypes=None,
        gpu_counts=GPU_COUNTS, min_tokens_per_s: float | None = None, only_fitting: bool = True,
        **unknown) -> pd.DataFrame:
    """Rank (GPU, GPU count, quantization, KV dtype) options that fit `model` at `context`.

    Ranked by GPU count, then memory per GPU (a proxy for price), then bits per weight (quality), then
    speed. Multi-GPU options split as their runtime would: GGUF formats, which llama.cpp and Ollama run, by layers
    (llama.cpp's default --split-mode layer: split "layers", planner.parallel.plan's "pp"), the others as vLLM splits
    them, tensor parallel, with vLLM's own verdict and budget (vllm_split_row: split "tensor"); a single GPU's rows
    are the plain model's, as estimate(), table() and max_context() give them (the whole prompt at once; split None).
    Each row explains its per-GPU total by component; budget_bytes is what that total is held to (the GPU's usable
    memory, or vLLM's budget), reason why a row does not fit where the engine says so. A split the engine refuses is
    no row: fit_refusals(df) says which, and why. quants None: FIT_QUANTS, less the GGUF presets of a model
    no GGUF of which exists (engines.runnable_quants).
    """
    from .engines import runnable_quants
    from .parallel import check_layout

    if unknown:
        from .errors import no_option

        raise no_option("fit", unknown, ["context", "batch", "gpus", "quants", "kv_dtypes", "gpu_counts",
                                         "min_tokens_per_s", "only_fitting"])
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
    rows, refused, no_apple_kernel = [], {}, set()
    context = spec.max_context if context is None else within_context("context", context, spec)
    for g in gpus:
        gpu = load_gpu(g)
        for q in apple_formats(quants, gpu):  # int4/int8 on an Apple GPU: MLX's own, the files people run there
            mode = "pp" if is_gguf_weights(q, spec) else "tp"
            if mode == "tp" and not vllm_runs_format(gpu, q):
                continue  # vLLM would not start with this format on this GPU (fp8 on a V100)
            if gpu.vendor == "apple" and not apple_runs_format(q, spec):
                no_apple_kernel.add(get_quant(q).name)  # no kernel there: MLX and llama.cpp take their own formats
                continue
            for kv in (kv_dtypes or [default_kv_dtype(q)]):
                for n in gpu_counts:
                    try:
                        check_layout(spec, gpu, n, mode)
                        r = (vllm_split_row if mode == "tp" and n > 1 else _plan_row)(
                            spec, gpu, n_gpus=n, quant=q, kv_dtype=kv, context=context, batch=batch,
                            **({} if mode == "tp" and n > 1 else {"mode": mode}))
                    except LayoutError as e:  # the engine refuses the split (parallel.check_layout, layout.py)
                        if gpu.vendor != "apple":  # Apple GPUs are one per machine: no split to report
                            refused.setdefault((get_quant(q).name, n), str(e))
                        continue
                    except WorkloadError as e:
                        if not (mode == "tp" and n > 1):
                            raise
                        refused.setdefault((get_quant(q).name, n), str(e))  # vLLM does not run it (model, format)
                        continue
                    meets = min_tokens_per_s is None or (r["decode_tokens_per_s"] or 0) >= min_tokens_per_s
                    per_gpu = r["per_gpu"]
                    rows.append(dict(
                        gpu=gpu.id, n_gpus=n, split=None if n == 1 else "layers" if mode == "pp" else "tensor",
                        quant=r["quant"], kv_dtype=r["kv_dtype"], fits=r["fits"], meets_target=meets,
                        per_gpu_total_bytes=per_gpu["total_bytes"], headroom_bytes=r["headroom_bytes"],
                        decode_tokens_per_s=r["decode_tokens_per_s"], decode_typical_error=r["decode_typical_error"],
                        gpu_memory_bytes=gpu.usable_memory_bytes,
                        # the format's bits (a tensor row's GPUs hold K and V replicas beside their shares)
                        bits_per_weight=8 * (weights_bytes(spec, r["quant"]) if mode == "tp" and n > 1
                                             else per_gpu["weights_bytes"] * n) / spec.param_count,
                        explanation=explain(per_gpu), per_gpu_bytes=dict(per_gpu), budget_bytes=r["budget_bytes"],
                        reason=r["reason"]))
                    if r["fits"] and meets:
                        break  # more GPUs of this kind only cost more
    df = pd.DataFrame(rows, columns=FIT_COLUMNS)
    if only_fitting:
        df = df[df["fits"] & df["meets_target"]]
    df = df.sort_values(["n_gpus", "gpu_memory_bytes", "bits_per_weight", "decode_tokens_per_s"],
                        ascending=[True, True, False, False]).reset_index(drop=True)
    # the splits the engine refuses, by format and GPU count (the first GPU's reason): fit_refusals() reads them
    df.attrs["refused"] = [dict(quant=q, n_gpus=n, reason=why) for (q, n), why in refused.items()]
    df.attrs["not_on_apple"] = sorted(no_apple_kernel)
    catalog = set(list_gpus())  # a GPU of one's own (with_memory, custom_gpu) has no catalog id to look up: kept here
    df.attrs["gpus"] = {g.id: g for g in map(load_gpu, gpus) if g.id not in catalog}
    return df


def fit_gpu(df: pd.DataFrame, gpu_id: str) -> GPU:
    """The GPU a fit() row names: as fit() was given it (a catalog GPU with its memory changed, a custom one), else
    from the catalog."""
    return df.attrs.get("gpus", {}).get(gpu_id) or load_gpu(gpu_id)


def not_on_apple(df: pd.DataFrame, *, beside_apple_rows: bool = False) -> str | None:
    """The formats a fit() table leaves out on Apple GPUs, where no runtime loads them, as one sentence; None where
    it left none out, or (beside_apple_rows: a ranking of every format) where the rows shown have no Apple GPU."""
    if not (missing := df.attrs.get("not_on_apple")) or (
            beside_apple_rows and not any(fit_gpu(df, g).vendor == "apple" for g in df["gpu"])):
        return None
    return (f"{', '.join(missing)} {'is' if len(missing) == 1 else 'are'} not ranked on Apple GPUs: neither MLX nor "
            "llama.cpp loads such checkpoints (MLX runs its own formats, mlx-4bit, mlx-8bit and the like, and mxfp4, "
            "mxfp8 and nvfp4, which mlx_lm.convert makes from the 16-bit weights; llama.cpp runs GGUF)")


def fit_refusals(df: pd.DataFrame) -> list[str]:
    """The formats a fit() table leaves out at some GPU counts because the engine refuses that split, one line per
    format: 'int4 over 2, 4 or 8 GPUs: tensor parallel 2: …' (the smallest count's reason)."""
    by_quant: dict[str, list[dict]] = {}
    for r in df.attrs.get("refused", []):
        by_quant.setdefault(r["quant"], []).append(r)
    lines = []
    for q, items in by_quant.items():
        counts = sorted({r["n_gpus"] for r in items})
        first = min(items, key=lambda r: r["n_gpus"])
        said = ", ".join(map(str, counts[:-1])) + (" or " if len(counts) > 1 else "") + str(counts[-1])
        lines.append(f"{q} over {said} GPU{'s' * (counts[-1] > 1)}: {first['reason']}")
    return lines
