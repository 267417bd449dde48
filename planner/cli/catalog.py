"""The listing verbs: gpus, models and quants, as text or --json (bytes, bytes/s, FLOP/s)."""

from __future__ import annotations

import json

from ..errors import PlannerError
from ..units import format_bytes


def cmd_gpus(a) -> str:
    from ..gpus import list_gpus, load_gpu

    if a.json:
        return json.dumps([_gpu_record(load_gpu(g)) for g in list_gpus()], indent=2)
    rows = [f"{'id':<18} {'usable mem':>12} {'bandwidth':>12} {'16-bit TFLOP/s':>14}  name",
            "  (dense peaks; fp32 where the datasheet gives no 16-bit figure)"]
    for gid in list_gpus():
        g = load_gpu(gid)
        peak = g.peak_flops("bf16")
        flops = f"{peak / 1e12:>14.1f}" if peak else f"{'—':>14}"
        rows.append(f"{gid:<18} {format_bytes(g.usable_memory_bytes, a.unit):>12} "
                    f"{g.memory_bandwidth_bytes_per_s / 1e9:>8.0f} GB/s {flops}  {g.name}")
    return "\n".join(rows)


def _gpu_record(g) -> dict:
    return {"id": g.id, "name": g.name, "vendor": g.vendor, "memory_bytes": g.memory_bytes,
            "usable_memory_bytes": g.usable_memory_bytes,
            "memory_bandwidth_bytes_per_s": g.memory_bandwidth_bytes_per_s, "bf16_flops": g.peak_flops("bf16") or None}


def cmd_models(a) -> str:
    if a.types:  # the model types planner reads, filtered by --search where given
        from ..hf_import.families import SUPPORTED_MODEL_TYPES

        words = (a.search or "").lower().split()
        types = [t for t in SUPPORTED_MODEL_TYPES if all(w in t for w in words)]
        return json.dumps(types, indent=2) if a.json else "\n".join(types)
    from ..profiles import bundled_profiles, load_model, variant_base, variants

    named = {**bundled_profiles(), **{v: load_model(v) for v in set(variants().values())}}
    found = sorted(named.items(), key=lambda kv: kv[0].lower())
    if a.search is not None:
        words = a.search.lower().split()
        found = [(name, s) for name, s in found if all(w in _search_text(name, s) for w in words)]
        if not found:
            return "[]" if a.json else (f"no bundled model matches {a.search!r} (searched ids, aliases, model types "
                                        "and families); any Hugging Face id or config.json works too")
    if a.json:
        return json.dumps([{"model": name, "params": s.param_count, "max_context": s.max_context,
                            "moe": None if s.moe is None else f"{s.moe.experts_per_token}/{s.moe.n_experts}",
                            "model_type": s.model_type, "aliases": list(s.aliases),
                            "variant_of": variant_base(name)} for name, s in found], indent=2)
    rows = [f"{'model':<44} {'params':>10} {'context':>9}  {'type':<9} model_type"]
    for name, s in found:
        kind = f"MoE {s.moe.experts_per_token}/{s.moe.n_experts}" if s.moe else "dense"
        mark = "*" if variant_base(name) else ""
        rows.append(f"{name + mark:<44} {s.param_count / 1e9:>9.2f}B {s.max_context:>9,}  {kind:<9} {s.model_type}")
    if any(variant_base(name) for name, _ in found):
        rows.append("* a fine-tuned variant with its base model's shapes, planned with its profile (and the "
                    "differences its config.json has: profiles/variants.yaml)")
    return "\n".join(rows)


def _search_text(name: str, spec) -> str:
    """What `models --search` looks in: id, aliases, model_type (and the architecture engines know it by: qwen3_vl,
    mistral3), family (the name without its org, size and
    suffixes: "Llama-3.1" for meta-llama/Llama-3.1-8B-Instruct) and "moe" or "dense", lower-cased."""
    import re

    base = name.split("/")[-1]
    family = re.split(r"-(?:\d+(?:\.\d+)?x)?\d+(?:\.\d+)?[bm]\b", base, maxsplit=1, flags=re.I)[0]
    from ..engines.common import arch_key

    kind = "moe" if spec.moe else "dense"
    return " ".join([name, *spec.aliases, spec.model_type, arch_key(spec), family, kind,
                     str(getattr(spec, "family", "") or "")]).lower()


QUANTS_MODEL = "meta-llama/Llama-3.1-8B"  # `planner quants` counts bits per weight on it unless --model says


def cmd_quants(a) -> str:
    from ..kv import kv_dtype_names
    from ..profiles import load_model
    from ..quant.catalog import get_quant, quant_names
    from ..weights import weights_bytes

    spec = load_model(a.model)
    bits = {}
    for n in quant_names():
        try:
            bits[n] = 8 * weights_bytes(spec, n) / spec.param_count
        except PlannerError:  # checkpoint without a file, a format the model's shapes do not take
            bits[n] = None
    if a.json:
        return json.dumps({"model": spec.name, "quants": [{"name": n, "description": get_quant(n).description,
                                                           "bits_per_weight": bits[n]} for n in quant_names()],
                           "kv_dtypes": list(kv_dtype_names())}, indent=2)
    rows = [f"bits per weight: all of {spec.name}'s weights (quantization scales and the tensors a format keeps in 16 "
            "bits included)", f"{'name':<18} {'bits':>6}  description"]
    rows += [f"{n:<18} {'—' if bits[n] is None else f'{bits[n]:.2f}':>6}  {get_quant(n).description}"
             for n in quant_names()]
    rows.append(f"\nKV-cache dtypes: {', '.join(kv_dtype_names())}")
    return "\n".join(rows)
