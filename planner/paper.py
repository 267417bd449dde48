"""Where a speed figure is on paper: the engine it is taken from would not run this format, or this KV cache, here."""

from __future__ import annotations

from .errors import WorkloadError


def lower_first(sentence: str) -> str:
    """'The pool …' → 'the pool …'; names stay as written ('SGLang …', 'vLLM …')."""
    return sentence if sentence[1:2].isupper() else sentence[0].lower() + sentence[1:]


_ENGINE_NAMES = {"llama.cpp": "llama.cpp", "vllm": "vLLM", "sglang": "SGLang", "ollama": "Ollama",
                 "transformers": "transformers"}


def on_paper(engine: str, g, quant: str, spec, kv_dtype: str | None = None) -> str | None:
    """Performance.speed_note: the default speed engine refuses this format on this GPU (vLLM: compute_capable; MLX on
    an Apple GPU: a format made for CUDA kernels, planner.perf.apple_runs_format), or keeps no cache of this KV
    format (ENGINE_KV_DTYPES)."""
    from .engines import ENGINE_KV_DTYPES, has_gguf
    from .perf import apple_runs_format
    from .quant.catalog import is_gguf_weights

    if kv_dtype is not None and kv_dtype not in ENGINE_KV_DTYPES.get(engine, (kv_dtype,)):
        return (f"no engine named: these are {_ENGINE_NAMES[engine]}'s figures, but {_ENGINE_NAMES[engine]} keeps no "
                f"{kv_dtype} KV cache (its formats: {', '.join(ENGINE_KV_DTYPES[engine])}), so they are on paper")
    if engine == "llama.cpp" and is_gguf_weights(quant, spec) and not has_gguf(spec):
        return ("no engine named: these are llama.cpp's figures, but llama.cpp cannot run this architecture, so no "
                f"GGUF of {spec.name} exists and they are on paper")
    if engine == "mlx" and not apple_runs_format(quant, spec):
        return (f"no engine named: these are MLX's figures, but no runtime on Apple GPUs loads {quant} checkpoints "
                "(MLX runs its own formats, mlx-4bit and the like, mxfp4, mxfp8 and nvfp4; llama.cpp GGUF), so they "
                "are on paper")
    if engine != "vllm":
        return None
    from .engines.common import compute_capable

    try:
        compute_capable("vllm", g, quant, spec)
    except WorkloadError as e:
        why = str(e).split("; use ")[0].replace("engine 'vllm' does not run", "vLLM does not run")
        return (f"no engine named: these are vLLM's figures, but {lower_first(why)}, so they are on paper; "
                "--speed-engine (Python: speed_engine=) names one that runs it")
    return None
