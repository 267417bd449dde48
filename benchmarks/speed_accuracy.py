"""Speed model vs published batch-1 runs outside the calibration set.

    python benchmarks/speed_accuracy.py            # summary and the worst rows
    python benchmarks/speed_accuracy.py --markdown # the full table, for README

Rows: benchmarks/data/published_speed.jsonl (see curate_published_speed.py; each row cites its source).
Error = predicted / measured − 1. Decode is predicted at the run's average context; prefill as prompt
tokens / time to first token.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from statistics import median

from planner import load_model
from planner.estimate import default_kv_dtype
from planner.parallel import plan

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "benchmarks" / "data" / "published_speed.jsonl"


def predict(row: dict) -> dict:
    model = row["model"]  # a bundled name, or a config.json under tests/fixtures (relative to the repository)
    spec = load_model(ROOT / model if model.startswith("tests/") else model)
    kv = default_kv_dtype(row["quant"])
    ctx = min(spec.max_context, max(1, row["decode_context"]))
    out = {}
    if row["decode_tokens_per_s"]:
        p = plan(spec, gpu=row["gpu"], n_gpus=row["n_gpus"], quant=row["quant"], kv_dtype=kv, context=ctx,
                 engine=row["engine"], runtime="none")
        out["decode"] = (p.decode_tokens_per_s, row["decode_tokens_per_s"])
    prompt = min(spec.max_context, row["prompt_tokens"] or 0)
    measured_ttft = row["ttft_s"] or (prompt / row["prefill_tokens_per_s"] if row["prefill_tokens_per_s"] else None)
    if measured_ttft and prompt >= 64:
        p = plan(spec, gpu=row["gpu"], n_gpus=row["n_gpus"], quant=row["quant"], kv_dtype=kv, context=prompt,
                 engine=row["engine"], runtime="none")
        if p.prefill_seconds is not None:
            out["ttft"] = (p.prefill_seconds, measured_ttft)
    return out


def main(markdown: bool = False) -> None:
    rows = [json.loads(line) for line in DATA.read_text().splitlines()]
    table, errors = [], {"decode": [], "ttft": []}
    for r in rows:
        for kind, (pred, meas) in predict(r).items():
            err = pred / meas - 1
            errors[kind].append((err, r))
            table.append((kind, r, pred, meas, err))
    for kind in ("decode", "ttft"):
        errs = [abs(e) for e, _ in errors[kind]]
        by_engine = {}
        for e, r in errors[kind]:
            by_engine.setdefault(r["engine"], []).append(abs(e))
        print(f"{kind}: {len(errs)} runs, median |error| {100 * median(errs):.1f}%  "
              + "  ".join(f"{k}: {len(v)} runs, {100 * median(v):.1f}%" for k, v in sorted(by_engine.items())))
    if markdown:
        print("\n| what | model | quant | GPU | engine | published | planner | error | source |")
        print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
        for kind, r, pred, meas, err in table:
            unit = "tok/s" if kind == "decode" else "s"
            fmt = (lambda v: f"{v:.1f}") if kind == "decode" else (lambda v: f"{v:.3f}")
            gpu = f"{r['n_gpus']}× {r['gpu']}" if r["n_gpus"] > 1 else r["gpu"]
            print(f"| {kind} | {r['model'].split('/')[-1]} | {r['quant']} | {gpu} | {r['engine']} | "
                  f"{fmt(meas)} {unit} | {fmt(pred)} {unit} | {100 * err:+.0f}% | {r['source'][:80]} |")
    else:
        worst = sorted(table, key=lambda t: -abs(t[4]))[:12]
        print("\nworst rows:")
        for kind, r, pred, meas, err in worst:
            print(f"  {kind:6s} {r['model'].split('/')[-1][:24]:24s} {r['quant']:10s} {r['n_gpus']}×{r['gpu']:15s} "
                  f"{r['engine']:9s} published {meas:9.3f} planner {pred:9.3f} {100 * err:+6.0f}%")


if __name__ == "__main__":
    main(markdown="--markdown" in sys.argv)
