"""The checking verbs: validate (against the reference model, llama.cpp or transformers) and check-log."""

from __future__ import annotations

import json
from pathlib import Path

from ..errors import PlannerError
from ..paths import published_config
from ..units import format_bytes


def cmd_validate(a) -> str:
    if a.train:
        return _validate_training(a)
    if a.against == "llama.cpp":
        return _validate_llamacpp(a)
    if a.against == "transformers":
        return _validate_transformers(a)
    from ..validate import KEYS, append_records, validate

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

    from ..measure.llamacpp import measure, options_for
    from ..profiles import load_model

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
    o = r["options"]
    title = (f"{r['model']} — {r['quant']}, n_ctx {o['n_ctx']:,} ({o['n_parallel']} slot(s)), n_ubatch "
             f"{o['n_ubatch']}, flash attention {'on' if o['flash_attn'] else 'off'}, K {o['type_k']} V "
             f"{o['type_v']}; measured by llama.cpp on the CPU ({r['engine_version']})")
    return _report(a, r, title, "llama.cpp", "(model, KV and output: exact at the log's 0.01 MiB; compute: the graph "
                   "of a full GPU offload, computed here by the CPU)")


def _report(a, r: dict, title: str, runtime: str, footnote: str) -> str:
    """A measurement record: appended to --record, as JSON, or one line per component beside planner's figure."""
    from ..validate import append_records

    if a.record:
        append_records([r], a.record)
    if a.json:
        return json.dumps([r], indent=2)
    lines = [title, f"  {'component':<18} {'planner':>14} {runtime:>14} {'error':>8}"]
    for k, meas in r["measured"].items():
        if k not in r["estimated"]:
            continue
        mark = "" if r["within_tolerance"].get(k, True) else "  (outside tolerance)"
        lines.append(f"  {k.removesuffix('_bytes'):<18} {format_bytes(r['estimated'][k], a.unit):>14} "
                     f"{format_bytes(meas, a.unit):>14} {r['error_pct'].get(k, 0):+7.2f}%{mark}")
    return "\n".join([*lines, "  " + footnote])


def _config_of(model: str) -> tuple[str, dict]:
    """(bundled id, config.json) of MODEL: a config.json path, or a bundled model whose published config ships in
    this checkout (tests/fixtures/configs)."""
    from ..profiles import load_model

    path = Path(model)
    spec = load_model(model)  # a file that is no config.json is refused here, with the importer's reason
    if path.is_file():
        return str(path), json.loads(path.read_text())
    fixture = published_config(spec.name)
    if not fixture.is_file():
        raise PlannerError(f"--against transformers needs {spec.name}'s config.json: give its path as MODEL")
    return spec.name, json.loads(fixture.read_text())


def _validate_transformers(a) -> str:
    """planner validate MODEL --against transformers: transformers' own allocations beside planner's."""
    from importlib.util import find_spec

    from ..measure.transformers import record

    model, config = _config_of(a.model)
    if a.quant not in (None, "bf16") or a.kv_dtype not in (None, "bf16"):
        raise PlannerError("--against transformers measures the bf16 checkpoint with a bf16 cache: drop --quant and "
                           "--kv-dtype")
    if find_spec("transformers") is None:
        raise PlannerError("--against transformers needs transformers: pip install transformers")
    context = a.context or 4096
    r = record(model, config, context=context, batch=a.batch, attention=a.attention, cache=a.cache,
               max_cache_len=(a.max_cache_len or context) if a.cache == "static" else None)
    o = r["options"]
    title = (f"{r['model']} — bf16, context {o['context']:,}, batch {o['batch']}, {o['attention']}, "
             f"{o.get('cache', 'dynamic')} cache; measured with transformers {r['engine_version']} at full size under "
             "fake tensors")
    return _report(a, r, title, "transformers", "(weights and KV: exact; activation: the peak above them, prefill or "
                   "first decode step, within 5 %)")


def _validate_training(a) -> str:
    """planner validate MODEL --train: one training step measured in transformers + peft beside `planner train`."""
    from importlib.util import find_spec

    missing = [p for p in ("transformers", "peft", "bitsandbytes") if find_spec(p) is None]
    if missing:
        raise PlannerError(f"--train needs {', '.join(missing)}: pip install transformers peft bitsandbytes")
    from ..measure.training import record
    from ..training.validate import compare, modelled
    from ..validate import append_records

    model, config = _config_of(a.model)
    ckpt = a.method == "qlora" if a.gradient_checkpointing is None else a.gradient_checkpointing == "on"
    kw = {"method": a.method, "precision": a.precision, "optimizer": a.optimizer, "gradient_checkpointing": ckpt,
          "micro_batch": a.micro_batch, "seq_len": a.seq_len, "attention": a.attention}
    if a.method != "full":
        kw["lora_rank"] = a.rank
    import logging
    import warnings

    logging.getLogger("transformers").setLevel(logging.ERROR)  # deprecation and use_cache notices of the library
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = record(model, config, **kw)
    if a.record:
        append_records([r], a.record)
    if a.json:
        return json.dumps([r], indent=2)
    if (why := modelled(r)) is not None:
        return f"{model}: measured, but planner does not model this setup ({why})"
    lines = [f"{model} — {a.method}, {a.precision}, {a.optimizer}, micro-batch {a.micro_batch} × {a.seq_len:,} tokens"
             + (", gradient checkpointing" if ckpt else "") + "; measured with transformers "
             f"{r['versions']['transformers']} + peft {r['versions']['peft']} at full size under fake tensors",
             f"  {'figure':<22} {'planner':>14} {'measured':>14} {'error':>8}"]
    for key, (est, meas, err, ok) in compare(r).items():
        fmt = (lambda v: f"{v:,}") if key == "trainable_params" else (lambda v: format_bytes(v, a.unit))
        lines.append(f"  {key.removesuffix('_bytes'):<22} {fmt(est):>14} {fmt(meas):>14} {100 * err:+7.2f}%"
                     + ("" if ok else "  (outside tolerance)"))
    return "\n".join([*lines, "  (step2_peak: everything allocated at the steady-state step's peak, CUDA overhead "
                              "left out)"])


def cmd_check_log(a) -> str:
    """planner check-log FILE --model M: each figure of a llama.cpp or vLLM startup log beside planner's."""

    from ..measure.logs import check_log

    path = Path(a.file)
    if path.is_dir():
        raise PlannerError(f"{a.file!r} is a directory: give the log file itself")
    if not path.is_file():
        raise PlannerError(f"log file {a.file!r} not found")
    if path.stat().st_size > 50 * 2**20:
        raise PlannerError(f"{a.file}: {path.stat().st_size:,} bytes is more than the 50 MiB a startup log may have")
    r = check_log(path.read_text(encoding="utf-8", errors="replace"), a.model, quant=a.quant, gpu=a.gpu,
                  engine_version=a.engine_version)
    if a.json:
        import json

        return json.dumps({"model": r.model, "engine": r.engine, "settings": r.settings,
                           "rows": [{"figure": row.figure, "logged": row.logged, "planner": row.planner,
                                     "unit": row.unit, "error_pct": row.error_pct, "line": row.line, "note": row.note}
                                    for row in r.rows]}, indent=2, default=str)
    settings = ", ".join(f"{k} {v}" for k, v in r.settings.items() if v is not None)
    lines = [f"{r.model} — {r.engine} log ({settings})",
             f"  {'figure':<34} {'unit':<6} {'log':>12} {'planner':>12} {'error':>8}"]
    for row in r.rows:
        places = 0 if row.unit in ("tokens", "bytes", "blocks") else 2  # counts are whole
        planner = "—" if row.planner is None else f"{row.planner:,.{places}f}"
        err = "" if row.error_pct is None else f"{row.error_pct:+.1f}%"
        lines.append(f"  {row.figure:<34} {row.unit:<6} {row.logged:>12,.{places}f} {planner:>12} {err:>8}"
                     + (f"  ({row.note})" if row.note else ""))
    return "\n".join(lines)
