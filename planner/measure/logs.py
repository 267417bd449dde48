"""A user's own startup log, read back: the settings it states and the figures it logs, beside planner's.

llama.cpp (llama-server, llama-cli, llama-cpp-python, Ollama's runner) logs its context settings and every buffer
it allocates; vLLM logs the model's memory, the memory left for KV blocks, the KV cache size in tokens and the
concurrency. check_log() reads them, makes planner's estimate for the same model and settings, and returns one
row per logged figure: what the log says, what planner says, the error — or, for a line it cannot reconcile, why.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..errors import PlannerError

MIB, GIB = 2**20, 2**30
_CTX = r"(?:llama_context|llama_new_context_with_model)"  # llama.cpp's prefix since 2025, and before
_LLAMA_SETTINGS = {key: re.compile(rf"{_CTX}:\s+{key}\s+=\s+(\S+)")
                   for key in ("n_ctx", "n_batch", "n_ubatch", "n_seq_max", "flash_attn", "kv_unified")}
_LLAMA_BUFFERS = [  # (figure, pattern): device and MiB
    ("model", re.compile(r"(?:load_tensors|llm_load_tensors):\s+(\S+) model buffer size\s+=\s+([0-9.]+) MiB")),
    ("kv", re.compile(r"llama_kv_cache\w*:\s+(\S+) KV buffer size\s+=\s+([0-9.]+) MiB")),
    ("output", re.compile(rf"{_CTX}:\s+(\S+)\s+output buffer size\s+=\s+([0-9.]+) MiB")),
    ("compute", re.compile(rf"(?:sched_reserve|graph_reserve|{_CTX}):\s+(\S+) compute buffer size\s+=\s+"
                           r"([0-9.]+) MiB")),
]
_KV_TYPES = re.compile(r"K \((\w+)\):\s+[0-9.]+ MiB, V \((\w+)\)")
_OFFLOADED = re.compile(r"offloaded (\d+)/(\d+) layers to GPU")
_GGML_TO_PLANNER = {"f16": "fp16", "f32": "fp32", "bf16": "bf16", "q8_0": "q8_0", "q4_0": "q4_0"}
_VLLM = {  # vLLM prints GiB figures, labelled "GB" in older releases
    "weights": re.compile(r"(?:Model loading took|model weights take|Loading model weights took)\s+([0-9.]+)\s*Gi?B"),
    "available_kv": re.compile(r"(?:Available KV cache memory:|available_kv_cache_memory|kv_cache_size=)\s*"
                               r"([0-9.]+)\s*GiB"),
    "kv_tokens": re.compile(r"GPU KV cache size:\s+([0-9,]+) tokens"),
    "gpu_blocks": re.compile(r"# GPU blocks:\s+([0-9,]+)|GPU blocks:\s+([0-9,]+)"),
    "concurrency": re.compile(r"Maximum concurrency for ([0-9,]+) tokens per request:\s+([0-9.]+)x"),
}
_VLLM_VERSION = re.compile(r"vLLM (?:API server )?version:?\s*v?([0-9][\w.+-]*)")


@dataclass
class Row:
    figure: str
    logged: float
    planner: float | None
    unit: str
    note: str = ""

    @property
    def error_pct(self) -> float | None:
        return None if self.planner is None or not self.logged else 100 * (self.planner / self.logged - 1)


@dataclass
class LogCheck:
    engine: str
    settings: dict
    rows: list[Row] = field(default_factory=list)


def engine_of(text: str) -> str:
    if "llama_kv_cache" in text or "load_tensors:" in text or "llama_context:" in text:
        return "llama.cpp"
    if any(_VLLM[k].search(text) for k in ("weights", "available_kv", "kv_tokens", "gpu_blocks")) \
            or "vllm" in text.lower():
        return "vllm"
    raise PlannerError("this log is neither llama.cpp's nor vLLM's: no KV cache or model buffer line in it")


def llamacpp_settings(text: str) -> dict:
    """The context settings llama.cpp logged (n_ctx, n_batch, n_ubatch, slots, flash attention, cache types,
    layers on the GPU)."""
    out: dict = {}
    for key, pattern in _LLAMA_SETTINGS.items():
        if m := pattern.search(text):
            out[key] = m[1]
    settings = {k: int(out[k]) for k in ("n_ctx", "n_batch", "n_ubatch", "n_seq_max") if k in out}
    if "flash_attn" in out:
        settings["flash_attn"] = out["flash_attn"] in ("1", "enabled", "true", "auto")
    if "kv_unified" in out:
        settings["kv_unified"] = out["kv_unified"] in ("1", "true")
    if m := _KV_TYPES.search(text):
        settings["type_k"], settings["type_v"] = (_GGML_TO_PLANNER.get(m[1], m[1]), _GGML_TO_PLANNER.get(m[2], m[2]))
    if m := _OFFLOADED.search(text):
        settings["n_gpu_layers"] = int(m[1])
    return settings


def llamacpp_buffers(text: str) -> dict[tuple[str, str], int]:
    """(figure, device) → bytes, summed when a figure appears more than once for a device (an SWA cache)."""
    out: dict[tuple[str, str], int] = {}
    for figure, pattern in _LLAMA_BUFFERS:
        seen = set()
        for m in pattern.finditer(text):
            if figure == "compute" and (m[1], m[2]) in seen:
                continue  # the reserve and the context log the same compute buffer
            seen.add((m[1], m[2]))
            out[(figure, m[1])] = out.get((figure, m[1]), 0) + round(float(m[2]) * MIB)
    if not out:
        raise PlannerError("no buffer size line in this llama.cpp log (run with verbose logging)")
    return out


def _is_host(device: str) -> bool:
    """CPU, CPU_Mapped, CPU_REPACK and CUDA_Host (pinned) buffers are system RAM; CUDA0, ROCm0, Metal, … device."""
    return device.startswith("CPU") or device.endswith("_Host")


_FILE_TYPE = re.compile(r"file type\s+=\s+(?:\(guessed\)\s+)?(?:mostly\s+)?([A-Z0-9_]+)"
                        r"(?:\s+-\s+(Small|Medium|Large))?")


def llamacpp_quant(text: str) -> str | None:
    """The preset the log's 'file type' line names: 'Q4_K - Medium' → q4_k_m, 'Q8_0' → q8_0."""
    if not (m := _FILE_TYPE.search(text)):
        return None
    name = m[1].lower() + (f"_{m[2][0].lower()}" if m[2] else "")
    return {"f16": "f16", "f32": "f32"}.get(name, name)


def check_llamacpp(text: str, spec, quant: str) -> LogCheck:
    from ..estimate import estimate

    s = llamacpp_settings(text)
    if "n_ctx" not in s:
        raise PlannerError("the log has no 'llama_context: n_ctx' line: it stops before the context is created")
    slots = s.get("n_seq_max", 1)
    kw = dict(quant=quant, engine="llama.cpp", n_ctx=s["n_ctx"], n_parallel=slots,
              context=s["n_ctx"] // slots, batch=slots)
    for key in ("n_batch", "n_ubatch", "flash_attn", "n_gpu_layers", "kv_unified"):
        if key in s:
            kw[key] = s[key]
    if "type_k" in s:
        kw["kv_dtype"], kw["type_v"] = s["type_k"], s["type_v"]
    buffers = llamacpp_buffers(text)
    on_gpu = any(not _is_host(d) for _, d in buffers)
    e = estimate(spec, backend="cuda" if on_gpu else "cpu", **kw)
    d = e.engine_details
    if not on_gpu:  # a CPU run: the CPU holds everything
        host = estimate(spec, backend="cpu", **{**kw, "n_gpu_layers": 0}).engine_details
        predicted = {"model": host["host_weights_bytes"], "kv": host["host_kv_bytes"],
                     "output": host["host_output_bytes"], "compute": e.activation_bytes}
        rows = [Row(f"{fig} buffer ({dev})", b / MIB, predicted[fig] / MIB, "MiB") for (fig, dev), b in buffers.items()]
    else:
        gpu = {"model": e.weights_bytes, "kv": e.kv_cache_bytes, "compute": e.activation_bytes}
        host = {"model": d["host_weights_bytes"], "kv": d["host_kv_bytes"], "compute": d["host_compute_bytes"],
                "output": d["host_output_bytes"]}
        gpu_total = {fig: sum(b for (f, dev), b in buffers.items() if f == fig and not _is_host(dev)) for fig in gpu}
        rows = []
        for fig, logged in gpu_total.items():
            if logged:
                devices = sorted({dev for (f, dev) in buffers if f == fig and not _is_host(dev)})
                note = "" if len(devices) == 1 else f"{len(devices)} GPUs together: planner plans one GPU"
                rows.append(Row(f"{fig} buffer ({'+'.join(devices)})", logged / MIB,
                                gpu[fig] / MIB if len(devices) == 1 else None, "MiB", note))
        for (fig, dev), b in buffers.items():
            if _is_host(dev):
                rows.append(Row(f"{fig} buffer ({dev})", b / MIB, host[fig] / MIB, "MiB"))
    return LogCheck("llama.cpp", s, rows)


def check_vllm(text: str, spec, quant: str | None, gpu: str | None) -> LogCheck:
    from ..estimate import estimate

    if gpu is None:
        raise PlannerError("a vLLM log's figures depend on the GPU: give --gpu (see `planner gpus`)")
    found = {k: p.search(text) for k, p in _VLLM.items()}
    if not any(found.values()):
        raise PlannerError("no vLLM memory line in this log (model weights, Available KV cache memory, "
                           "GPU KV cache size)")
    settings = {"version": m[1] if (m := _VLLM_VERSION.search(text)) else None}
    kw: dict = {"engine": "vllm", "gpu": gpu, "quant": quant}
    if m := found["concurrency"]:
        kw["max_model_len"] = int(m[1].replace(",", ""))
        settings["max_model_len"] = kw["max_model_len"]
    if m := re.search(r"gpu_memory_utilization[=\s]+([0-9.]+)", text):
        kw["gpu_memory_utilization"] = float(m[1])
        settings["gpu_memory_utilization"] = float(m[1])
    e = estimate(spec, **kw)
    d = e.engine_details
    rows = []
    if m := found["weights"]:
        rows.append(Row("model weights", float(m[1]), e.weights_bytes / GIB, "GiB"))
    if m := found["available_kv"]:
        rows.append(Row("available KV cache memory", float(m[1]), d["available_kv_bytes"] / GIB, "GiB"))
    if m := found["kv_tokens"]:
        rows.append(Row("KV cache size", float(m[1].replace(",", "")), float(d["kv_tokens"]), "tokens"))
    elif m := found["gpu_blocks"]:
        rows.append(Row("GPU blocks", float((m[1] or m[2]).replace(",", "")), float(d["kv_blocks"]), "blocks"))
    if m := found["concurrency"]:
        rows.append(Row(f"max concurrency at {m[1]} tokens", float(m[2]), float(d["max_concurrency"]), "×"))
    return LogCheck("vllm", settings, rows)


def check_log(text: str, model, *, quant: str | None = None, gpu: str | None = None) -> LogCheck:
    """Read a startup log and put planner's figure beside each one it logs."""
    from ..profiles import load_model

    spec = load_model(model)
    engine = engine_of(text)
    if engine == "llama.cpp":
        quant = quant or llamacpp_quant(text)
        if quant is None:
            raise PlannerError("the log names no file type: give --quant, the GGUF preset (e.g. q4_k_m)")
        return check_llamacpp(text, spec, quant)
    return check_vllm(text, spec, quant, gpu)
