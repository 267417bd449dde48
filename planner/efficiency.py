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

from contextlib import contextmanager
from functools import lru_cache
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from .errors import WorkloadError, shown
from .gpus import GPU
from .paths import profiles_dir, read_yaml
from .quant.catalog import base_name, get_quant
from .spec import ModelSpec

Family = Literal["float", "fp8", "int8", "int4", "gguf"]
# Besides these weight families, prefill entries are also keyed by the kernels that run a prompt where they differ
# from the weights' own (planner.perf.llamacpp_prefill_family): "float" for a dequantize-then-GEMM path, and on AMD
# Instinct llama.cpp's MMQ on the vector units ("dp4a") or on the matrix cores ("mfma").
GPUClass = Literal["hbm", "gddr", "apple", "amd", "amd-hbm"]
# Engines whose speed planner models, and the group an engine falls back to when the table has nothing for it.
# AutoAWQ runs its fused modules inside transformers' generate() (eager, a Python loop per step, its decode floored like
# transformers'), with its own int4 GEMM and GEMV kernels: a group of its own, so that neither speaks for the other.
SPEED_ENGINES = {"llama.cpp": "llama.cpp", "vllm": "compiled", "sglang": "compiled", "tensorrt-llm": "compiled",
                 "gpt-fast": "compiled", "mlc-llm": "compiled", "exllamav2": "compiled", "lmdeploy": "compiled",
                 "autoawq": "autoawq", "mlx": "mlx", "transformers": "transformers"}
BACKENDS = ("cuda", "rocm", "vulkan", "metal", "sycl", "cpu")  # llama.cpp's
# A class without an entry falls back to its vendor's other class before "any GPU", whose entries NVIDIA's CUDA runs
# make: AMD's Instinct and Radeon cards share ROCm's kernels (llama.cpp's ROCm decode on Instinct has two calibration
# runs, too few for an entry; both land below the Radeon entry, further below the any-GPU one).
VENDOR_SIBLING = {"amd-hbm": "amd", "amd": "amd-hbm"}
# Memory engines that run another's kernels: their speed is that engine's
RUNS_ON = {"ollama": "llama.cpp"}


# Kernels whose launches set an eager engine's decode floor apart from its other formats': bitsandbytes runs each linear
# layer as several kernels launched from Python (bitsandbytes/autograd/_functions.py, functional.py at 0.45): at one
# token a 4-bit matrix is one gemv_4bit, a double-quantized one dequantizes its absmax first (dequantize_blockwise),
# and LLM.int8() quantizes the activations by row, splits off the outlier columns (llm_int8_threshold 6.0, the
# default) for an fp16 matmul and dequantizes the int8 GEMM's result. Each kernel family's step is a multiple of its
# engine's floor on the same machine (decode_floor_ratio keyed engine/any/<kernels>/any), fitted on pairs of runs of
# one model on one machine, with and without those kernels: the floor itself follows the host's CPU, the ratio the
# kernels a layer launches.
FLOOR_KERNELS = {"bnb-int8": "bnb-int8", "nf4": "bnb-4bit", "fp4": "bnb-4bit", "nf4-dq": "bnb-4bit-dq",
                 "fp4-dq": "bnb-4bit-dq"}


def speed_engine(engine: str) -> str:
    """The speed engine of a memory engine (Ollama runs llama.cpp); others are their own."""
    return RUNS_ON.get(engine, engine)
ANY = "any"


class Entry(BaseModel):
    """One row of the efficiency table."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    engine: str
    backend: str = ANY
    family: str = ANY
    gpu_class: str = ANY
    decode_memory: float | None = Field(None, gt=0, le=1, description="decode: bytes/s reached ÷ datasheet bandwidth")
    prefill_compute: float | None = Field(None, gt=0, le=1, description="prefill: FLOP/s reached ÷ datasheet peak")
    decode_floor_s_per_layer: float | None = Field(
        None, gt=0, le=0.1, description="eager engines: the least time a decode step spends per layer (kernel launches "
        "and Python between them), whatever the bytes")
    layer_overhead_s: float | None = Field(
        None, ge=0, le=0.01, description="engines that launch from a graph or a compiled loop: time each layer adds to "
        "every forward step on top of its bytes and FLOPs (the short kernels and syncs a layer runs)")
    prefill_layer_overhead_s: float | None = Field(
        None, ge=0, le=0.01, description="the same engines' time each layer adds to a prefill step, which runs "
        "outside the captured decode graphs (its own attention kernel, launches one by one); absent: layer_overhead_s")
    decode_floor_ratio: float | None = Field(
        None, gt=0, le=20, description="eager engines: the floor of a step whose matmuls run these kernels (the "
        "entry's family: planner.efficiency.FLOOR_KERNELS), as a multiple of the engine's floor on the same machine")
    moe_expert_overhead_s: float | None = Field(
        None, ge=0, le=0.001, description="a MoE layer split over several GPUs: time each of its routed experts adds "
        "to every forward step (routing, sorting tokens by expert, the experts' small kernels, the GPUs' syncs) that "
        "its bytes do not account for")
    moe_prefill_split_s: float | None = Field(
        None, ge=0, le=1, description="a prefill of a MoE model split over several GPUs: the fixed time it takes "
        "beyond its FLOPs, bytes and per-expert time, whatever the prompt's length (an engine's own entry only)")
    moe_prefill_tile: int | None = Field(
        None, ge=1, le=4096, description="prefill of a MoE model: the rows of the tiles a routed expert's matmul runs "
        "in; an expert that receives m tokens of a forward step costs m rounded up to whole tiles")
    sync_loop_step_s: float | None = Field(
        None, ge=0, le=0.1, description="an engine whose loop does its host work between GPU steps (vLLM's V0 engine: "
        "scheduling, input preparation, sampling, output processing): the time that adds to every forward step")
    request_overhead_s: float | None = Field(
        None, ge=0, le=10, description="a served request's time to first token beyond the prefill: the HTTP round "
        "trip, tokenization and scheduling, as a server benchmark measures them")
    derivation: str
    sources: tuple[str, ...] = ()

    @property
    def key(self) -> str:
        return "/".join((self.engine, self.backend, self.family, self.gpu_class))


class Band(BaseModel):
    """How far planner's speeds land from published runs of the check half: the median |error| of a class."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    what: Literal["decode", "ttft"]
    engine: str = ANY
    family: str = ANY
    gpu_class: str = ANY
    runs: int = Field(gt=0)
    median_abs_error: float = Field(ge=0)


_TRIAL: list[dict] = []  # a table being tried (benchmarks/calibrate_speed.py), in place of the file


@lru_cache(maxsize=1)
def _data() -> dict:
    return _TRIAL[-1] if _TRIAL else read_yaml(profiles_dir() / "efficiency.yaml")


@lru_cache(maxsize=1)
def table() -> tuple[Entry, ...]:
    return tuple(Entry(**e) for e in _data()["entries"])


@lru_cache(maxsize=32)
def _index(what: str) -> dict[tuple[str, str, str, str], Entry]:
    """The entries that give `what`, by (engine, backend, family, class): the first of a key wins."""
    index: dict[tuple[str, str, str, str], Entry] = {}
    for e in table():
        if getattr(e, what) is not None:
            index.setdefault((e.engine, e.backend, e.family, e.gpu_class), e)
    return index


@lru_cache(maxsize=1)
def _bands() -> dict[tuple[str, str, str, str], Band]:
    return {(b.what, b.engine, b.family, b.gpu_class): b for b in (Band(**b) for b in _data().get("bands", []))}


def reload() -> None:
    """Read profiles/efficiency.yaml again (after benchmarks/calibrate_speed.py rewrote it)."""
    for cached in (_data, table, _index, _bands):
        cached.cache_clear()


@contextmanager
def trial(doc: dict):
    """Look speeds up in `doc` ({"entries": [...], "bands": [...]}) instead of profiles/efficiency.yaml meanwhile."""
    _TRIAL.append(doc)
    reload()
    try:
        yield
    finally:
        _TRIAL.pop()
        reload()


# The vendor a GPU class belongs to: a band over one vendor's classes (an engine's error on NVIDIA cards) speaks for
# its classes without a band of their own, never for another vendor's (SGLang's fp8 runs on AMD Instinct are not its
# runs on an H100)
VENDOR_OF_CLASS = {"hbm": "nvidia", "gddr": "nvidia", "amd": "amd", "amd-hbm": "amd", "apple": "apple"}


def band(what: Literal["decode", "ttft"], engine: str, fam: str, cls: str = ANY) -> Band | None:
    """The check half's typical error for this engine × weight family on this GPU class, else for the engine it runs
    on (Ollama: llama.cpp) on that class, else for either on that class's vendor's GPUs, else for all runs of `what`
    (each with ≥ 5 runs): a class's own error (llama.cpp on AMD Instinct) comes first, and another vendor's never
    stands in. Without a class (no GPU): the engine's over every GPU."""
    bands = _bands()
    scopes = (cls, VENDOR_OF_CLASS[cls]) if cls in VENDOR_OF_CLASS and cls != "apple" else (cls,)
    keys = [(what, e, fam, c) for c in scopes for e in dict.fromkeys((engine, speed_engine(engine)))]
    return next((bands[k] for k in (*keys, (what, ANY, ANY, ANY)) if k in bands), None)


def gpu_class(gpu: GPU) -> GPUClass:
    """Apple's unified memory; AMD's GPUs, whose ROCm kernels reach other shares of the datasheet than CUDA's on the
    same kind of memory, apart by memory as NVIDIA's: Radeon cards (RDNA, GDDR: "amd") and Instinct accelerators (CDNA,
    HBM: "amd-hbm", whose 1.2–5.3 TB/s a batch-1 decode reaches a much smaller share of: the calibration half's
    llama.cpp runs on MI100 and MI300X land above the Radeon ones' fit, +29 % and +93 %, the Radeon ones below it);
    NVIDIA's HBM and GDDR cards."""
    hbm = gpu.memory_type.upper().startswith("HBM")
    if gpu.vendor == "apple":
        return "apple"
    if gpu.vendor == "amd":
        return "amd-hbm" if hbm else "amd"
    return "hbm" if hbm else "gddr"


def default_backend(gpu: GPU) -> str:
    """llama.cpp's backend on this GPU: Metal on Apple, ROCm (HIP) on AMD, CUDA on NVIDIA."""
    return {"apple": "metal", "amd": "rocm"}.get(gpu.vendor, "cuda")


def engine_backend(engine: str, gpu: GPU, backend: str | None = None) -> str:
    """The backend a step's per-layer costs and kernel tiles are looked up for: llama.cpp's (`backend`, else the
    GPU's own), "any" for the other engines."""
    return (backend or default_backend(gpu)) if engine == "llama.cpp" else ANY


def family(quant: str, spec: ModelSpec | None = None) -> Family:
    """The weight-format family of `quant` (a catalog name; "checkpoint" reads the checkpoint's own dtypes)."""
    fmt = get_quant(quant)
    if fmt.name == "checkpoint" and spec is not None and spec.checkpoint is not None:
        ck = spec.checkpoint
        quantized = sum(t.nbytes for t in ck.tensors if t.dtype not in ("F32", "F16", "BF16", "F64"))
        if quantized <= ck.total_bytes / 2:
            return "float"
        return "gguf" if ck.format == "gguf" else "int4"
    name = fmt.name
    if fmt.is_gguf:
        return "float" if name in ("f16", "bf16", "f32", "gguf-f16", "gguf-bf16", "gguf-f32") else "gguf"
    if name.startswith("fp8"):
        return "fp8"
    bits = fmt.layout.bits if fmt.layout is not None else 16
    return "float" if bits >= 16 else "int8" if bits >= 8 else "int4"


def check_engine(engine: str) -> str:
    if engine not in SPEED_ENGINES:
        raise WorkloadError(f"engine must be one of {', '.join(SPEED_ENGINES)}, got {shown(engine)}")
    return engine


# Speed engines without a Metal backend: vLLM and SGLang (CUDA, ROCm, CPU builds), TensorRT-LLM (NVIDIA only) and the
# CUDA/ROCm kernel libraries ExLlamaV2, AutoAWQ and LMDeploy (TurboMind); TensorRT-LLM has no ROCm build either.
NOT_ON = {"apple": ("vllm", "sglang", "tensorrt-llm", "exllamav2", "autoawq", "lmdeploy"),
          "amd": ("tensorrt-llm",)}


def check_engine_on(engine: str, gpu: GPU) -> str:
    """A speed engine the user named must run on the GPU's vendor: no vLLM figure for an Apple GPU."""
    check_engine(engine)
    if engine in NOT_ON.get(gpu.vendor, ()):
        raise WorkloadError(f"engine {engine!r} does not run on {gpu.name} ({gpu.vendor}): pick "
                            + ("llama.cpp or mlx" if gpu.vendor == "apple" else "vllm, sglang or llama.cpp"))
    return engine


def check_backend(backend: str) -> str:
    if backend not in BACKENDS:
        raise WorkloadError(f"backend must be one of {', '.join(BACKENDS)}, got {shown(backend)}")
    return backend


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


def typical_errors(quant: str, engine: str, spec: ModelSpec | None = None, gpu: GPU | None = None) -> dict[str, float]:
    """{"decode": …, "ttft": …}: the check half's median |error| (a fraction) that a speed figure carries: of the runs
    of this engine (the one the user runs: Ollama's own runs for Ollama, which runs on llama.cpp's figures) and weight
    family on `gpu`'s class where there are five (llama.cpp on AMD Instinct GPUs, which no entry of their own
    describes, lands far from llama.cpp's figures elsewhere), else as band() falls back."""
    fam, cls = family(quant, spec), ANY if gpu is None else gpu_class(gpu)
    return {what: b.median_abs_error for what in ("decode", "ttft") if (b := band(what, engine, fam, cls)) is not None}


def _engine_entry(what: str, engine: str, *, default: bool = True, backend: str = ANY) -> Entry | None:
    """The entry giving `what` for an engine as a whole: its own for `backend`, its own, else its group's, else (with
    `default`) the "default" one."""
    check_engine(engine)
    index = _index(what)
    keys = [(engine, backend)] + [(eng, ANY) for eng in (engine, SPEED_ENGINES[engine])] \
        + ([("default", ANY)] if default else [])
    return next((index[k] for eng, be in dict.fromkeys(keys) if (k := (eng, be, ANY, ANY)) in index), None)


def layer_overhead(engine: str, backend: str = ANY) -> Entry | None:
    """A non-eager engine's per-layer time added to every step (its own entry for `backend` (llama.cpp's), its own,
    its group's, else "default"); None for eager engines, whose layer floor (decode_floor) already holds their launch
    time."""
    return None if decode_floor(engine) is not None else _engine_entry("layer_overhead_s", engine, backend=backend)


def prefill_layer_overhead(engine: str, backend: str = ANY) -> Entry | None:
    """A non-eager engine's per-layer time added to a prefill step (its own entry for `backend`, its own, its
    group's, else "default"); None for eager engines or where none was fitted (the decode step's then stands)."""
    return None if decode_floor(engine) is not None else _engine_entry("prefill_layer_overhead_s", engine,
                                                                       backend=backend)


def moe_expert_overhead(engine: str) -> Entry | None:
    """The time each routed expert of a MoE layer split over several GPUs adds to a step (its engine's entry, its
    group's, else "default"); None where none was fitted."""
    return _engine_entry("moe_expert_overhead_s", engine)


def moe_prefill_split(engine: str) -> Entry | None:
    """The fixed time a prefill of a MoE model split over GPUs takes under `engine` (its own entry only: the engines
    that have one measure it differently, so no group value stands for another); None where none was fitted."""
    check_engine(engine)
    return _index("moe_prefill_split_s").get((engine, ANY, ANY, ANY))


def moe_prefill_tile(engine: str, backend: str = ANY) -> Entry | None:
    """The token rows of a routed expert's prefill matmul tile, as the engine's kernels are written: the engine's
    entry for that backend (llama.cpp's differ by backend), else the engine's own, else its group's; None where there
    is none (eager engines gather each expert's tokens and pad nothing; llama.cpp's backends whose kernels were not
    read)."""
    return _engine_entry("moe_prefill_tile", engine, default=False, backend=backend)


def request_overhead(engine: str) -> Entry | None:
    """The latency a served request adds to the prefill (its engine's entry, its group's, else "default")."""
    return _engine_entry("request_overhead_s", engine)


def request_seconds(engine: str) -> float | None:
    entry = request_overhead(engine)
    return None if entry is None else entry.request_overhead_s


def sync_loop(engine: str) -> Entry | None:
    """The per-step host time of an engine's synchronous loop (its own entry only); None where none was fitted."""
    return _engine_entry("sync_loop_step_s", engine, default=False)


def floor_kernels(quant: str | None) -> str:
    """The kernels (FLOOR_KERNELS) that give `quant` a floor of their own, else ANY."""
    return ANY if quant is None else FLOOR_KERNELS.get(base_name(quant), ANY)


def decode_floor(engine: str) -> Entry | None:
    """An eager engine's per-layer floor on a decode step (its own entry, else its group's); None: none modelled."""
    return _engine_entry("decode_floor_s_per_layer", engine, default=False)


def floor_ratio(engine: str, quant: str | None) -> Entry | None:
    """How many times its engine's floor an eager engine's step takes with the kernels that run `quant`
    (FLOOR_KERNELS; the entry engine/any/<kernels>/any of the engine, else of its group); None where `quant` has no
    kernels of its own, none was fitted or the engine has no floor."""
    if (kernels := floor_kernels(quant)) == ANY or decode_floor(engine) is None:
        return None
    index = _index("decode_floor_ratio")
    return next((index[k] for eng in dict.fromkeys((engine, SPEED_ENGINES[engine]))
                 if (k := (eng, ANY, kernels, ANY)) in index), None)


def floor_seconds_per_layer(engine: str, quant: str | None = None) -> float | None:
    """An eager engine's least time a layer for `quant`: its floor times its kernels' ratio; None: no floor."""
    if (floor := decode_floor(engine)) is None:
        return None
    ratio = floor_ratio(engine, quant)
    return floor.decode_floor_s_per_layer * (1.0 if ratio is None else ratio.decode_floor_ratio)
