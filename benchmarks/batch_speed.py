"""Decode at a fixed number of concurrent requests against published serving runs: a check of planner's batch model.

    python benchmarks/batch_speed.py

Rows: benchmarks/data/concurrency_runs.jsonl, each a published run at a fixed concurrency c with fixed input and
output lengths (a serving benchmark's --max-concurrency c, genai-perf's --concurrency c), its per-request decode
rate (1000 / TPOT or ITL ms) and its source; most documents also give the same configuration at c = 1. planner
predicts a decode step of c sequences at the run's mean context (planner.plan with batch = c: every sequence's KV
read, the weights once, the matmuls compute-bound past the crossover). Nothing is fitted to these runs: they are not
among the halves of benchmarks/speed_data.py. Two figures: the error of the per-request rate itself (which carries
the engine's batch-1 error on that GPU), and the error of the slowdown from c = 1 to c within one sweep (published
rate at c over the rate at 1, against planner's), which is the batch model's alone. A serving run's TPOT also
carries the prefills of the requests that arrive meanwhile, which a plain decode step leaves out: planner's steady
stream (Performance.serving_decode_tokens_per_s, planner.perf.serving_step_seconds) puts them in, at their full
time, and is the third figure. The two bound a run: a sweep of few requests per concurrency (100 at up to 64) has
most prompts arrive together, near the plain step; a steady flow of arrivals is the stream's case. NVIDIA's NIM
page, whose concurrency-1 runs are in the calibration half (benchmarks/data/published_speed.jsonl), gives the first
sweep: its c = 1 row here repeats one of them.
"""

from __future__ import annotations

import json
import sys
from collections import defaultdict
from pathlib import Path
from statistics import median

sys.path.insert(0, str(Path(__file__).resolve().parent))
from speed_data import annotated, plan_of, predict, source_id  # noqa: E402

from planner.perf import serving_step_seconds  # noqa: E402

DATA = Path(__file__).resolve().parent / "data" / "concurrency_runs.jsonl"


def rows() -> list[dict]:
    return annotated([json.loads(line) for line in DATA.read_text().splitlines() if line.strip()])


def _sweep(r: dict) -> tuple:
    """The configuration a row belongs to, concurrency aside."""
    return (source_id(r["source"]), r["model"], r["quant"], r["gpu"], r["n_gpus"], r["engine"], r["prompt_tokens"],
            r["gen_tokens"])


def errors() -> list[dict]:
    """Per row: planner's per-request decode rate at the row's concurrency, its error, and (where the sweep has a
    c = 1 row) the published and planner slowdowns from c = 1 and the slowdown's error."""
    out = []
    for r in rows():
        planner, published, _ = predict(r)["decode"]
        x = {"row": r, "planner": planner, "error": planner / published - 1}
        if r["concurrency"] > 1:  # the steady stream's rate: the prefills of arriving requests in the decode steps
            p = plan_of(r, r["decode_context"], prompt=r["prompt_tokens"])
            stream = 1 / serving_step_seconds(1 / p.decode_tokens_per_s, p.prefill_seconds, r["concurrency"],
                                              r["gen_tokens"])
            x.update(serving=stream, serving_error=stream / published - 1)
        out.append(x)
    ones = {_sweep(x["row"]): x for x in out if x["row"]["concurrency"] == 1}
    for x in out:
        one = ones.get(_sweep(x["row"]))
        if one is not None and x["row"]["concurrency"] > 1:
            published = x["row"]["decode_tokens_per_s"] / one["row"]["decode_tokens_per_s"]
            planner = x["planner"] / one["planner"]
            x["slowdown"] = (published, planner, planner / published - 1)
    return out


def summary(errs: list[dict]) -> list[str]:
    many = [x for x in errs if x["row"]["concurrency"] > 1]
    slow = [x for x in many if "slowdown" in x]
    docs = len({source_id(x["row"]["source"]) for x in many})
    lines = [f"{len(many)} runs at concurrency 2–{max(x['row']['concurrency'] for x in many)} from "
             f"{docs} document{'s' if docs > 1 else ''}: per-request decode median |error| "
             f"{100 * median(abs(x['error']) for x in many):.1f} % "
             f"(median {100 * median(x['error'] for x in many):+.1f} %), "
             f"{100 * sum(abs(x['error']) <= 0.3 for x in many) / len(many):.0f} % within 30 %"]
    lines.append(f"with the prefills of arriving requests in the decode steps (planner.perf.serving_step_seconds): "
                 f"median |error| {100 * median(abs(x['serving_error']) for x in many):.1f} % "
                 f"(median {100 * median(x['serving_error'] for x in many):+.1f} %)")
    if slow:
        e = [x["slowdown"][2] for x in slow]
        lines.append(f"slowdown from concurrency 1 within a sweep ({len(slow)} runs): median |error| "
                     f"{100 * median(abs(v) for v in e):.1f} % (median {100 * median(e):+.1f} %)")
    by_c = defaultdict(list)
    for x in slow:
        by_c[x["row"]["concurrency"]].append(x["slowdown"][2])
    if by_c:
        lines.append("  by concurrency: " + ", ".join(f"{c}: {100 * median(v):+.0f} % ({len(v)})"
                                                      for c, v in sorted(by_c.items())))
    return lines


def main() -> None:
    errs = errors()
    for x in sorted(errs, key=lambda x: (_sweep(x["row"]), x["row"]["concurrency"])):
        r = x["row"]
        stream = "" if "serving" not in x else f", streamed {x['serving']:.1f} ({100 * x['serving_error']:+.0f} %)"
        slow = "" if "slowdown" not in x else \
            f"  slowdown {x['slowdown'][0]:.2f} vs {x['slowdown'][1]:.2f} ({100 * x['slowdown'][2]:+.0f} %)"
        print(f"{r['model'].split('/')[-1][:24]:24s} {r['quant']:8s} {r['n_gpus']}x{r['gpu']:13s} {r['engine']:12s} "
              f"{r['prompt_tokens']:>6}/{r['gen_tokens']:<5} c={r['concurrency']:<3} "
              f"{r['decode_tokens_per_s']:7.1f} vs {x['planner']:7.1f} tok/s ({100 * x['error']:+.0f} %){stream}{slow}")
    print()
    print("\n".join(summary(errs)))


if __name__ == "__main__":
    main()
