"""Speed efficiencies as data: the share of datasheet bandwidth (decode) and FLOP/s (prefill) an engine reaches.

profiles/efficiency.yaml holds one entry per engine (llama.cpp per backend), weight-format family and GPU class,
each with its value, how it was derived and its sources. A lookup walks a documented fallback order and says which
entry answered, so every speed figure can name the number it rests on:

  1. engine, backend, family, class          6-10. the same for the engine's group (compiled engines share one)
  2. engine, any backend, family, class     11-20. 1-10 with any family
  3-4. 1-2 in the vendor's other class         21. "default"
       (AMD: Instinct <-> Radeon)
  5. engine, family, any class
The weight family comes first: a format's kernels (dequantization) set the efficiency more than the engine does.

Families: "float" (16-bit weights), "fp8", "int8" (weight-only int8), "int4" (weight-only 4-bit: int4, AWQ, GPTQ,
EXL2, NF4/FP4, MXFP4) and "gguf" (llama.cpp's block-quantized types). Classes: "hbm", "gddr" (NVIDIA), "apple",
"amd" (Radeon, GDDR) and "amd-hbm" (Instinct).
"""

from __future__ import annotations

from typing import Literal

from ..errors import WorkloadError
from ..gpus import GPU
from ..spec import ModelSpec
from .latency import (  # noqa: F401 (re-exported)
    FLOOR_KERNELS,
    _engine_entry,
    decode_floor,
    floor_kernels,
    floor_ratio,
    floor_seconds_per_layer,
    layer_overhead,
    moe_expert_overhead,
    moe_prefill_split,
    moe_prefill_tile,
    prefill_layer_overhead,
    request_overhead,
    request_seconds,
    sync_loop,
)
from .table import (  # noqa: F401 (re-exported)
    ANY,
    BACKENDS,
    NOT_ON,
    RUNS_ON,
    SPEED_ENGINES,
    VENDOR_OF_CLASS,
    VENDOR_SIBLING,
    Band,
    Entry,
    Family,
    GPUClass,
    _data,
    _index,
    band,
    check_backend,
    check_engine,
    check_engine_loads,
    check_engine_on,
    default_backend,
    engine_backend,
    family,
    gpu_class,
    reload,
    speed_engine,
    table,
    trial,
)


def lookup(what: Literal["decode_memory", "prefill_compute"], *, engine: str, fam: str, cls: str,
           backend: str = ANY) -> Entry:
    """The entry that answers `what` for this engine, backend, family and GPU class (fallback order above)."""
    check_engine(engine)
    index = _index(what)
    engines = dict.fromkeys((engine, SPEED_ENGINES[engine]))
    sibling = VENDOR_SIBLING.get(cls, cls)
    for fa in dict.fromkeys((fam, ANY)):  # the weight family first: its kernels set the efficiency
        for eng in engines:
            for be, cl in dict.fromkeys(((backend, cls), (ANY, cls), (backend, sibling), (ANY, sibling), (ANY, ANY))):
                if (hit := index.get((eng, be, fa, cl))) is not None:
                    return hit
    if (hit := index.get(("default", ANY, ANY, ANY))) is not None:
        return hit
    raise WorkloadError(f"the efficiency table has no {what} entry for {engine}")  # "default" rows prevent this


def efficiencies(gpu: GPU, quant: str, engine: str, spec: ModelSpec | None = None, *,
                 backend: str | None = None, prefill_family: str | None = None) -> tuple[Entry, Entry]:
    """(decode-memory entry, prefill-compute entry) for a run of `engine` on `gpu` with `quant` weights.
    prefill_family: the family whose kernels run the prefill, where not the weights' own (llama.cpp's cuBLAS and
    rocBLAS paths run dequantized GGUF weights as float ones, its MMQ on AMD Instinct is "dp4a" or "mfma":
    planner.perf.llamacpp_prefill_family)."""
    backend = check_backend(backend) if backend is not None else (
        default_backend(gpu) if engine == "llama.cpp" else ANY)
    kw = dict(engine=engine, fam=family(quant, spec), cls=gpu_class(gpu), backend=backend)
    prefill = lookup("prefill_compute", **{**kw, "fam": prefill_family or kw["fam"]})
    if prefill_family == "mfma" and prefill.family != "mfma":
        prefill = _as_the_path_it_replaced(gpu, kw)
    return lookup("decode_memory", **kw), prefill


def _as_the_path_it_replaced(gpu: GPU, kw: dict) -> Entry:
    """llama.cpp's MMQ on an Instinct GPU's matrix cores without an entry of its own: the rate of the rocBLAS path it
    replaced (the float entry's share of the fp16 peak, taken as a share of the int8 peak it runs against): a floor,
    since llama.cpp moved to it because "rocblas/tensile performs very poorly on CDNA3" (ggml-cuda/mmq.cu)."""
    rocblas = lookup("prefill_compute", **{**kw, "fam": "float"})
    if not gpu.peak_flops("fp16") or not gpu.peak_flops("int8"):
        return rocblas  # no int8 figure: the prefill has no peak to run against anyway
    share = rocblas.prefill_compute * gpu.peak_flops("fp16") / gpu.peak_flops("int8")
    return rocblas.model_copy(update={"prefill_compute": share, "derivation": rocblas.derivation + "; standing for "
                                      "the matrix-core MMQ path, which has no entry of its own, at its rate"})


def efficiency_keys(gpu: GPU, quant: str, engine: str, spec: ModelSpec | None = None, *, backend: str | None = None,
                    efficiency: float | None = None, prefill_efficiency: float | None = None,
                    prefill_family: str | None = None) -> dict[str, str]:
    """Which entries a run's decode and prefill figures rest on ("yours" where the caller gave the value), and the
    per-layer time every step adds with the entry it comes from ("layers")."""
    decode, prefill = efficiencies(gpu, quant, engine, spec, backend=backend, prefill_family=prefill_family)
    return {"decode": "yours" if efficiency is not None else decode.key,
            "prefill": "yours" if prefill_efficiency is not None else prefill.key,
            "layers": layer_key(gpu, engine, backend, quant)}


def layer_key(gpu: GPU, engine: str, backend: str | None = None, quant: str | None = None) -> str:
    """The per-layer time a decode step of `engine` takes beyond its bytes, and its entry: an eager engine's floor
    (its kernels' for `quant` where they have one), a graph-launched or compiled engine's overhead (llama.cpp's for
    its backend: the run's, else the GPU's own)."""
    if (floor := decode_floor(engine)) is not None:
        said = f"{floor.engine}: at least {1e6 * floor_seconds_per_layer(engine, quant):.0f} µs a layer"
        if (ratio := floor_ratio(engine, quant)) is not None:
            said += f" ({ratio.family} kernels: {ratio.decode_floor_ratio:g} × its floor)"
        return said
    entry = layer_overhead(engine, engine_backend(engine, gpu, backend))
    if entry is None:
        return "none"
    name = entry.engine + ("" if entry.backend == ANY else f"/{entry.backend}")
    return f"{name}: {1e6 * entry.layer_overhead_s:g} µs a layer"


def typical_errors(quant: str, engine: str, spec: ModelSpec | None = None, gpu: GPU | None = None, *,
                   efficiency: float | None = None, prefill_efficiency: float | None = None) -> dict[str, float]:
    """{"decode": …, "ttft": …}: the check half's median |error| (a fraction) that a speed figure carries: of the runs
    of this engine (the one the user runs: Ollama's own runs for Ollama, which runs on llama.cpp's figures) and weight
    family on `gpu`'s class where there are five (llama.cpp on AMD Instinct GPUs, which no entry of their own
    describes, lands far from llama.cpp's figures elsewhere), else as band() falls back. A figure from the user's own
    efficiency (or prefill_efficiency) carries none: the table's error says nothing of it."""
    fam, cls = family(quant, spec), ANY if gpu is None else gpu_class(gpu)
    own = {"decode": efficiency, "ttft": prefill_efficiency}
    return {what: b.median_abs_error for what in ("decode", "ttft")
            if own[what] is None and (b := band(what, engine, fam, cls)) is not None}


def with_serving_error(errors: dict[str, float]) -> dict[str, float]:
    """A figure set's typical errors with the steady stream's (Performance.serving_decode_tokens_per_s) added: the
    median |error| of its per-request rate on published runs at a fixed concurrency, none of which calibrated planner
    (benchmarks/batch_speed.py; one band while they are this few). None added where the decode or prefill figure is
    the user's own efficiency (the stream is made of both) or there is no band."""
    stream = band("serving", ANY, ANY)
    return errors | ({"serving": stream.median_abs_error} if stream is not None and {"decode", "ttft"} <= set(errors)
                     else {})
