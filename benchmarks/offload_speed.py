"""llama.cpp with experts in system RAM (--n-cpu-moe, -ot …=CPU) against published runs.

    python benchmarks/offload_speed.py

Rows: benchmarks/data/offload_runs.jsonl (each with its source and the printed line it comes from). planner's
prompt speed is its all-on-GPU prefill of the ubatches plus one copy of the matrices kept in system RAM per ubatch
at the PCIe link's datasheet speed (op offload); its decode reads the experts a token touches from system RAM.
Nothing here was fitted to these runs: they are a check.
"""

from __future__ import annotations

import json
from pathlib import Path
from statistics import median

from planner import estimate

DATA = Path(__file__).resolve().parent / "data" / "offload_runs.jsonl"


def rows() -> list[dict]:
    return [json.loads(line) for line in DATA.read_text().splitlines() if line.strip()]


def predicted(r: dict):
    """planner's estimate for a row, configured as the run was."""
    kw = dict(quant=r["quant"], engine="llama.cpp", gpu=r["gpu"], prompt=r["prompt_tokens"],
              context=r["prompt_tokens"] + 128, n_gpu_layers=r["n_gpu_layers"], n_ubatch=r["n_ubatch"],
              n_batch=max(r["n_batch"], r["n_ubatch"]))
    for key in ("n_cpu_moe", "override_tensor", "flash_attn"):
        if r.get(key) is not None:
            kw[key] = r[key]
    if r.get("build"):
        kw["engine_version"] = f"b{r['build']}"
    if r.get("host_bandwidth"):  # the machine's system RAM, where the source describes it
        kw["host_bandwidth_bytes_per_s"] = r["host_bandwidth"]
    return estimate(r["model"], **kw)


def errors() -> list[dict]:
    out = []
    for r in rows():
        p = predicted(r).performance
        pp = r["prompt_tokens"] / p.prefill_seconds
        tg = None if not r.get("tg_tokens_per_s") or r.get("tg_excluded") else p.decode_tokens_per_s
        out.append({"row": r, "pp": pp, "pp_error": pp / r["pp_tokens_per_s"] - 1, "tg": tg,
                    "tg_error": None if tg is None else tg / r["tg_tokens_per_s"] - 1})
    return out


def main() -> None:
    errs = errors()
    for x in errs:
        r = x["row"]
        moved = (f"--n-cpu-moe {r['n_cpu_moe']}" if r.get("n_cpu_moe") is not None
                 else "-ot " + " ".join(r["override_tensor"]))
        tg = "" if x["tg_error"] is None else \
            f"  decode {r['tg_tokens_per_s']:6.2f} vs {x['tg']:6.2f} ({100 * x['tg_error']:+.0f} %)"
        print(f"{r['model']:24s} {r['quant']:10s} {r['gpu']:10s} -ub {r['n_ubatch']:<5d} pp{r['prompt_tokens']:<5d} "
              f"prompt {r['pp_tokens_per_s']:8.1f} vs {x['pp']:8.1f} tok/s ({100 * x['pp_error']:+.0f} %){tg}  {moved}")
    pp = [abs(x["pp_error"]) for x in errs]
    tg = [abs(x["tg_error"]) for x in errs if x["tg_error"] is not None]
    sound = [abs(x["pp_error"]) for x in errs if not x["row"].get("tg_excluded")]
    print(f"\n{len(errs)} runs from {len({x['row']['source'] for x in errs})} sources: prompt speed median |error| "
          f"{100 * median(pp):.0f} %, {sum(e <= 0.3 for e in pp)} of {len(pp)} within 30 % "
          f"({100 * median(sound):.0f} % over the {len(sound)} not from a machine that was likely paging); "
          f"decode ({len(tg)} runs) median |error| {100 * median(tg):.0f} %")


if __name__ == "__main__":
    main()
