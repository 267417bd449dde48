"""Published speed runs and their fixed split into a calibration half and a check half.

Rows: every benchmarks/data/published*.jsonl (each row cites its source) plus the calibration rows of
../shared/reference-data.md (benchmarks/data/reference_calibration.jsonl), which always calibrate. A llama.cpp row
gets its build ("build") from benchmarks/data/llamacpp_builds.jsonl (benchmarks/data/date_llamacpp_builds.py), a
vLLM row its release ("vllm_version", vllm_version below) from what its harness printed.

The split is by source, fixed before any fit: a row's source is the document it was read from (a URL without its
fragment or query; a GitHub repository for "github:owner/repo@commit path" sources), and the first byte of the
SHA-256 of that name decides — even: calibration, odd: check. Every run of one source lands in the same half, so no
source both sets and judges a number. Runs through Ollama always check (half): a document's Ollama run
checks where its other runs calibrate other engines.
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import datetime
from pathlib import Path

from planner import load_model
from planner.engines.common import release_tuple
from planner.engines.llamacpp.releases import LLAMACPP_OLDEST
from planner.footprint import default_kv_dtype
from planner.parallel import plan

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "benchmarks" / "data"
REFERENCE = DATA / "reference_calibration.jsonl"
BUILDS = DATA / "llamacpp_builds.jsonl"


def source_id(source: str) -> str:
    """The document a row was read from."""
    s = source.strip()
    if m := re.match(r"github:([\w.-]+/[\w.-]+)", s):
        return "github:" + m[1].lower()
    if m := re.match(r"(https?://[^\s#?]+)", s):
        return m[1].rstrip("/").lower()
    return s.split(" (")[0].lower()


def half(row: dict) -> str:
    """"calibration" or "check": reference-data.md rows always calibrate; runs through Ollama always check (planner
    answers Ollama with llama.cpp's figures for the build a release vendors, and these runs test that answer; fitted,
    they would hand llama.cpp's entries the time Ollama's own server and engine add to a token); the rest by
    source."""
    if row.get("split") == "reference":
        return "calibration"
    if runs_through(row) == "ollama":
        return "check"
    return "calibration" if hashlib.sha256(source_id(row["source"]).encode()).digest()[0] % 2 == 0 else "check"


def load_rows() -> list[dict]:
    rows = [dict(json.loads(line), split="reference") for line in REFERENCE.read_text().splitlines() if line.strip()]
    for path in sorted(DATA.glob("published*.jsonl")):
        rows += [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return annotated(rows)


def annotated(rows: list[dict]) -> list[dict]:
    """The rows, each llama.cpp run with its build (llamacpp_builds.jsonl) and each vLLM run with its release."""
    builds = {(b["engine_printed"], b["source"]): b["build"]
              for b in (json.loads(line) for line in BUILDS.read_text().splitlines() if line.strip())}
    for r in rows:
        if r["engine"] == "llama.cpp" and (build := builds.get((r["engine_printed"], r["source"]))) is not None:
            r["build"] = build
        if r["engine"] == "vllm" and (version := vllm_version(r["engine_printed"])) is not None:
            r["vllm_version"] = version
    return rows


# vLLM's releases by date, for runs that name a month rather than a version: from 2025-04 the first release each
# month uploaded to PyPI, a post-release as its release (https://pypi.org/pypi/vllm/json, upload_time of its first
# file); before, GitHub's releases. Runs before 0.4.0 take 0.4.0, the oldest release planner has rules for (the V0
# engine, as they ran).
VLLM_RELEASE_DATES = (("2024-03", "0.4.0"), ("2024-06", "0.5.0"), ("2024-09", "0.6.0"), ("2024-10", "0.6.3"),
                      ("2024-12", "0.6.5"), ("2025-01", "0.7.0"), ("2025-03", "0.8.0"), ("2025-04", "0.8.3"),
                      ("2025-05", "0.8.5"), ("2025-06", "0.9.1"), ("2025-07", "0.9.2"), ("2025-08", "0.10.1"),
                      ("2025-09", "0.10.2"), ("2025-10", "0.11.0"), ("2025-11", "0.11.1"), ("2025-12", "0.12.0"),
                      ("2026-01", "0.14.0"), ("2026-02", "0.15.1"), ("2026-03", "0.17.0"), ("2026-04", "0.19.0"),
                      ("2026-05", "0.20.1"), ("2026-06", "0.22.1"), ("2026-07", "0.25.0"), ("2026-08", "0.27.0"),
                      ("2026-09", "0.29.0"), ("2026-10", "0.31.0"), ("2026-11", "0.33.0"))


def vllm_version(printed: str) -> str | None:
    """The vLLM release a run's harness printed ("vLLM 0.6.3", "vllm_0.8.5" in a Docker tag, "v0.11.0"), else the
    release of the month it names ("Oct 2024", "2024-03-06"; "mid-2023": before 0.4.0); None where neither is there or
    the run is a fork with its own numbering (1Cat-vLLM)."""
    if printed.startswith("1Cat"):
        return None
    if m := re.search(r"vllm[ _-]?v?(\d+\.\d+(?:\.\d+)?)|~v(\d+\.\d+(?:\.\d+)?)", printed, re.IGNORECASE):
        return m[1] or m[2]
    if m := re.search(r"\b(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)\w* (20\d\d)", printed, re.IGNORECASE):
        month = f"{m[2]}-{datetime.strptime(m[1][:3].title(), '%b').month:02d}"
    elif m := re.search(r"\b(20\d\d)-(0[1-9]|1[0-2])-\d\d\b", printed):  # an ISO date: its month
        month = f"{m[1]}-{m[2]}"
    elif m := re.search(r"\b(20\d\d)\b", printed):
        month = f"{m[1]}-12"
    else:
        return None
    return max((v for since, v in VLLM_RELEASE_DATES if since <= month), default="0.4.0", key=release_tuple)


# A run measured through a server (an HTTP client timing each request) rather than by the engine's own offline
# benchmark (llama-bench, gptSessionBenchmark, benchmark_latency, generate()): its time to first token includes the
# request's own latency. Told apart by the harness its source printed.
SERVED = re.compile(r"serv|aiperf|genai-perf|accelmark|llmperf|gpu_conc|openai server", re.IGNORECASE)


def runs_through(row: dict) -> str:
    """The engine a user ran: "ollama" for a run through Ollama (in the data as a llama.cpp run of the build its
    release vendors), else the row's engine. The check half's bands are kept per engine a user names."""
    return "ollama" if row.get("engine_printed", "").startswith("Ollama") else row.get("engine", "")


def served(row: dict) -> bool:
    return bool(SERVED.search(row["engine_printed"]))


# Qwen's own AWQ and GPTQ checkpoints of its 72B models pad intermediate_size from 29,568 to 29,696, so that 2, 4 and
# 8 GPUs each take whole groups of 128 (Qwen/Qwen2.5-72B-Instruct-AWQ's config.json: "intermediate_size": 29696);
# the rows of Qwen's speed benchmark ran those checkpoints, split over 2 GPUs
QWEN_72B_QUANTIZED_D_FF = 29696


def spec_of(row: dict):
    """The row's model: a bundled name, or a config.json under tests/fixtures (relative to the repository); a Qwen 72B
    model in Qwen's own AWQ or GPTQ checkpoint with its padded MLP."""
    model = row["model"]
    spec = load_model(ROOT / model if model.startswith("tests/") else model)
    if spec.name.startswith(("Qwen/Qwen2.5-72B", "Qwen/Qwen2-72B")) and row["quant"].startswith(("awq", "gptq")):
        spec = type(spec).model_validate({**spec.model_dump(), "d_ff": QWEN_72B_QUANTIZED_D_FF})
    return spec


def build_of(row: dict) -> int | None:
    """A llama.cpp run's build as planner takes it: one older than planner's oldest (b1619, whose memory rules it
    models) prefills as that one does, cuBLAS years before MMQ (planner.perf.LLAMACPP_MMQ_BUILD); only the speed of
    such rows is asked."""
    return None if row.get("build") is None else max(row["build"], LLAMACPP_OLDEST)


# A vLLM run on AMD's own images (rocm/vllm, rocm/vllm-dev) or its fork's source (github.com/ROCm/vllm): its
# all-reduce kernel came with ROCm/vllm#27 (2024-05-30), before upstream's 0.8.3, which planner's release rule follows
AMD_VLLM_FORK = re.compile(r"rocm/vllm|ROCm fork", re.IGNORECASE)


def amd_fork(row: dict) -> bool:
    return row["engine"] == "vllm" and bool(AMD_VLLM_FORK.search(row.get("engine_printed", "")) or
                                            source_id(row["source"]).startswith("github:rocm/vllm"))


def plan_of(row: dict, context: int, prompt: int | None = None, **own):
    """planner.plan for the row as it ran (its GPUs, split, weights, engine, backend, release and "concurrency"
    sequences a step) at `context` tokens, the time to first token for `prompt`; `own` as predict's."""
    spec = spec_of(row)
    # llama.cpp splits layers across GPUs (--split-mode layer, its default): pipeline-style; the others tensor-parallel
    mode = "pp" if row["engine"] == "llama.cpp" else "tp"
    build = build_of(row)
    return plan(spec, context=context, prompt=prompt, gpu=row["gpu"], n_gpus=row["n_gpus"], mode=mode,
                quant=row["quant"], kv_dtype=default_kv_dtype(row["quant"]), engine=row["engine"],
                backend=row.get("backend") if row["engine"] == "llama.cpp" else None,
                engine_version=build if row["engine"] == "llama.cpp" else row.get("vllm_version"),
                custom_all_reduce=True if amd_fork(row) else None, runtime="none", batch=row.get("concurrency", 1),
                **own)


def predict(row: dict, **own) -> dict:
    """{"decode": (planner tok/s, published), "ttft": (planner s, published)} for what the row measured (decode per
    sequence, with the row's "concurrency" sequences in a step where it has one: benchmarks/batch_speed.py); `own`:
    efficiency= / prefill_efficiency= to use instead of the table (the calibration asks for 1.0)."""
    spec = spec_of(row)
    out = {}
    if row.get("decode_tokens_per_s"):
        ctx = min(spec.max_context, max(1, row["decode_context"] or 1))
        p = plan_of(row, ctx, **own)
        out["decode"] = (p.decode_tokens_per_s, row["decode_tokens_per_s"], p.efficiency_entries["decode"])
    prompt = min(spec.max_context, row.get("prompt_tokens") or 0)
    pp = row.get("prefill_tokens_per_s")
    measured_ttft = row.get("ttft_s") or (prompt / pp if pp else None)
    if measured_ttft and prompt >= 64:
        p = plan_of(row, prompt, **own)
        if p.prefill_seconds is not None:
            request = (p.request_overhead_seconds or 0.0) if served(row) else 0.0
            out["ttft"] = (p.prefill_seconds + request, measured_ttft, p.efficiency_entries["prefill"])
    return out
