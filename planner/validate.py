"""Estimated vs measured, per component: run the reference model and compare with estimate().

Records are plain dicts (JSON): model, workload, mode, device, versions, git commit, and `estimated` /
`measured` objects keyed weights_bytes, kv_cache_bytes, activation_bytes, total_bytes (plus timings in cuda
mode), and `error` (estimated / measured − 1) per key. `append_records` writes them as JSON lines under
profiles/measurements/.
"""

from __future__ import annotations

import json
import platform
import subprocess
from datetime import datetime, timezone
from pathlib import Path

from .errors import PlannerError, WorkloadError
from .estimate import estimate
from .profiles import load_model

KEYS = ("weights_bytes", "kv_cache_bytes", "activation_bytes", "total_bytes")


def _git_commit() -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, timeout=5,
                             cwd=Path(__file__).resolve().parent)
        return out.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def validate(model, *, mode: str = "fake", quant: str | None = None, kv_dtype: str | None = None,
             context: int | None = None, batch: int = 1, attention: str = "sdpa", chunk: int | None = None) -> dict:
    """One record: the estimate (without runtime overhead in fake/cpu mode) against the reference's measurement."""
    try:
        import torch
    except ImportError:
        raise PlannerError("validation runs the PyTorch reference model: pip install torch") from None
    from .reference.profile import measure

    spec = load_model(model)
    runtime = "cuda" if mode == "cuda" else "none"
    e = estimate(spec, quant=quant, kv_dtype=kv_dtype, context=context, batch=batch, attention=attention,
                 chunk=chunk, runtime=runtime)
    w = e.workload
    if w.quant == "checkpoint":
        raise WorkloadError("validation builds the model from its spec: give quant= (the file's own tensors "
                            "have no reference implementation)")
    m = measure(spec, quant=w.quant, kv_dtype=w.kv_dtype, context=w.context, batch=w.batch, mode=mode,
                attention=w.attention, chunk=w.chunk, logits=w.logits)
    estimated = {k: getattr(e, k) for k in KEYS}
    measured = {"weights_bytes": m.weights_bytes, "kv_cache_bytes": m.kv_cache_bytes,
                "activation_bytes": m.activation_bytes, "total_bytes": m.total_bytes}
    if mode == "cuda":
        estimated["total_bytes"] = e.total_bytes
        # the device holds the reserved pool, the CUDA context and the kernels loaded on first use: NVML's used
        # memory says all three; without NVML, the pool and the context (measured only by a fresh process)
        context_bytes = m.extra.get("cuda_context_bytes") or 0
        measured["total_bytes"] = m.extra.get("nvml_used_bytes") or m.extra["max_memory_reserved"] + context_bytes
        measured |= {k: m.extra[k] for k in ("prefill_seconds", "decode_seconds_per_token", "max_memory_allocated",
                                              "max_memory_reserved", "nvml_used_bytes", "cuda_context_bytes")}
    error = {k: (estimated[k] / measured[k] - 1) if measured.get(k) else None for k in KEYS}
    return {
        "model": spec.name, "mode": mode,
        "workload": {"quant": w.quant, "kv_dtype": w.kv_dtype, "context": w.context, "batch": w.batch,
                     "attention": w.attention, "chunk": w.chunk},
        "estimated": estimated, "measured": measured, "error": error,
        "prefill_peak_bytes": m.prefill_peak_bytes, "decode_peak_bytes": m.decode_peak_bytes,
        "device": m.extra.get("device") or f"{platform.machine()} CPU ({mode})",
        "torch": torch.__version__, "cuda": m.extra.get("cuda"), "git_commit": _git_commit(),
        "timestamp": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }


def append_records(records: list[dict], path: str | Path) -> Path:
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    with open(p, "a", encoding="utf-8") as f:
        for r in records:
            f.write(json.dumps(r) + "\n")
    return p
