"""Sweep throughput: configurations estimated per second (target ≥ 100,000 on a 2-core machine).

Work per (model, quant) pair — walking the tensor list, llama.cpp's per-tensor rules — is done once and
cached; work per (context, batch, kv dtype) is numpy arithmetic. The first grid is a typical sweep; the second
is the worst case for the per-pair work: every bundled model and many formats, few workloads each.

    python benchmarks/sweep_rate.py
"""

from __future__ import annotations

import time

from planner import list_models, sweep
from planner.quant.gguf import _visit_order, tensor_types
from planner.tensors import weight_tensors
from planner.weights import _breakdown, _shape_classes, _tensor_meta, tensor_bytes

MODELS = ["meta-llama/Meta-Llama-3-8B", "microsoft/Phi-3-small-8k-instruct", "google/gemma-2-9b",
          "mistralai/Mixtral-8x7B-v0.1", "deepseek-ai/DeepSeek-V2-Lite"]
QUANTS = ["bf16", "q8_0", "q4_k_m", "int4", "nf4"]
CONTEXTS = list(range(1024, 131072 + 1, 1024))      # 128 context lengths
BATCHES = list(range(1, 33))                          # 32 batch sizes
KV = ["bf16", "fp8"]
WIDE_QUANTS = ["bf16", "fp8", "int8", "int4", "nf4", "gptq-4bit", "q8_0", "q6_k", "q5_k_m", "q4_k_m", "q3_k_m",
               "q2_k", "iq4_xs"]


def _clear_weight_caches() -> None:
    for cached in (weight_tensors, _visit_order, _tensor_meta, _shape_classes, tensor_types, tensor_bytes, _breakdown):
        cached.cache_clear()


def _timed(cold: bool, **grid) -> tuple[int, float]:
    best = float("inf")
    for _ in range(3):
        if cold:
            _clear_weight_caches()
        t0 = time.perf_counter()
        df = sweep(**grid)
        best = min(best, time.perf_counter() - t0)
    return len(df), best


def main() -> None:
    sweep(MODELS, quants=QUANTS[:1], contexts=CONTEXTS[:2], batches=[1])  # read profiles and catalogs once
    dense_grid = dict(models=MODELS, quants=QUANTS, contexts=CONTEXTS, batches=BATCHES, kv_dtypes=KV)
    wide_grid = dict(models=list_models(), quants=WIDE_QUANTS, contexts=[2**i for i in range(10, 18)],
                     batches=[1, 2, 4, 8, 16, 32])
    wide_name = f"{len(list_models())} bundled models × {len(WIDE_QUANTS)} quants × 8 contexts × 6 batches"
    for grid_name, grid in (("5 models × 5 quants × 128 contexts × 32 batches × 2 KV", dense_grid),
                            (wide_name, wide_grid)):
        print(grid_name)
        for label, cold in (("cold: tensor lists and weight bytes recomputed", True),
                            ("warm: weight bytes cached", False)):
            n, seconds = _timed(cold, **grid)
            print(f"  {label}: {n:,} configurations in {seconds:.3f} s = {n / seconds:,.0f} configurations/s")
    print("target: ≥ 100,000 configurations/s")


if __name__ == "__main__":
    main()
