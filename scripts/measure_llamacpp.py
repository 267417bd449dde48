"""Measure planner against llama.cpp itself: every configuration below, one JSON line each, in
profiles/measurements/llamacpp-cpu.jsonl (rewritten whole).

    pip install llama-cpp-python gguf     # builds llama.cpp from source: ~10 minutes on 2 cores, once
    python scripts/measure_llamacpp.py    # ~5 minutes here; CI re-checks the records (tests/test_measurements.py)
    python scripts/measure_llamacpp.py --report > docs/measured-llamacpp.md   # the summary, from the records
    python scripts/measure_llamacpp.py --refresh  # planner's side again after an estimator change (no llama.cpp)
    python scripts/measure_llamacpp.py --gpu h200 --out FILE  # on a CUDA GPU with llama-cpp-python built for CUDA
                                                              # (scripts/gpu_llamacpp.sh): llamacpp-cuda.jsonl

Each run writes a sparse GGUF of the model's architecture (no weights, a few KiB of disk), loads it with llama.cpp
on the CPU and reads the buffer sizes llama.cpp logs (planner/measure/llamacpp.py).
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from planner import load_model  # noqa: E402
from planner.measure.llamacpp import measure, options_for  # noqa: E402

OUT = ROOT / "profiles" / "measurements" / "llamacpp-cpu.jsonl"
MODELS = ["meta-llama/Llama-3.2-1B", "meta-llama/Llama-3.2-3B", "meta-llama/Llama-3.1-8B", "Qwen/Qwen2.5-7B",
          "Qwen/Qwen3-8B", "google/gemma-2-9b", "microsoft/Phi-3-mini-4k-instruct", "mistralai/Mistral-7B-v0.3",
          "mistralai/Mixtral-8x7B-v0.1", "google/gemma-3-27b-it", "Qwen/Qwen3-30B-A3B", "openai/gpt-oss-20b"]
# (quant, context, n_ubatch, flash_attn, type_k, n_parallel): the base case, then one change at a time
BASE = ("q4_k_m", 4096, 512, True, "fp16", 1)
VARIANTS = [BASE, ("q8_0", 4096, 512, True, "fp16", 1), ("q4_k_m", 4096, 512, False, "fp16", 1),
            ("q4_k_m", 4096, 2048, True, "fp16", 1), ("q4_k_m", 16384, 512, True, "fp16", 1),
            ("q4_k_m", 4096, 512, True, "q8_0", 1), ("q4_k_m", 2048, 512, True, "fp16", 4),
            ("q4_k_m", 2048, 512, False, "fp16", 4), ("q4_k_m", 16384, 2048, False, "fp16", 1)]
# the larger models (15–17 GiB files that llama.cpp maps: about 30 s a run) take the settings that change the graph
SHORT = {"google/gemma-3-27b-it", "Qwen/Qwen3-30B-A3B", "openai/gpt-oss-20b"}
SHORT_VARIANTS = [BASE, ("q4_k_m", 4096, 512, False, "fp16", 1), ("q4_k_m", 4096, 512, True, "q8_0", 1),
                  ("q4_k_m", 2048, 512, True, "fp16", 4), ("q4_k_m", 32768, 512, True, "fp16", 1)]
WEIGHTS = {"openai/gpt-oss-20b": {"q4_k_m": "mxfp4_moe"}}  # gpt-oss ships its experts in MXFP4
LONG = {"meta-llama/Llama-3.2-1B": [("q4_k_m", 131072, 512, True, "fp16", 1), ("q8_0", 65536, 512, True, "q8_0", 1)],
        "Qwen/Qwen2.5-7B": [("q4_k_m", 32768, 512, True, "fp16", 1), ("q4_k_m", 32768, 512, True, "q8_0", 1)],
        "meta-llama/Llama-3.1-8B": [("q4_k_m", 65536, 512, True, "q8_0", 1)]}  # KV up to 4 GiB of RAM


# On a CUDA GPU (--gpu ID, every layer offloaded): every model's base case and flash attention off, then the other
# settings on three models; the records go to llamacpp-cuda.jsonl
GPU_OUT = ROOT / "profiles" / "measurements" / "llamacpp-cuda.jsonl"
GPU_VARIANTS = [BASE, ("q4_k_m", 4096, 512, False, "fp16", 1)]
GPU_MORE = {"meta-llama/Llama-3.1-8B", "Qwen/Qwen3-8B", "google/gemma-2-9b"}


def main_gpu(gpu: str, out: Path, budget_s: float) -> None:
    """The CUDA runs, within `budget_s` seconds, each record written as it is made."""
    started = time.time()
    with tempfile.TemporaryDirectory() as work, out.open("w") as f:
        for name in MODELS:
            spec = load_model(name)
            for quant, context, ubatch, fa, kv, slots in GPU_VARIANTS + (VARIANTS[3:] if name in GPU_MORE else []):
                if time.time() - started > budget_s:
                    print(f"skipped {name} {quant} {context} {ubatch} {fa} {kv} {slots}: over the budget", flush=True)
                    continue
                quant = WEIGHTS.get(name, {}).get(quant, quant)
                opts = options_for(spec, context=min(context, spec.max_context), n_parallel=slots, n_ubatch=ubatch,
                                   flash_attn=fa, type_k=kv) | {"n_gpu_layers": spec.n_layers + 1}
                try:
                    r = measure(spec, quant, opts, workdir=work, gpu=gpu)
                except Exception as e:  # a run llama.cpp refuses is reported, not recorded
                    print(f"{name} {quant} {opts}: {e}", flush=True)
                    continue
                f.write(json.dumps(r, sort_keys=True) + "\n")
                f.flush()
                print(f"{name:36s} {quant:7s} ctx {context:6d}×{slots} ub {ubatch:4d} fa {fa!s:5s} kv {kv:5s} "
                      + " ".join(f"{k.removesuffix('_bytes')} {v:+.2f}%" for k, v in r["error_pct"].items()),
                      flush=True)
    print(f"records in {out} ({time.time() - started:.0f} s)")


def main() -> None:
    records, started = [], time.time()
    with tempfile.TemporaryDirectory() as work:
        for name in MODELS:
            spec = load_model(name)
            for quant, context, ubatch, fa, kv, slots in (SHORT_VARIANTS if name in SHORT else VARIANTS
                                                            + LONG.get(name, [])):
                quant = WEIGHTS.get(name, {}).get(quant, quant)
                context = min(context, spec.max_context)
                opts = options_for(spec, context=context, n_parallel=slots, n_ubatch=ubatch, flash_attn=fa,
                                   type_k=kv)
                try:
                    r = measure(spec, quant, opts, workdir=work)
                except Exception as e:  # a run llama.cpp refuses is reported, not recorded
                    print(f"{name} {quant} {opts}: {e}")
                    continue
                records.append(r)
                print(f"{name:36s} {quant:7s} ctx {context:6d}×{slots} ub {ubatch:4d} fa {fa!s:5s} kv {kv:5s} "
                      + " ".join(f"{k.removesuffix('_bytes')} {v:+.2f}%" for k, v in r["error_pct"].items()))
    OUT.write_text("".join(json.dumps(r, sort_keys=True) + "\n" for r in records))
    print(f"{len(records)} records in {OUT.relative_to(ROOT)} ({time.time() - started:.0f} s)")


def report() -> str:
    """Markdown: per buffer, how many records planner meets and the median and worst error; then every record."""
    from statistics import median

    records = [json.loads(line) for line in OUT.read_text().splitlines()]
    lines = ["# planner against llama.cpp, measured", "",
             f"Generated by `python scripts/measure_llamacpp.py --report` from `{OUT.relative_to(ROOT)}`: "
             f"{len(records)} runs of llama.cpp itself ({records[0]['engine_version']}, CPU backend) on sparse GGUFs "
             "of each architecture (planner/measure/llamacpp.py). Model, KV (K and V) and output buffers are "
             "compared at the log's resolution (0.01 MiB), the compute buffer within 5 %.", "",
             "| buffer | records | within tolerance | median abs. error | worst |", "| --- | --- | --- | --- | --- |"]
    for key in ("model_bytes", "kv_bytes", "k_bytes", "v_bytes", "output_bytes", "compute_bytes"):
        errs = [abs(r["error_pct"][key]) for r in records if key in r["error_pct"]]
        ok = sum(r["within_tolerance"][key] for r in records)
        name = key.removesuffix("_bytes")
        lines.append(f"| {name} | {len(errs)} | {ok} | {median(errs):.2f} % | {max(errs):.2f} % |")
    lines += ["", "Output errors are the log's rounding of a buffer of about 0.1–0.5 MiB. The compute buffer is ggml's "
              "allocator replayed on llama.cpp's graph of one ubatch (planner/engines/llamacpp/alloc.py, graph.py): "
              "exact to a few KiB wherever the peak sits (the logits, the KQ scores, an FFN inside a layer, a "
              "quantized cache's rotations, a mixture of experts), except gemma-2 (+1.4 %, without flash attention or "
              "with a q8_0 cache) and gpt-oss with flash attention (−1.4 to −2.5 %), where the replay places a few "
              "tensors differently.", "",
              "| model | weights | n_ctx × slots | n_ubatch | flash attn | K/V | model | KV | output | compute |",
              "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in records:
        o, e = r["options"], r["error_pct"]
        lines.append(f"| {r['model']} | {r['quant']} | {o['n_ctx'] // o['n_parallel']:,} × {o['n_parallel']} | "
                     f"{o['n_ubatch']} | {'on' if o['flash_attn'] else 'off'} | {o['type_k']}/{o['type_v']} | "
                     + " | ".join(f"{e.get(k, 0):+.2f} %" for k in ("model_bytes", "kv_bytes", "output_bytes",
                                                                     "compute_bytes")) + " |")
    return "\n".join(lines)


def refresh() -> None:
    """Recompute planner's figures, errors and verdicts of every record, the CPU's and the GPU's; llama.cpp's
    measurements stay as they are."""
    from planner.measure.llamacpp import predicted, predicted_on_gpu, record_build, within

    for path in (OUT, GPU_OUT):
        records = [json.loads(line) for line in path.read_text().splitlines()]
        for r in records:
            spec = load_model(r["model"])
            est = predicted(spec, r["quant"], r["options"]) if r.get("gpu") is None else \
                predicted_on_gpu(spec, r["quant"], r["options"], r["gpu"], record_build(r))
            r["estimated"] = {k: est[k] for k in r["measured"]}
            r["error_pct"] = {k: round(100 * (est[k] / m - 1), 3) for k, m in r["measured"].items() if m}
            r["within_tolerance"] = {k: within(k, est[k], m) for k, m in r["measured"].items()}
        path.write_text("".join(json.dumps(r, sort_keys=True) + "\n" for r in records))
        print(f"{len(records)} records refreshed in {path.relative_to(ROOT)}")


if __name__ == "__main__":
    import argparse

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--report", action="store_true", help="docs/measured-llamacpp.md from the CPU records")
    mode.add_argument("--refresh", action="store_true", help="planner's side of every record again")
    mode.add_argument("--gpu", metavar="ID", help="run on this CUDA GPU (a catalog id) with every layer offloaded")
    p.add_argument("--out", type=Path, default=GPU_OUT, help="the GPU records (default %(default)s)")
    p.add_argument("--budget-s", type=float, default=240.0, help="stop starting GPU runs after this many seconds")
    a = p.parse_args()
    if a.report:
        print(report())
    elif a.refresh:
        refresh()
    elif a.gpu:
        main_gpu(a.gpu, a.out, a.budget_s)
    else:
        main()
