"""llama.cpp's --fit: with -ngl unset, llama-server and llama-cli put on the GPU as many layers as leave the fit target
free (llama_params_fit, PR #16653; on by default with -ngl -1 since PR #18266, Dec 2025).

The target is a margin of free memory per device: `-fitt, --fit-target MiB  target margin per device for --fit
option, default: 1024` (llama-server --help, quoted in ggml-org/llama.cpp#18390). Ollama from 0.30 leaves it at
that default for text models (llm/llama_server.go sets LLAMA_ARG_FIT_TARGET only to make room for a vision
projector).

The fit also shrinks n_ctx when the user left it at 0 (down to 4096); planner's workload always names its context,
which counts as set. For MoE models llama.cpp first moves only the routed experts of some layers to system RAM
("overflowing" layers) before whole layers; planner moves whole layers, which leaves less on the GPU than llama.cpp
does (its verdict errs to the safe side; its decode to the slow side).
"""

from __future__ import annotations

from collections.abc import Callable

from ..common import EngineMemory

LLAMA_FIT_TARGET_BYTES = 1024 * 2**20  # --fit-target's default, MiB per device


def device_bytes(m: EngineMemory) -> int:
    """What a placement holds on the GPU: its weights, KV cells and compute buffer."""
    return m.weights_bytes + m.kv_cache_bytes + m.activation_bytes


def most_layers_that_fit(n_layers: int, placed: Callable[[int], EngineMemory], room: int) -> EngineMemory:
    """The placement with the most layers on the GPU (all n_layers + 1, the output counted as a layer) whose device
    bytes fit `room`; with none that fits, no layer on the GPU. Device bytes grow with every layer, so bisect."""
    chosen = placed(n_layers + 1)
    if device_bytes(chosen) <= room:
        return chosen
    low, high = 0, n_layers  # placed(0): taken as the floor
    while low < high:
        mid = (low + high + 1) // 2
        low, high = (mid, high) if device_bytes(placed(mid)) <= room else (low, mid - 1)
    return placed(low)
