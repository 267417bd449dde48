"""The fit verb: each format's largest context on a GPU, or the GPUs and formats that hold a workload."""

from __future__ import annotations

from ..units import format_bytes
from .commands import _model, _no_gguf_note
from .machine import gpu_label, has_speed, local_lines, resolve_sized_gpu

_INFERENCE_ONLY = ("--context", "--max-context", "--batch", "--min-tokens-per-s", "--top", "--quants", "--kv-dtype")
_TRAIN_ONLY = ("--seq-len", "--micro-batch", "--optimizer")


def cmd_fit(a) -> str:
    from ..errors import PlannerError

    mode, other = ("--train", _INFERENCE_ONLY) if a.train else ("inference (no --train)", _TRAIN_ONLY)
    if given := [f for f in other if getattr(a, f[2:].replace("-", "_")) is not None]:
        hint = ("fit --train sizes fine-tuning: --seq-len and --micro-batch set its sequences" if a.train
                else "it sizes fine-tuning: add --train, or use --context and --batch for inference")
        raise PlannerError(f"{given[0]} does not apply to fit {mode}; {hint}")
    if a.train:
        from .train import cmd_fit_train

        return cmd_fit_train(a)
    a.batch = 1 if a.batch is None else a.batch
    spec = _model(a)  # before pandas loads: an unknown model is reported at once
    gpu = resolve_sized_gpu(a)
    from ..fit import context_per_quant, explain, fit

    if a.gpu and a.context is None:
        if given := [f for f, v in (("--min-tokens-per-s", a.min_tokens_per_s), ("--top", a.top)) if v is not None]:
            from ..errors import PlannerError

            raise PlannerError(f"{given[0]} ranks GPU options at one context: give --context too (without it, fit "
                               "--gpu lists each format's largest context on that GPU)")
        df = context_per_quant(spec, gpu=gpu, batch=a.batch, quants=_quants(a), kv_dtype=a.kv_dtype)
        if a.json:
            return df.to_json(orient="records", indent=2)
        import pandas as pd

        from ..engines.vllm import VLLM_CURRENT, vllm_release, vllm_rules

        width = max(10, *(len(q) for q in df["quant"]))
        show = bool(df["vllm_max_model_len"].notna().any())
        util = vllm_rules(vllm_release(VLLM_CURRENT))["utilization"]
        lines = [f"{a.model} on {gpu_label(gpu)}: largest context per quantization (batch {a.batch}); the total and "
                 "the decode speed per sequence at that context. Max context as the plain model runs it: GGUF in "
                 "llama.cpp's 512-token ubatches, the others the whole prompt at once"
                 + (f"; vLLM: the longest --max-model-len vLLM {VLLM_CURRENT} starts with (its KV pool in {util:g} "
                    "of the GPU, prompts prefilled in chunks)" if show else ""),
                 *local_lines(gpu, a.unit),
                 f"  {'quant':<{width}} {'max context':>12} {'total':>14} {'decode tok/s':>18}"
                 + (f" {'vLLM':>9}" if show else "") + "  limited by"]
        for r in df.itertuples():
            total = format_bytes(r.total_bytes, a.unit) if r.max_context else "—"
            speed = (f"{r.decode_tokens_per_s:.1f}{_band(r.decode_typical_error)}" if r.max_context
                     and has_speed(gpu) else "—")
            vllm = "" if not show else f" {'—' if pd.isna(r.vllm_max_model_len) else f'{r.vllm_max_model_len:,}':>9}"
            lines.append(f"  {r.quant:<{width}} {r.max_context:>12,} {total:>14} {speed:>18}{vllm}  "
                         + (r.limited_by if r.max_context else "weights alone do not fit" if r.limited_by == "weights"
                            else "the weights fit, not with the runtime's overhead beside them"))
        from ..fit import not_on_apple

        apple = [f"note: {line}" for line in [not_on_apple(df)] if line]
        contexts = set(df.loc[df["max_context"] > 0, "max_context"])
        mixed = (["note: each speed is at its row's own largest context (a longer cache reads slower): --context N "
                  "ranks the formats at one context"] if len(contexts) > 1 and has_speed(gpu) else [])
        return "\n".join(lines + mixed + _fit_target_note(spec, df) + apple
                         + _no_gguf_note(spec, df["quant"], "", defaulted=True))
    where = local_lines(gpu, a.unit)  # a local GPU is one GPU: no tensor-parallel counts of it
    df = fit(spec, context=a.context, batch=a.batch, gpus=gpu if a.gpu else None, quants=_quants(a),
             kv_dtypes=None if a.kv_dtype is None else [a.kv_dtype], min_tokens_per_s=a.min_tokens_per_s,
             **({"gpu_counts": [1]} if where else {}))
    if a.json:
        return df.to_json(orient="records", indent=2)
    context = a.context or spec.max_context  # fit() plans the model's whole context where none is given
    if df.empty:
        which = (f"nothing on {gpu_label(gpu)} alone" if where else f"no count of {gpu_label(gpu)} up to 8" if a.gpu
                 else "no catalog GPU (up to 8 of a kind)")
        return "\n".join(where + [f"{which} fits this configuration" + (
            f" at ≥ {a.min_tokens_per_s:g} tokens/s" if a.min_tokens_per_s else "")])
    from ..engines.vllm import VLLM_CURRENT, vllm_release, vllm_rules
    from ..fit import fit_refusals, not_on_apple

    shown = df.head(15 if a.top is None else a.top)
    width = max(8, *(len(q) for q in shown["quant"]))
    lines = [f"{a.model}: GPUs and formats that fit {context:,} tokens"
             + ("" if a.context else " (the model's whole context: --context sets another)")
             + f" × batch {a.batch}; one GPU as the plain model runs it (the whole prompt at once), GGUF formats over "
             "several by layers as llama.cpp splits them, the others tensor parallel as vLLM "
             f"{VLLM_CURRENT} starts them with --max-model-len {context} (its other settings at their defaults)"
             ] + where + [
                     "ranked by GPU count, then memory per GPU (a proxy for price), then bits per weight, then "
                     "speed; tok/s per sequence at the full context",
                     f"{'gpu':<18} {'n':>2} {'split':<6} {'quant':<{width}} {'kv':<5} {'per GPU':>12} {'tok/s':>13}  "
                     "per-GPU breakdown"]
    for r in shown.itertuples():
        total = format_bytes(r.per_gpu_total_bytes, a.unit)
        speed = (f"{r.decode_tokens_per_s:.1f}{_band(r.decode_typical_error)}" if has_speed(gpu) else "—").rjust(13)
        split = r.split if r.n_gpus > 1 else "—"
        budget = f"; vLLM's budget {format_bytes(r.budget_bytes, a.unit)}" if r.split == "tensor" else ""
        lines.append(f"{r.gpu:<18} {r.n_gpus:>2} {split:<6} {r.quant:<{width}} {r.kv_dtype:<5} {total:>12} "
                     f"{speed}  {explain(r.per_gpu_bytes, a.unit)}{budget}")
    tensor = (shown["split"] == "tensor").any()
    utilization = vllm_rules(vllm_release(VLLM_CURRENT))["utilization"]
    notes = ([f"note: a tensor row's per GPU is what vLLM {VLLM_CURRENT} holds to its budget ({utilization:g} of "
              "each GPU's memory): the weights, its profile run's peak, its CUDA-graph estimate (overhead) and the "
              "KV blocks of the batch; the CUDA context and NCCL sit beside it"] if tensor else [])
    notes += [f"note: not ranked, as the engine refuses the split: {line}" for line in fit_refusals(df)]
    notes += [f"note: {line}" for line in [not_on_apple(shown, beside_apple_rows=True)] if line]
    return "\n".join(lines + _split_notes(shown) + notes + _no_gguf_note(spec, shown["quant"], "",
                                                                          defaulted=True))


def _quants(a) -> list[str] | None:
    """--quants as a list; None: fit's defaults."""
    if a.quants is None:
        return None
    if not a.quants.strip(","):
        from ..errors import PlannerError

        raise PlannerError(f"--quants needs one or more formats, comma-separated (e.g. fp8,awq,q4_k_m), got "
                           f"{a.quants!r}")
    return [q.strip() for q in a.quants.split(",") if q.strip()]


def _fit_target_note(spec, df) -> list[str]:
    """GGUF rows count to the GPU's last byte, as llama.cpp with every layer on the GPU runs; llama-server's default
    --fit keeps LLAMA_FIT_TARGET_BYTES free and would move layers to the CPU there: say so once."""
    from ..engines.llamacpp.fit import LLAMA_FIT_TARGET_BYTES
    from ..quant.catalog import is_gguf_weights

    if not any(is_gguf_weights(q, spec) and n for q, n in zip(df["quant"], df["max_context"], strict=True)):
        return []
    return [f"note: GGUF rows hold every layer on the GPU (llama-server -ngl all --fit off); its default --fit keeps "
            f"{LLAMA_FIT_TARGET_BYTES // 2**20} MiB free and, at a row's largest context, moves layers to the CPU "
            "instead: planner estimate ... --engine llama.cpp shows where they go"]


def _split_notes(rows) -> list[str]:
    """Under a fit table: what its tensor-parallel rows assume of their GPUs' link where a machine may differ
    (planner.perf.allreduce_note), each note once with the GPU counts it holds for."""
    from ..fit import fit_gpu
    from ..perf import allreduce_note

    notes: dict[str, list[str]] = {}
    for g, n in dict.fromkeys((r.gpu, r.n_gpus) for r in rows.itertuples() if r.n_gpus > 1 and r.split == "tensor"):
        if note := allreduce_note(fit_gpu(rows, g), n):
            notes.setdefault(note, []).append(f"{n} × {g}")
    return [f"  {', '.join(where)}: {note}" for note, where in notes.items()]


def _band(err) -> str:
    """' ±12 %': the check half's typical decode error of the row's engine and format (planner.efficiency.band)."""
    return "" if err is None or err != err else f" ±{100 * err:.0f} %"
