"""An estimate in words, for Python users: what `print(estimate)` shows and what a notebook's repr shows.

The CLI prints the same component lines (component_lines) and adds its own notes and hints around them.
"""

from __future__ import annotations

from .units import format_bytes


def component_lines(e, unit: str = "GiB") -> list[str]:
    """Weights, KV cache, activations and overhead with their parts (parts of 0 bytes left out), then the total."""
    kv_parts = e.breakdown["kv_cache"] if "recurrent_state" in e.breakdown["kv_cache"] else {}
    lines = []
    for label, total, parts in (("weights", e.weights_bytes, e.breakdown["weights"]),
                                ("kv cache", e.kv_cache_bytes, kv_parts),
                                ("activations", e.activation_bytes, e.breakdown["activation"]),
                                ("overhead", e.overhead_bytes, e.breakdown["overhead"])):
        lines.append(f"  {label:<12} {format_bytes(total, unit):>14}")
        lines += [f"    {k:<18} {format_bytes(v, unit):>12}" for k, v in parts.items() if v]
    lines.append(f"  {'total':<12} {format_bytes(e.total_bytes, unit):>14}")
    return lines


def headline(e) -> str:
    """'meta-llama/Llama-3.1-8B — bf16 weights, bf16 KV cache, context 8,192, batch 1'."""
    w = e.workload
    return (f"{e.model} — {w.quant} weights, {w.kv_dtype} KV cache, context {w.context:,}, batch {w.batch:,}"
            + (f", {e.engine} engine" if e.engine else ""))


def typically(p, what: str) -> str:
    """' (typically ±12 %)': the median |error| of published runs that did not calibrate planner."""
    err = p.typical_error.get(what)
    return "" if err is None else f" (typically ±{100 * err:.0f} %)"


def verdict_lines(e, unit: str = "GiB") -> list[str]:
    """Whether it fits the GPU (and why not), with the time to first token and the decode rate where it does."""
    p = e.performance
    if p is None:
        return (["  no GPU given: gpu='rtx-4090' (or any of planner.list_gpus()) says whether it fits"]
                + ([f"{e.engine}: {e.engine_refusal}"] if e.engine_refusal else []))
    if not p.fits:
        return [f"{p.gpu}: does NOT fit: {p.reason}"]
    lines = [f"{p.gpu}: fits in {format_bytes(p.usable_memory_bytes, unit)} "
             f"({format_bytes(p.headroom_bytes, unit)} headroom)"]
    if e.engine_refusal:
        lines.append(f"{e.engine}: {e.engine_refusal}")
    if p.prefill_seconds is not None:
        lines.append(f"  time to first token ({p.prompt_tokens:,}-token prompt): {p.prefill_seconds:.3f} s"
                     + typically(p, "ttft"))
    if p.decode_tokens_per_s is not None:
        lines.append(f"  decode: {p.decode_tokens_per_s:.1f} tokens/s per sequence{typically(p, 'decode')}, "
                     f"{p.throughput_tokens_per_s:.1f} tokens/s for the batch")
    if p.speed_note:
        lines.append(f"  {p.speed_note}")
    return lines


def summary(e, unit: str = "GiB") -> str:
    """The estimate in lines: what runs, its bytes by component, and the verdict on its GPU."""
    return "\n".join([headline(e), *component_lines(e, unit), *verdict_lines(e, unit)])


def short_repr(e) -> str:
    """One line: Estimate(model=…, quant=…, context=…, batch=…, total=… GiB, fits=… on …)."""
    w, p = e.workload, e.performance
    verdict = "" if p is None else f", fits={p.fits} on {p.gpu}"
    engine = f", engine={e.engine!r}" if e.engine else ""
    return (f"Estimate(model={e.model!r}, quant={w.quant!r}, context={w.context}, batch={w.batch}{engine}, "
            f"total={format_bytes(e.total_bytes, 'GiB')}{verdict})")
