"""The per-engine times profiles/efficiency.yaml holds beside the efficiencies: a step's per-layer time and an eager
engine's floor (with its kernels' ratio), the MoE split times, a served request's latency, vLLM V0's loop."""

from __future__ import annotations

from ..quant.catalog import base_name
from .table import ANY, SPEED_ENGINES, Entry, _index, check_engine

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
