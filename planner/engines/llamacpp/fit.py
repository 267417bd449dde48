"""llama.cpp's --fit: with -ngl unset, llama-server and llama-cli put on the GPU as many layers as leave the fit target
free (llama_params_fit, PR #16653, b7407, Dec 2025: on by default; -ngl -1 its default since PR #18266, b7553).

The target is a margin of free memory per device: `-fitt, --fit-target MiB  target margin per device for --fit
option, default: 1024` (llama-server --help, quoted in ggml-org/llama.cpp#18390). Ollama from 0.30 leaves it at
that default for text models (llm/llama_server.go sets LLAMA_ARG_FIT_TARGET only to make room for a vision
projector).

The fit (llama_params_fit_impl, src/llama.cpp as Ollama vendored it in v0.24.0) also shrinks n_ctx when the user
left it at 0 (down to 4096); planner's workload always names its context, which counts as set. A dense model: whole
layers from the back. A MoE model: first every layer's routed experts to system RAM; if the rest fits, layers get
their experts back ("full" layers, front to back); if not, whole expert-less layers from the back. llama.cpp also
fits part of one more layer (its up, or up and gate, projections); planner stops at whole layers.
"""

from __future__ import annotations

from collections.abc import Callable

from ...checks import flag
from ...errors import WorkloadError
from ...spec import ModelSpec
from ..common import EngineMemory
from . import llamacpp_memory
from .releases import build_name, llamacpp_build, llamacpp_rules

LLAMA_FIT_TARGET_BYTES = 1024 * 2**20  # --fit-target's default, MiB per device


def device_bytes(m: EngineMemory) -> int:
    """What --fit sees a placement hold on the GPU: its weights, KV cells and compute buffer (not, before b9489, the
    f16 copies of a quantized cache flash attention takes from CUDA's pool as a prompt runs: the run needs them all
    the same, and the verdict counts them)."""
    return m.weights_bytes + m.kv_cache_bytes + m.activation_bytes - m.details.get("fa_f16_pool_bytes", 0)


def most_layers_that_fit(n_layers: int, placed: Callable[[int], EngineMemory], room: int) -> EngineMemory:
    """The placement with the most layers on the GPU (all n_layers + 1, the output counted as a layer) whose device
    bytes fit `room`; with none that fits, no layer on the GPU. Device bytes grow with every layer, so bisect."""
    return _most(lambda n: placed(n), 0, n_layers + 1, room)


def fit_placement(n_layers: int, moe: bool, placed: Callable[[int, int], EngineMemory], room: int) -> EngineMemory:
    """llama_params_fit's placement (`placed(n_gpu_layers, n_cpu_moe)`), the n_ctx step aside. Everything on the GPU
    if it fits `room`; else, for a dense model, the most whole layers from the back (-ngl's count, the output with
    them as the build places it: weights.gpu_placement). For a MoE model: with every layer's routed experts in system
    RAM, if the rest and the output fit, the most layers whose experts join them on the GPU ("full" layers); if not
    even that fits, the most of those expert-less layers from the back."""
    everything = placed(n_layers + 1, 0)
    if device_bytes(everything) <= room:
        return everything
    if not moe:
        return most_layers_that_fit(n_layers, lambda n: placed(n, 0), room)
    if device_bytes(placed(n_layers + 1, n_layers)) <= room:  # the dense part fits: convert layers to full ones
        return _most(lambda k: placed(n_layers + 1, n_layers - k), 0, n_layers, room)
    return _most(lambda n: placed(n, n_layers), 0, n_layers, room)


def _most(placed: Callable[[int], EngineMemory], low: int, high: int, room: int) -> EngineMemory:
    """placed(n) for the largest n in [low, high] that fits `room` (device bytes grow with n); placed(low) when none
    does."""
    if device_bytes(placed(high)) <= room:
        return placed(high)
    while low < high - 1:
        mid = (low + high) // 2
        low, high = (mid, high) if device_bytes(placed(mid)) <= room else (low, mid)
    return placed(low)


def llamacpp_placed(spec: ModelSpec, *, gpu, reserved: int, quant: str, kv_dtype: str, context: int, batch: int,
                    **options) -> EngineMemory:
    """llama.cpp on `gpu` (a catalog GPU or None) with `reserved` bytes of it taken (the CUDA context). With
    n_gpu_layers unset, what the build does: no layer on the GPU before b6325 (Metal builds: all), all of them until
    b7407, then --fit's placement (fit_placement); else the layers asked for."""
    options = {k: v for k, v in options.items() if v is not None}  # None: the engine's default, as everywhere
    build = llamacpp_build(options.get("engine_version"))
    layers = llamacpp_rules(build)["layers"]
    fit = flag("fit", options.pop("fit")) if "fit" in options else layers == "fit"
    if fit and layers != "fit":
        raise WorkloadError(f"fit: llama.cpp {build_name(build)} has no --fit (it arrived in b7407, PR #16653)")
    common = dict(quant=quant, kv_dtype=kv_dtype, context=context, batch=batch,
                  device_vendor=getattr(gpu, "vendor", None))
    if layers == "none" and options.get("n_gpu_layers") is None and getattr(gpu, "vendor", None) != "apple":
        # -ngl's default before b6325 (llama_model_default_params; Metal builds: 999)
        m = llamacpp_memory(spec, **common, **options, n_gpu_layers=0)
        return m.model_copy(update={"details": {**m.details, "ngl_default_zero": True}})
    # --fit only changes what the user left at its default: a set -ngl, or tensor overrides such as --n-cpu-moe or
    # -ot ("tensor_buft_overrides already set by user, abort"), leave every layer where -ngl puts it
    if not fit or gpu is None or options.get("n_gpu_layers") is not None or options.get("n_cpu_moe") \
            or options.get("override_tensor") or options.get("backend") == "cpu":
        return llamacpp_memory(spec, **common, **options)
    room = gpu.usable_memory_bytes - reserved - LLAMA_FIT_TARGET_BYTES  # Apple: the GPU's share
    rest = {k: v for k, v in options.items() if k not in ("n_gpu_layers", "n_cpu_moe")}  # n_cpu_moe=0: the default
    m = fit_placement(spec.n_layers, spec.moe is not None,
                      lambda n, moe: llamacpp_memory(spec, **common, **rest, n_gpu_layers=n, n_cpu_moe=moe), room)
    moved = m.details["n_gpu_layers"] <= spec.n_layers or m.details["n_cpu_moe"] > 0
    return m.model_copy(update={"details": {**m.details, "fit": moved, "fit_target_bytes": LLAMA_FIT_TARGET_BYTES}})
