"""llama.cpp's speed: its prefill kernels by build, its micro-batched prefill pipelined over GPUs, and decode with
layers in system RAM."""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from ..efficiency import ANY, default_backend, family
from ..errors import WorkloadError
from ..gpus import GPU, load_gpu
from ..quant.catalog import get_quant
from ..quant.gguf import ggml_types
from ..spec import ModelSpec
from ..weights import stored_tensors
from .step import (
    Engine,
    default_engine,
    experts_touched_fraction,
    memory_efficiency,
    memory_step_seconds,
    step_seconds,
)

# llama.cpp's CUDA backend multiplies quantized weights by a batch of tokens in its own MMQ kernels, on int8 tensor
# cores (the activations quantized to q8_1), from build b3216 on (PR #8075 "CUDA: use MMQ instead of cuBLAS by
# default", 2024-06-24; ggml-cuda/mmq.cu ggml_cuda_should_use_mmq: every q*, k-, i-quant and MXFP4 type where int8
# MMA exists, Turing and later). Before it, and for float weights, cuBLAS in fp16 with fp16 accumulation
# (CUBLAS_COMPUTE_16F; quantized weights dequantized to fp16 first), which GeForce cards execute at twice their
# fp32-accumulate tensor rate (catalog key fp16_acc16; other GPUs fall back to fp16). Volta has no int8 MMA and keeps
# cuBLAS: the catalog gives no int8 figure for it.
LLAMACPP_MMQ_BUILD = 3216
# The build from which each GGUF type has MMQ kernels: k- and legacy quants from before planner's oldest build, IQ4_NL
# and IQ4_XS from b3317 (PR #8278), the other i-quants from b3428 (PR #8495); TQ1_0, TQ2_0 and IQ1_M never (not in
# ggml_cuda_should_use_mmq's list), nor float weights. On CUDA a type runs in MMQ on int8 tensor cores from the later
# of its build and LLAMACPP_MMQ_BUILD.
_MMQ_SINCE = (("tq", None), ("iq1_m", None), ("iq4", 3317), ("iq", 3428), ("", 0))
_FLOAT_GGUF = ("gguf-f32", "gguf-f16", "gguf-bf16")
# llama.cpp's ROCm backend on AMD Instinct (CDNA) has run a prompt's micro-batches three ways (ggml-cuda/mmq.cu
# ggml_cuda_should_use_mmq, before it ggml-cuda.cu's use_mul_mat_q; ggml_cuda_op_mul_mat_cublas):
# - "dp4a": MMQ on the vector units (int8 dot products, no matrix cores), as every AMD GPU before RDNA 3 (b3066:
#   use_mul_mat_q && cc < CC_RDNA3), until b4567 on the MI100 and b4619 on CDNA 2 and 3. PR #10498 (b4201) meant to
#   send gfx908 to rocBLAS (cc != CC_CDNA), but HIP builds then derived cc from the major.minor version, 9.0 for the
#   MI100, Vega's number: only PR #11244 (b4567, 2025-01-27, "parse the architecture as supplied by gcnArchName")
#   made the MI100 CC_CDNA; PR #11601 (b4619, 2025-02-02) then sent every CDNA GPU to rocBLAS. Micro-batches under 64
#   tokens (MMQ_DP4A_MAX_BATCH_SIZE) stayed in MMQ throughout;
# - "rocblas": the weights dequantized to fp16, then rocBLAS's GEMM (fp32 accumulation on CDNA), as CUDA's cuBLAS
#   path;
# - "mfma": MMQ on the int8 matrix cores, on CDNA 3 (and later) for every micro-batch from b5997 (PR #14624, "HIP:
#   Enable Matrix cores for MMQ Kernels, Enable stream-K for CDNA 3", 2025-07-27); on CDNA 1 and 2 from b6036
#   (PR #14949) for micro-batches of up to 128 tokens, up to 256 with Q4_K/Q5_K, any with Q4_0/Q4_1/Q5_0/Q5_1. The
#   source's reason: "rocblas/tensile performs very poorly on CDNA3".
# Types outside MMQ's list take rocBLAS throughout. (Not modelled: from PR #18202, 2025-12-28, CDNA 1/2 run MoE
# models of more than 64 experts in MMQ.)
LLAMACPP_CDNA1_ROCBLAS_BUILD = 4567
LLAMACPP_CDNA_ROCBLAS_BUILD = 4619
LLAMACPP_CDNA3_MMQ_BUILD = 5997
LLAMACPP_CDNA_MMQ_BUILD = 6036
_CDNA_MMQ_ANY_BATCH = ("q4_0", "q4_1", "q5_0", "q5_1")
_CDNA_MMQ_UP_TO_256 = ("q4_k", "q5_k")
_DP4A_MAX_BATCH = 64
# The dtype whose datasheet peak each path's efficiency is taken against: dp4a runs on the vector ALUs (four int8
# products per 32-bit lane, so at a multiple of the fp32 vector rate on every CDNA GPU), the others on matrix cores.
_CDNA_PATH_DTYPE = {"dp4a": "fp32", "rocblas": "fp16", "mfma": "int8"}


def _mmq_type(quant: str, build: int, *, cuda: bool = False) -> bool:
    """Whether these GGUF weights are among the MMQ kernels' types at this build (cuda: and the CUDA backend runs
    them there for a prompt's batches, LLAMACPP_MMQ_BUILD)."""
    since = next(b for prefix, b in _MMQ_SINCE if quant.removeprefix("gguf-").startswith(prefix))
    return since is not None and build >= max(since, LLAMACPP_MMQ_BUILD if cuda else 0)


def cdna_prefill_path(quant: str, gpu: GPU, build: int, ubatch: int = 512) -> str:
    """How llama.cpp's ROCm build at `build` runs a prompt's micro-batches of `ubatch` tokens of these quantized GGUF
    weights on an AMD Instinct GPU: "dp4a", "rocblas" or "mfma" (above)."""
    if not gpu.architecture.startswith("CDNA"):
        raise WorkloadError(f"cdna_prefill_path: {gpu.id} is not an AMD Instinct (CDNA) GPU")
    q = quant.removeprefix("gguf-")
    if not _mmq_type(quant, build):
        return "rocblas"
    cdna3 = gpu.architecture not in ("CDNA 1", "CDNA 2")  # the source's CDNA3 test holds for what came after
    if build >= LLAMACPP_CDNA3_MMQ_BUILD and cdna3:
        return "mfma"
    if build >= LLAMACPP_CDNA_MMQ_BUILD and (ubatch <= 128 or q in _CDNA_MMQ_ANY_BATCH
                                              or (ubatch <= 256 and q.startswith(_CDNA_MMQ_UP_TO_256))):
        return "mfma"
    if ubatch < _DP4A_MAX_BATCH:
        return "dp4a"
    if build >= LLAMACPP_CDNA_ROCBLAS_BUILD or (build >= LLAMACPP_CDNA1_ROCBLAS_BUILD and gpu.architecture == "CDNA 1"):
        return "rocblas"
    return "dp4a"


def _instinct(gpu: GPU | None, backend: str | None) -> bool:
    return gpu is not None and gpu.architecture.startswith("CDNA") and (backend or default_backend(gpu)) == "rocm"


def llamacpp_matmul_dtype(quant: str, gpu: GPU | None = None, backend: str | None = None,
                          build: int | None = None, ubatch: int = 512) -> str:
    """The dtype of llama.cpp's prefill matmuls: "int8" where its CUDA build runs these weights in MMQ, fp32 for
    fp32 weights, on an Instinct GPU its ROCm build's path's (cdna_prefill_path, at micro-batches of `ubatch`
    tokens), else "fp16_acc16". backend: None for the GPU's default; build: None for the current one."""
    from ..engines.llamacpp.releases import LLAMACPP_CURRENT  # not at the top: it imports every engine

    q = get_quant(quant)
    if q.name in ("fp32", "gguf-f32"):
        return "fp32"
    build = LLAMACPP_CURRENT if build is None else build
    if _instinct(gpu, backend) and q.is_gguf and q.name not in _FLOAT_GGUF:
        return _CDNA_PATH_DTYPE[cdna_prefill_path(q.name, gpu, build, ubatch)]
    if gpu is None or not q.is_gguf or q.name in _FLOAT_GGUF or (backend or default_backend(gpu)) != "cuda" \
            or "int8" not in gpu.flops_per_s:
        return "fp16_acc16"
    return "int8" if _mmq_type(q.name, build, cuda=True) else "fp16_acc16"


def llamacpp_prefill_family(quant: str, gpu: GPU | None = None, backend: str | None = None,
                            build: int | None = None, *, engine: str = "llama.cpp", ubatch: int = 512) -> str | None:
    """"float" where llama.cpp's CUDA build prefills quantized GGUF weights through cuBLAS — dequantized to fp16,
    then the very GEMM float weights run (ggml-cuda.cu ggml_cuda_op_mul_mat_cublas: to_fp16_cuda, cublasGemmEx
    with CUBLAS_COMPUTE_16F; b2824: for every batch over MMQ_MAX_BATCH_SIZE 32 with tensor cores), so the float
    weights' prefill efficiency is theirs; so too its ROCm build on an Instinct GPU through rocBLAS, whose MMQ paths
    are kernels no other GPU runs and take entries of their own: "dp4a" (the vector units) and "mfma" (the matrix
    cores; cdna_prefill_path, at micro-batches of `ubatch` tokens). None where the weights' own family holds (CUDA's
    MMQ, other backends, float weights, other engines)."""
    from ..engines.llamacpp.releases import LLAMACPP_CURRENT  # not at the top: it imports every engine

    if engine != "llama.cpp" or gpu is None or family(quant) != "gguf":
        return None
    if _instinct(gpu, backend):
        path = cdna_prefill_path(get_quant(quant).name, gpu, LLAMACPP_CURRENT if build is None else build, ubatch)
        return {"rocblas": "float"}.get(path, path)
    if (backend or default_backend(gpu)) != "cuda":
        return None
    return "float" if llamacpp_matmul_dtype(quant, gpu, backend, build) == "fp16_acc16" else None


def llamacpp_dequant_bytes(spec: ModelSpec, quant: str, *, tokens) -> np.ndarray | float:
    """Bytes the cuBLAS path moves per micro-batch before its GEMMs: each layer's quantized matrices read and
    written again as fp16 (2 bytes a weight); routed experts only as far as the micro-batch reaches them. The output
    matrix multiplies the last position only (a vector kernel) and the embedding is a row lookup: neither is
    dequantized."""
    dense, experts = _dequant_split(spec, quant)
    return dense + experts * experts_touched_fraction(spec, np.minimum(tokens, LLAMACPP_N_UBATCH))


@lru_cache(maxsize=1024)
def _dequant_split(spec: ModelSpec, quant: str) -> tuple[int, int]:
    """(dense, routed-expert) bytes llamacpp_dequant_bytes moves when a micro-batch reaches every matrix."""
    types = ggml_types()
    dense = experts = 0
    for t in stored_tensors(spec, quant):
        kind = types.get(t.stored_as.upper())
        if t.layer is None or not t.is_matrix or kind is None or kind.name in ("F32", "F16", "BF16"):
            continue
        moved = t.nbytes + 2 * (t.nbytes // kind.bytes * kind.block)
        if t.is_routed_expert:
            experts += moved
        else:
            dense += moved
    return dense, experts


# llama.cpp hands a prompt to llama_decode in batches of n_batch tokens and runs each batch as micro-batches of
# n_ubatch tokens (defaults 2048 and 512, common/common.h). Each micro-batch is a forward pass of its own: it reads the
# weights and pays the layers' overhead again. With the layers split over GPUs (-sm layer, all offloaded) the
# scheduler keeps up to GGML_SCHED_MAX_COPIES micro-batches of a batch in flight, each on a different GPU (default 4,
# ggml/CMakeLists.txt: "max input copies for pipeline parallelism"; llama.cpp PR #6017, March 2024). Batches do not
# overlap.
LLAMACPP_N_BATCH, LLAMACPP_N_UBATCH, LLAMACPP_MAX_COPIES = 2048, 512, 4


def llamacpp_prefill_seconds(compute_s, weights_s, kv_s, spec: ModelSpec, engine: Engine, *, tokens, stages: int = 1,
                             dequant_s=0.0, n_ubatch: int = LLAMACPP_N_UBATCH, n_batch: int = LLAMACPP_N_BATCH,
                             backend: str = ANY):
    """llama.cpp's prefill of `tokens` tokens: compute_s of FLOPs, weights_s to read the weights once and kv_s to
    write the cache, all on one GPU; run in micro-batches, pipelined over `stages` GPUs that hold consecutive layers.
    A stage-time is one micro-batch's time through all layers ÷ stages; a batch of u micro-batches takes
    pipeline_steps(u, stages) of them. dequant_s: what the cuBLAS path's dequantization adds to each micro-batch
    before its GEMMs (the same stream: not overlapped). n_ubatch, n_batch: the run's -ub and -b (n_ubatch at most
    n_batch, as llama.cpp caps it)."""
    tokens = np.asarray(tokens, dtype=float)
    n_ubatch = min(n_ubatch, n_batch)
    ubatches = np.ceil(tokens / n_ubatch)
    per_ubatch = step_seconds(np.maximum(weights_s + kv_s / ubatches, compute_s / ubatches) + dequant_s, spec,
                              engine, prefill=True, backend=backend)
    full, rest = np.floor(tokens / n_batch), np.mod(tokens, n_batch)
    steps = full * pipeline_steps(n_batch // n_ubatch, stages) + np.where(
        rest > 0, pipeline_steps(np.ceil(rest / n_ubatch), stages), 0.0)
    return per_ubatch / stages * steps


def pipeline_steps(ubatches, stages: int, copies: int = LLAMACPP_MAX_COPIES):
    """Stage-times for `ubatches` micro-batches through `stages` stages with `copies` of them in flight at most.
    Micro-batch j enters the first stage one stage-time after j − 1, and not before micro-batch j − copies has left
    the last; the last one leaves `stages` stage-times after it entered."""
    last = np.asarray(ubatches, dtype=float) - 1
    if stages <= copies:  # a copy is back before it is needed
        return last + stages
    return np.floor(last / copies) * stages + np.mod(last, copies) + stages


# Host RAM bandwidth used for offloaded layers, and the share of it a CPU matmul reaches. Assumed: dual-channel
# DDR5-4800, 2 × 8 B × 4.8e9 = 76.8 GB/s (JEDEC DDR5); efficiency not calibrated (no offload run in the
# calibration set).
HOST_RAM_BYTES_PER_S = 76.8e9
HOST_MEMORY_EFFICIENCY = 0.6


def host_rate(gpu) -> float | None:
    """The speed the CPU reads what llama.cpp or Ollama leave in RAM at, where the GPU says: on an Apple GPU, no more
    than the unified memory's own bandwidth (HOST_RAM_BYTES_PER_S, a desktop's DDR5, is more than an M1's 68 GB/s);
    None elsewhere (the default)."""
    g = load_gpu(gpu)
    return min(HOST_RAM_BYTES_PER_S, g.memory_bandwidth_bytes_per_s) if g.vendor == "apple" else None


def offload_seconds_per_token(spec: ModelSpec, g: GPU, *, quant: str, kv_total: int, n_gpu_layers: int,
                              host_bytes_per_s: float = HOST_RAM_BYTES_PER_S, batch: int = 1,
                              cpu_moe_layers: int = 0, engine: Engine | None = None, efficiency: float | None = None,
                              full_step: float | None = None, output_first: bool = False,
                              on_cpu=None) -> float:
    """One decode step with llama.cpp's placement: the last `n_gpu_layers` layers on the GPU with the output
    (weights.gpu_placement; `output_first`: from PR #18148), the routed experts of the first `cpu_moe_layers` layers
    in system RAM (--n-cpu-moe) and the tensors `on_cpu` names (-ot …=CPU), the rest in system RAM. What system RAM
    holds is read there instead of on the GPU: the step is the all-on-GPU step (`full_step`, else the GPU's memory
    step for the same bytes) plus, for those bytes, the host's time less the GPU's. Of a MoE model's routed experts
    each side reads the share a step of `batch` tokens touches; the embedding table is only looked up, not read
    whole (tied, it is the lm_head and read)."""
    from ..weights import gpu_placement, llamacpp_on_gpu

    engine = engine or default_engine(quant, spec, g)
    touched = float(experts_touched_fraction(spec, batch))
    first, output_on_gpu = gpu_placement(spec.n_layers, n_gpu_layers, output_first=output_first)
    everything = host = 0.0
    for t in stored_tensors(spec, quant):
        if t.group == "embedding" and not spec.tie_embeddings:
            continue  # looked up, not read
        read = t.nbytes * (touched if t.is_routed_expert else 1.0)
        everything += read
        on_gpu = llamacpp_on_gpu(t, first, output_on_gpu, cpu_moe_layers=cpu_moe_layers, on_cpu=on_cpu)
        host += 0.0 if on_gpu else read
    kv_host = round(kv_total / spec.n_layers * min(first, spec.n_layers))
    eff = memory_efficiency(g, quant, engine, spec, efficiency=efficiency)
    gpu_rate = g.memory_bandwidth_bytes_per_s * eff
    if full_step is None:
        full_step = float(memory_step_seconds(everything + kv_total, g, eff, spec, engine))
    return full_step + (host + kv_host) * (1 / (host_bytes_per_s * HOST_MEMORY_EFFICIENCY) - 1 / gpu_rate)

