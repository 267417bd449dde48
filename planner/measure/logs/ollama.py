"""Ollama's own estimate in its server log (llm/memory.go, up to v0.12.10): the 'offload to cuda' line (before
v0.5.12) or 'msg=offload library=cuda' (after), and the runner's command line, against planner's reconstruction of
that estimate (planner.engines.ollama.estimate) for the same settings and free memory."""

from __future__ import annotations

import re

from ...errors import PlannerError
from .common import MIB, Row, first, half_digit

ESTIMATE = re.compile(r'msg=(?:"offload to \w+"|offload library=\w+).*')
_CMD = re.compile(r'msg="starting llama server" cmd="[^"]*')
_LOAD = re.compile(r'msg=load request="\{([^"]*)\}"')
_VERSION = re.compile(r'(?:\(version |version=)v?(\d+\.\d+\.\d+)')
_UNITS = {"B": 1 / MIB, "KiB": 1 / 1024, "MiB": 1, "GiB": 1024}
# The release that stands for a log which prints none: the line form's period (estimate_release).
_FIELDS = {  # log field → (OllamaEstimate figure, note)
    "layers.offload": ("layers", "layers its estimate puts on the GPU, the output layer counted as one"),
    "memory.required.full": ("total", "all the model by the estimate, GPU and system RAM: `ollama ps` SIZE"),
    "memory.required.partial": ("vram", "what the estimate puts on the GPU"),
    "memory.required.kv": ("kv", "every layer's cells, 2 bytes an element for f16"),
    "memory.weights.total": ("weights_total", ""),
    "memory.weights.repeating": ("weights_repeating", ""),
    "memory.weights.nonrepeating": ("output", "output_norm and the output, or the tied token embedding"),
    "memory.graph.full": ("graph_full", "GraphSize's formula for the architecture, every layer on the GPU"),
    "memory.graph.partial": ("graph_partial", "GraphSize's formula, some layers in system RAM"),
}


def _bytes(value: str) -> tuple[float, float]:
    """'896.0 MiB' → (896.0, 0.05) in MiB; '2.4 GiB' → (2457.6, 51.2)."""
    number, unit = value.split()
    if unit not in _UNITS:
        raise PlannerError(f"Ollama's estimate prints {value!r}, in a unit planner does not know")
    return float(number) * _UNITS[unit], half_digit(number) * _UNITS[unit]


def estimate_release(text: str, line_text: str) -> tuple[str, str, bool]:
    """(release, how it was told, whether the release is certain) of the Ollama that wrote this estimate line."""
    if m := _VERSION.search(text):
        return m[1], "printed", True
    if 'msg="offload to' in line_text:
        return "0.5.11", "from its line form, releases up to 0.5.11", True
    if "msg=offload library=" in line_text:  # 0.5.12-0.12.10: read with the 0.7.0 rules; weights.* left open
        return "0.7.0", "from its line form, 0.5.12 to 0.12.10: read as 0.7.0", False
    raise PlannerError("cannot tell which Ollama release wrote this estimate")


def _runner_settings(text: str) -> dict | None:
    """The runner's context, slots, batch, flash attention and cache type: its command line (--ctx-size, until 0.11.4)
    or its load request (KvSize, from 0.11.5)."""
    cmd, _ = first(_CMD, text)
    flags = dict(re.findall(r"--([\w-]+) (\d+)", cmd[0])) if cmd else {}
    if "ctx-size" in flags:
        kv_type = re.search(r"--kv-cache-type (\w+)", cmd[0])
        return {"n_ctx": int(flags["ctx-size"]), "slots": int(flags.get("parallel", 1)),
                "num_batch": int(flags.get("batch-size", 512)), "flash": "--flash-attn" in cmd[0],
                "cache": kv_type[1] if kv_type else "f16"}
    load, _ = first(_LOAD, text)
    if load:
        fields = dict(re.findall(r"(\w+):([^\s\[\]}]*)", load[1]))
        if fields.get("KvSize", "").isdigit():
            return {"n_ctx": int(fields["KvSize"]), "slots": int(fields.get("Parallel") or 1),
                    "num_batch": int(fields.get("BatchSize") or 512),
                    "flash": fields.get("FlashAttention", "").lower() in ("true", "enabled"),
                    "cache": fields.get("KvCacheType") or "f16"}
    return None


def estimate_rows(text: str, spec, quant: str) -> tuple[list[Row], dict] | None:
    """Rows for Ollama's estimate line, beside planner's reconstruction; None when the log has none. Refuses (in one
    line, PlannerError) what it cannot reconstruct."""
    from ...engines.ollama import OLLAMA_KV_TYPES, minimum_memory_bytes
    from ...engines.ollama.estimate import estimate_gpu_layers, graph_batch
    from ...engines.ollama.releases import OLLAMA_CURRENT, OLLAMA_OLDEST, ollama_release, since
    from ...errors import WorkloadError

    m, line = first(ESTIMATE, text)
    if not m:
        return None
    runner = _runner_settings(text)
    if runner is None:
        raise PlannerError("Ollama's estimate needs the runner's context ('starting llama server' with --ctx-size, "
                           "or the runner's 'load request' with KvSize); neither is in the log")
    version, told, certain = estimate_release(text, m[0])
    try:
        release = ollama_release(version)
    except WorkloadError:
        raise PlannerError(f"the log is of Ollama {version}, and planner has Ollama's rules for {OLLAMA_OLDEST} to "
                           f"{OLLAMA_CURRENT} only") from None
    n_ctx, slots, num_batch = runner["n_ctx"], runner["slots"], runner["num_batch"]
    cache = OLLAMA_KV_TYPES.get(runner["cache"].lower(), "fp16")
    values = dict(re.findall(r'((?:memory|layers)\.[\w.]+)=("[^"]*"|\S+)', m[0]))
    values = {k: v.strip('"') for k, v in values.items()}
    available = re.findall(r"[0-9.]+ \w+", values.get("memory.available", ""))
    metal = bool(re.match(r'msg=(?:"offload to metal"|offload library=metal)', m[0], re.IGNORECASE))
    settings = {"ollama_version": f"{version} ({told})", "num_ctx × num_parallel": n_ctx, "num_parallel": slots,
                "num_batch": num_batch}
    if len(available) != 1:
        raise PlannerError(f"Ollama's estimate lists {len(available)} GPUs (memory.available="
                           f"{values.get('memory.available')!r}); planner reconstructs it for one GPU")
    free = round(_bytes(available[0])[0] * MIB)
    overhead = round(_bytes(values.get("memory.gpu_overhead", "0 B"))[0] * MIB)
    requested = int(values.get("layers.requested", "-1"))
    est = estimate_gpu_layers(spec, quant, context=n_ctx, batch=graph_batch(release, n_ctx, slots, num_batch),
                              slots=slots, cache=cache, flash_attn=runner["flash"], free_bytes=free,
                              minimum_bytes=minimum_memory_bytes("metal" if metal else "cuda"),
                              gpu_overhead_bytes=overhead, metal=metal,
                              release=release, num_gpu=None if requested < 0 else requested)
    # memory.weights.total: blocks and their KV until 0.6.0; the blocks alone in 0.6.1-0.6.2; blocks and output after
    with_kv = not since(release, "weights_total_blocks")
    total = (est.repeating + est.kv if with_kv else
             est.repeating + est.output if since(release, "weights_total_output") else est.repeating)
    figures = {"layers": est.layers, "total": est.total, "vram": est.vram, "kv": est.kv, "output": est.output,
               "graph_full": est.graph_full, "graph_partial": est.graph_partial, "weights_total": total,
               "weights_repeating": est.repeating + est.kv - est.output if with_kv else est.repeating}
    notes = {**{f: n for f, (_, n) in _FIELDS.items()},
             "memory.weights.total": "every block's tensors and its KV, as until 0.6.0" if with_kv else
             "every block's tensors and the output layer" if since(release, "weights_total_output") else
             "every block's tensors, as in 0.6.1-0.6.2",
             "memory.weights.repeating": "the weights' total less the output layer" if with_kv else
             "every block's tensors"}
    rows = []
    for field, (key, _) in _FIELDS.items():
        if field not in values:
            continue
        if field == "layers.offload":
            rows.append(Row(f"Ollama estimate: {field}", int(values[field]), est.layers, "layers", notes[field],
                            line))
            continue
        logged, res = _bytes(values[field])
        open_ = field.startswith("memory.weights.") and field != "memory.weights.nonrepeating" and not certain
        rows.append(Row(f"Ollama estimate: {field.removeprefix('memory.')}", logged,
                        None if open_ else figures[key] / MIB, "MiB",
                        "its meaning changed at 0.6.1 and 0.6.3, and the log prints no version" if open_
                        else notes[field], line, res))
    return rows, settings
