"""sweep(): estimates for a whole product of configurations as one DataFrame, vectorized with numpy;
table(): the "VRAM by quantization × context length" table that model pages show."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from .checks import int_list, name_list, positive_int
from .errors import WorkloadError, no_option, shown
from .footprint import default_kv_dtype, resolve_workload, workload_bytes
from .kv import get_kv_dtype
from .limits import MAX_BATCH, MAX_CONTEXT
from .overhead import fragmentation_bytes, overhead_bytes
from .profiles import load_model, within_context
from .spec import ModelSpec
from .units import parse_unit, to_unit
from .weights import weights_bytes

TABLE_QUANTS = ("bf16", "q8_0", "q6_k", "q5_k_m", "q4_k_m", "q3_k_m", "q2_k")
COLUMNS = ["model", "quant", "kv_dtype", "context", "batch", "weights_bytes", "kv_cache_bytes",
           "activation_bytes", "overhead_bytes", "total_bytes", "within_max_context"]


def _as_list(x) -> list:
    return [x] if isinstance(x, (str, int, ModelSpec)) or x is None else list(x)


def _models(models) -> list:
    """One model (a name or a ModelSpec) or a non-empty list of them."""
    items = [models] if isinstance(models, (str, ModelSpec)) else models
    if isinstance(items, (list, tuple)) and items and all(
            isinstance(m, ModelSpec) or (isinstance(m, str) and m.strip()) for m in items):
        return list(items)
    raise WorkloadError(f"models must be a model or a non-empty list of models, got {shown(models)}")


def _positive_ints(name: str, values, maximum: int) -> np.ndarray:
    items = [values] if not isinstance(values, (list, tuple, range, np.ndarray)) else list(values)
    if not items or not all(isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_)) for v in items):
        raise WorkloadError(f"{name} must be integers ≥ 1, got {items[:8]!r}")
    bad = [int(v) for v in items if not 1 <= v <= maximum]
    if bad:
        raise WorkloadError(f"{name} must be integers within 1–{maximum:,}, got {bad[0]:,}")
    return np.asarray([int(v) for v in items], dtype=np.int64)


SWEEP_OPTIONS = ("chunk", "attention", "logits", "logits_dtype", "runtime", "cap_sliding")  # sweep()'s keywords


def sweep(models, quants=None, contexts: Iterable[int] | int = 4096, batches: Iterable[int] | int = 1,
          kv_dtypes=None, *, chunk: int | None = None, attention: str = "sdpa", logits: str = "last",
          logits_dtype: str = "fp32", runtime: str = "cuda", cap_sliding: bool = True, **unknown) -> pd.DataFrame:
    """One row per (model, quant, kv_dtype, context, batch), with the byte columns of estimate().

    quants None: each checkpoint's own storage; kv_dtypes None: the default for each quant.
    Contexts beyond a model's max_context are kept and flagged in `within_max_context`.
    """
    if unknown:
        raise no_option("sweep", unknown, ("quants", "contexts", "batches", "kv_dtypes", *SWEEP_OPTIONS))
    models = _models(models)
    quants = None if quants is None else name_list("quants", quants)
    kv_dtypes = None if kv_dtypes is None else name_list("kv_dtypes", kv_dtypes)
    ctx = _positive_ints("contexts", contexts, MAX_CONTEXT)
    bat = _positive_ints("batches", batches, MAX_BATCH)
    C, B = (a.ravel() for a in np.meshgrid(ctx, bat, indexing="ij"))
    parts = []
    for model in models:
        spec = load_model(model)
        for quant in _as_list(quants):
            w = resolve_workload(spec, plain=True, quant=quant, kv_dtype=None, context=1, batch=1, chunk=chunk,
                                 attention=attention, logits=logits, logits_dtype=logits_dtype,
                                 runtime=runtime, cap_sliding=cap_sliding)
            weights = weights_bytes(spec, w.quant)
            over = overhead_bytes(w.runtime)
            for kv_dtype in _as_list(kv_dtypes) if kv_dtypes is not None else [default_kv_dtype(w.quant, spec)]:
                kd = get_kv_dtype(kv_dtype).name
                kv, prefill, decode = workload_bytes(spec, w.model_copy(update={"kv_dtype": kd}), context=C,
                                                     batch=B, weights=weights)
                act = np.maximum(prefill, decode)
                over_act = over + (fragmentation_bytes(act) if w.runtime == "cuda" else 0)
                parts.append(dict(model=spec.name, quant=w.quant, kv_dtype=kd, context=C, batch=B,
                                  weights_bytes=weights, kv_cache_bytes=kv, activation_bytes=act,
                                  overhead_bytes=over_act, total_bytes=weights + kv + act + over_act,
                                  within_max_context=C <= spec.max_context))
    n = len(C)
    data = {}
    for col in COLUMNS:
        if col in ("model", "quant", "kv_dtype"):
            labels = [p[col] for p in parts]
            cats = list(dict.fromkeys(labels))
            codes = np.repeat(np.array([cats.index(v) for v in labels], dtype=np.int32), n)
            data[col] = pd.Categorical.from_codes(codes, categories=cats)
        else:
            data[col] = np.concatenate([np.broadcast_to(p[col], (n,)) for p in parts])
    return pd.DataFrame(data, columns=COLUMNS)


def table_contexts(max_context: int) -> list[int]:
    """1K, 2K, 4K, … up to max_context, and max_context itself when it is not a power of two."""
    out = [1024 * 2**i for i in range(64) if 1024 * 2**i <= max_context]
    if not out or out[-1] != max_context:
        out.append(max_context)
    return out


def context_label(n: int) -> str:
    return f"{n // 1024}K" if n % 1024 == 0 else f"{n:,}"


# The GGUF its makers publish beside a quantized checkpoint: gpt-oss's MXFP4 experts as llama.cpp's MXFP4_MOE
# (ggml-org/gpt-oss-20b-GGUF, gpt-oss-20b-mxfp4.gguf, 12.1 GB; general.file_type "MXFP4 MoE")
PUBLISHED_GGUF = {"mxfp4": "mxfp4_moe"}


def published_format(spec: ModelSpec) -> tuple[str, ...]:
    """The checkpoint's own format where it is published quantized (DeepSeek-R1's fp8-block, gpt-oss's mxfp4, and
    its GGUF twin mxfp4_moe), which default lists of formats lead with; () for a 16- or 32-bit checkpoint."""
    if spec.weights_dtype in ("bf16", "fp16", "fp32", "checkpoint"):
        return ()
    return (spec.weights_dtype,) + ((PUBLISHED_GGUF[spec.weights_dtype],) if spec.weights_dtype in PUBLISHED_GGUF
                                    else ())


def table_quants(spec: ModelSpec) -> tuple[str, ...]:
    """The rows of a table by default: TABLE_QUANTS, or, for a model no GGUF of which exists (llama.cpp cannot run
    it), the formats the engines that run it take (NO_GGUF_QUANTS); first, the checkpoint's own format where it is
    published quantized (DeepSeek-R1's fp8-block, gpt-oss's mxfp4)."""
    from .engines import NO_GGUF_QUANTS, has_gguf

    return tuple(dict.fromkeys(published_format(spec) + (TABLE_QUANTS if has_gguf(spec) else NO_GGUF_QUANTS)))


def table(model, *, quants: Iterable[str] | None = None, contexts: Iterable[int] | None = None,
          unit: str = "GiB", batch: int = 1, kv_dtype: str | None = None, **kw) -> pd.DataFrame:
    """Total memory in `unit`, quantizations as rows and context lengths as columns; quants None: table_quants."""
    if unknown := set(kw) - set(SWEEP_OPTIONS):
        raise no_option("table", unknown, ("quants", "contexts", "unit", "batch", "kv_dtype", *SWEEP_OPTIONS))
    spec = load_model(model)
    quants = table_quants(spec) if quants is None else quants
    unit = parse_unit(unit)
    ctxs = table_contexts(spec.max_context) if contexts is None else int_list("contexts", contexts, MAX_CONTEXT)
    for c in ctxs:  # as estimate() refuses them, with what runs the model that far; sweep() flags them
        within_context("contexts:", c, spec)
    quants = name_list("quants", quants)
    batch = positive_int("batch", batch, MAX_BATCH)
    df = sweep(spec, quants=quants, contexts=ctxs, batches=batch,
               kv_dtypes=None if kv_dtype is None else [kv_dtype], **kw)
    wide = df.pivot_table(index="quant", columns="context", values="total_bytes", aggfunc="first", observed=True)
    wide = wide.reindex(index=list(dict.fromkeys(df["quant"])), columns=ctxs)
    out = wide.astype("int64") if unit == "B" else to_unit(wide.astype(float), unit)  # bytes stay whole
    out.columns = [context_label(c) for c in ctxs]
    out.index.name = f"quant \\ context ({unit})"
    return out
