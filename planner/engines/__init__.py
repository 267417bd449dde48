"""Engine-aware memory: what vLLM, SGLang, llama.cpp, Ollama and transformers allocate, and whether they would run
the workload.

Each engine (one module each) is a function of the spec, the weights format, the workload and the engine's own
settings that returns device bytes per component, the engine's own figures (KV blocks, cells, host buffers) and
its verdict: `refusal` is None when the engine would start and run every sequence of the workload at once, else
a sentence saying why not. The rules follow the engine versions named in each docstring, read from their source
(notes in research/).
"""

from __future__ import annotations

from ..errors import WorkloadError
from ..kv import get_kv_dtype
from ..quant.catalog import get_quant, is_gguf_weights
from ..spec import ModelSpec
from .common import EngineMemory
from .llamacpp import llamacpp_memory
from .ollama import ollama_memory
from .sglang import sglang_memory
from .transformers import TRANSFORMERS_CANNOT_RUN, transformers_memory
from .vllm import VLLM_SAMPLER_BYTES_PER_LOGIT, vllm_memory
from .vllm.releases import VLLM_REMOVED

ENGINES = ("vllm", "sglang", "llama.cpp", "ollama", "transformers")

# Each engine's own options (estimate()'s keywords), so that one given without an engine names the engines that take
# it; each engine's module checks its own (tests/test_engines.py holds the two together).
ENGINE_OPTIONS = {
    "vllm": ("engine_version", "max_model_len", "gpu_memory_bytes", "gpu_memory_utilization",
             "max_num_batched_tokens", "max_num_seqs", "entrypoint", "block_size", "tensor_parallel_size",
             "pipeline_parallel_size", "data_parallel_size", "enable_expert_parallel", "flashinfer_sampler",
             "enable_prefix_caching", "enforce_eager", "custom_all_reduce", "cuda_graph_memory_bytes",
             "cuda_context_bytes", "mxfp4_backend", "limit_mm_per_prompt", "v1_engine",
             "enable_chunked_prefill"),
    "sglang": ("gpu_memory_bytes", "mem_fraction_static", "tp_size", "context_length", "max_running_requests",
               "chunked_prefill_size", "cpu_offload_gb"),
    "llama.cpp": ("engine_version", "fit", "backend", "n_ctx", "n_batch", "n_ubatch", "n_parallel", "n_gpu_layers",
                  "n_cpu_moe", "override_tensor", "op_offload", "flash_attn", "kv_unified", "type_v", "mmproj",
                  "mla_gguf", "program", "n_outputs_max"),
    "ollama": ("engine_version", "gpu_memory_bytes", "num_ctx", "num_parallel", "num_gpu", "num_batch", "kv_cache_type",
               "flash_attn"),
    "transformers": ("cache", "max_cache_len"),
}


def engines_taking(option: str) -> tuple[str, ...]:
    """The engines whose own settings include `option` (none for an unknown name)."""
    return tuple(e for e, names in ENGINE_OPTIONS.items() if option in names)

# KV-cache element types each engine offers (names of profiles/quants/kv_dtypes.yaml):
#   vLLM --kv-cache-dtype: auto (the model dtype), bfloat16, fp8, fp8_e4m3, fp8_e5m2 (vllm/config/cache.py, 0.11);
#   llama.cpp --cache-type-k/-v: f32, f16, bf16, q8_0, q4_0, q4_1, iq4_nl, q5_0, q5_1 (common/arg.cpp);
#   SGLang --kv-cache-dtype: auto (the model dtype), fp8_e5m2, fp8_e4m3 (server_args.py);
#   transformers: the model dtype, or QuantizedCache (quanto int2/int4, HQQ 1–8 bits) for int8/int4.
ENGINE_KV_DTYPES = {"vllm": ("fp32", "fp16", "bf16", "fp8"), "sglang": ("fp32", "fp16", "bf16", "fp8"),
                    "llama.cpp": ("fp32", "fp16", "bf16", "q8_0", "q4_0"), "ollama": ("fp16", "q8_0", "q4_0"),
                    "transformers": ("fp32", "fp16", "bf16", "int8", "int4")}


# Architectures llama.cpp (and so Ollama) cannot run: no GGUF of them exists. Phi-3-small's block-sparse attention:
# convert_hf_to_gguf.py prints "Model Phi3SmallForCausalLM is not supported" (ggml-org/llama.cpp#7922, #8241, where a
# contributor judged the Triton block-sparse kernel not worth porting).
LLAMACPP_UNSUPPORTED = {"phi3small": "Phi3SmallForCausalLM (block-sparse attention; ggml-org/llama.cpp#7922, #8241)"}


# The formats vLLM and transformers run a model in when no GGUF of it exists: the default rows of its tables
NO_GGUF_QUANTS = ("bf16", "fp8", "int8", "int4")


def has_gguf(spec: ModelSpec) -> bool:
    """Whether llama.cpp (and so Ollama) can run this architecture, so that GGUF files of it exist."""
    return spec.model_type not in LLAMACPP_UNSUPPORTED


def runnable_quants(spec: ModelSpec, quants) -> tuple[str, ...]:
    """`quants` less the GGUF presets where no GGUF of the model exists: a default list of formats for this model."""
    return tuple(q for q in quants if has_gguf(spec) or not is_gguf_weights(q, spec))


def _runners(spec: ModelSpec) -> str:
    """The engines that run a model llama.cpp cannot: vLLM only before the release that removed it (VLLM_REMOVED)."""
    others = "SGLang" if spec.model_type in TRANSFORMERS_CANNOT_RUN else "SGLang, transformers"
    if spec.model_type in VLLM_REMOVED:
        return f"{others} and vLLM before {VLLM_REMOVED[spec.model_type][0].removesuffix('.0')}"
    return f"vLLM, {others.replace(', ', ' and ')}"


def no_gguf_note(spec: ModelSpec, quants, *, defaulted: bool = False, what: str = "its GGUF rows are") -> str | None:
    """For a model llama.cpp cannot run: what the GGUF figures of a table, ranking or estimate are (`what` names
    them), or, for the default formats (`defaulted`: runnable_quants left the GGUF presets out), why there are none.
    None otherwise."""
    if has_gguf(spec):
        return None
    why = f"llama.cpp has no {LLAMACPP_UNSUPPORTED[spec.model_type]}, so no GGUF of this model exists"
    if any(is_gguf_weights(q, spec) for q in quants):
        return f"{why}: {what} what such a file would take; {_runners(spec)} run it in bf16, fp8, int8 or int4"
    return f"{why}: the rows are the formats {_runners(spec)} run it in" if defaulted else None


def fp32_checkpoint_note(spec: ModelSpec, quant: str | None, engine: str | None) -> str | None:
    """Where a checkpoint's files are fp32 (gemma-2-9b, OLMo 2) and its own weights are asked for without an engine
    that casts them: the sentence that says the figures are fp32's. transformers loads a checkpoint in its config's
    dtype under dtype="auto" (the default from its v5; fp32 whatever the files before it); vLLM's dtype "auto" and
    SGLang's take fp32 checkpoints as 16-bit weights, as their estimates here do. None otherwise."""
    if quant is not None or spec.weights_dtype != "fp32" or engine not in (None, "transformers"):
        return None
    return (f"{spec.name}'s checkpoint is stored in fp32 (its config's torch_dtype), so its own weights are fp32's, "
            "as transformers loads them; most runs load it in 16 bits (vLLM and SGLang cast fp32 checkpoints)")


def ollama_library_note(spec: ModelSpec, quant: str | None, engine: str | None) -> tuple[str, str, str] | None:
    """Under Ollama with a model's own (16-bit) weights: (the sentence naming the library tag most Ollama users pull
    instead and its file's format, that tag, that format): `ollama run qwen3:8b` fetches Q4_K_M, not the bf16
    checkpoint. None for a tag asked for by name, another format, another engine, or a model the library has no tag
    of."""
    from ..profiles import OLLAMA_LIBRARY, ollama_tag_of

    if engine != "ollama" or quant is not None or spec.source.startswith(OLLAMA_LIBRARY) or \
            is_gguf_weights(spec.weights_dtype, spec) or (found := ollama_tag_of(spec.name)) is None:
        return None
    tag, fmt = found
    return (f"these are {spec.name}'s own {spec.weights_dtype} weights, imported into Ollama; `ollama run {tag}` "
            f"fetches its library file, {fmt}, instead", tag, fmt)


def encoder_note(details: dict, unit: str) -> str | None:
    """Where an engine's weights include a vision model's image encoder (Ollama's model file, llama.cpp's --mmproj):
    the sentence that says so; None elsewhere."""
    from ..units import format_bytes

    encoder = details.get("vision_bytes") or details.get("mmproj_bytes")
    if not encoder:
        return None
    where = "Ollama's model file carries" if details.get("vision_bytes") else "llama.cpp's --mmproj file holds"
    return (f"the weights include the image encoder, {format_bytes(encoder, unit)} in 16 bits, which {where} and "
            "loads beside the layers (its compute buffer, taken when an image is encoded, is not counted)")


def check_engine_formats(spec: ModelSpec, engine: str, *, quant: str, kv_dtype: str) -> None:
    """Refuse weight and KV formats the engine cannot run, naming both the engine and the format, and models it
    cannot run at all."""
    if engine in ("llama.cpp", "ollama") and spec.model_type in LLAMACPP_UNSUPPORTED:
        raise WorkloadError(f"engine {engine!r} cannot run {spec.name}: llama.cpp has no "
                            f"{LLAMACPP_UNSUPPORTED[spec.model_type]}, so no GGUF of it exists; "
                            f"{_runners(spec)} run it")
    name = get_quant(quant).name
    gguf = is_gguf_weights(quant, spec)
    # 16/32-bit weights convert to GGUF F16/BF16/F32 as they are; MXFP4 experts (gpt-oss) are a GGML type too
    if engine in ("llama.cpp", "ollama") and not gguf and name not in ("fp16", "bf16", "fp32", "mxfp4"):
        raise WorkloadError(f"engine {engine!r} runs GGUF files, and quant {name!r} is not a GGUF type; "
                            "pick a GGUF preset such as q4_k_m or q8_0 (`planner quants`)")
    if engine == "transformers" and gguf:
        raise WorkloadError(f"engine 'transformers' dequantizes GGUF files when it loads them, so quant {name!r} "
                            "does not describe its memory; pass the dtype it loads into (bf16, fp16)")
    if engine == "sglang" and gguf:
        raise WorkloadError(f"planner models SGLang with safetensors checkpoints; quant {name!r} is a GGUF type "
                            "(run GGUF files in llama.cpp)")
    if engine in ("vllm", "sglang", "transformers") and name.startswith("mlx-"):
        raise WorkloadError(f"engine {engine!r} cannot load MLX's own weights (quant {name!r}); MLX (mlx_lm) runs "
                            "them: leave the engine out for MLX's figures")
    if engine in ("vllm", "sglang", "transformers") and name.startswith("exl2"):
        raise WorkloadError(f"engine {engine!r} cannot load ExLlamaV2 weights (quant {name!r}); "
                            "ExLlamaV2/TabbyAPI runs them")
    kv = get_kv_dtype(kv_dtype).name
    if kv not in ENGINE_KV_DTYPES[engine]:
        raise WorkloadError(f"engine {engine!r} has no {kv!r} KV cache; it offers "
                            f"{', '.join(ENGINE_KV_DTYPES[engine])}")


def layers_in_host_ram(e) -> bool:
    """llama.cpp (or Ollama) with weights a decode step reads from system RAM: the figure planner.estimate switches
    to the offloaded speed on."""
    return e.engine in ("llama.cpp", "ollama") and bool(e.engine_details.get("host_moved_bytes"))


def no_ttft_reason(e) -> str | None:
    """Why an estimate that fits shows no time to first token (None where it shows one): a prompt that runs partly on
    the CPU (llama.cpp or Ollama with layers in system RAM), or a GPU without a FLOP/s figure."""
    p = e.performance
    if p is None or not p.fits or p.prefill_seconds is not None:
        return None
    if layers_in_host_ram(e):
        return "not modelled: part of the prompt runs on the CPU (weights in system RAM)"
    if p.gpu == "custom":
        return "unknown (a custom GPU given without its bf16 FLOP/s)"
    return "unknown (no FLOP/s figure in this GPU's datasheet)"


__all__ = ["ENGINES", "ENGINE_KV_DTYPES", "NO_GGUF_QUANTS", "VLLM_SAMPLER_BYTES_PER_LOGIT", "EngineMemory",
           "check_engine_formats", "encoder_note", "has_gguf", "layers_in_host_ram", "llamacpp_memory", "no_gguf_note",
           "no_ttft_reason", "ollama_memory",
           "runnable_quants", "sglang_memory", "transformers_memory", "vllm_memory"]

