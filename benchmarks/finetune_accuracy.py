"""planner's training peak against published fine-tuning measurements (benchmarks/data/finetune_published.jsonl).

    python benchmarks/finetune_accuracy.py [--markdown]

Nothing was fitted on these runs: every record is a check. A record is compared when its settings are known
(method, micro-batch, sequence length, checkpointing) and planner models its method; the measured figure is
compared with what the metric counts: torch.cuda.max_memory_allocated with the peak of live tensors (the
components), max_memory_reserved with those plus the caching allocator's slack, nvidia-smi or an unnamed figure
with the whole total (CUDA context and library workspaces too).
"""

from __future__ import annotations

import json
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from planner.errors import PlannerError  # noqa: E402
from planner.overhead import ALLOCATOR_SLACK_BYTES  # noqa: E402
from planner.training import train_estimate  # noqa: E402
from planner.training.validate import resolve  # noqa: E402

DATA = ROOT / "benchmarks" / "data" / "finetune_published.jsonl"
MEASURED = ROOT / "profiles" / "measurements" / "training-fake.jsonl"
OPTIMIZERS = {"adamw": "adamw", "paged_adamw_32bit": "paged_adamw", "paged_adamw_8bit": "paged_adamw_8bit",
              "adamw_8bit": "adamw_8bit", "sgd": "sgd", "adafactor": "adafactor"}
PRECISIONS = {"bf16": "bf16", "mixed-bf16": "mixed", "mixed-fp16": "mixed", "fp32": "fp32", None: "bf16"}
DISTRIBUTIONS = {"single": "single", "fsdp": "fsdp", "zero3": "zero3", "zero2": "zero2", "ddp": "ddp"}


def options(r: dict) -> dict | str:
    """train_estimate options for a record, or why it is not compared."""
    if r["method"] not in ("full", "lora", "qlora"):
        return f"method {r['method']}"
    missing = [k for k in ("micro_batch", "seq_len", "gradient_checkpointing") if r.get(k) is None]
    if missing:
        return "unknown " + ", ".join(missing)
    if r.get("activation_offload"):
        return "activations offloaded to the CPU"
    opt = {"method": r["method"], "micro_batch": r["micro_batch"], "seq_len": r["seq_len"],
           "gradient_checkpointing": r["gradient_checkpointing"],
           "optimizer": OPTIMIZERS.get(r.get("optimizer") or "adamw", "adamw"),
           "precision": PRECISIONS.get(r.get("precision"), "bf16"),
           "distribution": DISTRIBUTIONS.get(r.get("distribution") or "single", "single"), "n_gpus": r["n_gpus"]}
    if r.get("cpu_offload"):
        if opt["distribution"] not in ("zero3", "fsdp"):
            return "CPU offload without ZeRO-3/FSDP"
        opt.update(offload_optimizer=True, offload_params=True)
    if r["method"] != "full":
        opt["lora_rank"] = r.get("lora_rank") or 8
        targets = r.get("lora_targets")
        opt["lora_targets"] = targets if targets else "q_proj,v_proj"
    return opt


def predicted(e, metric: str) -> int:
    parts = sum(e.components.values())
    if metric == "max_memory_allocated":
        return parts
    if metric == "max_memory_reserved":
        return parts + ALLOCATOR_SLACK_BYTES
    return e.total_bytes


def rows() -> list[dict]:
    out = []
    for line in DATA.open():
        r = json.loads(line)
        opt = options(r)
        measured = r["measured_gib"] * 2**30 if r.get("measured_gib") else (r.get("measured_gb") or 0) * 1e9
        row = {"id": r["id"], "framework": r["framework"], "model": r["model"], "measured": measured}
        if isinstance(opt, str):
            out.append({**row, "skipped": opt})
            continue
        try:  # a bundled profile, else the published config in tests/fixtures/configs
            e = train_estimate(resolve(r["model"]), **opt)
        except PlannerError as err:
            out.append({**row, "skipped": str(err)[:80]})
            continue
        est = predicted(e, r["metric"])
        out.append({**row, "estimated": est, "error": est / measured - 1, "method": r["method"]})
    return out


def summary(rs: list[dict]) -> list[str]:
    done = [r for r in rs if "error" in r]
    lines = [f"{len(done)} of {len(rs)} published runs compared (the rest: settings unknown or not modelled)"]
    groups = {"all": done}
    for r in done:
        groups.setdefault(r["framework"], []).append(r)
        groups.setdefault(f"method {r['method']}", []).append(r)
    for name, g in groups.items():
        errs = [abs(r["error"]) for r in g]
        within = sum(e <= 0.2 for e in errs) / len(errs)
        lines.append(f"  {name:<16} {len(g):>3} runs  median |error| {100 * statistics.median(errs):5.1f} %  "
                     f"within 20 %: {100 * within:3.0f} %")
    return lines


def measured_markdown() -> str:
    """train_estimate against every fake-tensor training record, per figure."""
    from planner.training.validate import TOLERANCE, compare, modelled

    records = [json.loads(line) for line in MEASURED.open()]
    results = [compare(r) for r in records if modelled(r) is None]
    skipped = sorted({f"{r['model']}: {modelled(r)}" for r in records if modelled(r) is not None})
    out = [f"{len(results)} of {len(records)} records modelled; not modelled: " + "; ".join(skipped) + ".", "",
           "| figure | tolerance | within | median abs. error | worst |", "| --- | ---: | ---: | ---: | ---: |"]
    for key, tol in TOLERANCE.items():
        errs = [abs(c[key][2]) for c in results]
        out.append(f"| {key.removesuffix('_bytes')} | {100 * tol:g} % | {sum(c[key][3] for c in results)} of "
                   f"{len(results)} | {100 * statistics.median(errs):.2f} % | {100 * max(errs):.2f} % |")
    return "\n".join(out)


def markdown(rs: list[dict]) -> str:
    """The published runs' table docs/accuracy.md carries."""
    done = [r for r in rs if "error" in r]
    out = ["| group | runs | median \\|error\\| | within 20 % |", "| --- | ---: | ---: | ---: |"]
    groups = {"all": done}
    for r in done:
        groups.setdefault(f"method {r['method']}", []).append(r)
    for r in done:
        groups.setdefault(f"framework {r['framework'].split(' ')[0]}", []).append(r)
    for name, g in groups.items():
        errs = [abs(r["error"]) for r in g]
        out.append(f"| {name} | {len(g)} | {100 * statistics.median(errs):.1f} % | "
                   f"{100 * sum(e <= 0.2 for e in errs) / len(errs):.0f} % |")
    return "\n".join(out)


def main() -> None:
    rs = rows()
    if "--markdown" in sys.argv:
        print(measured_markdown() + "\n\n" + markdown(rs))
        return
    for r in rs:
        if "error" in r:
            print(f"{r['id']:<40} {r['framework']:<13} measured {r['measured'] / 2**30:7.2f} GiB  planner "
                  f"{r['estimated'] / 2**30:7.2f} GiB  {100 * r['error']:+6.1f} %")
        else:
            print(f"{r['id']:<40} {r['framework']:<13} skipped: {r['skipped']}")
    print("\n".join(summary(rs)))


if __name__ == "__main__":
    main()
