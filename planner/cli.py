"""Command line: verbs mapped to plain functions. User errors: one line on stderr, exit code 2."""

from __future__ import annotations

import argparse
import json
import os
import sys

from .errors import PlannerError
from .units import UNIT_BYTES, format_bytes, parse_unit


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, exit 2, no usage dump
        raise PlannerError(f"{self.prog}: {message}")


def parse_tokens(text: str) -> int:
    """'8192', '8K' (= 8192), '128k', '1M' (= 1,048,576) → tokens."""
    s = str(text).strip().lower().replace("_", "").replace(",", "")
    mult = {"k": 1024, "m": 1024**2}.get(s[-1:], 1)
    digits = s[:-1] if mult > 1 else s
    if not digits.isdigit():
        raise argparse.ArgumentTypeError(f"invalid token count {text!r} (use e.g. 8192 or 8K)")
    return int(digits) * mult


def _unit(text: str) -> str:
    try:
        return parse_unit(text)
    except PlannerError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def _positive(text: str) -> int:
    n = parse_tokens(text)
    if n < 1:
        raise argparse.ArgumentTypeError(f"must be ≥ 1, got {text!r}")
    return n


def _rate(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"must be a finite number > 0, got {text!r}")
    return value


def cmd_estimate(a) -> str:
    from .estimate import estimate

    options = {k: v for k, v in {
        "max_model_len": a.max_model_len, "gpu_memory_utilization": a.gpu_memory_utilization,
        "max_num_batched_tokens": a.max_num_batched_tokens, "max_num_seqs": a.max_num_seqs,
        "block_size": a.block_size, "n_batch": a.n_batch, "n_ubatch": a.n_ubatch,
        "flash_attn": None if a.flash_attn is None else a.flash_attn == "on", "n_gpu_layers": a.n_gpu_layers,
        "n_parallel": a.parallel, "n_ctx": a.n_ctx, "type_v": a.type_v}.items() if v is not None}
    e = estimate(a.model, quant=a.quant, kv_dtype=a.kv_dtype, context=a.context, batch=a.batch, chunk=a.chunk,
                 attention=a.attention, logits=a.logits, runtime=a.runtime, cap_sliding=not a.no_cap_sliding,
                 gpu=a.gpu, engine=a.engine, prompt=a.prompt, **options)
    if a.json:
        return json.dumps(e.to_dict(), indent=2)
    w = e.workload
    lines = [f"{e.model} — {w.quant} weights, {w.kv_dtype} KV cache, context {w.context:,}, batch {w.batch}, "
             f"{w.attention} attention" + (f", {e.engine} engine" if e.engine else "")]
    for label, total, parts in (("weights", e.weights_bytes, e.breakdown["weights"]),
                                ("kv cache", e.kv_cache_bytes, {}),
                                ("activations", e.activation_bytes, e.breakdown["activation"]),
                                ("overhead", e.overhead_bytes, e.breakdown["overhead"])):
        lines.append(f"  {label:<12} {format_bytes(total, a.unit):>14}")
        lines += [f"    {k:<18} {format_bytes(v, a.unit):>12}" for k, v in parts.items() if v]
    lines.append(f"  {'total':<12} {format_bytes(e.total_bytes, a.unit):>14}")
    lines += _engine_lines(e, a.unit)
    if (p := e.performance) is not None and not p.fits:
        lines.append(f"{p.gpu}: does NOT fit: {p.reason}")
    elif e.engine_refusal is not None:
        lines.append(f"{e.engine}: {e.engine_refusal}")
    if p is not None and p.fits:
        lines += [f"{p.gpu}: fits in {format_bytes(p.usable_memory_bytes, a.unit)} "
                  f"({format_bytes(p.headroom_bytes, a.unit)} headroom)",
                  f"  time to first token ({p.prompt_tokens:,}-token prompt): "
                  + (f"{p.prefill_seconds:.3f} s" if p.prefill_seconds is not None else
                     "unknown (no FLOP/s figure in this GPU's datasheet)"),
                  f"  decode: {p.decode_tokens_per_s:.1f} tokens/s per sequence, "
                  f"{p.throughput_tokens_per_s:.1f} tokens/s for the batch ({p.engine} efficiency)"]
    return "\n".join(lines)


def _engine_lines(e, unit: str) -> list[str]:
    d = e.engine_details
    if e.engine == "vllm":
        return [f"vLLM: budget {format_bytes(d['requested_bytes'], unit)} = {d['gpu_memory_utilization']:g} × GPU "
                f"memory; available KV cache memory {format_bytes(d['available_kv_bytes'], unit)}",
                f"  GPU KV cache size: {d['kv_tokens']:,} tokens ({d['kv_blocks']:,} blocks of {d['block_size']})",
                f"  maximum concurrency for {d['max_model_len']:,} tokens per request: {d['max_concurrency']:.2f}x"]
    if e.engine == "llama.cpp":
        mib = 2**20
        fa = "on" if d["flash_attn"] else "off"
        return [f"llama.cpp: n_ctx {d['n_ctx']:,} over {d['n_parallel']} slot(s), {d['kv_cells']:,} KV cells, "
                f"K ({d['type_k']}) {d['kv_k_bytes'] / mib:.2f} MiB, "
                f"V ({d['type_v']}) {d['kv_v_bytes'] / mib:.2f} MiB; flash attention {fa}",
                f"  host (system RAM): weights {d['host_weights_bytes'] / mib:.2f} MiB, "
                f"KV {d['host_kv_bytes'] / mib:.2f} MiB, compute {d['host_compute_bytes'] / mib:.2f} MiB, "
                f"output {d['host_output_bytes'] / mib:.2f} MiB"]
    return []


def cmd_table(a) -> str:
    from .profiles import load_model

    spec = load_model(a.model)  # before pandas loads: an unknown model is reported at once
    from .sweep import TABLE_QUANTS, table

    quants = a.quants.split(",") if a.quants else TABLE_QUANTS
    df = table(spec, quants=quants, contexts=a.contexts, unit=a.unit, batch=a.batch, kv_dtype=a.kv_dtype)
    if a.csv:
        return df.to_csv(float_format="%.3f").rstrip()
    head = (f"{spec.name}: total memory ({a.unit}) by quantization × context, batch {a.batch}, "
            f"KV {a.kv_dtype or 'bf16/fp16'}, incl. activations and CUDA overhead")
    return head + "\n" + df.to_string(float_format=lambda v: f"{v:.2f}")


def cmd_fit(a) -> str:
    from .profiles import load_model

    load_model(a.model)  # before pandas loads: an unknown model is reported at once
    from .fit import context_per_quant, fit

    if a.gpu and a.context is None:
        df = context_per_quant(a.model, gpu=a.gpu, batch=a.batch)
        if a.json:
            return df.to_json(orient="records", indent=2)
        lines = [f"{a.model} on {a.gpu}: largest context per quantization (batch {a.batch})",
                 f"  {'quant':<10} {'max context':>12} {'total':>14} {'decode tok/s':>13}  limited by"]
        for r in df.itertuples():
            total = format_bytes(r.total_bytes, a.unit) if r.max_context else "—"
            speed = f"{r.decode_tokens_per_s:.1f}" if r.max_context else "—"
            lines.append(f"  {r.quant:<10} {r.max_context:>12,} {total:>14} {speed:>13}  "
                         f"{r.limited_by if r.max_context else 'weights alone do not fit'}")
        return "\n".join(lines)
    df = fit(a.model, context=a.context, batch=a.batch, gpus=[a.gpu] if a.gpu else None,
             min_tokens_per_s=a.min_tokens_per_s)
    if a.json:
        return df.to_json(orient="records", indent=2)
    if df.empty:
        return "no catalog GPU (up to 8 of a kind) fits this configuration" + (
            f" at ≥ {a.min_tokens_per_s:g} tokens/s" if a.min_tokens_per_s else "")
    lines = [f"{'gpu':<18} {'n':>2} {'quant':<8} {'kv':<5} {'per GPU':>12} {'tok/s':>8}  per-GPU breakdown"]
    for r in df.head(a.top).itertuples():
        total = format_bytes(r.per_gpu_total_bytes, a.unit)
        lines.append(f"{r.gpu:<18} {r.n_gpus:>2} {r.quant:<8} {r.kv_dtype:<5} {total:>12} "
                     f"{r.decode_tokens_per_s:>8.1f}  {r.explanation}")
    return "\n".join(lines)


def cmd_validate(a) -> str:
    if a.against == "llama.cpp":
        return _validate_llamacpp(a)
    from .validate import KEYS, append_records, validate

    r = validate(a.model, mode=a.mode, quant=a.quant, kv_dtype=a.kv_dtype, context=a.context, batch=a.batch,
                 attention=a.attention, chunk=a.chunk)
    if a.record:
        append_records([r], a.record)
    if a.json:
        return json.dumps([r], indent=2)
    w = r["workload"]
    lines = [f"{r['model']} — {w['quant']} weights, {w['kv_dtype']} KV, context {w['context']:,}, batch {w['batch']}, "
             f"{w['attention']}; measured on the reference model in {r['mode']} mode ({r['device']})",
             f"  {'component':<18} {'estimated':>14} {'measured':>14} {'error':>8}"]
    for k in KEYS:
        est, meas, err = r["estimated"][k], r["measured"][k], r["error"][k]
        lines.append(f"  {k.removesuffix('_bytes'):<18} {format_bytes(est, a.unit):>14} "
                     f"{format_bytes(meas, a.unit):>14} {'' if err is None else f'{100 * err:+.1f}%':>8}")
    if r["mode"] != "cuda":
        lines.append("  (CUDA overhead left out: nothing to measure it against off a GPU)")
    return "\n".join(lines)


def _validate_llamacpp(a) -> str:
    """planner validate MODEL --against llama.cpp: llama.cpp's own buffer sizes beside planner's."""
    import tempfile

    from .measure.llamacpp import measure, options_for
    from .profiles import load_model
    from .validate import append_records

    spec = load_model(a.model)
    context = a.context or min(4096, spec.max_context)
    opts = options_for(spec, context=context, n_parallel=a.n_parallel, n_ubatch=a.n_ubatch,
                       flash_attn=a.flash_attn != "off", type_k=a.kv_dtype or "fp16", type_v=a.type_v)
    try:
        import gguf  # noqa: F401
        import llama_cpp  # noqa: F401
    except ImportError:
        raise PlannerError("--against llama.cpp needs llama-cpp-python and gguf: pip install llama-cpp-python gguf "
                           "(builds llama.cpp from source)") from None
    with tempfile.TemporaryDirectory() as work:
        r = measure(spec, a.quant or "q4_k_m", opts, workdir=work)
    if a.record:
        append_records([r], a.record)
    if a.json:
        return json.dumps([r], indent=2)
    o = r["options"]
    lines = [f"{r['model']} — {r['quant']}, n_ctx {o['n_ctx']:,} ({o['n_parallel']} slot(s)), n_ubatch "
             f"{o['n_ubatch']}, flash attention {'on' if o['flash_attn'] else 'off'}, K {o['type_k']} V "
             f"{o['type_v']}; measured by llama.cpp on the CPU ({r['engine_version']})",
             f"  {'buffer':<10} {'planner':>14} {'llama.cpp':>14} {'error':>8}"]
    for k, meas in r["measured"].items():
        est = r["estimated"][k]
        mark = "" if r["within_tolerance"][k] else "  (outside tolerance)"
        lines.append(f"  {k.removesuffix('_bytes'):<10} {format_bytes(est, a.unit):>14} "
                     f"{format_bytes(meas, a.unit):>14} {r['error_pct'].get(k, 0):+7.2f}%{mark}")
    lines.append("  (model, KV and output: exact at the log's 0.01 MiB; compute: the graph of a full GPU offload, "
                 "computed here by the CPU)")
    return "\n".join(lines)


def cmd_check_log(a) -> str:
    """planner check-log FILE --model M: each figure of a llama.cpp or vLLM startup log beside planner's."""
    from pathlib import Path

    from .measure.logs import check_log

    path = Path(a.file)
    if not path.is_file():
        raise PlannerError(f"log file {a.file!r} not found")
    if path.stat().st_size > 50 * 2**20:
        raise PlannerError(f"{a.file}: {path.stat().st_size:,} bytes is more than the 50 MiB a startup log may have")
    r = check_log(path.read_text(encoding="utf-8", errors="replace"), a.model, quant=a.quant, gpu=a.gpu)
    settings = ", ".join(f"{k} {v}" for k, v in r.settings.items() if v is not None)
    lines = [f"{r.model} — {r.engine} log ({settings})", f"  {'figure':<34} {'log':>12} {'planner':>12} {'error':>8}"]
    for row in r.rows:
        planner = "—" if row.planner is None else f"{row.planner:,.2f}"
        err = "" if row.error_pct is None else f"{row.error_pct:+.1f}%"
        lines.append(f"  {row.figure:<34} {row.logged:>12,.2f} {planner:>12} {err:>8} {row.unit}"
                     + (f"  ({row.note})" if row.note else ""))
    return "\n".join(lines)


def cmd_gpus(a) -> str:
    from .gpus import list_gpus, load_gpu

    rows = [f"{'id':<18} {'usable mem':>12} {'bandwidth':>12} {'16-bit TFLOP/s':>14}  name",
            "  (dense peaks; fp32 where the datasheet gives no 16-bit figure)"]
    for gid in list_gpus():
        g = load_gpu(gid)
        peak = g.peak_flops("bf16")
        flops = f"{peak / 1e12:>14.1f}" if peak else f"{'—':>14}"
        rows.append(f"{gid:<18} {format_bytes(g.usable_memory_bytes, a.unit):>12} "
                    f"{g.memory_bandwidth_bytes_per_s / 1e9:>8.0f} GB/s {flops}  {g.name}")
    return "\n".join(rows)


def cmd_models(a) -> str:
    from .profiles import bundled_profiles

    rows = [f"{'model':<44} {'params':>10} {'context':>9}  type"]
    for name, s in sorted(bundled_profiles().items(), key=lambda kv: kv[0].lower()):
        kind = f"MoE {s.moe.experts_per_token}/{s.moe.n_experts}" if s.moe else "dense"
        rows.append(f"{name:<44} {s.param_count / 1e9:>9.2f}B {s.max_context:>9,}  {kind}")
    return "\n".join(rows)


def cmd_quants(a) -> str:
    from .kv import kv_dtype_names
    from .quant.catalog import get_quant, quant_names

    rows = [f"{'name':<18} description"]
    rows += [f"{n:<18} {get_quant(n).description}" for n in quant_names()]
    rows.append(f"\nKV-cache dtypes: {', '.join(kv_dtype_names())}")
    return "\n".join(rows)


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="planner", description="LLM memory planner: will model X at quantization Y fit?")
    sub = p.add_subparsers(dest="verb", required=True, parser_class=_Parser)

    e = sub.add_parser("estimate", help="memory for one configuration, by component")
    e.add_argument("model", help="Hugging Face id, short name, or path to a config.json / model folder")
    e.add_argument("--quant", help="weights format (default: the checkpoint's own); see `planner quants`")
    e.add_argument("--kv-dtype", help="KV-cache dtype: fp16, bf16, fp8, int8, int4, q8_0, q4_0, fp32")
    e.add_argument("--context", type=_positive, help="tokens per sequence, e.g. 8192 or 8K (default 4K)")
    e.add_argument("--batch", type=_positive, default=1, help="concurrent sequences (default 1)")
    e.add_argument("--chunk", type=_positive, help="chunked-prefill size in tokens (default: whole prompt)")
    e.add_argument("--attention", default="sdpa", choices=["sdpa", "eager"])
    e.add_argument("--logits", default="last", choices=["last", "all"], help="logits for the last or all positions")
    e.add_argument("--runtime", default="cuda", choices=["cuda", "none"], help="'none' leaves out CUDA overhead")
    e.add_argument("--no-cap-sliding", action="store_true", help="keep all tokens on sliding-window layers")
    e.add_argument("--unit", type=_unit, default="GiB", help=f"one of {', '.join(UNIT_BYTES)} (default GiB)")
    e.add_argument("--gpu", help="catalog GPU id (see `planner gpus`): adds fit, time to first token, tokens/s")
    e.add_argument("--engine", choices=["vllm", "llama.cpp", "transformers"],
                   help="what that engine allocates (default: the plain analytic model)")
    e.add_argument("--max-model-len", type=_positive, help="vllm: max_model_len (default: the model's maximum)")
    e.add_argument("--gpu-memory-utilization", type=_rate, help="vllm: share of GPU memory (default 0.9)")
    e.add_argument("--max-num-batched-tokens", type=_positive, help="vllm: profile-run tokens (default 2048)")
    e.add_argument("--max-num-seqs", type=_positive, help="vllm: default 256")
    e.add_argument("--block-size", type=_positive, help="vllm: KV block size (default 16; MLA 64)")
    e.add_argument("--n-batch", type=_positive, help="llama.cpp: default 2048")
    e.add_argument("--n-ubatch", type=_positive, help="llama.cpp: default 512")
    e.add_argument("--flash-attn", choices=["on", "off"], help="llama.cpp: default on")
    e.add_argument("--n-gpu-layers", type=int, help="llama.cpp -ngl: default all")
    e.add_argument("--parallel", type=_positive, help="llama.cpp --parallel slots (default: --batch)")
    e.add_argument("--n-ctx", type=_positive, help="llama.cpp -c: cells of all slots (default: context × slots)")
    e.add_argument("--type-v", help="llama.cpp V cache type (default: --kv-dtype)")
    e.add_argument("--prompt", type=_positive, help="prompt tokens for time to first token (default: context)")
    e.add_argument("--json", action="store_true", help="print the result as JSON (bytes)")
    e.set_defaults(func=cmd_estimate)

    f = sub.add_parser("fit", help="largest context per quantization on a GPU, or which GPUs fit")
    f.add_argument("model")
    f.add_argument("--gpu", help="catalog GPU id; without --context: the largest context per quantization")
    f.add_argument("--context", type=_positive, help="tokens per sequence: rank GPUs/quantizations that fit")
    f.add_argument("--batch", type=_positive, default=1)
    f.add_argument("--min-tokens-per-s", type=_rate, help="only options at least this fast (per sequence)")
    f.add_argument("--top", type=_positive, default=15, help="rows to show (default 15)")
    f.add_argument("--unit", type=_unit, default="GiB")
    f.add_argument("--json", action="store_true")
    f.set_defaults(func=cmd_fit)

    t = sub.add_parser("table", help="total memory by quantization × context length")
    t.add_argument("model")
    t.add_argument("--unit", type=_unit, default="GiB", help="GiB (2^30 bytes) or GB (10^9 bytes)")
    t.add_argument("--batch", type=_positive, default=1)
    t.add_argument("--kv-dtype")
    t.add_argument("--quants", help="comma-separated formats (default bf16,q8_0,q6_k,q5_k_m,q4_k_m,q3_k_m,q2_k)")
    t.add_argument("--contexts", type=_positive, nargs="+", help="context lengths (default 1K, 2K, … max)")
    t.add_argument("--csv", action="store_true", help="print CSV")
    t.set_defaults(func=cmd_table)

    v = sub.add_parser("validate", help="estimate vs the PyTorch reference model (needs torch)")
    v.add_argument("model")
    v.add_argument("--mode", choices=["fake", "cpu", "cuda"], default="fake",
                   help="fake: full size, no memory used; cpu: a real run (small models); cuda: a real GPU run")
    v.add_argument("--quant")
    v.add_argument("--kv-dtype")
    v.add_argument("--context", type=_positive)
    v.add_argument("--batch", type=_positive, default=1)
    v.add_argument("--attention", default="sdpa", choices=["sdpa", "eager"])
    v.add_argument("--chunk", type=_positive)
    v.add_argument("--unit", type=_unit, default="GiB")
    v.add_argument("--json", action="store_true", help="print a list of records")
    v.add_argument("--record", help="append the record to this JSONL file (e.g. profiles/measurements/x.jsonl)")
    v.add_argument("--against", choices=["reference", "llama.cpp"], default="reference",
                   help="reference: planner's PyTorch model; llama.cpp: llama.cpp itself on the CPU (needs "
                        "llama-cpp-python and gguf)")
    v.add_argument("--n-ubatch", type=_positive, default=512, help="llama.cpp: default 512")
    v.add_argument("--flash-attn", choices=["on", "off"], default="on", help="llama.cpp: default on")
    v.add_argument("--type-v", help="llama.cpp V cache type (default: --kv-dtype)")
    v.add_argument("--n-parallel", type=_positive, default=1, help="llama.cpp slots (n_ctx = context × slots)")
    v.set_defaults(func=cmd_validate)

    cl = sub.add_parser("check-log", help="a llama.cpp/Ollama, vLLM or SGLang startup log's figures beside planner's")
    cl.add_argument("file", help="the log, as the engine printed it")
    cl.add_argument("--model", help="the model, when the log does not name it (bundled name, Hub id or config path)")
    cl.add_argument("--quant", help="weights format (llama.cpp: default the log's file type)")
    cl.add_argument("--gpu", help="catalog GPU id, when the log names neither the GPU nor its total (vLLM)")
    cl.set_defaults(func=cmd_check_log)

    sub.add_parser("models", help="list bundled model profiles").set_defaults(func=cmd_models)
    sub.add_parser("quants", help="list quantization formats").set_defaults(func=cmd_quants)
    gp = sub.add_parser("gpus", help="list the GPU catalog")
    gp.add_argument("--unit", type=_unit, default="GiB")
    gp.set_defaults(func=cmd_gpus)
    return p


def main(argv: list[str] | None = None) -> int:
    """Run one verb. Exit codes: 0 done, 2 a user error (one line on stderr), 1 a bug in planner (one line; set
    PLANNER_DEBUG=1 for the traceback), 130 interrupted."""
    try:
        args = build_parser().parse_args(argv)
        print(args.func(args))
    except PlannerError as e:
        print(f"planner: error: {' '.join(str(e).split())}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        return 0
    except KeyboardInterrupt:
        return 130
    except Exception as e:  # a bug: say so in one line instead of a traceback, unless asked for it
        if os.environ.get("PLANNER_DEBUG"):
            raise
        print(f"planner: internal error ({type(e).__name__}); please report it with the command line "
              "(PLANNER_DEBUG=1 shows the traceback)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
