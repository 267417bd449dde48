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


# The plain model prefills a prompt whole; at batch 1 its activations get a note once they are this share of the total
# (a batch's prompts prefilled together always get one: no serving engine runs them so)
ONE_PASS_NOTE_SHARE = 0.05


def one_pass_prefill(e, unit: str = "GiB") -> str | None:
    """The plain model prefills each prompt whole, and a batch's together, as one generate() call does: where that is
    a sizeable part of the total, what it takes, and that a serving engine, which prefills in chunks, needs less.
    Each front end adds how to ask for one. None for an engine's estimate, a chunked prefill, or no GPU."""
    w, p = e.workload, e.performance
    if e.engine is not None or w.chunk or p is None:
        return None
    peak = e.breakdown["activation"].get("prefill_peak", 0)
    if w.batch == 1 and peak < ONE_PASS_NOTE_SHARE * e.total_bytes:
        return None
    what = (f"the {w.batch:,} sequences prefill together" if w.batch > 1 else
            f"the {p.prompt_tokens:,}-token prompt prefills in one pass")
    return (f"{what}, as one generate() call does, with {format_bytes(peak, unit)} of activations at its peak; a "
            "serving engine admits requests into its KV pool and prefills them in chunks, and needs less")


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


def note_lines(e, unit: str = "GiB") -> list[str]:
    """What the figures assume, where it matters: the plain model's one-pass prefill."""
    if note := one_pass_prefill(e, unit):
        return [f"  ({note}: engine='vllm', 'sglang' or 'llama.cpp' answers for it, or chunk=2048 here)"]
    return []


def summary(e, unit: str = "GiB") -> str:
    """The estimate in lines: what runs, its bytes by component, and the verdict on its GPU."""
    return "\n".join([headline(e), *component_lines(e, unit), *note_lines(e, unit), *verdict_lines(e, unit)])


def short_repr(e) -> str:
    """One line: Estimate(model=…, quant=…, context=…, batch=…, total=… GiB, fits=… on …)."""
    w, p = e.workload, e.performance
    verdict = "" if p is None else f", fits={p.fits} on {p.gpu}"
    engine = f", engine={e.engine!r}" if e.engine else ""
    return (f"Estimate(model={e.model!r}, quant={w.quant!r}, context={w.context}, batch={w.batch}{engine}, "
            f"total={format_bytes(e.total_bytes, 'GiB')}{verdict})")
