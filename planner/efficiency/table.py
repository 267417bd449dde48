"""The efficiency table itself: its entries and bands as profiles/efficiency.yaml holds them, a table under trial
(benchmarks/calibrate_speed.py), the engines, backends, weight families and GPU classes its keys are made of."""

from __future__ import annotations

from contextlib import contextmanager
from functools import lru_cache
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from ..errors import WorkloadError, shown
from ..gpus import GPU
from ..paths import profiles_dir, read_yaml
from ..quant.catalog import base_name, get_quant
from ..spec import ModelSpec

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

    what: Literal["decode", "ttft", "serving"]
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


def band(what: Literal["decode", "ttft", "serving"], engine: str, fam: str, cls: str = ANY) -> Band | None:
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


# Weight formats a speed engine the user names cannot load, by family: llama.cpp loads GGUF
# files only, its float types included; TensorRT-LLM, gpt-fast, ExLlamaV2, AutoAWQ and LMDeploy load no GGUF file
# (vLLM did until 0.23, SGLang does, MLX reads some); AutoAWQ loads its AWQ checkpoints only
_CANNOT_LOAD = {"llama.cpp": ("fp8", "int8", "int4"),
                **dict.fromkeys(("tensorrt-llm", "gpt-fast", "exllamav2", "lmdeploy"), ("gguf",)),
                "autoawq": ("float", "fp8", "int8", "gguf")}


def check_engine_loads(engine: str, quant: str, spec: ModelSpec | None = None) -> str:
    """A speed engine the user named must load the weight format: no llama.cpp figure for AWQ weights."""
    fam = family(quant, spec)
    mxfp4 = engine == "llama.cpp" and base_name(quant).startswith("mxfp4")  # gpt-oss's GGUF keeps MXFP4
    if not mxfp4 and fam in _CANNOT_LOAD.get(engine, ()) or (engine == "autoawq" and not quant.startswith("awq")):
        runs = ("a GGUF format (q4_k_m, q8_0, f16, …)" if engine == "llama.cpp"
                else "its AWQ checkpoints" if engine == "autoawq" else "formats other than GGUF")
        raise WorkloadError(f"engine {engine!r} cannot load quant {quant!r} ({fam} weights): it runs {runs}")
    return engine


def check_backend(backend: str) -> str:
    if backend not in BACKENDS:
        raise WorkloadError(f"backend must be one of {', '.join(BACKENDS)}, got {shown(backend)}")
    return backend
