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


def arch_key(spec) -> str:
    """The architecture an engine's model registry knows the model by: planner's model_type, except for checkpoints
    whose language model planner reads as another family's (Qwen3-VL's is Qwen3's, Qwen2.5-VL's Qwen2's, Mistral Small
    3.1's Mistral's) but which the engines register, convert and date apart (Qwen3VLForConditionalGeneration,
    Mistral3…)."""
    kind = spec.vision.kind if spec.vision is not None else None
    if kind == "qwen3_vl" and spec.model_type in ("qwen3", "qwen3_moe"):
        return "qwen3_vl" if spec.model_type == "qwen3" else "qwen3_vl_moe"
    if kind == "qwen2_5_vl":
        return "qwen2_5_vl"
    if kind == "pixtral":
        return "mistral3"
    return spec.model_type


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

# options another engine has that this one has too, but planner does not model for it: (option, engine) → why
_NOT_MODELLED = {
    ("pipeline_parallel_size", "sglang"): "SGLang's pipeline parallel (--pp-size) is not modelled; plan its tensor "
                                          "parallel split, tp_size (--tp-size)",
    ("data_parallel_size", "sglang"): "SGLang's data parallel replicas (--dp-size) each hold the whole model: plan one "
                                      "replica (its tp_size GPUs)"}


# options an engine reads before its table of defaults (its release, the context it is sized for), named too where a
# misspelt one is refused
_TAKEN_BEFORE = {"vllm": ("engine_version", "max_model_len", "v1_engine"), "llama.cpp": ("engine_version",),
                 "ollama": ("engine_version",), "sglang": ("cpu_offload_gb", "mem_fraction_static")}


def engine_options(engine: str, given: dict, allowed: dict, *, minimum: dict | None = None,
                   maximum: dict | None = None, also: tuple[str, ...] = ()) -> dict:
    """`allowed` (the defaults) overridden by `given`; unknown keys and values of the wrong type are errors, naming
    this engine's own name for an option another engine has; `also`: options the caller takes itself, listed too."""
    unknown = set(given) - set(allowed)
    if unknown:
        key = sorted(unknown)[0]
        if same := _SAME_OPTION.get((key, engine)):
            raise WorkloadError(f"engine {engine!r} has no option {key!r}: its own is {same}")
        if why := _NOT_MODELLED.get((key, engine)):
            raise WorkloadError(f"{key} with engine {engine!r}: {why}")
        from difflib import get_close_matches

        known = sorted({*allowed, *also, *_TAKEN_BEFORE.get(engine, ())})
        near = get_close_matches(key, known, 2, 0.8)  # a misspelling, not another option that shares a word
        raise WorkloadError(f"engine {engine!r} has no option {key!r}" + (
            f" (did you mean {', '.join(near)}?)" if near else "") + f"; it takes {', '.join(known)}")
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


# The least compute capability (×10) each engine's quantization method asks for, its get_min_capability(): a GPU below
# it stops at start-up with "The quantization method fp8 is not supported for the current GPU. Minimum capability: 80.
# Current capability: 75." (vllm/config.py _verify_quantization; SGLang's model_loader/loader.py likewise).
#   vLLM (model_executor/layers/quantization/*.py, read in the 0.10.0, 0.13.0, 0.14.0 and 0.33.0 wheels): Fp8Config and
#     ModelOptNvFp4Config 80 through 0.13 and 75 from 0.14.0 (Marlin's weight-only kernels on Turing); Mxfp4Config 80;
#     AWQ (awq.py, auto_awq.py) and torchao's int4/int8 75; GPTQ 60, below every GPU in the catalog.
#   SGLang 0.5.23 (srt/layers/quantization/*.py): Fp8Config, ModelOptFp4Config and Mxfp4Config 80, Fp8Config with
#     use_mxfp8 100 (Blackwell), AWQConfig 75 ("The AWQ kernel only supports Turing or newer GPUs").
# Each entry: (engine, weight format) -> ((first release, capability), ...), the last one the engine's release has
# reached applying (vLLM's releases; SGLang's one rule for every release planner plans).
VLLM_TURING_FP8_SINCE = "0.14.0"
MIN_CAPABILITY = {
    ("vllm", "fp8"): (("0.0", 80), (VLLM_TURING_FP8_SINCE, 75)),
    ("vllm", "fp8-block"): (("0.0", 80), (VLLM_TURING_FP8_SINCE, 75)),
    ("vllm", "nvfp4"): (("0.0", 80), (VLLM_TURING_FP8_SINCE, 75)),
    ("vllm", "mxfp4"): (("0.0", 80),), ("vllm", "mxfp8"): (("0.0", 80),),
    ("vllm", "awq"): (("0.0", 75),), ("vllm", "int4"): (("0.0", 75),), ("vllm", "int8"): (("0.0", 75),),
    ("sglang", "fp8"): (("0.0", 80),), ("sglang", "fp8-block"): (("0.0", 80),), ("sglang", "nvfp4"): (("0.0", 80),),
    ("sglang", "mxfp4"): (("0.0", 80),), ("sglang", "mxfp8"): (("0.0", 100),), ("sglang", "awq"): (("0.0", 75),),
}
# NVIDIA architectures by the compute capability of their first chip (Turing's T4 7.5, Ampere's A100 8.0, Blackwell's
# B200 10.0; the RTX 50 series is 12.0, above every minimum here)
ARCHITECTURE_CAPABILITY = {"Pascal": 60, "Volta": 70, "Turing": 75, "Ampere": 80, "Ada Lovelace": 89, "Hopper": 90,
                           "Blackwell": 100}
_ARCHITECTURE_OF = {75: "Turing", 80: "Ampere", 100: "Blackwell"}


_FP8_DTYPES = ("F8_E4M3", "F8_E5M2", "F8_E8M0")  # safetensors dtypes of fp8 weights and of fp4/mx block scales


def min_capability(engine: str, quant: str, release: tuple[int, ...] | None = None) -> int | None:
    """The compute capability (×10) `engine` (at `release`, None: its current one) needs for weight format `quant`
    (by its base name: fp8[keep=output] is fp8, awq-4bit-g128 is awq, int4-g32 is int4); None where none is asked."""
    base = quant.split("[", 1)[0]
    base = next((b for b in ("awq", "int4", "int8") if base == b or base.startswith(b + "-")), base)
    rules = MIN_CAPABILITY.get((engine, base))
    if rules is None:
        return None
    return next(cc for since, cc in reversed(rules) if release is None or release >= release_tuple(since))


def compute_capable(engine: str, g, quant: str, spec=None, release: tuple[int, ...] | None = None) -> None:
    """Refuse a weight format `engine` (at `release`: vLLM's, None for its current one) does not run on catalog GPU
    `g` (MIN_CAPABILITY); for a checkpoint read from its files, by the fp8 tensors in it."""
    if g is None or g.vendor != "nvidia" or g.architecture not in ARCHITECTURE_CAPABILITY:
        return
    base = quant
    if base == "checkpoint" and spec is not None and spec.checkpoint is not None:
        base = "fp8" if any(t.dtype.upper() in _FP8_DTYPES for t in spec.checkpoint.tensors) else base
    need = min_capability(engine, base, release)
    have = ARCHITECTURE_CAPABILITY[g.architecture]
    if need is not None and have < need:
        usable = [q for q in ("fp8", "awq", "gptq") if (min_capability(engine, q, release) or 0) <= have]
        raise WorkloadError(f"engine {engine!r} does not run {quant} weights on {g.name} ({g.architecture}): the "
                            f"method needs compute capability {need / 10:.1f} ({_ARCHITECTURE_OF[need]}) or later; "
                            f"use {', '.join(usable + ['16-bit weights'])}")
