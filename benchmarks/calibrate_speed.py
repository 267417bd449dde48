"""Fit profiles/efficiency.yaml on the calibration half of the published runs; measure it on the check half.

    python benchmarks/calibrate_speed.py          # refit, rewrite profiles/efficiency.yaml, print both halves

Each calibration run implies an efficiency: decode — the published tokens/s over planner's tokens/s at 100 % of
datasheet bandwidth (batch-1 decode is memory-bound); prefill — planner's time to first token at 100 % of peak
FLOP/s over the published one (runs whose ideal compute takes at least MIN_PREFILL_COMPUTE_S: compute-bound).
An entry is the median of its sources' medians (each document one vote), written only where at least MIN_RUNS
runs back it, from at least MIN_SOURCES sources for an engine's own key and MIN_GROUP_SOURCES for a group's; coarser
keys (any GPU class, the engine's group) are fitted the same way, and a lookup falls back to them
(planner/efficiency.py). Graph-launched and compiled engines also add a per-layer time to every step: one value,
chosen on OVERHEAD_GRID by the calibration half's decode error with everything refitted at each value; vLLM's V0
engine loop its host time per step (SYNC_LOOP_GRID, likewise on vLLM's decode runs). The MoE split time per routed
expert and a served request's latency are medians over sources per engine, its group and "default". The check half
then gives each engine × weight-family class its typical error, the band every speed figure carries.
No per-model or per-run constants: only engine, backend, weight family and GPU class.
"""

from __future__ import annotations

import sys
from collections import defaultdict
from pathlib import Path
from statistics import median

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from speed_data import ROOT, build_of, half, load_rows, predict, served, source_id, spec_of  # noqa: E402

from planner.efficiency import ANY, SPEED_ENGINES, default_backend, family, gpu_class, trial  # noqa: E402
from planner.gpus import load_gpu  # noqa: E402
from planner.perf import llamacpp_prefill_family  # noqa: E402

OUT = ROOT / "profiles" / "efficiency.yaml"
# An entry needs MIN_RUNS runs; an engine's own entry one source, a group's (compiled) MIN_GROUP_SOURCES, since it
# answers for engines it has never seen. Each source (document) is one vote: an entry is the median of its sources'
# medians, so one long table cannot outvote the others.
MIN_RUNS, MIN_SOURCES, MIN_GROUP_SOURCES = 3, 1, 2
# A prefill run calibrates compute efficiency only if its ideal compute time (100 % of peak) is at least this long:
# shorter requests are dominated by a fixed per-request latency (scheduling, tokenization, the HTTP round trip of a
# served benchmark), e.g. SGLang's 610-token DeepSeek-V3 runs on 8 × B200 (13 ms of ideal compute, 126–153 ms
# measured) or NIM's 500-token Llama-3.1-70B (21 ms, 48 ms), and would read as a tiny compute efficiency.
MIN_PREFILL_COMPUTE_S = 0.05
# Likewise a run calibrates nothing if its decode bytes, moved at the full datasheet bandwidth, would take less than
# this share of its measured step: the step waits on something planner does not model (expert routing, per-layer
# launches and syncs across 8 GPUs), and a bandwidth share or a request latency fitted to it would carry that
# latency to models without it (a dense Llama-3.1-8B fp8 on SGLang took the 0.07 of DeepSeek-V3's TP8 runs). On the
# calibration half this sets aside 7 runs, all MoE models at batch 1 on 8 GPUs under a compiled engine (2–7 % of the
# step); the llama.cpp runs with the least bound (12–25 %: MoE or 1-bit weights on one GPU) stay.
MIN_DECODE_BYTES_SHARE = 0.1
# Eager engines (Hugging Face transformers' generate(), and AutoAWQ, whose fused modules run in it): a decode step is
# bounded below by the time its kernels take to launch, layer by layer, not only by bytes. Their runs set that floor
# instead of a bandwidth share: a run is launch-bound when even the prior bandwidth share (DEFAULT's decode_memory)
# would move its bytes in under half the measured step; the floor is the median of measured step ÷ layers over those
# runs.
EAGER = {"transformers", "autoawq"}
# Graph-launched and compiled engines: each layer adds a fixed time to every step (short kernels, syncs). One value
# for all of them, chosen on this grid by the calibration half's decode error with the efficiencies refitted at each.
OVERHEAD_GRID = (0.0, 10e-6, 20e-6, 30e-6, 40e-6, 50e-6, 60e-6, 75e-6, 100e-6)
# Prefill steps run outside the decode's captured graphs: the same engines' per-layer time on a prefill step, chosen
# per engine group on this grid (None: the decode's) by the group's calibration time to first token, everything
# refitted at each value.
PREFILL_OVERHEAD_GRID = (None, 60e-6, 80e-6, 100e-6, 150e-6, 200e-6, 300e-6)
PREFILL_GROUPS = ("compiled", "llama.cpp")  # each its own value: llama.cpp's micro-batches are not graph-bound alike
# vLLM's V0 engine (before 0.8.0; planner.engines.vllm.vllm_synchronous_loop) schedules, prepares inputs, samples and
# processes outputs between GPU steps (vLLM's own profile of v0.5.3, Llama-3-8B on an H100: the HTTP server 33 % and
# scheduling 29 % of the time; blog.vllm.ai 2024-09-05 "vLLM v0.6.0: 2.7x Throughput Improvement"); V1 overlaps that
# work with the GPU. The time it adds to every step, chosen on this grid by the calibration half's vLLM decode error
# with everything refitted at each value.
SYNC_LOOP_GRID = (0.0, 0.5e-3, 1e-3, 1.5e-3, 2e-3, 2.5e-3, 3e-3, 4e-3)
# MoE prefill: a routed expert's matmul runs in tiles of this many token rows (planner.perf.moe_padding_flops). One
# value for all engines, chosen on this grid (None: no tiling) by the calibration half's time-to-first-token error with
# everything refitted at each value.
MOE_TILE_GRID = (None, 8, 16, 32, 64, 128, 256)
DEFAULT = {"engine": "default", "decode_memory": 0.685, "prefill_compute": 0.5,
           "derivation": "a prior where no calibrated entry applies: decode as gpt-fast's compiled bf16 decode on an "
                         "A100 (1397 / 2039 GB/s, reference-data.md), prefill half of dense peak",
           "sources": ["../shared/reference-data.md (gpt-fast README)"]}
HEADER = """\
# Speed efficiencies: the share of datasheet memory bandwidth a batch-1 decode reaches (decode_memory) and the share
# of dense peak FLOP/s a prefill reaches (prefill_compute), by engine (llama.cpp also by backend), weight-format
# family (float, fp8, int8, int4, gguf) and GPU class (hbm, gddr, apple); "any" matches all. planner/efficiency.py
# looks them up with a fallback order. GENERATED by benchmarks/calibrate_speed.py from the calibration half of
# benchmarks/data (split by source, fixed: benchmarks/speed_data.py) and ../shared/reference-data.md; do not edit
# by hand. bands: the check half's median |error| per engine × family, shown with every speed figure.
"""


def key_of(row: dict, *, prefill: bool = False) -> tuple[str, str, str, str]:
    """(engine, backend, weight family, GPU class) of a run; prefill: the family of the kernels its prefill runs
    (llama.cpp's cuBLAS path runs dequantized GGUF weights as float ones: planner.perf.llamacpp_prefill_family)."""
    spec = spec_of(row)
    g = load_gpu(row["gpu"])
    backend = (row.get("backend") or default_backend(g)) if row["engine"] == "llama.cpp" else ANY
    fam = family(row["quant"], spec)
    if prefill:
        fam = llamacpp_prefill_family(row["quant"], g, backend, build_of(row), engine=row["engine"]) or fam
    return row["engine"], backend, fam, gpu_class(g)


def implied(rows: list[dict]) -> dict[str, list[tuple[tuple, float, str]]]:
    """Per quantity, (key, implied efficiency, source) of every calibration run.

    planner's time at efficiency η is fixed + work/η (the work: bytes at the decode share, FLOPs at the prefill share;
    fixed: the layers' overhead, all-reduces, micro-batch pipelining), so two predictions, at η = 1 and η = ½, give
    both parts, and the run implies η = work / (measured − fixed)."""
    out = defaultdict(list)
    for r in rows:
        at_full = predict(r, efficiency=1.0, prefill_efficiency=1.0)
        at_half = predict(r, efficiency=0.5, prefill_efficiency=0.5)
        k = key_of(r)
        if "decode" in at_full and r["engine"] not in EAGER:
            (full, meas, _), (half_, _, _) = at_full["decode"], at_half["decode"]
            if _bytes_share(full, half_, meas) >= MIN_DECODE_BYTES_SHARE:
                out["decode_memory"].append((k, _share(1 / full, 1 / half_, 1 / meas), source_id(r["source"])))
        if "ttft" in at_full:
            (full, meas, _), (half_, _, _) = at_full["ttft"], at_half["ttft"]
            if half_ - full >= MIN_PREFILL_COMPUTE_S:  # the ideal compute's time (work at η = 1)
                out["prefill_compute"].append((key_of(r, prefill=True), _share(full, half_, meas),
                                               source_id(r["source"])))
    return out


def latency_bound(row: dict) -> bool:
    """Whether the run's decode bytes at η = 1 take under MIN_DECODE_BYTES_SHARE of its measured step."""
    at_full = predict(row, efficiency=1.0, prefill_efficiency=1.0).get("decode")
    if at_full is None or row["engine"] in EAGER:
        return False
    full, meas, _ = at_full
    half_ = predict(row, efficiency=0.5, prefill_efficiency=0.5)["decode"][0]
    return _bytes_share(full, half_, meas) < MIN_DECODE_BYTES_SHARE


def _bytes_share(full: float, half_: float, measured: float) -> float:
    """From planner's decode tokens/s at η = 1 and η = ½ and the measured one: the bytes' time at η = 1 (the
    difference of the two steps) as a share of the measured step."""
    return (1 / half_ - 1 / full) * measured


def _share(at_full: float, at_half: float, measured: float) -> float:
    """The efficiency a run implies from planner's times at η = 1 and η = ½ and the measured one (1 where even
    η = 1 is slower than measured)."""
    work = at_half - at_full
    fixed = at_full - work
    return 1.0 if measured - fixed <= work else work / (measured - fixed)


def coarser(k: tuple[str, str, str, str]) -> list[tuple[str, str, str, str]]:
    """The keys a run backs, in planner.efficiency.lookup's order: its own, any backend, any class, the engine's
    group, and all of these with any family."""
    engine, backend, fam, cls = k
    keys = []
    for fa in (fam, ANY):
        for eng in (engine, SPEED_ENGINES[engine]):
            keys += [(eng, backend if eng == engine else ANY, fa, cls), (eng, ANY, fa, cls), (eng, ANY, fa, ANY)]
    return list(dict.fromkeys(keys))


def fit_efficiencies(rows: list[dict]) -> list[dict]:
    """The decode-memory and prefill-compute entries the runs imply, at the table now in force."""
    entries: dict[tuple, dict] = {}
    for what, runs in implied(rows).items():
        by_key = defaultdict(list)
        for k, value, src in runs:
            for c in coarser(k):
                by_key[c].append((value, src))
        for k, vals in sorted(by_key.items()):
            per_source = defaultdict(list)
            for v, src in vals:
                per_source[src].append(v)
            sources = sorted(per_source)
            group = k[0] not in SPEED_ENGINES  # a group's entry stands for engines it has no runs of
            if len(vals) < MIN_RUNS or len(sources) < (MIN_GROUP_SOURCES if group else MIN_SOURCES):
                continue
            e = entries.setdefault(k, {"engine": k[0], "backend": k[1], "family": k[2], "gpu_class": k[3],
                                       "derivation": "", "sources": []})
            e[what] = round(median(median(v) for v in per_source.values()), 3)
            e["derivation"] += (f"{'; ' if e['derivation'] else ''}{what}: median over {len(sources)} source"
                                f"{'s' if len(sources) > 1 else ''} of each one's median, {len(vals)} calibration "
                                f"runs (range {min(v for v, _ in vals):.3f}–{max(v for v, _ in vals):.3f})")
            e["sources"] = sorted(set(e["sources"]) | set(sources))
    out = []
    for e in entries.values():
        out.append({k: v for k, v in e.items() if v != ANY or k == "engine"})
    return out


def overhead_entry(tau: float, n_runs: int) -> dict:
    return {"engine": "default", "layer_overhead_s": tau,
            "derivation": f"layer_overhead_s: of the grid {', '.join(f'{1e6 * t:g}' for t in OVERHEAD_GRID)} µs, the "
                          f"value whose refitted table gives the least median |error| over the {n_runs} calibration "
                          "decode runs of graph-launched and compiled engines",
            "sources": ["benchmarks/data (calibration half)", "../shared/reference-data.md"]}


def prefill_overhead_entries(taus: dict[str, float | None]) -> list[dict]:
    return [{"engine": group, "prefill_layer_overhead_s": tau,
             "derivation": f"prefill_layer_overhead_s: of the grid "
                           f"{', '.join('None' if t is None else f'{1e6 * t:g}' for t in PREFILL_OVERHEAD_GRID)} µs "
                           "(None: the decode step's), the value whose refitted table gives the least median |error| "
                           f"over the calibration half's time-to-first-token runs of {group} engines",
             "sources": ["benchmarks/data (calibration half)"]}
            for group, tau in sorted(taus.items()) if tau is not None]


def tile_entry(tile: int | None, n_runs: int) -> list[dict]:
    if tile is None:
        return []
    return [{"engine": "default", "moe_prefill_tile": tile,
             "derivation": f"moe_prefill_tile: of the grid {', '.join(str(t) for t in MOE_TILE_GRID)} token rows "
                           "(None: no tiling), the value whose refitted table gives the least median |error| over the "
                           f"calibration time-to-first-token runs ({n_runs} of them MoE models')",
             "sources": ["benchmarks/data (calibration half)"]}]


def sync_loop_entry(step: float | None) -> list[dict]:
    if step is None:
        return []
    return [{"engine": "vllm", "sync_loop_step_s": step,
             "derivation": f"sync_loop_step_s (vLLM's V0 engine, releases before 0.8.0): of the grid "
                           f"{', '.join(f'{1e3 * t:g}' for t in SYNC_LOOP_GRID)} ms, the value whose refitted table "
                           "gives the least median |error| over the calibration half's vLLM decode runs",
             "sources": ["benchmarks/data (calibration half)"]}]


def fit(rows: list[dict], tau: float, tile: int | None = None, prefill_taus: dict | None = None,
        sync: float | None = None) -> list[dict]:
    """The whole table for a per-layer overhead `tau`, a MoE prefill tile and vLLM V0's loop time `sync`:
    efficiencies fitted with them in force, the eager engines' floors, the overhead and tile entries, the prior, and
    the served requests' latency (then the efficiencies again with that in force, since it is part of a served run's
    time to first token)."""
    n = sum(1 for r in rows if r.get("decode_tokens_per_s") and r["engine"] not in EAGER)
    fixed = (floors(rows) + [overhead_entry(tau, n), DEFAULT] + prefill_overhead_entries(prefill_taus or {})
             + tile_entry(tile, moe_prefill_runs(rows)) + sync_loop_entry(sync))
    with trial({"entries": fixed}):
        efficiencies = fit_efficiencies(rows)
    with trial({"entries": efficiencies + fixed}):
        fixed += fit_moe_split(rows)
    with trial({"entries": efficiencies + fixed}):
        requests = fit_requests(rows)
    with trial({"entries": fixed + requests}):
        return fit_efficiencies(rows) + fixed + requests


def fit_moe_split(rows: list[dict]) -> list[dict]:
    """Per engine, its group and "default" (as request latency is): the time each routed expert of a MoE layer split
    over several GPUs adds to a decode step, from the latency-bound runs of MoE models on several GPUs under compiled
    engines (measured step − planner's, at the table in force, per MoE layer and routed expert); the median over
    sources of each one's median."""
    by_key = defaultdict(lambda: defaultdict(list))
    for r in rows:
        spec = spec_of(r)
        if spec.moe is None or r["n_gpus"] == 1 or r["engine"] == "llama.cpp" or not latency_bound(r):
            continue
        pred, meas, _ = predict(r)["decode"]
        value = max(0.0, 1 / meas - 1 / pred) / (spec.n_moe_layers * spec.moe.n_experts)
        for k in dict.fromkeys((r["engine"], SPEED_ENGINES[r["engine"]], "default")):
            by_key[k][source_id(r["source"])].append(value)
    out = []
    for k, per_source in sorted(by_key.items()):
        runs = sum(len(v) for v in per_source.values())
        if runs < MIN_RUNS or len(per_source) < (MIN_SOURCES if k in SPEED_ENGINES else MIN_GROUP_SOURCES):
            continue
        out.append({"engine": k,
                    "moe_expert_overhead_s": round(median(median(v) for v in per_source.values()), 10),
                    "derivation": f"moe_expert_overhead_s: median over {len(per_source)} source"
                                  f"{'s' if len(per_source) > 1 else ''} of each one's median (measured decode step − "
                                  "planner's, per MoE layer and routed expert) over the latency-bound runs of MoE "
                                  f"models on several GPUs under compiled engines, {runs} calibration runs",
                    "sources": sorted(per_source)})
    return out


def fit_requests(rows: list[dict]) -> list[dict]:
    """Per engine, its group and "default": a served request's latency beyond planner's prefill — the median over
    sources of each one's median (measured − planner's prefill) on served runs, at the table in force (which has none
    yet)."""
    by_key = defaultdict(list)
    for r in rows:
        if served(r) and "ttft" in (p := predict(r)) and not latency_bound(r):
            pred, meas, _ = p["ttft"]
            for k in dict.fromkeys((r["engine"], SPEED_ENGINES[r["engine"]], "default")):
                by_key[k].append((max(0.0, meas - pred), source_id(r["source"])))
    out = []
    for k, vals in sorted(by_key.items()):
        per_source = defaultdict(list)
        for v, src in vals:
            per_source[src].append(v)
        if len(vals) < MIN_RUNS or len(per_source) < (MIN_SOURCES if k in SPEED_ENGINES else MIN_GROUP_SOURCES):
            continue
        out.append({"engine": k, "request_overhead_s": round(median(median(v) for v in per_source.values()), 4),
                    "derivation": f"request_overhead_s: median over {len(per_source)} sources of each one's median "
                                  f"(measured time to first token − planner's prefill), {len(vals)} served "
                                  "calibration runs",
                    "sources": sorted(per_source)})
    return out


def grid_best(rows: list[dict], grid: tuple, table, judged) -> object:
    """The value of `grid` whose table (table(value): its entries) gives the least median |error| over the runs
    `judged` keeps (an errors() item each)."""
    def score(value) -> float:
        with trial({"entries": table(value)}):
            return median(abs(x["error"]) for x in errors(rows) if judged(x))
    return min(grid, key=score)


def choose_overhead(rows: list[dict]) -> float:
    """The grid value of the per-layer overhead whose fitted table predicts the calibration half's decode best."""
    return grid_best(rows, OVERHEAD_GRID, lambda tau: fit(rows, tau),
                     lambda x: x["what"] == "decode" and x["engine"] not in EAGER)


def errors(rows: list[dict]) -> list[dict]:
    out = []
    for r in rows:
        for what, (pred, meas, entry) in predict(r).items():
            out.append({"what": what, "engine": r["engine"], "family": key_of(r)[2], "gpu": r["gpu"],
                        "error": pred / meas - 1, "entry": entry, "half": half(r), "source": r["source"],
                        "planner": pred, "published": meas, "row": id(r)})
    return out


def summary(errs: list[dict]) -> list[str]:
    lines = []
    for h in ("calibration", "check"):
        for what in ("decode", "ttft"):
            e = [abs(x["error"]) for x in errs if x["half"] == h and x["what"] == what]
            if e:
                within = sum(v <= 0.30 for v in e) / len(e)
                lines.append(f"{h:11s} {what:6s} {len(e):4d} runs  median |error| {100 * median(e):5.1f} %  "
                             f"within 30 %: {100 * within:5.1f} %")
    return lines


def bands(errs: list[dict]) -> list[dict]:
    """The check half's median |error| per quantity × engine × family (≥ 5 runs), and per quantity overall."""
    groups = defaultdict(list)
    for x in errs:
        if x["half"] == "check":
            groups[(x["what"], x["engine"], x["family"])].append(abs(x["error"]))
            groups[(x["what"], ANY, ANY)].append(abs(x["error"]))
    return [{"what": w, "engine": e, "family": f, "runs": len(v), "median_abs_error": round(median(v), 3)}
            for (w, e, f), v in sorted(groups.items()) if len(v) >= 5]


def floors(rows: list[dict]) -> list[dict]:
    """EAGER engines' per-layer floor on a decode step, from their launch-bound calibration runs."""
    by_engine = defaultdict(list)
    for r in rows:
        if r["engine"] not in EAGER or not r.get("decode_tokens_per_s"):
            continue
        # the bytes alone at 100 % of bandwidth: predicted as a compiled engine, which has no floor of its own
        # the bytes alone: planner's compute-engine times at η = 1 and ½ differ by exactly the bytes' time at η = 1
        row = dict(r, engine="vllm")
        (full, meas, _), (half_, _, _) = predict(row, efficiency=1.0)["decode"], predict(row, efficiency=0.5)["decode"]
        step, memory = 1 / meas, (1 / half_ - 1 / full) / DEFAULT["decode_memory"]
        if memory < 0.5 * step:
            spec = spec_of(r)
            by_engine[r["engine"]].append((step / spec.n_layers, source_id(r["source"])))
    return [{"engine": eng, "decode_floor_s_per_layer": round(median(v for v, _ in vals), 6),
             "derivation": f"decode_floor_s_per_layer: median of measured step ÷ layers over {len(vals)} launch-bound "
                           f"calibration runs (range {1e3 * min(v for v, _ in vals):.2f}–"
                           f"{1e3 * max(v for v, _ in vals):.2f} ms)",
             "sources": sorted({s for _, s in vals})}
            for eng, vals in sorted(by_engine.items()) if len(vals) >= MIN_RUNS]


def moe_prefill_runs(rows: list[dict]) -> int:
    """How many runs of MoE models give a time to first token planner is judged on."""
    return sum(1 for r in rows if spec_of(r).moe is not None and "ttft" in predict(r))


def choose_sync_loop(rows: list[dict], tau: float) -> float:
    """The grid value of vLLM V0's loop time whose fitted table predicts the calibration half's vLLM decode best."""
    return grid_best(rows, SYNC_LOOP_GRID, lambda v: fit(rows, tau, sync=v),
                     lambda x: x["what"] == "decode" and x["engine"] == "vllm")


def choose_prefill_overheads(rows: list[dict], tau: float, sync: float | None = None) -> dict[str, float | None]:
    """Per engine group (PREFILL_GROUPS), the grid value of the prefill per-layer time whose fitted table predicts that
    group's calibration time-to-first-token runs best, the groups chosen one after the other."""
    chosen: dict[str, float | None] = {}
    for group in PREFILL_GROUPS:
        chosen[group] = grid_best(rows, PREFILL_OVERHEAD_GRID,
                                  lambda v, g=group: fit(rows, tau, prefill_taus=chosen | {g: v}, sync=sync),
                                  lambda x, g=group: x["what"] == "ttft" and SPEED_ENGINES[x["engine"]] == g)
    return chosen


def choose_tile(rows: list[dict], tau: float, prefill_taus: dict | None = None,
                sync: float | None = None) -> int | None:
    """The grid value of the MoE prefill tile whose fitted table predicts the calibration half's time to first token
    best (as the per-layer time is chosen on all its decode runs: only the MoE runs move with it, but the efficiencies
    refitted at each value move the rest)."""
    return grid_best(rows, MOE_TILE_GRID, lambda tile: fit(rows, tau, tile, prefill_taus, sync),
                     lambda x: x["what"] == "ttft")


def _write(entries: list[dict], bands_: list[dict] | None = None) -> None:
    from planner.efficiency import reload

    doc = {"entries": entries} | ({"bands": bands_} if bands_ is not None else {})
    OUT.write_text(HEADER + yaml.safe_dump(doc, sort_keys=False, width=120, allow_unicode=True))
    reload()


def main() -> None:
    rows = load_rows()
    cal = [r for r in rows if half(r) == "calibration"]
    tau = choose_overhead(cal)
    sync = choose_sync_loop(cal, tau)
    prefill_taus = choose_prefill_overheads(cal, tau, sync)
    entries = fit(cal, tau, choose_tile(cal, tau, prefill_taus, sync), prefill_taus, sync)
    _write(entries)
    errs = errors(rows)
    _write(entries, bands(errs))
    print(f"{len(rows)} runs: {len(cal)} calibration, {len(rows) - len(cal)} check; {len(entries)} entries")
    print("\n".join(summary(errs)))


if __name__ == "__main__":
    main()
