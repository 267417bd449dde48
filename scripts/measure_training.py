"""Measure one training step of transformers' own model classes (peft LoRA, bitsandbytes QLoRA and 8-bit AdamW) at
full size under FakeTensorMode: every configuration below, one JSON line each, in
profiles/measurements/training-fake.jsonl (rewritten whole), then a table in GiB.

    pip install transformers accelerate peft bitsandbytes
    python scripts/measure_training.py          # about 130 runs on two worker processes; no real memory

See planner/measure/training.py for what a step is and what each figure means.
"""

from __future__ import annotations

import json
import os
import sys
import time
import warnings
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

OUT = ROOT / "profiles" / "measurements" / "training-fake.jsonl"
CONFIGS = ROOT / "tests" / "fixtures" / "configs"
# transformers has no class of its own for Phi-3-small (model_type phi3small: trust_remote_code only): not measured
MODELS = ["meta-llama/Llama-3.2-1B", "meta-llama/Llama-3.1-8B", "Qwen/Qwen2.5-7B", "Qwen/Qwen3-8B",
          "mistralai/Mistral-7B-v0.3", "microsoft/Phi-3-mini-4k-instruct", "google/gemma-2-9b",
          "google/gemma-3-1b-it", "deepseek-ai/DeepSeek-V2-Lite"]
SKIPPED = {"microsoft/Phi-3-small-8k-instruct": "model_type phi3small has no transformers class (remote code only)"}
# prepare_model_for_kbit_training casts the (not quantized) 3-D expert weights to fp32, which grouped_mm refuses
NO_QLORA = {"deepseek-ai/DeepSeek-V2-Lite": "fp32 experts after prepare_model_for_kbit_training: grouped_mm needs bf16"}
EAGER_ONLY = {"google/gemma-2-9b"}  # Gemma 2's attention logit softcapping: transformers runs it eagerly
G = 2**30


def runs() -> list[tuple[str, dict]]:
    out = []
    for model in MODELS:
        base = {"attention": "eager"} if model in EAGER_ONLY else {}
        for method in ("full", "lora", "qlora") if model not in NO_QLORA else ("full", "lora"):
            for ckpt in (False, True):
                for opt in ("adamw", "adamw_8bit"):
                    out.append((model, dict(base, method=method, gradient_checkpointing=ckpt, optimizer=opt)))
    small = "meta-llama/Llama-3.2-1B"
    for method in ("full", "lora", "qlora"):
        out += [(small, dict(method=method, seq_len=n)) for n in (512, 4096)]
        out += [(small, dict(method=method, micro_batch=2)), (small, dict(method=method, attention="eager"))]
        out += [(small, dict(method=method, gradient_checkpointing=True, micro_batch=2, seq_len=4096))]
    for opt in ("adamw_forloop", "adamw_fused", "sgd", "adafactor"):
        out.append((small, dict(optimizer=opt)))
    out += [(small, dict(precision=p)) for p in ("mixed", "fp32")]
    out += [(small, dict(method="lora", precision="mixed"))]
    out += [(small, dict(method="lora", lora_targets=["q_proj", "v_proj"]))]
    out += [(small, dict(precision="mixed", gradient_checkpointing=True))]
    out += [("Qwen/Qwen2.5-7B", dict(method="qlora", autocast=False))]
    out += [("mistralai/Mixtral-8x7B-v0.1", dict(method="lora", gradient_checkpointing=c)) for c in (False, True)]
    return out


def _one(job: tuple[str, dict]) -> tuple[dict | None, str | None, float]:
    warnings.filterwarnings("ignore")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    from planner.measure.training import record

    model, kwargs = job
    t0 = time.perf_counter()
    try:
        return record(model, CONFIGS / f"{model.replace('/', '__')}.json", **kwargs), None, time.perf_counter() - t0
    except Exception as e:  # report the failure and go on with the grid
        return None, f"{model} {kwargs}: {type(e).__name__}: {e}"[:300], time.perf_counter() - t0


def table(records: list[dict]) -> str:
    cols = ("weights", "trainable", "gradient", "optimizer_state", "forward_saved", "backward_peak",
            "optimizer_step_peak", "step2_peak")
    head = f"{'model':34} {'method':6} {'ckpt':4} {'optimizer':13} {'setup':18}"
    head += "".join(f"{c[:12]:>13}" for c in cols)
    lines = [head]
    for r in records:
        s, m = r["setup"], r["measured"]
        extra = " ".join(f"{k}={v}" for k, v in s.items() if k in ("seq_len", "micro_batch", "attention", "precision")
                         and v not in (2048, 1, "sdpa", "bf16"))
        lines.append(f"{r['model']:34} {s['method']:6} {'on' if s['gradient_checkpointing'] else 'off':4} "
                     f"{s['optimizer']:13} {extra:18}" + "".join(f"{m[c + '_bytes'] / G:13.3f}" for c in cols))
    return "\n".join(lines)


def main() -> None:
    start = time.perf_counter()
    jobs = runs()
    records, failures = [], []
    # one process per run: a second run in the same process measured up to 0.5 GiB less (state that peft,
    # bitsandbytes or the fake-tensor caches keep between runs), so every run starts clean
    with ProcessPoolExecutor(max_workers=min(2, os.cpu_count() or 1), max_tasks_per_child=1) as pool:
        for (model, kwargs), (rec, err, secs) in zip(jobs, pool.map(_one, jobs), strict=True):
            print(f"{model} {kwargs}: {'FAILED' if err else 'ok'} ({secs:.1f} s)", file=sys.stderr)
            if err:
                failures.append(err)
            else:
                records.append(rec)
    OUT.write_text("".join(json.dumps(r, sort_keys=True) + "\n" for r in records))
    print(table(records))
    for model, why in {**SKIPPED, **{f"{m} qlora": w for m, w in NO_QLORA.items()}}.items():
        print(f"skipped {model}: {why}")
    for f in failures:
        print("FAILED", f)
    print(f"{len(records)} records in {OUT.relative_to(ROOT)}, {len(failures)} failures, "
          f"{time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
