"""SGLang's startup log: the weights it loaded, the KV pool it allocated and how many tokens that pool holds.

SGLang prints GiB labelled "GB": get_available_gpu_memory() divides by 1 << 30 and memory_pool.py by
GB = 1024 * 1024 * 1024. What it compares: the weights on each GPU and the K and V bytes of the logged number of
tokens, and, when the log gives mem_fraction_static and the free memory before loading, the pool's size by planner's
SGLang engine (planner.engines.sglang; SGLang's own rule, model_executor/model_runner.py, profile_max_num_token):
    rest = free after loading − free before loading × (1 − mem_fraction_static)
    max_total_num_tokens = rest × 2**30 // (kv_heads per GPU × head_dim × layers × 2 × bytes per element)
with planner's weights, rotary cache and allocator tails (planner.engines.sglang.sglang_loaded_bytes) standing in
for what loading took.
"""

from __future__ import annotations

import re

from ...errors import PlannerError
from .common import GIB, LogCheck, Row, first, half_digit

_BEGIN = r"Load weight begin\. avail mem=([0-9.]+) GB"
_END = (r"Load weight end\. (?:elapsed=[^,]+, )?type=(\w+), (?:dtype=torch\.(\w+), )?avail mem=([0-9.]+) GB"
        r"(?:, mem usage=([0-9.]+) GB)?")
_KV = (r"KV Cache is allocated\. (?:dtype: [^,]+, )?(?:#tokens: (\d+), )?"
       r"(?:K size: ([0-9.]+) GB, V size: ([0-9.]+) GB|KV size: ([0-9.]+) GB)")
_MAX_TOKENS = re.compile(r"max_total_num_tokens=(\d+)")
# 0.5.23: gpt-oss's sliding-window pool and a Gated DeltaNet model's state pool (pool_configurator.py, memory_pool.py)
_SWA_TOKENS = re.compile(r"swa_layer_tokens=(\d+)")
_MAMBA = re.compile(r"Mamba Cache is allocated\. max_mamba_cache_size: (\d+)")
# server_args=ServerArgs(…) as logged, else the launch command's flags (--mem-fraction-static 0.93, --tp 4)
_ARGS = {"mem_fraction_static": re.compile(r"mem_fraction_static=(\d*\.?\d+)|--mem-fraction-static[= ](\d*\.?\d+)"),
         "tp_size": re.compile(r"(?<![\w])tp_size=(\d+)|--tp(?:-size)?[= ](\d+)"),
         "kv_cache_dtype": re.compile(r"kv_cache_dtype='(\w+)'"),
         "quantization": re.compile(r"(?<![\w_])quantization='?([\w-]+)'?"),
         "context_length": re.compile(r"context_len(?:gth)?=(\d+)"),
         "cpu_offload_gb": re.compile(r"cpu_offload_gb=(\d*\.?\d+)|--cpu-offload-gb[= ](\d*\.?\d+)")}


def sglang_settings(text: str) -> dict:
    out: dict = {}
    for key, pattern in _ARGS.items():
        if m := pattern.search(text):
            value = next(g for g in m.groups() if g is not None)
            out[key] = float(value) if key in ("mem_fraction_static", "cpu_offload_gb") else (
                int(value) if value.isdigit() else value)
    return out


def _rank0(pattern: str, text: str):
    """The first rank's line ('[… TP0] …') where the ranks each log one, else the first such line."""
    m, line = first(re.compile(r"TP0\] " + pattern), text)
    return (m, line) if m else first(re.compile(pattern), text)


def check_sglang(text: str, spec, quant: str | None) -> LogCheck:
    from ...estimate import estimate
    from ...kv import kv_bytes_per_token_per_layer

    begin, begin_line = _rank0(_BEGIN, text)
    end, end_line = _rank0(_END, text)
    kv, kv_line = _rank0(r"(?<!SWA )" + _KV, text)  # the full layers' pool where SGLang labels two
    tokens_m, tokens_line = first(_MAX_TOKENS, text)
    if end is None and kv is None:
        where = f" (it stops at line {begin_line}, 'Load weight begin')" if begin else ""
        raise PlannerError(f"no 'Load weight end' or 'KV Cache is allocated' line in this SGLang log{where}: "
                           "it has no figure to reconcile")
    s = sglang_settings(text)
    tp = s.get("tp_size", 1)
    if quant is None and s.get("quantization") not in (None, "None"):
        quant = {"fp8": "fp8", "awq": "awq", "gptq": "gptq", "mxfp4": "mxfp4"}.get(s["quantization"])
    if quant is None and end is not None and end[2]:
        quant = {"bfloat16": "bf16", "float16": "fp16"}.get(end[2]) if spec.weights_dtype in ("bf16", "fp16") else None
    kv_dtype = "fp8" if str(s.get("kv_cache_dtype", "auto")).startswith("fp8") else None
    e = estimate(spec, quant=quant, kv_dtype=kv_dtype, context=min(spec.max_context, 4096))
    from ...engines.sglang import sglang_loaded_bytes

    offload = s.get("cpu_offload_gb", 0)
    loaded = sglang_loaded_bytes(spec, e.workload.quant, tp, cpu_offload_bytes=int(offload * 2**30))
    loaded.pop("cpu_offloaded", None)  # on the host
    weights = sum(loaded.values())
    per_layer = kv_bytes_per_token_per_layer(spec, e.workload.kv_dtype)
    heads = max(1, spec.n_kv_heads // tp) if spec.mla is None else spec.n_kv_heads
    from ...engines.sglang import sglang_pool_layers

    cell = per_layer * sglang_pool_layers(spec)[0] * heads // spec.n_kv_heads  # K and V of one token on one GPU
    split = (f"one GPU's share at tp_size {tp}, " if tp > 1 else "") + (
        f"{offload:g} GiB (--cpu-offload-gb) of the decoder layers on the host, " if offload else "") + (
        f"with the rotary cache ({loaded['rotary_cache'] / 2**20:.0f} MiB) and the allocator's segment tails "
        f"({loaded['allocator_tails'] / 2**20:.0f} MiB); ")
    rows = []
    if end is not None:
        if end[4]:
            rows.append(Row("weights per GPU (mem usage at load)", float(end[4]), weights / GIB, "GiB",
                            split + "SGLang's figure is all memory taken while loading", end_line,
                            half_digit(end[4])))
        elif begin is not None:
            rows.append(Row("weights per GPU (free before − after load)", float(begin[1]) - float(end[3]),
                            weights / GIB, "GiB", split + "the two 'avail mem' figures' difference", end_line,
                            half_digit(begin[1]) + half_digit(end[3])))
    tokens = int(kv[1]) if kv is not None and kv[1] else int(tokens_m[1]) if tokens_m else None
    if kv is not None and tokens:
        src = "#tokens" if kv[1] else f"max_total_num_tokens (line {tokens_line})"
        if kv[2]:
            for name, value in (("K", kv[2]), ("V", kv[3])):
                rows.append(Row(f"{name} cache for {tokens:,} tokens", float(value), tokens * cell / 2 / GIB, "GiB",
                                f"{src} × planner's {name} bytes per token per GPU", kv_line, half_digit(value)))
        else:
            rows.append(Row(f"KV cache for {tokens:,} tokens", float(kv[4]), tokens * cell / GIB, "GiB",
                            f"{src} × planner's KV bytes per token per GPU", kv_line, half_digit(kv[4])))
    frac = s.get("mem_fraction_static")
    if tokens and frac is not None and begin is not None:
        from ...engines import sglang_memory
        from ...overhead import CUDA_CONTEXT_BYTES

        free = int(float(begin[1]) * GIB)
        mem = sglang_memory(spec, quant=e.workload.quant, kv_dtype=e.workload.kv_dtype,
                            gpu_memory_bytes=free + CUDA_CONTEXT_BYTES, smi_memory_bytes=free, context=1,
                            free_before_load_bytes=free,
                            mem_fraction_static=frac, tp_size=tp, cpu_offload_gb=offload)
        line = tokens_line if tokens_m else kv_line
        on = (f"planner's SGLang engine on the logged free memory ({begin[1]} GB) and mem_fraction_static "
              f"{frac:g}, with planner's weights and KV bytes")
        rows.append(Row("KV cache tokens (max_total_num_tokens)", float(tokens),
                        float(mem.details["max_total_num_tokens"]), "tokens", on, line, 0.005 * GIB / cell * 2))
        if (m := first(_SWA_TOKENS, text))[0] is not None:
            rows.append(Row("sliding-window pool tokens", float(m[0][1]),
                            float(mem.details["swa_max_total_num_tokens"]), "tokens", on, m[1]))
        if (m := first(_MAMBA, text))[0] is not None:
            rows.append(Row("Gated DeltaNet states (max_mamba_cache_size)", float(m[0][1]),
                            float(mem.details["max_mamba_cache_size"]), "requests", on, m[1]))
    if not rows:
        raise PlannerError("this SGLang log has no figure planner can reconcile (no mem usage, no K/V size)")
    settings = {**{k: v for k, v in s.items() if v != "None"}, "quant": quant}
    return LogCheck("sglang", settings, rows)
