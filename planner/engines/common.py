"""What every engine module shares: the result type and the option checker."""

from __future__ import annotations

from fractions import Fraction

from pydantic import BaseModel, ConfigDict, Field

from ..checks import flag, positive_int
from ..errors import WorkloadError


class EngineMemory(BaseModel):
    """Device memory by component under one engine, the engine's own figures and its verdict."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    engine: str
    weights_bytes: int
    kv_cache_bytes: int
    activation_bytes: int
    refusal: str | None = Field(None, description="why the engine would not start or not run the whole batch "
                                "at once; None when it would")
    max_concurrent: int | None = Field(None, description="sequences of the workload's context run at once")
    details: dict[str, float | int | str | bool] = Field(default_factory=dict)


def release_tuple(version: str) -> tuple[int, ...]:
    """'0.12.10' → (0, 12, 10): a release named in planner's own rule tables."""
    return tuple(int(x) for x in version.split("."))


def datacenter_blackwell(gpu) -> bool:
    """An NVIDIA Blackwell GPU with HBM (B200, GB200, B300: compute capability 10.x), where the engines pick
    FlashInfer's kernels; RTX Blackwell (12.x) has GDDR7. False for None (a GPU known only by its memory)."""
    return (gpu is not None and gpu.vendor == "nvidia" and gpu.architecture == "Blackwell"
            and gpu.memory_type.startswith("HBM"))


def pad(n: int, to: int) -> int:
    """n rounded up to a multiple of `to`."""
    return -(-n // to) * to


def mxfp4_expert_factor(inter: int, hidden: int, align_inter: int, align_hidden: int,
                        scales_kept: bool = False) -> Fraction:
    """Bytes an engine allocates for MXFP4 experts per byte of their tensors, when its MoE kernel pads each expert's
    intermediate size (one GPU's part) and hidden size up to these multiples, and with scales_kept also holds the
    loaded block scales beside its converted ones: 1 byte of every 17 (32 weights: 16 B, their E8M0 scale 1 B)."""
    padded = Fraction(pad(inter, align_inter) * pad(hidden, align_hidden), inter * hidden)
    return padded + Fraction(1, 17) if scales_kept else padded


# another engine's name for an option this engine has under its own (option, engine) → its name here
_SAME_OPTION = {("tensor_parallel_size", "sglang"): "tp_size (--tp-size)",
                ("max_model_len", "sglang"): "context_length (--context-length)",
                ("gpu_memory_utilization", "sglang"): "mem_fraction_static (--mem-fraction-static)",
                ("max_num_seqs", "sglang"): "max_running_requests (--max-running-requests)",
                ("max_num_batched_tokens", "sglang"): "chunked_prefill_size (--chunked-prefill-size)",
                ("tp_size", "vllm"): "tensor_parallel_size (--tensor-parallel-size)",
                ("context_length", "vllm"): "max_model_len (--max-model-len)",
                ("mem_fraction_static", "vllm"): "gpu_memory_utilization (--gpu-memory-utilization)",
                ("max_running_requests", "vllm"): "max_num_seqs (--max-num-seqs)",
                ("chunked_prefill_size", "vllm"): "max_num_batched_tokens (--max-num-batched-tokens)",
                ("n_ctx", "ollama"): "num_ctx (--num-ctx)", ("n_parallel", "ollama"): "num_parallel (--num-parallel)",
                ("n_gpu_layers", "ollama"): "num_gpu (--num-gpu)", ("num_ctx", "llama.cpp"): "n_ctx (--n-ctx)",
                ("num_parallel", "llama.cpp"): "n_parallel (--parallel)",
                ("num_gpu", "llama.cpp"): "n_gpu_layers (--n-gpu-layers)"}


def engine_options(engine: str, given: dict, allowed: dict, *, minimum: dict | None = None,
                   maximum: dict | None = None, also: tuple[str, ...] = ()) -> dict:
    """`allowed` (the defaults) overridden by `given`; unknown keys and values of the wrong type are errors, naming
    this engine's own name for an option another engine has; `also`: options the caller takes itself, listed too."""
    unknown = set(given) - set(allowed)
    if unknown:
        key = sorted(unknown)[0]
        if same := _SAME_OPTION.get((key, engine)):
            raise WorkloadError(f"engine {engine!r} has no option {key!r}: its own is {same}")
        raise WorkloadError(f"engine {engine!r} has no option {key!r}; it takes "
                            f"{', '.join(sorted({*allowed, *also}))}")
    out = {**allowed, **{k: v for k, v in given.items() if v is not None}}
    for key, value in out.items():
        default = allowed[key]
        if isinstance(default, bool):
            flag(key, value)
        elif isinstance(default, int):
            positive_int(key, value, (maximum or {}).get(key), minimum=(minimum or {}).get(key, 1))
    return out


# vLLM and SGLang load a float32 checkpoint in 16 bits unless told `--dtype float32` (dtype "auto"): vLLM's
# _get_and_verify_dtype "Following the common practice, we use float16 for float32 models", bfloat16 for Gemma 2
# (0.5+); later releases' _resolve_auto_dtype "Downcast for float32 models" to the platform's preferred dtype
# (bfloat16 on Ampere and later), from 0.10.1 by a published reading of its releases; SGLang's
# (configs/model_config.py) bfloat16 for model types starting "gemma", float16 otherwise. All take two bytes a weight,
# so the release only changes the name shown.
VLLM_FLOAT32_TO_BF16_SINCE = (0, 10, 1)


def auto_dtype(engine: str, spec, release: tuple[int, ...] | None = None) -> str | None:
    """The weights' dtype vLLM or SGLang load `spec`'s float32 checkpoint in (release: vLLM's, None the current
    one); None where the engine keeps the checkpoint's dtype or the checkpoint is not float32."""
    if spec.weights_dtype != "fp32" or engine not in ("vllm", "sglang"):
        return None
    gemma = spec.model_type.startswith("gemma") if engine == "sglang" else spec.model_type == "gemma2"
    if engine == "vllm" and (release is None or release >= VLLM_FLOAT32_TO_BF16_SINCE):
        return "bf16"
    return "bf16" if gemma else "fp16"


# Weight formats vLLM and SGLang run from compute capability 8.0 (Ampere) on: their methods' get_min_capability()
# is 80 (vLLM's Fp8Config, Mxfp4Config and ModelOptNvFp4Config, through Marlin's weight-only kernels below 8.9/10.0;
# SGLang 0.5.23's Fp8Config, ModelOptFp4Config and Mxfp4Config, layers/quantization/*.py), and a T4 (7.5) or V100
# (7.0) stops at start-up with "The quantization method fp8 is not supported for the current GPU. Minimum
# capability: 80. Current capability: 75." (vllm/config.py _verify_quantization). SGLang's mxfp8 (Fp8Config with
# use_mxfp8) asks for 100 on NVIDIA GPUs: Blackwell.
MIN_CC80_FORMATS = frozenset({"fp8", "fp8-block", "mxfp8", "mxfp4", "nvfp4"})
MIN_CAPABILITY = {("sglang", "mxfp8"): 100}
# NVIDIA architectures by the compute capability of their first chip (Ampere's A100 8.0, Blackwell's B200 10.0;
# the RTX 50 series is 12.0, above every minimum here)
ARCHITECTURE_CAPABILITY = {"Pascal": 60, "Volta": 70, "Turing": 75, "Ampere": 80, "Ada Lovelace": 89, "Hopper": 90,
                           "Blackwell": 100}
PRE_AMPERE = frozenset(a for a, cc in ARCHITECTURE_CAPABILITY.items() if cc < 80)


_FP8_DTYPES = ("F8_E4M3", "F8_E5M2", "F8_E8M0")  # safetensors dtypes of fp8 weights and of fp4/mx block scales


def compute_capable(engine: str, g, quant: str, spec=None) -> None:
    """Refuse a weight format `engine` does not run on catalog GPU `g` (fp8, fp4 and mxfp8 below Ampere): the
    format's base name (fp8[keep=output] is fp8), or for a checkpoint read from its files, fp8 tensors in it."""
    if g is None or g.vendor != "nvidia" or g.architecture not in ARCHITECTURE_CAPABILITY:
        return
    base = quant.split("[", 1)[0]
    if base == "checkpoint" and spec is not None and spec.checkpoint is not None:
        base = "fp8" if any(t.dtype.upper() in _FP8_DTYPES for t in spec.checkpoint.tensors) else base
    if base not in MIN_CC80_FORMATS:
        return
    need = MIN_CAPABILITY.get((engine, base), 80)
    if ARCHITECTURE_CAPABILITY[g.architecture] < need:
        instead = "fp8, int8/int4 (GPTQ, AWQ)" if need > 80 else "int8/int4 (GPTQ, AWQ)"
        raise WorkloadError(f"engine {engine!r} does not run {quant} weights on {g.name} ({g.architecture}): the "
                            f"method needs compute capability {need / 10:.1f} "
                            f"({'Blackwell' if need >= 100 else 'Ampere'}) or later; use {instead} or 16-bit weights")
