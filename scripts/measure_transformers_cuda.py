"""Measure planner against transformers on a real CUDA GPU: the fake-tensor grid of scripts/measure_transformers.py
(same models, contexts, batches, caches and attention), run on the device with random weights, plus two hybrid
families at reduced depth. One JSON line per run in OUT (default $OUT/transformers-cuda.jsonl); CI re-checks the
committed copy (profiles/measurements/transformers-cuda.jsonl) against the current estimator.

    python scripts/measure_transformers_cuda.py --out out/transformers-cuda.jsonl          # on the GPU machine
    python scripts/measure_transformers_cuda.py --out /tmp/t.jsonl --device cpu --tiny     # dry run here
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))
from measure_transformers import BATCHES, CONFIGS, CONTEXTS, EAGER_TOO, STATIC  # noqa: E402

from planner.engines.transformers.peak import EAGER_ONLY  # noqa: E402
from planner.measure.transformers_cuda import SOURCE, run, smallest_pool  # noqa: E402

# the fake grid's models but DeepSeek-V3 (671 B does not fit one GPU), and two newer families
MODELS = ["meta-llama/Llama-3.2-1B", "meta-llama/Llama-3.1-8B", "Qwen/Qwen2.5-7B", "Qwen/Qwen3-8B",
          "mistralai/Mistral-7B-v0.3", "microsoft/Phi-3-mini-4k-instruct", "microsoft/Phi-3-medium-4k-instruct",
          "google/gemma-2-9b", "deepseek-ai/DeepSeek-V2-Lite", "openai/gpt-oss-20b", "mistralai/Mixtral-8x7B-v0.1",
          "allenai/OLMo-2-1124-7B", "allenai/OLMoE-1B-7B-0924"]
# hybrids at reduced depth (the layer pattern's period, so every kind of layer is there): recurrent state on a GPU
HYBRIDS = {"Qwen/Qwen3-Next-80B-A3B-Instruct": 8, "ai21labs/AI21-Jamba-1.5-Mini": 8}
HYBRID_CONTEXTS = [1024, 4096]


# the smallest allocator pool each of these runs needs (bisection of set_per_process_memory_fraction): large
# activation peaks, flash and eager attention, dense, MoE and MLA
POOL_POINTS = {
    "meta-llama/Llama-3.1-8B": [{"context": 16384, "batch": 2}, {"context": 16384, "batch": 1},
                                {"context": 4096, "batch": 1}],
    "Qwen/Qwen3-8B": [{"context": 16384, "batch": 2}],
    "microsoft/Phi-3-mini-4k-instruct": [{"context": 4096, "batch": 2}],
    "google/gemma-2-9b": [{"context": 4096, "batch": 2}],
    "deepseek-ai/DeepSeek-V2-Lite": [{"context": 16384, "batch": 2}],
    "openai/gpt-oss-20b": [{"context": 4096, "batch": 2}, {"context": 8192, "batch": 1}],
    "mistralai/Mixtral-8x7B-v0.1": [{"context": 16384, "batch": 2}],
}


def pools(out: Path, tiny: bool, device: str) -> int:
    """One record per POOL_POINTS run: allocated and reserved peaks, and the smallest pool that runs it."""
    import platform

    import torch
    import transformers

    n = 0
    for model, points in POOL_POINTS.items():
        config = json.loads((CONFIGS / f"{model.replace('/', '__')}.json").read_text())
        if tiny:
            config["num_hidden_layers"], points = 2, [dict(p, context=64) for p in points[:1]]
        attention = grid(model, config)[0][0]
        t0 = time.perf_counter()
        try:
            results = smallest_pool(config, points, attention)
        except Exception as e:  # record the failure and go on
            results = [{"point": {}, "error_message": f"{type(e).__name__}: {e}"[:400]}]
        with open(out, "a", encoding="utf-8") as f:
            for r in results:
                f.write(json.dumps({"engine": "transformers", "engine_version": transformers.__version__,
                                    "model": model, "layers": config["num_hidden_layers"], "quant": "bf16",
                                    "options": {"attention": attention, **r.pop("point")}, **r,
                                    "device": torch.cuda.get_device_name(), "torch": torch.__version__,
                                    "host": platform.node(), "source": SOURCE + "; smallest pool by bisection"},
                                   sort_keys=True) + "\n")
                n += 1
        print(f"{model}: {len(results)} pool records, {time.perf_counter() - t0:.1f} s", file=sys.stderr, flush=True)
    return n


def grid(model: str, config: dict) -> list[tuple[str, list[dict]]]:
    """(attention, points) for one model, as the fake grid runs it."""
    max_context = config.get("max_position_embeddings", 4096)
    # transformers has no SDPA path for some classes (_supports_sdpa = False): they run eager attention
    attention = "eager" if config["model_type"] in EAGER_ONLY else "sdpa"
    points = [{"context": c, "batch": b} for c in CONTEXTS for b in BATCHES if c <= max_context]
    points += [{"context": c, "batch": b, "cache": "static", "max_cache_len": n} for c, n, b in STATIC]
    runs = [(attention, points)]
    if model in EAGER_TOO:
        runs.append(("eager", [{"context": c, "batch": b} for c in CONTEXTS if c <= 4096 for b in BATCHES]))
    return runs


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--out", required=True)
    p.add_argument("--device", default="cuda", choices=["cuda", "cpu"])
    p.add_argument("--tiny", action="store_true", help="2 layers, 64 tokens: a dry run of the script on a CPU")
    p.add_argument("--models", nargs="*", help="only these models")
    p.add_argument("--pools", action="store_true", help="the smallest-pool bisection of POOL_POINTS (CUDA only)")
    a = p.parse_args()
    warnings.filterwarnings("ignore")
    out = Path(a.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    if a.pools:
        print(f"{pools(out, a.tiny, a.device)} records in {out}")
        return
    start, n = time.perf_counter(), 0
    todo = [m for m in [*MODELS, *HYBRIDS] if not a.models or m in a.models]
    for model in todo:
        config = json.loads((CONFIGS / f"{model.replace('/', '__')}.json").read_text())
        if model in HYBRIDS:
            runs = [("sdpa", [{"context": c, "batch": b} for c in HYBRID_CONTEXTS for b in BATCHES])]
        else:
            runs = grid(model, config)
        layers = {model: HYBRIDS.get(model, 2 if a.tiny else config["num_hidden_layers"])}
        for attention, points in runs:
            if a.tiny:
                points = [dict(pt, context=64, max_cache_len=128) if "max_cache_len" in pt else dict(pt, context=64)
                          for pt in points[:2]]
            n += run(CONFIGS, [model], points, out, attention, layers, a.device)
    print(f"{n} records in {out}, {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
