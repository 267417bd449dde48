"""The GPU validation grid: estimate vs the reference model (and transformers, when installed) on one device.

    python -m planner.reference.grid --out DIR [--mode cuda|cpu|fake] [--tiny] [--budget-s 420]

Models: Phi-3-small, Llama-3.1-8B, Mistral-7B, Qwen2.5-7B, Mixtral-8x7B and Llama-3.1-70B — the last two at
reduced depth (REDUCED_LAYERS layers; the estimate is made for the same reduced spec, and per-layer figures
extrapolate to the full depth). Formats bf16, int8, int4; contexts 1K … 32K; batch 1 … 8. An out-of-memory
error is a recorded outcome ("oom": true) next to the estimate that predicted it. --tiny swaps every model for
a 2-layer miniature so the whole grid runs on a CPU in seconds. Records go to DIR/records.jsonl.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
import traceback
from pathlib import Path

from ..estimate import estimate
from ..paths import published_config
from ..profiles import load_model
from ..spec import ModelSpec

MODELS = ["microsoft/Phi-3-small-8k-instruct", "meta-llama/Llama-3.1-8B", "mistralai/Mistral-7B-v0.3",
          "Qwen/Qwen2.5-7B", "mistralai/Mixtral-8x7B-v0.1", "meta-llama/Llama-3.1-70B"]
REDUCED = {"mistralai/Mixtral-8x7B-v0.1": 4, "meta-llama/Llama-3.1-70B": 4}
QUANTS = ["bf16", "int8", "int4"]
POINTS = [(1024, 1), (4096, 1), (8192, 2), (16384, 1), (32768, 1), (4096, 8)]


def miniature(spec: ModelSpec) -> ModelSpec:
    """A 2-layer, narrow copy of `spec` with the same structure, for CPU dry runs."""
    update = {"n_layers": 2, "d_model": 256, "n_heads": 4, "n_kv_heads": min(spec.n_kv_heads, 2), "head_dim": 64,
              "d_ff": 512 if spec.d_ff else 0, "vocab_size": 512, "max_context": 4096}
    if spec.moe is not None:
        update["moe"] = spec.moe.model_copy(update={"expert_d_ff": 256, "first_dense_layers": 0})
    if spec.sliding_window:
        update["sliding_window"] = 64
    return spec.model_copy(update=update)


def _hf_measure(spec: ModelSpec, quant: str, context: int, batch: int, attention: str, device) -> dict | None:
    """transformers' own model from the same config (random weights, no download), when transformers is there."""
    try:
        import torch
        import transformers
    except ImportError:
        return None
    if quant != "bf16" or spec.model_type in ("phi3small",):
        return None  # bf16 only; Phi-3-small is remote code
    config_path = published_config(spec.name)
    if not config_path.is_file():
        return None
    raw = json.loads(config_path.read_text())
    raw["num_hidden_layers"] = spec.n_layers
    config = transformers.AutoConfig.for_model(raw.pop("model_type"), **raw)
    config._attn_implementation = attention
    torch.cuda.empty_cache()
    torch.cuda.reset_peak_memory_stats()
    base = torch.cuda.memory_allocated()
    with torch.device(device):
        model = transformers.AutoModelForCausalLM.from_config(config, torch_dtype=torch.bfloat16)
    weights = torch.cuda.memory_allocated() - base
    ids = torch.zeros((batch, context - 1), dtype=torch.long, device=device)
    torch.cuda.reset_peak_memory_stats()
    with torch.no_grad():
        model.generate(ids, max_new_tokens=2, min_new_tokens=2, do_sample=False)
    peak = torch.cuda.max_memory_allocated() - base
    del model
    torch.cuda.empty_cache()
    # planner's engine="transformers" for the same run (prefill of the prompt, then decode), beside the measurement
    e = estimate(spec, engine="transformers", quant="bf16", kv_dtype="bf16", context=context + 1, batch=batch,
                 attention=attention, runtime="none")
    return {"engine": "transformers", "attention": attention, "weights_bytes": weights, "peak_allocated_bytes": peak,
            "transformers": transformers.__version__, "planner_weights_bytes": e.weights_bytes,
            "planner_peak_bytes": e.weights_bytes + e.kv_cache_bytes + e.activation_bytes}


def run(out: Path, mode: str, tiny: bool, budget_s: float, models: list[str] | None = None) -> list[dict]:
    from ..validate import validate

    start = time.time()
    records = []
    out.mkdir(parents=True, exist_ok=True)
    path = out / "records.jsonl"
    for name in models or MODELS:
        full = load_model(name)
        spec = miniature(full) if tiny else (
            full.model_copy(update={"n_layers": REDUCED[name]}) if name in REDUCED else full)
        for quant in QUANTS:
            for context, batch in POINTS:
                if time.time() - start > budget_s:
                    print(f"time budget of {budget_s:.0f} s reached; stopping")
                    return records
                context = min(context, spec.max_context)
                rec = {"model": name, "layers": spec.n_layers, "full_layers": full.n_layers, "quant": quant,
                       "context": context, "batch": batch, "mode": mode, "tiny": tiny}
                try:
                    rec |= validate(spec, mode=mode, quant=quant, kv_dtype="bf16", context=context, batch=batch)
                    rec["oom"] = False
                except Exception as e:  # an OOM is an outcome to record; anything else is recorded too
                    oom = "out of memory" in str(e).lower()
                    est = estimate(spec, quant=quant, kv_dtype="bf16", context=context, batch=batch,
                                   runtime="cuda" if mode == "cuda" else "none")
                    rec |= {"oom": oom, "error_message": str(e)[:300], "estimated": {
                        k: getattr(est, k) for k in ("weights_bytes", "kv_cache_bytes", "activation_bytes",
                                                     "total_bytes")}}
                    if not oom:
                        rec["traceback"] = traceback.format_exc()[-1500:]
                    if mode == "cuda":
                        import torch

                        torch.cuda.empty_cache()
                if mode == "cuda" and quant == "bf16" and not rec.get("oom") and batch == 1 and context <= 8192:
                    for attention in ("sdpa", "eager"):
                        try:
                            hf = _hf_measure(spec, quant, context, batch, attention, "cuda")
                        except Exception as e:
                            hf = {"engine": "transformers", "attention": attention, "error_message": str(e)[:300]}
                        if hf:
                            rec.setdefault("transformers", []).append(hf)
                with open(path, "a", encoding="utf-8") as f:
                    f.write(json.dumps(rec) + "\n")
                records.append(rec)
                err = rec.get("error", {}).get("total_bytes") if isinstance(rec.get("error"), dict) else None
                print(f"{name} L{spec.n_layers} {quant} ctx {context} b{batch}: "
                      + ("OOM" if rec.get("oom") else f"total error {100 * err:+.1f}%" if err is not None
                         else rec.get("error_message", "?")[:80]), flush=True)
    return records


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--out", required=True)
    p.add_argument("--mode", default="cuda", choices=["cuda", "cpu", "fake"])
    p.add_argument("--tiny", action="store_true", help="2-layer miniatures (CPU dry run)")
    p.add_argument("--budget-s", type=float, default=420.0, help="stop starting new points after this many seconds")
    p.add_argument("--models", nargs="*", help="only these of MODELS")
    a = p.parse_args()
    t0 = time.time()
    records = run(Path(a.out), a.mode, a.tiny, a.budget_s, a.models)
    summary = {"records": len(records), "oom": sum(bool(r.get("oom")) for r in records),
               "seconds": round(time.time() - t0, 1), "host": platform.node()}
    (Path(a.out) / "summary.json").write_text(json.dumps(summary, indent=2))
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
