"""Measure planner against transformers itself: every configuration below, one JSON line each, in
profiles/measurements/transformers-fake.jsonl (rewritten whole), then a summary of the errors per component.

    pip install transformers accelerate
    python scripts/measure_transformers.py     # 110 runs, about 90 s here; no real memory (FakeTensorMode)

Each run builds transformers' own model class from the published config.json (tests/fixtures/configs/) at full
size with fake tensors and measures a prefill and a decode step (planner/measure/transformers.py): generate()'s
default DynamicCache over a grid of contexts and batches, and a StaticCache of max_cache_len tokens.
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
from planner.engines.transformers.peak import EAGER_ONLY  # noqa: E402
from planner.measure.transformers import COMPARED, record  # noqa: E402

OUT = ROOT / "profiles" / "measurements" / "transformers-fake.jsonl"
CONFIGS = ROOT / "tests" / "fixtures" / "configs"
MODELS = ["meta-llama/Llama-3.2-1B", "meta-llama/Llama-3.1-8B", "Qwen/Qwen2.5-7B", "Qwen/Qwen3-8B",
          "mistralai/Mistral-7B-v0.3", "microsoft/Phi-3-mini-4k-instruct", "microsoft/Phi-3-medium-4k-instruct",
          "google/gemma-2-9b", "mistralai/Mixtral-8x7B-v0.1", "openai/gpt-oss-20b", "deepseek-ai/DeepSeek-V2-Lite",
          "deepseek-ai/DeepSeek-V3", "allenai/OLMoE-1B-7B-0924",
          "allenai/OLMo-2-1124-7B"]
CONTEXTS = [1024, 4096, 16384]
BATCHES = [1, 2]
# StaticCache runs, (context, max_cache_len, batch): a prompt below a sliding window and one above it
STATIC = [(1024, 4096, 1), (2048, 4096, 1), (1024, 4096, 2)]
# eager attention where SDPA is the default too: GQA's repeat_kv (Llama), a sliding mask (Phi-3), up to 4096 tokens
EAGER_TOO = ["meta-llama/Llama-3.2-1B", "microsoft/Phi-3-mini-4k-instruct"]


def summary(records: list[dict]) -> str:
    """Per model, attention and cache: the error range per component (estimated / measured − 1, in %)."""
    lines = [f"{'model':36} {'attention':9} {'cache':7} " + " ".join(f"{k:>22}" for k in COMPARED)]

    def kind(r: dict) -> tuple:
        return r["model"], r["options"]["attention"], r["options"].get("cache", "dynamic")

    for model, attention, cache in dict.fromkeys(kind(r) for r in records):
        rs = [r for r in records if kind(r) == (model, attention, cache)]
        cells = []
        for k in COMPARED:
            errs = [r["error_pct"][k] for r in rs if k in r["error_pct"]]
            cells.append(f"{min(errs):+9.2f} .. {max(errs):+9.2f}" if errs else "")
        lines.append(f"{model:36} {attention:9} {cache:7} " + " ".join(f"{c:>22}" for c in cells))
    off = [r for r in records if not all(r["within_tolerance"].values())]
    lines.append(f"{len(records) - len(off)} of {len(records)} records within tolerance")
    return "\n".join(lines)


def main() -> None:
    warnings.filterwarnings("ignore")
    records, failures = [], []
    start = time.perf_counter()
    for model in MODELS:
        config = json.loads((CONFIGS / f"{model.replace('/', '__')}.json").read_text())
        # transformers has no SDPA path for these classes (_supports_sdpa = False): they run eager attention
        attention = "eager" if load_model(model).model_type in EAGER_ONLY else "sdpa"
        runs = [dict(context=c, batch=b) for c in CONTEXTS for b in BATCHES if c <= load_model(model).max_context]
        runs += [dict(context=c, batch=b, cache="static", max_cache_len=n) for c, n, b in STATIC]
        runs = [dict(run, attention=attention) for run in runs]
        if model in EAGER_TOO:
            runs += [dict(context=c, batch=b, attention="eager") for c in CONTEXTS if c <= 4096 for b in BATCHES]
        for run in runs:
            t0 = time.perf_counter()
            try:
                r = record(model, config, **run)
            except Exception as e:  # report the failure and go on with the grid
                failures.append(f"{model} {run}: {type(e).__name__}: {e}"[:300])
                continue
            records.append(r)
            print(f"{model} {run}: {r['error_pct']} ({time.perf_counter() - t0:.1f} s)", file=sys.stderr)
    print(f"{time.perf_counter() - start:.0f} s", file=sys.stderr)
    OUT.write_text("".join(json.dumps(r, sort_keys=True) + "\n" for r in records))
    print(f"{len(records)} records in {OUT.relative_to(ROOT)}\n")
    print(summary(records))
    for f in failures:
        print("FAILED", f)


if __name__ == "__main__":
    main()
