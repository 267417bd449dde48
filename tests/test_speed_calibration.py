"""The speed calibration: published runs split by source before fitting, the committed efficiency table exactly what
benchmarks/calibrate_speed.py fits from the calibration half, and the bands from the check half."""

import re
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from calibrate_speed import (  # noqa: E402
    _owned_by,
    admissible,
    bands,
    choose_group_overheads,
    choose_overhead,
    choose_prefill_overheads,
    choose_sync_loop,
    errors,
    fit,
)
from speed_data import half, load_rows, runs_through, source_id  # noqa: E402

from planner import load_model  # noqa: E402
from planner.efficiency import _data  # noqa: E402
from planner.engines.common import release_tuple  # noqa: E402
from planner.gpus import load_gpu  # noqa: E402
from planner.quant.catalog import get_quant  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
ROWS = load_rows()


def test_there_are_enough_published_runs_each_with_its_source():
    assert len(ROWS) >= 300
    assert len({r["engine"] for r in ROWS}) >= 4 and len({r["gpu"] for r in ROWS}) >= 12
    for r in ROWS:
        assert r["source"].strip()
        load_model(ROOT / r["model"] if r["model"].startswith("tests/") else r["model"])
        get_quant(r["quant"])
        load_gpu(r["gpu"])


# A row's engine is the runtime its source printed: a name (lower case) the printed engine must contain.
PRINTED = {"llama.cpp": ("llama", "ollama", "lm studio"), "vllm": ("vllm",), "sglang": ("sglang",),
           "tensorrt-llm": ("tensorrt-llm", "nvidia nim"), "gpt-fast": ("gpt-fast",), "mlc-llm": ("mlc",),
           "exllamav2": ("exllamav2",), "lmdeploy": ("lmdeploy",), "autoawq": ("autoawq",), "mlx": ("mlx",),
           "transformers": ("transformers",)}


def test_each_row_names_the_engine_its_source_printed():
    for r in ROWS:
        if r.get("split") == "reference":
            continue
        printed = r["engine_printed"].lower()
        assert any(name in printed for name in PRINTED[r["engine"]]), (r["engine"], r["engine_printed"])
        # AutoAWQ's fused modules are its own kernels, not transformers' eager layers
        assert not (r["engine"] == "transformers" and "fused layers" in printed), r["engine_printed"]


def test_every_llamacpp_cuda_run_of_quantized_weights_has_its_build():
    # the build decides its prefill kernels (planner.perf.LLAMACPP_MMQ_BUILD; decode does not depend on it): printed
    # by the run or dated from its source (benchmarks/data/date_llamacpp_builds.py); a prefill row without one would
    # silently take the current build
    from planner.perf import llamacpp_matmul_dtype

    for r in ROWS:
        runs_mmq_now = llamacpp_matmul_dtype(r["quant"], load_gpu(r["gpu"]), r.get("backend")) == "int8"
        if r["engine"] == "llama.cpp" and runs_mmq_now and (r.get("prefill_tokens_per_s") or r.get("ttft_s")):
            assert 1619 <= r.get("build", 0) <= 20000, (r["engine_printed"], r["source"])
    # the printed builds are what the runs printed: "main build = 1691 (7082d24)", "build: 4426e298 (2824)"
    by_printed = {r["engine_printed"]: r.get("build") for r in ROWS if r["engine"] == "llama.cpp"}
    assert by_printed["llama.cpp main build = 1691 (7082d24) (CUDA, -ngl 10000, --no-mmap)"] == 1691
    assert any(p.startswith("llama-bench build: 4426e298 (2824)") and b == 2824 for p, b in by_printed.items())


def test_the_split_is_by_document():
    halves: dict[str, set] = {}
    for r in ROWS:
        if r.get("split") != "reference" and runs_through(r) != "ollama":
            halves.setdefault(source_id(r["source"]), set()).add(half(r))
    assert all(len(h) == 1 for h in halves.values())  # no document both calibrates and checks
    assert {h for hs in halves.values() for h in hs} == {"calibration", "check"}
    a = {"source": "https://github.com/ggml-org/llama.cpp/discussions/4167#discussioncomment-1"}
    b = {"source": "https://github.com/ggml-org/llama.cpp/discussions/4167#discussioncomment-2 (M2)"}
    assert half(a) == half(b)
    assert half({"source": "x", "split": "reference"}) == "calibration"
    # runs through Ollama test planner's Ollama answer (llama.cpp's figures for the vendored build): never fitted,
    # wherever they were read (one sits in a document whose MLX runs calibrate)
    ollama = [r for r in ROWS if runs_through(r) == "ollama"]
    assert len(ollama) >= 40 and all(r["engine"] == "llama.cpp" and half(r) == "check" for r in ollama)
    assert runs_through({"engine": "llama.cpp", "engine_printed": "Ollama (llama.cpp backend, Metal), Dec 2025"}) == \
        "ollama"
    assert runs_through({"engine": "llama.cpp", "engine_printed": "llama-bench build: 4426e298 (2824)"}) == "llama.cpp"


@pytest.fixture(scope="module")
def committed() -> dict:
    return _data()


def test_the_committed_table_is_what_the_calibration_half_fits(committed):
    calibration = [r for r in ROWS if half(r) == "calibration"]
    per_layer = {e["engine"] + (f"/{e['backend']}" if "backend" in e else ""): e["layer_overhead_s"]
                 for e in committed["entries"] if "layer_overhead_s" in e}
    tau = per_layer.pop("default")
    assert tau == choose_overhead(calibration)  # the grid's best on the calibration half, refitted at each value
    assert 0 < tau < 2e-4
    groups = choose_group_overheads(calibration, tau)  # then each engine group's own, on its calibration decode,
    assert per_layer == groups and set(groups) == {"compiled", "llama.cpp", "llama.cpp/cuda", "llama.cpp/metal",
                                                   "llama.cpp/rocm", "llama.cpp/vulkan"}  # and llama.cpp's backends'
    # Metal encodes a step's command buffers anew; CUDA replays a captured graph: the calibration runs say so too
    assert groups["llama.cpp/metal"] > 2 * groups["llama.cpp/cuda"]
    # no chosen time leaves its own entries' bandwidth share at the datasheet ceiling (calibrate_speed.admissible)
    for key in groups:
        owned = [e["decode_memory"] for e in committed["entries"] if _owned_by(key)(e) and "decode_memory" in e]
        assert owned and max(owned) < 1.0, key
    sync = next(e["sync_loop_step_s"] for e in committed["entries"] if "sync_loop_step_s" in e)
    assert sync == choose_sync_loop(calibration, tau, groups)  # vLLM V0's loop, on the calibration vLLM decode runs
    prefill = {e["engine"]: e["prefill_layer_overhead_s"] for e in committed["entries"]
               if "prefill_layer_overhead_s" in e}
    chosen = choose_prefill_overheads(calibration, tau, sync, groups)  # per engine group, on its calibration TTFT
    assert prefill == {g: v for g, v in chosen.items() if v is not None}
    tiles = {(e["engine"], e.get("backend")): e["moe_prefill_tile"] for e in committed["entries"]
             if "moe_prefill_tile" in e}  # read in the engines' kernels, not fitted
    assert tiles == {("llama.cpp", "cuda"): 128, ("llama.cpp", "rocm"): 64, ("llama.cpp", "vulkan"): 128,
                     ("llama.cpp", "metal"): 32,
                     ("vllm", None): 64, ("compiled", None): 64}
    assert committed["entries"] == fit(calibration, tau, chosen, sync, groups)
    floors = {e["engine"]: e["decode_floor_s_per_layer"] for e in committed["entries"]
              if "decode_floor_s_per_layer" in e}
    assert 0.0005 < floors["transformers"] < 0.002
    # AutoAWQ's fused modules launch fewer kernels a layer than transformers' own, still inside its Python loop
    assert 0.0001 < floors["autoawq"] < floors["transformers"]
    # bitsandbytes launches more kernels a linear layer: its double-quantized 4-bit formats one more than NF4/FP4
    # (the absmax dequantized first), LLM.int8() several (row quantization, outlier split, int8 GEMM, dequantization)
    ratios = {e["family"]: e["decode_floor_ratio"] for e in committed["entries"] if "decode_floor_ratio" in e}
    assert 1 < ratios["bnb-4bit"] < ratios["bnb-4bit-dq"] < ratios["bnb-int8"] < 5


def test_a_per_layer_time_that_pins_its_bandwidth_share_at_the_ceiling_is_not_admissible():
    """Bytes cannot move faster than the datasheet rate: a per-layer time under which a group's own entry implies they
    do is too long, whatever its score; an engine's entry from one document and other groups' entries do not decide."""
    cuda = _owned_by("llama.cpp/cuda")
    entries = [{"engine": "llama.cpp", "backend": "cuda", "gpu_class": "gddr", "decode_memory": 0.86},
               {"engine": "llama.cpp", "backend": "metal", "decode_memory": 1.0},
               {"engine": "exllamav2", "decode_memory": 1.0}]
    assert admissible(entries, cuda) and admissible(entries, _owned_by("compiled"))
    assert not admissible(entries, _owned_by("llama.cpp/metal"))
    assert not admissible(entries + [{"engine": "llama.cpp", "backend": "cuda", "decode_memory": 1.0}], cuda)
    assert admissible([{"engine": "llama.cpp", "backend": "cuda", "decode_memory": 1.0}], _owned_by("llama.cpp"))


def test_a_trial_table_stands_in_for_the_file_only_meanwhile():
    from planner.efficiency import layer_overhead, trial

    before = layer_overhead("vllm").layer_overhead_s
    with trial({"entries": [{"engine": "vllm", "layer_overhead_s": 0.001, "derivation": "a trial"}]}):
        assert layer_overhead("vllm").layer_overhead_s == 0.001
        assert layer_overhead("sglang") is None  # nothing else in the trial table
    assert layer_overhead("vllm").layer_overhead_s == before


def test_the_bands_are_the_check_halfs_errors(committed):
    assert committed["bands"] == bands(errors(ROWS))
    overall = next(b for b in committed["bands"] if b["what"] == "decode" and b["engine"] == "any")
    assert overall["runs"] >= 50


def test_served_runs_are_told_apart_by_their_harness():
    from speed_data import served

    assert served({"engine_printed": "vLLM v0.11.0 (vllm serve Qwen/Qwen3-8B; vllm bench serve)"})
    assert served({"engine_printed": "SGLang 0.5.6, python3 -m sglang.bench_serving --max-concurrency 1"})
    assert served({"engine_printed": "NVIDIA NIM 1.8.0 (AIPerf client)"})
    # genai-perf times requests to NIM's OpenAI endpoint: its first token includes the request's own latency
    assert served({"engine_printed": "NVIDIA NIM (NIM_TRT-LLM, backend tensorrtllm); measured with genai-perf "
                                     "(NVIDIA GenAI-Perf, OpenAI chat endpoint) --concurrency 1"})
    assert not served({"engine_printed": "llama.cpp build 4426e298 (2824) (llama-bench, CUDA 12.1.1, ngl 99)"})
    assert not served({"engine_printed": "TensorRT-LLM v0.5 (gptSessionBenchmark, 1 output token)"})
    assert not served({"engine_printed": "transformers generate() (fp16)"})


def test_the_request_latency_is_fitted_on_served_calibration_runs_only(committed):
    requests = [e for e in committed["entries"] if "request_overhead_s" in e]
    assert {e["engine"] for e in requests} >= {"default"}
    for e in requests:
        assert 0 < e["request_overhead_s"] < 0.5
        assert all(half({"source": s}) == "calibration" for s in e["sources"])


def test_published_vllm_runs_carry_the_release_they_printed():
    from speed_data import vllm_version

    assert vllm_version("vLLM 0.6.3 (torch 2.4.0, flash-attn 2.6.3)") == "0.6.3"
    assert vllm_version("vLLM (docker rocm/vllm:rocm6.3.1_vllm_0.8.5_20250513), AMD MAD") == "0.8.5"  # not ROCm's
    assert vllm_version("vLLM 0.8.3 (docker rocm/vllm:rocm6.3.1_instinct_vllm0.8.3_20250410)") == "0.8.3"
    assert vllm_version("vLLM v0.23.0 (V1 engine) OpenAI server") == "0.23.0"
    assert vllm_version("vLLM (source build ~v0.6.3.dev, Oct 2024)") == "0.6.3"
    assert vllm_version("vLLM (version not printed, Jan 2025), api_server") == "0.7.0"  # released 2025-01-27
    assert vllm_version("vLLM (offline LLM API, mid-2023 release)") == "0.4.0"  # before planner's oldest rules
    assert vllm_version("vLLM benchmark_latency (PR #3240, 2024-03-06)") == "0.4.0"  # an ISO date: March, not the year
    assert vllm_version("1Cat-vLLM 1.0.0+flash_attn_v100") is None  # a fork's own numbering
    assert vllm_version("vLLM OpenAI server (version not recorded in results)") is None
    rows = [r for r in load_rows() if r["engine"] == "vllm"]
    assert sum("vllm_version" in r for r in rows) >= len(rows) - 5


def test_ollama_runs_are_llamacpp_runs_of_the_build_their_release_vendors():
    # Ollama 0.7.0 vendors llama.cpp b5359 and 0.6.5 b4779 (planner.engines.ollama.releases); 0.1.28 and 0.1.27, older
    # than planner's oldest Ollama, their llm/llama.cpp submodules c29af7e2 = b2308 and 96633eec = b2248 (git rev-list
    # --count)
    from planner.engines.ollama.releases import OLLAMA_OLDEST, ollama_llamacpp_build, ollama_release

    rows = [r for r in ROWS if re.match(r"Ollama \d+\.\d+\.\d+ \(", r["engine_printed"])]
    assert len(rows) >= 30 and len({source_id(r["source"]) for r in rows}) >= 6
    for r in rows:
        assert r["engine"] == "llama.cpp"
        version = r["engine_printed"].split()[1]
        if release_tuple(version) >= release_tuple(OLLAMA_OLDEST):
            assert r["build"] == ollama_llamacpp_build(ollama_release(version)), r["engine_printed"]
    builds = {r["engine_printed"].split()[1]: r["build"] for r in rows}
    assert (builds["0.7.0"], builds["0.6.5"], builds["0.1.28"], builds["0.1.27"]) == (5359, 4779, 2308, 2248)
