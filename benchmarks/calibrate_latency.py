"""The latency terms of profiles/efficiency.yaml, fitted on the calibration half beside the efficiencies
(benchmarks/calibrate_speed.py): eager engines' per-layer decode floor, graph-launched engines' per-layer times
(decode and prefill), vLLM V0's loop time, the time a routed expert split over GPUs adds, an engine's fixed time for
a MoE prefill split over GPUs, and a served request's latency; beside them, not fitted, the MoE prefill tiles read in
the engines' kernels. Each entry says how it was chosen; the grids below are the values tried.
"""

from __future__ import annotations

import sys
from collections import defaultdict
from pathlib import Path
from statistics import median

sys.path.insert(0, str(Path(__file__).resolve().parent))
from speed_data import predict, served, source_id, spec_of  # noqa: E402

from planner.efficiency import ANY, SPEED_ENGINES, floor_kernels  # noqa: E402

# An entry needs MIN_RUNS runs; an engine's own entry one source, a group's (compiled) MIN_GROUP_SOURCES, since it
# answers for engines it has never seen. Each source (document) is one vote: an entry is the median of its sources'
# medians, so one long table cannot outvote the others.
MIN_RUNS, MIN_SOURCES, MIN_GROUP_SOURCES = 3, 1, 2
# A ratio of an eager engine's floor with some kernels to its floor without them needs this many pairs of runs (one
# document, model and GPU, with and without): a pair holds the host and the model fixed, which is what the floor
# itself follows, so two pairs say more than MIN_RUNS unpaired runs would.
MIN_FLOOR_PAIRS = 2
# A run calibrates nothing if its decode bytes, moved at the full datasheet bandwidth, would take less than
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
# for all of them, chosen on this grid by the calibration half's decode error with the efficiencies refitted at each;
# then each of OVERHEAD_GROUPS its own, chosen by its decode runs (one after the other, the others' in force): a
# compiled engine's layer is a few fused kernels, llama.cpp's a graph of ggml ops. Then each llama.cpp backend of
# OVERHEAD_BACKENDS its own, by its own decode runs: CUDA replays a captured graph of a step's kernels (CUDA graphs,
# llama.cpp's default since 2024), Metal encodes every step's command buffers anew, Vulkan records its own.
OVERHEAD_GRID = (0.0, 10e-6, 20e-6, 30e-6, 40e-6, 50e-6, 60e-6, 75e-6, 100e-6, 125e-6, 150e-6, 200e-6, 250e-6)
OVERHEAD_GROUPS = ("compiled", "llama.cpp")
OVERHEAD_BACKENDS = ("cuda", "metal", "rocm", "vulkan")
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
# MoE prefill: a routed expert's matmul runs in tiles of this many token rows (planner.perf.moe_padding_flops), as each
# engine's kernels are written, not fitted: (engine or group, llama.cpp backend or "any", rows, where read). No entry
# for llama.cpp's SYCL and CPU backends (not read), nor for eager engines (transformers' loop gathers each expert's
# own tokens).
MOE_PREFILL_TILES = (
    ("llama.cpp", "cuda", 128, "llama.cpp's largest MMQ tile on GPUs with int8 MMA, Turing and later "
                               "(ggml/src/ggml-cuda/mmq.cuh get_mmq_x_max_host; Volta's DP4A path: 64, not told "
                               "apart), which its routed experts' mul_mat_id runs in"),
    ("llama.cpp", "rocm", 64, "llama.cpp's largest MMQ tile on AMD GPUs without MFMA MMQ (get_mmq_x_max_host: RDNA, "
                              "and CDNA before b5997; 128 on CDNA 3 from then, not told apart)"),
    ("llama.cpp", "vulkan", 128, "the large mul_mat_id pipeline a step of more than 64 tokens takes "
                                 "(ggml_vk_guess_matmul_id_pipeline): 128 of an expert's tokens a workgroup "
                                 "(l_mmqid_wg_denoms, ggml/src/ggml-vulkan/ggml-vulkan.cpp)"),
    ("llama.cpp", "metal", 32, "kernel_mul_mm_id's BLOCK_SIZE_N: 32 of an expert's tokens a threadgroup "
                               "(ggml/src/ggml-metal/ggml-metal.metal)"),
    ("vllm", ANY, 64, "vLLM's fused MoE kernel: BLOCK_SIZE_M 64 once a step hands the experts more tokens than there "
                      "are experts (16 below; its Marlin and int4/int8 variants at most 64): vllm 0.9.2 "
                      "model_executor/layers/fused_moe/fused_moe.py get_default_config; tuned per-GPU configs, where "
                      "vLLM ships one for the model's shape, pick 16-128"),
    ("compiled", ANY, 64, "SGLang's Triton fused MoE is vLLM's kernel with the same default (tuned configs likewise); "
                          "TensorRT-LLM's, LMDeploy's, ExLlamaV2's, gpt-fast's and MLC's MoE kernels not read: a "
                          "grouped GEMM pads each expert's tokens to whole tiles; vLLM's default stands for theirs"),
)


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


def overhead_entry(tau: float, n_runs: int) -> dict:
    return {"engine": "default", "layer_overhead_s": tau,
            "derivation": f"layer_overhead_s: of the grid {', '.join(f'{1e6 * t:g}' for t in OVERHEAD_GRID)} µs, the "
                          f"value whose refitted table gives the least median |error| over the {n_runs} calibration "
                          "decode runs of graph-launched and compiled engines",
            "sources": ["benchmarks/data (calibration half)", "../shared/reference-data.md"]}


def group_overhead_entries(taus: dict[str, float]) -> list[dict]:
    """Per-layer overhead entries: a key "compiled" or "llama.cpp" is an engine group's, "llama.cpp/metal" a llama.cpp
    backend's."""
    out = []
    for key, tau in sorted(taus.items()):
        group, _, backend = key.partition("/")
        runs = f"{group} engines" if not backend else f"{group} runs on its {backend} backend"
        out.append({"engine": group, **({"backend": backend} if backend else {}), "layer_overhead_s": tau,
                    "derivation": f"layer_overhead_s: of the grid {', '.join(f'{1e6 * t:g}' for t in OVERHEAD_GRID)} "
                                  "µs, the value whose refitted table gives the least median |error| over the "
                                  f"calibration half's decode runs of {runs}",
                    "sources": ["benchmarks/data (calibration half)"]})
    return out


def prefill_overhead_entries(taus: dict[str, float | None]) -> list[dict]:
    return [{"engine": group, "prefill_layer_overhead_s": tau,
             "derivation": f"prefill_layer_overhead_s: of the grid "
                           f"{', '.join('None' if t is None else f'{1e6 * t:g}' for t in PREFILL_OVERHEAD_GRID)} µs "
                           "(None: the decode step's), the value whose refitted table gives the least median |error| "
                           f"over the calibration half's time-to-first-token runs of {group} engines",
             "sources": ["benchmarks/data (calibration half)"]}
            for group, tau in sorted(taus.items()) if tau is not None]


def tile_entries() -> list[dict]:
    return [{"engine": engine, **({"backend": backend} if backend != ANY else {}), "moe_prefill_tile": rows,
             "derivation": f"moe_prefill_tile: {why}", "sources": ["engine source"]}
            for engine, backend, rows, why in MOE_PREFILL_TILES]


def sync_loop_entry(step: float | None) -> list[dict]:
    if step is None:
        return []
    return [{"engine": "vllm", "sync_loop_step_s": step,
             "derivation": f"sync_loop_step_s (vLLM's V0 engine, releases before 0.8.0): of the grid "
                           f"{', '.join(f'{1e3 * t:g}' for t in SYNC_LOOP_GRID)} ms, the value whose refitted table "
                           "gives the least median |error| over the calibration half's vLLM decode runs",
             "sources": ["benchmarks/data (calibration half)"]}]


def source_medians(by_key: dict, field: str, digits: int, tail: str, min_sources) -> list[dict]:
    """One entry per key (an engine, its group, "default") whose values, by source, number at least MIN_RUNS from at
    least min_sources(key) sources: `field` is the median of the sources' medians (each document one vote), with its
    derivation ("… median over N sources of each one's median {tail}", where "{runs}" in tail is the count of runs)."""
    out = []
    for k, per_source in sorted(by_key.items()):
        runs = sum(len(v) for v in per_source.values())
        if runs < MIN_RUNS or len(per_source) < min_sources(k):
            continue
        out.append({"engine": k, field: round(median(median(v) for v in per_source.values()), digits),
                    "derivation": f"{field}: median over {len(per_source)} source{'s' if len(per_source) > 1 else ''} "
                                  f"of each one's median {tail.format(runs=runs)}",
                    "sources": sorted(per_source)})
    return out


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
    return source_medians(by_key, "moe_expert_overhead_s", 10,
                          "(measured decode step − planner's, per MoE layer and routed expert) over the latency-bound "
                          "runs of MoE models on several GPUs under compiled engines, {runs} calibration runs",
                          lambda k: MIN_SOURCES if k in SPEED_ENGINES else MIN_GROUP_SOURCES)


def fit_moe_prefill_split(rows: list[dict]) -> list[dict]:
    """Per engine (its own entry only, no group or default: a compiled engine without runs of its own gets none): the
    fixed time a prefill of a MoE model split over several GPUs takes beyond planner's time to first token at the table
    in force (its served request latency included), from the calibration runs of MoE models on more than one GPU; the
    median over sources of each one's median, written where MIN_RUNS runs from MIN_GROUP_SOURCES sources back it."""
    by_engine = defaultdict(lambda: defaultdict(list))
    for r in rows:
        if spec_of(r).moe is None or r["n_gpus"] == 1 or r["engine"] == "llama.cpp" or "ttft" not in (p := predict(r)):
            continue
        pred, meas, _ = p["ttft"]
        by_engine[r["engine"]][source_id(r["source"])].append(max(0.0, meas - pred))
    return source_medians(by_engine, "moe_prefill_split_s", 4,
                          "(measured time to first token − planner's) over the runs of MoE models on several GPUs, "
                          "{runs} calibration runs", lambda k: MIN_GROUP_SOURCES)


def _for_its_class(entry_key: str) -> bool:
    """Whether an efficiency entry (its key, planner.efficiency.Entry.key: engine/backend/family/class) was fitted for a
    GPU class rather than for any GPU."""
    return entry_key.split("/")[3] != "any"


def fit_requests(rows: list[dict]) -> list[dict]:
    """Per engine, its group and "default": a served request's latency beyond planner's prefill — the median over
    sources (at least MIN_GROUP_SOURCES) of each one's median (measured − planner's prefill) on served runs, at the
    table in force (which has none yet)."""
    by_key = defaultdict(lambda: defaultdict(list))
    for r in rows:
        if served(r) and "ttft" in (p := predict(r)) and not latency_bound(r):
            pred, meas, entry = p["ttft"]
            if not _for_its_class(entry):
                # its prefill efficiency is no entry's for its GPU class (vLLM 0.6 on a Radeon PRO W7900): what the
                # prefill takes beyond planner's would read as request latency that every request then pays
                continue
            for k in dict.fromkeys((r["engine"], SPEED_ENGINES[r["engine"]], "default")):
                by_key[k][source_id(r["source"])].append(max(0.0, meas - pred))
    # a request's latency belongs to the harness as much as to the engine (HTTP client, chat template, tokenizer): one
    # harness cannot tell them apart, so even an engine's own entry needs MIN_GROUP_SOURCES
    return source_medians(by_key, "request_overhead_s", 4,
                          "(measured time to first token − planner's prefill), {runs} served calibration runs",
                          lambda k: MIN_GROUP_SOURCES)


def floors(rows: list[dict], prior: float) -> list[dict]:
    """EAGER engines' per-layer floor on a decode step, from their launch-bound calibration runs of formats without
    kernels of their own (`prior`: the decode bandwidth share no calibrated entry overrides), and for each engine and
    such kernels (planner.efficiency.FLOOR_KERNELS: bitsandbytes') the ratio of their step to the engine's on the same
    machine: over pairs of runs of one document, model and GPU, a launch-bound one with those kernels and one without
    that is slower than its bytes at the prior (its step is then its floor at any share above the bytes' time over
    the step)."""
    plain, kernel_runs, bases = defaultdict(list), defaultdict(list), defaultdict(list)
    for r in rows:
        if r["engine"] not in EAGER or not r.get("decode_tokens_per_s"):
            continue
        # the bytes alone at 100 % of bandwidth: predicted as a compiled engine, which has no floor of its own
        # the bytes alone: planner's compute-engine times at η = 1 and ½ differ by exactly the bytes' time at η = 1
        row = dict(r, engine="vllm")
        (full, meas, _), (half_, _, _) = predict(row, efficiency=1.0)["decode"], predict(row, efficiency=0.5)["decode"]
        step, memory = 1 / meas, (1 / half_ - 1 / full) / prior
        spec, kernels = spec_of(r), floor_kernels(r["quant"])
        run = (step / spec.n_layers, source_id(r["source"]), r["model"], r["gpu"])
        if kernels == ANY and memory < step:  # slower than its bytes: the floor's step, the base of a pair
            bases[r["engine"]].append(run)
        if memory < 0.5 * step:
            (plain[r["engine"]] if kernels == ANY else kernel_runs[r["engine"], kernels]).append(run)
    out = [{"engine": eng, "decode_floor_s_per_layer": round(median(v for v, *_ in vals), 6),
            "derivation": f"decode_floor_s_per_layer: median of measured step ÷ layers over {len(vals)} launch-bound "
                          f"calibration runs (range {1e3 * min(v for v, *_ in vals):.2f}–"
                          f"{1e3 * max(v for v, *_ in vals):.2f} ms)",
            "sources": sorted({s for _, s, *_ in vals})}
           for eng, vals in sorted(plain.items()) if len(vals) >= MIN_RUNS]
    for (eng, kernels), vals in sorted(kernel_runs.items()):
        by_source = defaultdict(list)
        for v, src, model, gpu in vals:
            base = [p for p, s, m, g in bases[eng] if (s, m, g) == (src, model, gpu)]
            if base:
                by_source[src].append(v / median(base))
        pairs = sum(len(v) for v in by_source.values())
        if pairs >= MIN_FLOOR_PAIRS:
            ratios = [x for v in by_source.values() for x in v]
            out.append({"engine": eng, "family": kernels,
                        "decode_floor_ratio": round(median(median(v) for v in by_source.values()), 2),
                        "derivation": f"decode_floor_ratio: median over {len(by_source)} source"
                                      f"{'s' if len(by_source) > 1 else ''} of each one's median ratio of a "
                                      "launch-bound step with these kernels to one without, same model and GPU, "
                                      f"{pairs} calibration pairs (range {min(ratios):.2f}–{max(ratios):.2f})",
                        "sources": sorted(by_source)})
    return out
