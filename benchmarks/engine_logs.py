"""Every public engine log under tests/fixtures/logs against planner, by kind of figure.

    python benchmarks/engine_logs.py

For each log that planner reconciles (tests/test_check_log.py holds each row to its own tolerance): the worst
|error| among its weights rows (model weights, model buffers, file size), its KV rows (KV buffer, K/V bytes,
available KV memory, tokens, blocks, concurrency) and its compute-buffer rows (compute buffers, activation peaks;
host-side buffers apart), and whether each lands within 1 %, 3 % and 10 % of its logged figure beyond the log's
rounding. A log whose KV budget is negative (the engine stopped at start-up) is judged on its KV capacity: none,
against planner's.
"""

from __future__ import annotations

import json
from pathlib import Path

from planner.measure.logs import check_log

LOGS = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "logs"
LIMITS = {"weights": 1.0, "kv": 3.0, "buffer": 10.0}


def kind(figure: str) -> str:
    f = figure.lower()
    if "_host" in f or "(cpu" in f:  # CUDA_Host, Vulkan_Host, CPU
        return "host"
    if "weight" in f or "model buffer" in f or "model size" in f:
        return "weights"
    if any(k in f for k in ("kv", "k cache", "v cache", "blocks", "concurrency", "tokens", "rs buffer")):
        return "kv"
    if "compute" in f or "activation" in f or "output buffer" in f:
        return "buffer"
    return "other"


def worst_errors(meta: Path) -> tuple[dict[str, float], bool] | None:
    """The worst |error| of each kind of figure, and whether every figure lands within its kind's limit (plus the
    log's own rounding, as the tests hold it: Row.within)."""
    m = json.loads(meta.read_text())
    if "refused" in m:
        return None
    r = check_log(meta.with_suffix(".log").read_text(), **m.get("given", {}))
    worst: dict[str, float] = {}
    ok = True
    for row in r.rows:
        if row.logged < 0 and kind(row.figure) == "kv":
            continue  # a negative KV budget: the engine holds no cache, and its capacity row (0 tokens) judges it
        if row.planner is not None:
            error = abs(row.error_pct) if row.error_pct is not None else 0.0  # a logged 0: within() alone judges it
            worst[kind(row.figure)] = max(worst.get(kind(row.figure), 0.0), error)
            ok &= kind(row.figure) not in LIMITS or row.within(LIMITS[kind(row.figure)])
    return worst, ok


def main() -> None:
    within = total = 0
    for meta in sorted(LOGS.glob("*.json")):
        found = worst_errors(meta)
        if found is None:
            continue
        worst, ok = found
        within += ok
        total += 1
        figures = ", ".join(f"{k} {v:.1f} %" for k, v in sorted(worst.items()))
        print(f"{'within ' if ok else 'outside'}  {meta.stem:48s} {figures}")
    print(f"\n{within} of {total} reconciled logs within weights 1 %, KV 3 %, compute buffers 10 %")


if __name__ == "__main__":
    main()
