"""Measure planner against transformers itself: every configuration below, one JSON line each, in
profiles/measurements/transformers-fake.jsonl (rewritten whole), then a summary of the errors per component.

    pip install transformers accelerate
    python scripts/measure_transformers.py     # about a minute; no real memory (FakeTensorMode)

Each run builds transformers' own model class from the published config.json (tests/fixtures/configs/) at full
size with fake tensors and measures a prefill and a decode step (planner/measure/transformers.py).
"""

from __future__ import annotations

import json
import sys
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from planner import load_model  # noqa: E402
from planner.measure.transformers import COMPARED, record  # noqa: E402

OUT = ROOT / "profiles" / "measurements" / "transformers-fake.jsonl"
CONFIGS = ROOT / "tests" / "fixtures" / "configs"
MODELS = ["meta-llama/Llama-3.2-1B", "meta-llama/Llama-3.1-8B", "Qwen/Qwen2.5-7B", "Qwen/Qwen3-8B",
          "mistralai/Mistral-7B-v0.3", "microsoft/Phi-3-mini-4k-instruct", "microsoft/Phi-3-medium-4k-instruct",
          "google/gemma-2-9b", "mistralai/Mixtral-8x7B-v0.1", "openai/gpt-oss-20b", "deepseek-ai/DeepSeek-V2-Lite"]
# transformers refuses SDPA for these classes ("does not support an attention implementation through
# torch.nn.functional.scaled_dot_product_attention yet"): they run eager attention
EAGER = {"google/gemma-2-9b", "openai/gpt-oss-20b"}
CONTEXTS = [1024, 4096, 16384]
BATCHES = [1, 2]


def summary(records: list[dict]) -> str:
    """Per model and component: the error range (estimated / measured − 1, in %)."""
    lines = [f"{'model':36} {'attention':9} " + " ".join(f"{k:>22}" for k in COMPARED)]
    for model in dict.fromkeys(r["model"] for r in records):
        rs = [r for r in records if r["model"] == model]
        cells = []
        for k in COMPARED:
            errs = [r["error_pct"][k] for r in rs if k in r["error_pct"]]
            cells.append(f"{min(errs):+9.2f} .. {max(errs):+9.2f}" if errs else "")
        lines.append(f"{model:36} {rs[0]['options']['attention']:9} " + " ".join(f"{c:>22}" for c in cells))
    return "\n".join(lines)


def main() -> None:
    warnings.filterwarnings("ignore")
    records, failures = [], []
    for model in MODELS:
        config = json.loads((CONFIGS / f"{model.replace('/', '__')}.json").read_text())
        attention = "eager" if model in EAGER else "sdpa"
        for context in CONTEXTS:
            if context > load_model(model).max_context:
                continue
            for batch in BATCHES:
                t0 = time.perf_counter()
                try:
                    r = record(model, config, context=context, batch=batch, attention=attention)
                except Exception as e:  # report the failure and go on with the grid
                    failures.append(f"{model} ctx={context} batch={batch}: {type(e).__name__}: {e}"[:300])
                    continue
                records.append(r)
                print(f"{model} ctx={context} batch={batch} {attention}: {r['error_pct']} "
                      f"({time.perf_counter() - t0:.1f} s)", file=sys.stderr)
    OUT.write_text("".join(json.dumps(r, sort_keys=True) + "\n" for r in records))
    print(f"{len(records)} records in {OUT.relative_to(ROOT)}\n")
    print(summary(records))
    for f in failures:
        print("FAILED", f)


if __name__ == "__main__":
    main()
