"""estimate()'s engine step: the context an engine's own settings imply, the GPU memory it budgets from, its memory
answer (one module per engine in this package), and the system-RAM verdict for what llama.cpp and Ollama leave on
the host."""

from __future__ import annotations

from ..checks import positive_int
from ..errors import WorkloadError
from ..limits import MAX_BYTES, MAX_CONTEXT
from ..spec import ModelSpec
from ..workload import Workload


def host_ram(gpu) -> tuple[int, str] | None:
    """(bytes, where the figure comes from) of the system RAM free for what llama.cpp or Ollama leave off the GPU:
    this machine's available RAM when the GPU is its own ("local", not Apple's); on an Apple GPU, the unified memory
    beyond the GPU's share (Metal's recommendedMaxWorkingSetSize), the same pool the CPU's part comes from; None
    otherwise (a discrete GPU of the catalog: the host is not known)."""
    from ..gpus import load_gpu
    from ..machine import is_local, system_memory

    g = load_gpu(gpu)
    if g.vendor == "apple":
        return g.runtime_total_bytes - g.usable_memory_bytes, "the unified memory beyond the GPU's share"
    return (system_memory()[1], "this machine's available RAM") if is_local(g) else None


def host_verdict(perf, details: dict, host_memory: int):
    """The verdict with system RAM too: what llama.cpp or Ollama leave there must fit `host_memory`."""
    host = details.get("host_total_bytes", 0)
    if perf is None or not details.get("host_moved_bytes") or host <= host_memory:
        return perf
    why = f"system RAM must hold {host / 2**30:,.2f} GiB of it, {host_memory / 2**30:,.2f} GiB is free"
    return perf.model_copy(update={"fits": False, "reason": why if perf.fits else f"{perf.reason}; and {why}"})


def engine_context(spec: ModelSpec, engine: str | None, context, batch, options: dict, gpu=None):
    """The workload's context when the engine's own setting implies it; the two may not contradict each other.

    vLLM: max_model_len (default the model's maximum) bounds every request; context defaults to it and may be
    smaller (requests shorter than the limit). llama.cpp: n_ctx is the cells of all n_parallel slots; context
    defaults to one slot's share.
    """
    if engine == "vllm":
        max_model_len = options.get("max_model_len")
        if max_model_len is None:
            options["max_model_len"] = spec.max_context  # vLLM's default max_model_len
        else:
            positive_int("max_model_len", max_model_len, spec.max_context)
        if context is None:
            return options["max_model_len"]  # a longer context than max_model_len: vllm_memory refuses it
    if engine == "ollama" and context is None:  # Ollama's num_ctx: the option, else the release's default
        from ..gpus import load_gpu
        from .ollama import ollama_default_num_ctx, ollama_release

        if options.get("num_ctx") is not None:
            return min(positive_int("num_ctx", options["num_ctx"], MAX_CONTEXT), spec.max_context)
        total = options.get("gpu_memory_bytes") or (None if gpu is None else runtime_memory(load_gpu(gpu)))
        release = ollama_release(options.get("engine_version"))
        return None if total is None else min(ollama_default_num_ctx(release, total), spec.max_context)
    if engine == "sglang" and options.get("context_length") is not None:  # SGLang refuses one beyond the model's
        positive_int("context_length", options["context_length"], spec.max_context)
    if engine == "sglang" and context is None:
        return options.get("context_length") or spec.max_context  # SGLang's default context_length: the model's
    if engine == "llama.cpp" and context is None and options.get("n_ctx") is not None:
        n_ctx = positive_int("n_ctx", options["n_ctx"], MAX_CONTEXT)
        slots = options.get("n_parallel")
        slots = positive_int("batch", batch) if slots is None else positive_int("n_parallel", slots)
        return n_ctx if options.get("kv_unified") is True else max(1, n_ctx // slots)
    return context


# what each engine sizes from the GPU's memory, for the message when neither a GPU nor its memory is given
_SIZES = {"vllm": "sizes its KV cache", "sglang": "sizes its KV pool", "ollama": "decides its layers"}


def runtime_memory(g) -> int:
    """The memory an engine sees on `g`: CUDA's (ROCm's) total, or on Apple GPUs Metal's working-set share of unified
    memory (recommendedMaxWorkingSetSize, what llama.cpp and Ollama budget from)."""
    return g.usable_memory_bytes if g.vendor == "apple" else g.runtime_total_bytes


def engine_gpu(engine: str, gpu, options: dict):
    """(catalog GPU or None, the total CUDA reports, the options without gpu_memory_bytes) of an engine that budgets
    from the GPU's memory; refuses Apple GPUs for vLLM and SGLang, which have no Metal backend."""
    from ..gpus import load_gpu

    options = dict(options)
    memory = options.pop("gpu_memory_bytes", None)
    g = None if gpu is None else load_gpu(gpu)
    if g is not None and g.vendor == "apple" and engine in ("vllm", "sglang"):
        raise WorkloadError(f"engine {engine!r} does not run on {g.name}: it has no Metal backend (a macOS build runs "
                            "on the CPU); use engine llama.cpp")
    if memory is None and g is None:
        raise WorkloadError(f"engine {engine!r} {_SIZES[engine]} from the GPU's memory: give gpu= or "
                            "gpu_memory_bytes=")
    total = runtime_memory(g) if memory is None else memory
    return g, positive_int("gpu_memory_bytes", total, MAX_BYTES), options


# the option each engine sizes its forward's tokens by, which takes the place of planner's analytic prefill chunk
_OWN_CHUNK = {"vllm": "give max_num_batched_tokens (--max-num-batched-tokens) instead",
              "sglang": "give chunked_prefill_size (--chunked-prefill-size) instead",
              "llama.cpp": "give n_ubatch (--n-ubatch) instead",
              "ollama": "Ollama's micro-batch (num_batch, 512) is its own"}


def engine_memory(spec: ModelSpec, w: Workload, engine: str, gpu, totals: dict, options: dict, *, act_bits: int):
    from . import ollama_memory, sglang_memory, transformers_memory, vllm_memory

    common = dict(quant=w.quant, kv_dtype=w.kv_dtype)
    if w.chunk is not None and engine in _OWN_CHUNK:  # each sizes its forward by its own option
        raise WorkloadError(f"chunk is planner's analytic prefill chunk; the {engine} engine's forward takes its own "
                            f"size: {_OWN_CHUNK[engine]} (got chunk={w.chunk})")
    if engine in ("vllm", "sglang", "ollama"):
        g, total, options = engine_gpu(engine, gpu, options)
        if engine == "vllm":
            return vllm_memory(spec, **common, gpu_memory_bytes=total, weights=totals["weights_bytes"],
                               context=w.context, batch=w.batch, gpu=g, **options)
        if engine == "sglang":
            smi = total if g is None else (g.memory_bytes or g.memory_marketed_bytes)
            return sglang_memory(spec, **common, gpu_memory_bytes=total, smi_memory_bytes=smi,
                                 context=w.context, batch=w.batch, gpu=g, **options)
        from ..overhead import overhead_bytes

        return ollama_memory(spec, **common, gpu_memory_bytes=total, overhead_bytes=overhead_bytes(w.runtime),
                             context=w.context, batch=w.batch,
                             library={"apple": "metal", "amd": "rocm"}.get(getattr(g, "vendor", None), "cuda"),
                             **options)
    if engine == "llama.cpp":
        from ..gpus import load_gpu
        from ..overhead import overhead_bytes
        from .llamacpp.fit import llamacpp_placed
        from .llamacpp.releases import llamacpp_build, llamacpp_runs

        llamacpp_runs(spec, llamacpp_build(options.get("engine_version")))
        return llamacpp_placed(spec, gpu=None if gpu is None else load_gpu(gpu), reserved=overhead_bytes(w.runtime),
                               quant=w.quant, kv_dtype=w.kv_dtype, context=w.context, batch=w.batch, **options)
    return transformers_memory(spec, **common, context=w.context, batch=w.batch, weights=totals["weights_bytes"],
                               kv=totals["kv_cache_bytes"], attention=w.attention, chunk=w.chunk,
                               act_bits=act_bits, **options)
