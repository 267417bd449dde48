"""What the committed kernel timings (profiles/measurements/kernels-cuda.jsonl, planner.measure.kernels_cuda) say
about the speed model: the constants derived from them, and planner's speed beside transformers' own steps.

Each function re-derives a figure from the records, so a test can hold the code's constant to the measurement.
"""

from __future__ import annotations

from statistics import median

from ..paths import profiles_dir

RECORDS = "kernels-cuda.jsonl"
GRID = [round(0.40 + 0.05 * i, 2) for i in range(9)]  # 0.40 … 0.80
PEAK_KEY = {"bf16": "bf16", "fp8": "fp8"}  # the datasheet peak a format's matmuls run at (int4: weight-only, bf16 math)


def load() -> list[dict]:
    import json

    path = profiles_dir() / "measurements" / RECORDS
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


DEVICES = {"NVIDIA H200": "h200", "NVIDIA H100 80GB HBM3": "h100-sxm"}  # torch.cuda.get_device_name → catalog id


def _gpu(record: dict):
    from ..errors import PlannerError
    from ..gpus import load_gpu

    if record["device"] not in DEVICES:
        raise PlannerError(f"no catalog GPU for the measured device {record['device']!r}; known: {', '.join(DEVICES)}")
    return load_gpu(DEVICES[record["device"]])


def _decode_steps(records: list[dict], min_batch: int) -> list[tuple[dict, float]]:
    """(record, its memory time) of the timed decode matmul stacks in bf16 and fp8 from `min_batch` up; the memory
    time is the same stack's batch-1 step."""
    rows = [r for r in records if r["kind"] == "decode_matmuls" and r.get("format") in PEAK_KEY and "seconds" in r]
    base = {(r["model"], r["format"]): r["seconds"] for r in rows if r["batch"] == 1}
    return [(r, base[(r["model"], r["format"])]) for r in rows if r["batch"] >= min_batch]


def decode_compute_errors(records: list[dict], share: float, min_batch: int = 64) -> list[float]:
    """planner's max(memory time, FLOPs / (peak × share)) over each measured step, minus one."""
    out = []
    for r, memory_s in _decode_steps(records, min_batch):
        peak = _gpu(r).peak_flops(PEAK_KEY[r["format"]])
        out.append(max(memory_s, r["flops"] / (peak * share)) / r["seconds"] - 1)
    return out


def decode_compute_share(records: list[dict]) -> float:
    """The smallest share on GRID whose roofline gives the least median |error| over the measured large-batch decode
    steps (planner.perf.roofline.DECODE_COMPUTE_EFFICIENCY)."""
    scored = [(round(median(abs(e) for e in decode_compute_errors(records, x)), 4), x) for x in GRID]
    return min(scored)[1]


def eager_bytes_per_score(records: list[dict], min_tokens: int = 1024) -> float:
    """Bytes at datasheet bandwidth per score of eager attention, median over the timed prompts of `min_tokens` up
    (planner.perf.roofline.EAGER_ATTENTION_BYTES_PER_SCORE)."""
    from ..profiles import load_model

    vals = []
    for r in records:
        if r["kind"] == "prefill_attention" and r.get("mode") == "eager" and r["tokens"] >= min_tokens:
            heads = load_model(r["model"]).n_heads
            vals.append(r["seconds"] * _gpu(r).memory_bandwidth_bytes_per_s / (heads * r["tokens"] ** 2))
    return median(vals)


def causal_over_full(records: list[dict], min_tokens: int = 8192) -> list[float]:
    """Causal flash attention's time over the same kernel's time on every pair, per model and prompt of `min_tokens`
    up: planner counts the causal half (planner.perf.roofline.attention_flops)."""
    t = {(r["model"], r["tokens"], r["mode"]): r["seconds"] for r in records if r["kind"] == "prefill_attention"}
    return [t[(m, n, "causal")] / t[(m, n, "full")] for (m, n, mode) in t
            if mode == "causal" and n >= min_tokens and (m, n, "full") in t]


def bandwidth_shares(records: list[dict], fmt: str) -> dict[str, float]:
    """Per model: the batch-1 decode matmul stack's share of datasheet bandwidth in `fmt`."""
    return {r["model"]: r["bytes"] / r["seconds"] / _gpu(r).memory_bandwidth_bytes_per_s for r in records
            if r["kind"] == "decode_matmuls" and r.get("format") == fmt and r["batch"] == 1 and "seconds" in r}


def moe_coverage(records: list[dict]) -> list[dict]:
    """Per MoE decode step: the share of (layer, expert) pairs the random top-k routing touched, planner's expected
    share (planner.perf.experts_touched_fraction), and the touched experts' share of datasheet bandwidth."""
    from ..perf import experts_touched_fraction
    from ..profiles import load_model

    out = []
    for r in records:
        if r["kind"] == "decode_moe" and "seconds" in r:
            out.append({"model": r["model"], "batch": r["batch"],
                        "touched": r["experts_touched"] / (r["layers"] * r["experts"]),
                        "expected": float(experts_touched_fraction(load_model(r["model"]), r["batch"])),
                        "bandwidth_share": r["bytes"] / r["seconds"] / _gpu(r).memory_bandwidth_bytes_per_s})
    return out


def transformers_steps(records: list[dict]) -> list[dict]:
    """transformers' measured steps beside planner's (engine "transformers", the record's attention): time to first
    token and decode step."""
    from ..estimate import estimate

    out = []
    for r in records:
        if r["kind"] != "model_steps":
            continue
        p = estimate(r["model"], quant="bf16", context=r["tokens"] + 16, prompt=r["tokens"], batch=r["batch"],
                     gpu=_gpu(r).id, engine="transformers", attention=r["attention"]).performance
        out.append({"model": r["model"], "attention": r["attention"], "tokens": r["tokens"],
                    "ttft": r["prefill_seconds"], "planner_ttft": p.prefill_seconds,
                    "decode": r["decode_seconds"], "planner_decode": p.decode_seconds_per_token})
    return out


def markdown(records: list[dict] | None = None) -> str:
    """The kernel measurements as docs/accuracy.md shows them."""
    from ..perf import DECODE_COMPUTE_EFFICIENCY, EAGER_ATTENTION_BYTES_PER_SCORE

    records = load() if records is None else records
    device = records[0]["device"]
    bf16, fp8, int4 = (bandwidth_shares(records, f) for f in ("bf16", "fp8", "int4"))
    ratios = causal_over_full(records)
    moe = moe_coverage(records)
    moe_bw_b1 = {m["model"]: m["bandwidth_share"] for m in moe if m["batch"] == 1}
    moe_bw_all = {f"{m['model']} {m['batch']}": m["bandwidth_share"] for m in moe if m["touched"] == 1}
    errs = decode_compute_errors(records, DECODE_COMPUTE_EFFICIENCY)
    lines = [
        f"{len(records)} timings on an {device} (`python -m planner.measure.kernels_cuda`, `scripts/gpu_speed.sh`; "
        f"`profiles/measurements/{RECORDS}`), PyTorch's own kernels at real models' shapes with random data:",
        "",
        f"- **Decode, batch 1, every matrix under one CUDA graph** — share of datasheet bandwidth: bf16 (cuBLAS) "
        f"{_span(bf16)}, fp8 (`torch._scaled_mm`) {_span(fp8)}, int4 weight-only (torch's tinygemm, group 128) "
        f"{_span(int4)}, which falls to about half of that by batch 8: a small-batch kernel.",
        f"- **Decode at large batch**: `DECODE_COMPUTE_EFFICIENCY` = {DECODE_COMPUTE_EFFICIENCY} is fitted on these "
        f"steps (batch 64–2,048): median |error| {100 * median(abs(e) for e in errs):.1f} %, worst "
        f"{100 * max(errs, key=abs):+.0f} % where the kernels cross from memory- to compute-bound.",
        f"- **Prefill attention**: causal flash attention takes {min(ratios):.2f}–{max(ratios):.2f} of the full "
        f"matrix's time from 8,192 tokens (planner counts the causal half); eager attention costs "
        f"{eager_bytes_per_score(records):.0f} bytes per score at datasheet bandwidth "
        f"(`EAGER_ATTENTION_BYTES_PER_SCORE` = {EAGER_ATTENTION_BYTES_PER_SCORE}).",
        f"- **MoE decode** (every MoE layer's experts, one grouped GEMM a projection, random top-k routing): the "
        f"experts read follow planner's expected coverage 1 − (1 − k/E)^B within {_worst(moe, 'touched'):.1f} points; "
        f"the touched experts are read at {_span(moe_bw_b1)} of datasheet bandwidth at batch 1 and "
        f"{_span(moe_bw_all)} once every expert is touched, where a dense batch-1 stack reaches {_span(bf16)}: "
        "planner reads them at one share.",
        "",
        "transformers' own model class end to end (batch 1, random bf16 weights), planner's engine \"transformers\" "
        "beside it:",
        "",
        "| model | attention | prompt | time to first token | planner | error | decode step | planner | error |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for s in transformers_steps(records):
        lines.append(f"| {s['model']} | {s['attention']} | {s['tokens']:,} | {1e3 * s['ttft']:.1f} ms | "
                     f"{1e3 * s['planner_ttft']:.1f} ms | {100 * (s['planner_ttft'] / s['ttft'] - 1):+.0f} % | "
                     f"{1e3 * s['decode']:.1f} ms | {1e3 * s['planner_decode']:.1f} ms | "
                     f"{100 * (s['planner_decode'] / s['decode'] - 1):+.0f} % |")
    return "\n".join(lines)


def _worst(rows: list[dict], key: str) -> float:
    """The largest |measured − expected| in percentage points."""
    return max(100 * abs(r[key] - r["expected"]) for r in rows) if rows else 0.0


def _span(shares: dict[str, float]) -> str:
    return f"{min(shares.values()):.2f}–{max(shares.values()):.2f}" if shares else "—"
