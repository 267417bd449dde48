"""planner check-log: a startup log's settings and figures read back, each beside planner's.

The public logs under tests/fixtures/logs are each a test: a .log (the runtime's lines, verbatim) and a .json with
its source, the planner profile it is of, what a user would have to give because the log does not say it
(`given`), the tolerance of every reconciled figure beyond the log's own rounding (`tolerance_pct`; 0: exact to
the last digit the log prints), the figures shown but not reconciled and why (`gaps`), or the one-line refusal
of a log planner cannot reconcile (`refused`).
"""

import json
from pathlib import Path

import pytest

from planner import PlannerError, estimate, load_model
from planner.gpus import load_gpu
from planner.measure.logs import check_log, engine_of, llamacpp_quant, llamacpp_settings
from planner.measure.logs.recognise import catalog_gpu, profile_for

LOGS = Path(__file__).parent / "fixtures" / "logs"
FIXTURES = sorted(LOGS.glob("*.json"))
# llama.cpp's own lines (llama-cpp-python 0.3.36, CPU backend) for Phi-3-mini-4k q4_k_m at n_ctx 4096, recorded by
# planner.measure.llamacpp (a sparse GGUF of the architecture).
PHI3_CPU = """print_info: file type   = (guessed) Q4_K - Medium
load_tensors:   CPU_Mapped model buffer size =  2281.66 MiB
llama_context: n_seq_max             = 1
llama_context: n_ctx                 = 4096
llama_context: n_batch               = 2048
llama_context: n_ubatch              = 512
llama_context: flash_attn            = enabled
llama_context:        CPU  output buffer size =     0.12 MiB
llama_kv_cache:        CPU KV buffer size =  1536.00 MiB
llama_kv_cache: size = 1536.00 MiB (  4096 cells,  32 layers,  1/1 seqs), K (f16):  768.00 MiB, V (f16):  768.00 MiB
sched_reserve:        CPU compute buffer size =    90.64 MiB
"""


def test_settings_and_preset_come_from_the_log():
    assert engine_of(PHI3_CPU) == "llama.cpp" and llamacpp_quant(PHI3_CPU) == "q4_k_m"
    assert llamacpp_settings(PHI3_CPU) == {"n_ctx": 4096, "n_batch": 2048, "n_ubatch": 512, "n_seq_max": 1,
                                           "flash_attn": True, "type_k": "fp16", "type_v": "fp16"}


@pytest.mark.parametrize("line, preset", [
    ("print_info: file type   = Q4_K - Medium", "q4_k_m"),
    ("llm_load_print_meta: model ftype      = Q4_0", "q4_0"),
    ("llm_load_print_meta: model ftype      = mostly Q8_0", "q8_0"),
    ("print_info: file type   = Q2_K - Medium", "q2_k"),
    ("print_info: file type   = Q3_K - Large", "q3_k_l"),
    ("print_info: file type   = IQ3_S mix - 3.66 bpw", "iq3_m"),
    ("print_info: file type   = IQ4_XS - 4.25 bpw", "iq4_xs"),
    ("print_info: file type   = MXFP4 MoE", "mxfp4_moe"),
    ("print_info: file type   = BF16", "bf16"),
    ("print_info: file type   = all F32", "f32"),
    ("llama_model_loader: - kv  10:                          general.file_type u32              = 15", "q4_k_m"),
    ("llama_model_loader: - kv  21:                          general.file_type u32              = 17", "q5_k_m"),
])
def test_file_type_lines_name_planners_preset(line, preset):
    from planner import get_quant

    assert llamacpp_quant(line) == preset
    get_quant(preset)  # a preset planner has


@pytest.mark.parametrize("name, profile", [
    ("Meta Llama 3.1 8B Instruct", "meta-llama/Llama-3.1-8B"),
    ("meta-llama/Meta-Llama-3.1-8B-Instruct", "meta-llama/Llama-3.1-8B"),
    ("/models/hub/models--meta-llama--Llama-3.1-8B-Instruct", "meta-llama/Llama-3.1-8B"),
    ("models/Meta-Llama-3.1-8B-Instruct-Q4_K_M.gguf", "meta-llama/Llama-3.1-8B"),
    ("Llama 3.2 3B Instruct", "meta-llama/Llama-3.2-3B"),
    ("Meta-Llama-3-8B", "meta-llama/Meta-Llama-3-8B"),
    ("Qwen2.5 7B Instruct", "Qwen/Qwen2.5-7B"),
    ("Qwen/Qwen2.5-72B-Instruct", "Qwen/Qwen2.5-72B-Instruct"),
    ("mistralai/Mistral-7B-Instruct-v0.3", "mistralai/Mistral-7B-Instruct-v0.3"),  # a variant: its own
    ("Llama-2-7b-chat-hf", "meta-llama/Llama-2-7b-chat-hf"),
    ("gemma-2-9b-it", "google/gemma-2-9b-it"),  # its bf16 checkpoint, where the base is fp32
    ("Phi-3-mini-4k-instruct-q4.gguf", "microsoft/Phi-3-mini-4k-instruct"),
    ("openai/gpt-oss-20b", "openai/gpt-oss-20b"),
    ("neuralmagic/Meta-Llama-3.1-70B-Instruct-quantized.w8a8", "meta-llama/Llama-3.1-70B"),
    ("Llama-3.2-11B-Vision-Instruct", None), ("Whole_Model", None), ("Phi3", None), ("QwQ-32B", "Qwen/QwQ-32B"),
])
def test_model_names_from_logs_map_to_bundled_profiles(name, profile):
    assert profile_for(name) == profile


@pytest.mark.parametrize("name, total_mib, gpu", [
    ("NVIDIA GeForce RTX 3090", None, "rtx-3090"), ("NVIDIA GeForce RTX 3090 Ti", None, "rtx-3090-ti"),
    ("NVIDIA GeForce RTX 4090", 24210, "rtx-4090"), ("NVIDIA H100 80GB HBM3", None, "h100-sxm"),
    ("NVIDIA_H100_80GB_HBM3", None, "h100-sxm"), ("NVIDIA H100 PCIe", None, "h100-pcie"),
    ("NVIDIA H100 NVL", None, None), ("NVIDIA A100-SXM4-80GB", None, "a100-sxm-80gb"),
    ("NVIDIA A100-SXM4-40GB", None, "a100-sxm-40gb"), ("Tesla T4", None, "t4"), ("NVIDIA L4", None, "l4"),
    ("NVIDIA L40S", None, "l40s"), ("NVIDIA GeForce RTX 4060 Ti", 16380, "rtx-4060-ti-16gb"),
    ("NVIDIA GeForce RTX 4060 Ti", 7940, None), ("NVIDIA GeForce RTX 3070", None, "rtx-3070"),
    ("Apple M2 Ultra", None, "m2-ultra"), ("AMD Instinct MI300X", None, "mi300x"),
    # laptop GPUs share a desktop card's name but not its memory; a name sold in two sizes takes the catalog's
    ("NVIDIA GeForce RTX 4070 Laptop GPU", None, None), ("NVIDIA GeForce RTX 5090 Laptop GPU", None, None),
    ("NVIDIA GeForce RTX 4070", None, "rtx-4070"), ("NVIDIA GeForce RTX 4070 Ti", None, None),
    ("NVIDIA GeForce RTX 3060", 12288, "rtx-3060"), ("NVIDIA GeForce RTX 3060", 8192, None),
    ("NVIDIA GeForce RTX 3080", 10240, "rtx-3080"), ("NVIDIA GeForce RTX 3080", 12288, None),
    ("NVIDIA A10", None, "a10"), ("NVIDIA A10G", None, "a10g"), ("NVIDIA L40", None, "l40"),
    ("NVIDIA RTX PRO 6000 Blackwell Workstation Edition", None, "rtx-pro-6000"),
    # the 300 W Max-Q card has the Workstation card's memory, not its clocks: not the catalog's 600 W card
    ("NVIDIA RTX PRO 6000 Blackwell Max-Q Workstation Edition", None, None),
    ("NVIDIA RTX 6000 Ada Generation", None, "rtx-6000-ada"), ("AMD Radeon PRO W7900", None, "w7900"),
    ("NVIDIA A100-PCIE-40GB", None, None),  # the catalog's 40 GB A100 is the SXM card
])
def test_gpu_names_the_runtimes_print_map_to_the_catalog(name, total_mib, gpu):
    assert catalog_gpu(name, total_mib) == gpu


def test_a_cpu_log_is_reconciled_buffer_by_buffer():
    r = check_log(PHI3_CPU, "microsoft/Phi-3-mini-4k-instruct")
    rows = {row.figure: row for row in r.rows}
    assert rows["model buffer (CPU_Mapped)"].within(0) and rows["kv buffer (CPU)"].error_pct == 0
    # no GPU backend: the CPU's compute buffer is the whole graph's, as a GPU's is with every layer on it
    assert rows["compute buffer (CPU)"].within(0.01)


def test_a_log_of_nothing_known_is_refused_with_its_reason():
    with pytest.raises(PlannerError, match="neither llama.cpp's"):
        check_log("hello\n", "meta-llama/Llama-3.1-8B")
    with pytest.raises(PlannerError, match="does not name the model: give --model"):
        check_log("INFO GPU KV cache size: 1,000 tokens\n")
    with pytest.raises(PlannerError, match=r"names the model 'Whole_Model' \(line 1\), which is no bundled profile"):
        check_log("llm_load_print_meta: general.name     = Whole_Model\nllama_context: n_ctx = 4096\n")
    with pytest.raises(PlannerError, match="names no file type"):
        check_log("llama_context: n_ctx = 4096\n", "meta-llama/Llama-3.1-8B")


def test_a_vllm_log_without_gpu_or_total_shows_kv_rows_without_a_planner_figure():
    r = check_log("INFO Model loading took 14.99 GiB\nINFO GPU KV cache size: 1,000 tokens\n", "llama-3.1-8b")
    rows = {row.figure: row for row in r.rows}
    assert rows["model weights"].within(0.5)
    assert rows["KV cache size"].planner is None and "give --gpu" in rows["KV cache size"].note


def test_vllm_budgets_the_total_cuda_reports_not_the_catalogs():
    # vllm#10517: total_gpu_memory=23.58GiB on an RTX 3090 (nvidia-smi: 24,576 MiB): with the logged total planner
    # budgets 23.58 × 0.9 GiB as vLLM did. The catalog now holds that CUDA total too (cuda_memory_bytes), so the
    # same log less its total, checked on the catalog's rtx-3090, budgets the same; nvidia-smi's 24.00 GiB would
    # have budgeted 0.38 GiB more.
    text = (LOGS / "vllm-llama3.1-8b-rtx3090-10517.log").read_text()
    assert "total_gpu_memory=23.58GiB" in text
    with_total = {row.figure: row for row in check_log(text, "meta-llama/Llama-3.1-8B").rows}
    catalog = {row.figure: row for row in check_log(text.replace("total_gpu_memory=23.58GiB ", ""),
                                                    "meta-llama/Llama-3.1-8B", gpu="rtx-3090").rows}
    budget = with_total["available KV cache memory"].planner
    assert catalog["available KV cache memory"].planner == pytest.approx(budget, abs=0.005)
    g = load_gpu("rtx-3090")
    assert (g.memory_bytes - g.cuda_memory_bytes) / 2**30 * 0.9 == pytest.approx(0.378, abs=0.005)
    assert "catalog" in catalog["available KV cache memory"].note and not with_total["available KV cache memory"].note


def test_sglang_figures_are_per_gpu_and_engine_independent():
    text = ("[2025-01-01 00:00:00] server_args=ServerArgs(model_path='Qwen/Qwen2.5-7B-Instruct', tp_size=2, "
            "mem_fraction_static=0.85)\n"
            "[2025-01-01 00:00:01 TP0] Load weight begin. avail mem=78.50 GB\n"
            "[2025-01-01 00:00:05 TP0] Load weight end. type=Qwen2ForCausalLM, dtype=torch.bfloat16, "
            "avail mem=71.40 GB, mem usage=7.10 GB.\n"
            "[2025-01-01 00:00:05 TP0] KV Cache is allocated. #tokens: 1000000, K size: 13.35 GB, V size: 13.35 GB\n")
    r = check_log(text)
    assert r.model == "Qwen/Qwen2.5-7B-Instruct" and r.engine == "sglang"
    rows = {row.figure: row for row in r.rows}
    # Qwen2.5-7B: 28 layers × 4 KV heads × 128 × 2 bytes = 28 KiB of K per token, 2 heads per GPU at tp 2
    assert rows["K cache for 1,000,000 tokens"].planner == pytest.approx(1_000_000 * 28 * 2 * 128 * 2 / 2**30)
    assert "one GPU's share at tp_size 2" in rows["weights per GPU (mem usage at load)"].note


def test_cli_check_log(tmp_path, capsys):
    from planner.cli import main

    log = tmp_path / "phi3.log"
    log.write_text(PHI3_CPU)
    assert main(["check-log", str(log), "--model", "microsoft/Phi-3-mini-4k-instruct"]) in (0, None)
    out = capsys.readouterr().out
    assert "kv buffer (CPU)" in out and "1,536.00" in out
    assert main(["check-log", str(LOGS / "ollama-llama3.1-70b-q4_0-6279.log")]) in (0, None)  # no flags
    out = capsys.readouterr().out
    assert out.startswith("meta-llama/Llama-3.1-70B — llama.cpp log") and "rtx-4090" in out and "q4_0" in out


QWEN3_14B = LOGS / "llama.cpp-qwen3-14b-q8_0-b5898-rocm-rx7900gre-ngl0.log"


def test_a_model_the_log_contradicts_is_refused(capsys):
    """A --model whose shapes are not those llama.cpp printed for the file it loaded (print_info's n_layer and n_embd)
    is refused, naming each figure and its line, rather than planning another model's buffers beside the log's."""
    from planner.cli import main

    text = QWEN3_14B.read_text()
    with pytest.raises(PlannerError) as e:
        check_log(text, "Qwen/Qwen2.5-7B")
    # Qwen3-14B: 40 layers, hidden 5120 (its config.json); Qwen2.5-7B: 28 layers, hidden 3584
    assert str(e.value) == ("the log's model has n_layer = 40 (line 27) and n_embd = 5,120 (line 26), where "
                            "Qwen/Qwen2.5-7B has 28 layers and hidden size 3,584: give the model the log loaded")
    assert main(["check-log", str(QWEN3_14B), "--model", "Qwen/Qwen2.5-7B"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "n_layer = 40 (line 27)" in err
    assert check_log(text, "Qwen/Qwen3-14B").model == "Qwen/Qwen3-14B"


def test_next_token_layers_count_with_the_model():
    """llama.cpp counted a model's next-token prediction (MTP) layers in n_layer until June 2026 (GLM-4.5-Air's log
    says 47 for its 46 blocks, converter glm.py: block_count = num_hidden_layers + num_nextn_predict_layers), and
    prints n_layer_all since: a count within the log's next-token layers of the profile's is the same model, one
    beyond them is not."""
    text = QWEN3_14B.read_text()
    one_more = text.replace("n_layer          = 40", "n_layer          = 41")
    assert one_more != text and check_log(one_more, "Qwen/Qwen3-14B").model == "Qwen/Qwen3-14B"  # unstated: one
    two_more = text.replace("n_layer          = 40", "n_layer          = 42")
    with pytest.raises(PlannerError, match=r"n_layer = 42 \(line 27\)"):
        check_log(two_more, "Qwen/Qwen3-14B")
    stated = two_more.replace("print_info: n_embd ", "llama_model_loader: - kv  40:  qwen3.nextn_predict_layers u32"
                                                     "              = 2\nprint_info: n_embd ")
    assert check_log(stated, "Qwen/Qwen3-14B").model == "Qwen/Qwen3-14B"
    reworked = two_more.replace("print_info: n_embd ", "print_info: n_layer_nextn         = 0\nprint_info: n_embd ")
    with pytest.raises(PlannerError, match=r"n_layer = 42"):
        check_log(reworked, "Qwen/Qwen3-14B")


# vLLM's V0 engine of a 0.8.x release (VLLM_USE_V1=0) serving a Qwen3-30B-A3B w4a16 checkpoint on an RTX 3090: lines
# of https://github.com/vllm-project/vllm/issues/17327 (comment by bedovyy, 2025-05-07) verbatim, an excerpt (the next
# line, '# cuda blocks', is cut in the stored copy; no chunked-prefill line, so not a reconciled public log)
QWEN3_MOE_V0 = Path(__file__).parent / "fixtures" / "log_excerpts" / "vllm-qwen3-30b-a3b-w4a16-v0-0.8-rtx3090.log"


def test_a_v0_log_of_a_release_that_defaults_to_v1_plans_that_releases_v0_engine():
    """A V0 log from 0.8-0.10 is planned as that release run with VLLM_USE_V1=0 (v1_engine=False), so a model that
    arrived after 0.7.3 (Qwen3's MoE, 0.8.4) is not refused as 0.7.3's."""
    r = check_log(QWEN3_MOE_V0.read_text(), "Qwen/Qwen3-30B-A3B", quant="gptq-4bit-g128", gpu="rtx-3090")
    assert "its V0 engine" in r.settings["engine_version"] and r.settings["engine_version"].startswith("0.8.4")
    weights = next(row for row in r.rows if row.figure == "model weights")
    assert weights.logged == 15.6841 and weights.within(1.0)  # "Model loading took 15.6841 GiB"; planner 15.77


def _run(meta: Path):
    m = json.loads(meta.read_text())
    return m, check_log(meta.with_suffix(".log").read_text(), **m.get("given", {}))


@pytest.mark.parametrize("meta", FIXTURES, ids=lambda p: p.stem)
def test_public_log(meta):
    """Each public log: every figure it prints is reconciled within its stated tolerance or named as a gap with the
    reason — or the whole log is refused in one line that says which line and why."""
    m = json.loads(meta.read_text())
    assert m["source"].startswith("https://") and meta.with_suffix(".log").is_file()
    if "refused" in m:
        with pytest.raises(PlannerError) as e:
            _run(meta)
        assert m["refused"] in str(e.value) and "\n" not in str(e.value)
        return
    _, r = _run(meta)
    assert r.model == m["model"] and r.engine in (m["engine"], "llama.cpp" if m["engine"] == "ollama" else "")
    rows = {row.figure: row for row in r.rows}
    assert set(rows) == set(m.get("tolerance_pct", {})) | set(m.get("gaps", {})), sorted(rows)
    for figure, pct in m.get("tolerance_pct", {}).items():
        row = rows[figure]
        assert row.within(pct), (figure, row.logged, row.planner, f"{row.error_pct:+.2f}%")
    for key, value in m.get("recognised", {}).items():
        assert value in str(r.settings[key]), (key, r.settings[key])


def test_at_least_ten_public_logs_of_three_engines_are_reconciled():
    reconciled = {}
    for meta in FIXTURES:
        m = json.loads(meta.read_text())
        if m.get("tolerance_pct") and "refused" not in m:
            engine = {"ollama": "llama.cpp"}.get(m["engine"], m["engine"])
            reconciled.setdefault(engine, []).append(meta.stem)
    assert sum(map(len, reconciled.values())) >= 10
    assert len(reconciled["llama.cpp"]) >= 3 and len(reconciled["vllm"]) >= 3 and len(reconciled["sglang"]) >= 2


def test_ollama_llama_3_2_3b_buffers_match_to_the_mib():
    # ollama#8310: Llama-3.2-3B Q4_K_M, 29/29 layers on CUDA0, n_ctx 8192 over 4 slots, f16 cache
    text = (LOGS / "ollama-llama3.2-3b-q4km-8310.log").read_text()
    rows = {row.figure: row for row in check_log(text, "meta-llama/Llama-3.2-3B", quant="q4_k_m").rows}
    assert rows["model buffer (CUDA0)"].planner == pytest.approx(1918.35, abs=0.005)
    assert rows["model buffer (CPU)"].planner == pytest.approx(308.23, abs=0.005)
    assert rows["kv buffer (CUDA0)"].planner == 896.0


def test_a_log_never_makes_planner_read_a_path_it_names(tmp_path):
    config = tmp_path / "config.json"
    config.write_text("{}")
    text = f"llama_model_loader: loaded meta data with 1 key-value pairs from {config}.gguf (version GGUF V3)\n" \
           "llama_context: n_ctx = 4096\n"
    with pytest.raises(PlannerError, match="which is no bundled profile: give --model"):
        check_log(text)
    with pytest.raises(PlannerError, match="must be text"):
        check_log(b"llama_context: n_ctx = 4096")


def test_a_vllm_log_names_the_release_whose_rules_planner_applied():
    text = (LOGS / "vllm-qwen3-8b-0.19.1-a100-40gb.log").read_text()
    assert check_log(text, "Qwen/Qwen3-8B", gpu="a100-sxm-40gb").settings["engine_version"] == "0.19.1 (printed)"
    newer = check_log(text.replace("0.19.1", "0.41.0"), "Qwen/Qwen3-8B", gpu="a100-sxm-40gb")
    assert newer.settings["engine_version"] == "0.33.0 (0.41.0 printed, newer than planner's rules)"
    t4 = (LOGS / "vllm-llama3.2-3b-0.8.2-t4.log").read_text()  # "Initializing a V0 LLM engine (v0.8.2)"
    assert check_log(t4, "meta-llama/Llama-3.2-3B", gpu="t4").settings["engine_version"] == \
        "0.8.2 (printed; its V0 engine)"


def test_a_vllm_log_that_prints_its_cuda_graph_estimate_replaces_planners_prior():
    # LMCache/LMCache#3430 (yangyonggit, 2026-05-28): vLLM 0.21.0, Qwen/Qwen3-8B, RTX A5000
    text = ("(EngineCore pid=4108) INFO 05-28 08:00:24 [gpu_model_runner.py:6063] Profiling CUDA graph memory: "
            "PIECEWISE=51 (largest=512), FULL=35 (largest=256)\n"
            "(EngineCore pid=4108) INFO 05-28 08:00:25 [gpu_model_runner.py:6142] Estimated CUDA graph memory: "
            "0.52 GiB total\n"
            "(EngineCore pid=4108) INFO 05-28 08:00:26 [gpu_worker.py:462] Available KV cache memory: 6.37 GiB\n"
            "(EngineCore pid=4108) INFO 05-28 08:00:26 [gpu_worker.py:477] CUDA graph memory profiling is enabled "
            "(default since v0.21.0). The current --gpu-memory-utilization=0.9764 is equivalent to "
            "--gpu-memory-utilization=0.9543 without CUDA graph memory profiling.\n"
            "(EngineCore pid=4108) INFO 05-28 08:00:26 [kv_cache_utils.py:1710] GPU KV cache size: 46,368 tokens\n")
    from planner.engines.vllm import VLLM_CUDA_GRAPH_ESTIMATE_BYTES

    r = check_log(text, "Qwen/Qwen3-8B", gpu="rtx-4090")  # a 24 GB card in the catalog, for the arithmetic
    rows = {row.figure: row for row in r.rows}
    assert rows["estimated CUDA graph memory"].logged == 0.52
    assert rows["estimated CUDA graph memory"].planner == VLLM_CUDA_GRAPH_ESTIMATE_BYTES / 2**30
    own = estimate("Qwen/Qwen3-8B", engine="vllm", gpu="rtx-4090", engine_version="0.20.0",
                   gpu_memory_utilization=0.9764, cuda_graph_memory_bytes=round(0.52 * 2**30))
    assert rows["available KV cache memory"].planner == pytest.approx(own.engine_details["available_kv_bytes"] / 2**30)


# Ollama's estimate line (ollama#8098, Ollama 0.5.x) re-read in the forms other releases print. The figures are that
# log's; what changes is how each release means them, so the assertions are planner's reading, not Ollama's values.
_ESTIMATE_8098 = (LOGS / "ollama-llama3.2-3b-estimate-8098.log").read_text().splitlines()[0]
_LOAD_REQUEST = ('time=2025-10-01T10:00:00.000Z level=INFO source=runner.go:845 msg=load request="{Operation:commit '
                 'LoraPath:[] Parallel:4 BatchSize:512 FlashAttention:false KvSize:8192 KvCacheType: NumThreads:8 '
                 'GPULayers:29[ID:GPU-0 Layers:29(0..28)] MultiUserCache:false ProjectorPath: MainGPU:0 UseMmap:true}"')
_3B = dict(model="meta-llama/Llama-3.2-3B", quant="q4_k_m")


def _estimate_rows(text):
    r = check_log(text, **_3B)
    return r, {row.figure: row for row in r.rows}


def test_an_ollama_estimate_takes_its_context_from_the_runners_load_request_from_0_11_5():
    line = _ESTIMATE_8098.replace('msg="offload to cuda"', "msg=offload library=cuda")
    text = f'level=INFO source=routes.go:1 msg="Listening on 127.0.0.1:11434 (version 0.12.3)"\n{line}\n{_LOAD_REQUEST}'
    r, rows = _estimate_rows(text)
    assert r.settings["ollama_version"] == "0.12.3 (printed)" and r.settings["num_parallel"] == 4
    assert rows["Ollama estimate: required.kv"].planner == 896.0
    # from 0.6.3 weights.total is the blocks and the output layer: no KV in it
    assert rows["Ollama estimate: weights.total"].planner == pytest.approx(1918.35, abs=0.01)


def test_an_estimate_line_whose_release_is_open_leaves_the_weights_figures_open():
    line = _ESTIMATE_8098.replace('msg="offload to cuda"', "msg=offload library=cuda")
    cmd = (LOGS / "ollama-llama3.2-3b-estimate-8098.log").read_text().splitlines()[1]
    r, rows = _estimate_rows(f"{line}\n{cmd}")
    assert "0.5.12 to 0.12.10" in r.settings["ollama_version"]
    assert rows["Ollama estimate: weights.total"].planner is None
    assert rows["Ollama estimate: required.kv"].within(0)  # the figures whose meaning did not change still check


def test_an_old_metal_estimate_has_no_partial_graph_of_its_own():
    text = (LOGS / "ollama-llama3.2-3b-estimate-8098.log").read_text().replace("offload to cuda", "offload to metal")
    _, rows = _estimate_rows(text)
    assert rows["Ollama estimate: graph.partial"].planner == rows["Ollama estimate: graph.full"].planner


def test_a_runner_log_keeps_its_buffers_when_its_estimate_cannot_be_rebuilt():
    text = (LOGS / "ollama-gemma2-9b-q2k-rtx4060laptop.log").read_text()
    two_gpus = text.replace('memory.available="[6.9 GiB]"', 'memory.available="[6.9 GiB 6.9 GiB]"')
    r = check_log(two_gpus, model="google/gemma-2-9b")
    assert "kv buffer (CUDA0)" in {row.figure for row in r.rows}
    assert r.settings["ollama_estimate"].startswith("not reconstructed: Ollama's estimate lists 2 GPUs")
    dev = check_log('msg="Listening on 127.0.0.1:11434 (version 0.0.0)"\n' + text, model="google/gemma-2-9b")
    assert "planner has Ollama's rules for 0.3.0 to 0.33 only" in dev.settings["ollama_estimate"]
    with pytest.raises(PlannerError, match=r"^the log is of Ollama 0\.0\.0, and planner has Ollama's rules"):
        check_log('msg="Listening on x (version 0.0.0)"\n' + (LOGS / "ollama-llama3.2-3b-estimate-8098.log")
                  .read_text(), **_3B)


def test_vllm_command_line_sizes_read_as_vllm_reads_them():
    # vLLM parses --max-model-len with human_readable_int (engine/arg_utils.py, read at v0.9.2): "32k" is 32,000, "32K"
    # 32,768, "25.6k" 25,600, and a binary multiplier takes no decimals; the engine's own resolved line wins over it
    from planner.measure.logs.vllm import vllm_settings

    assert vllm_settings("vllm serve m --max-model-len 32K\n")["max_model_len"] == 32_768
    assert vllm_settings("vllm serve m --max-model-len 32k\n")["max_model_len"] == 32_000
    assert vllm_settings("vllm serve m --max-model-len=25.6k\n")["max_model_len"] == 25_600
    assert "max_model_len" not in vllm_settings("vllm serve m --max-model-len 1.5K\n")
    assert vllm_settings("vllm serve m --max-model-len 32k\nINFO [config.py] Using max model len 32768\n")[
        "max_model_len"] == 32_768
    # a command line's "8K" is not read as 8: the engine's line after it gives the size
    both = ("vllm serve m --max-num-batched-tokens 8K\n"
            "INFO Chunked prefill is enabled with max_num_batched_tokens=8192.\n")
    assert vllm_settings(both)["max_num_batched_tokens"] == 8192
    # 0.13-0.14 print the scheduler's line first for a throw-away default config, then for the engine's own
    twice = ("INFO [vllm.py:1406] Current vLLM config is not set.\n"
             "INFO [scheduler.py:230] Chunked prefill is enabled with max_num_batched_tokens=2048.\n"
             "INFO [scheduler.py:230] Chunked prefill is enabled with max_num_batched_tokens=8192.\n")
    assert vllm_settings(twice)["max_num_batched_tokens"] == 8192


def test_a_release_the_log_does_not_print_can_be_given():
    """engine_version: a vLLM log without its version (0.17.1 from the repository that published it) is costed by
    that release's sampler (fused top-k/top-p, not PyTorch's sort), a llama.cpp log by the build given; an unknown
    release or an SGLang log is refused in one line naming it."""
    text = (LOGS / "vllm-llama3.1-8b-0.17.1-rtx3090-offload-profiles.log").read_text()
    inferred = check_log(text, gpu="rtx-3090")
    given = check_log(text, gpu="rtx-3090", engine_version="0.17.1")
    kv = {r.figure: r for r in given.rows}["available KV cache memory"]
    assert given.settings["engine_version"] == "0.17.1 (given)" and abs(kv.error_pct) < 3
    assert abs({r.figure: r for r in inferred.rows}["available KV cache memory"].error_pct) > 10
    with pytest.raises(PlannerError, match="engine_version must be a vLLM release"):
        check_log(text, gpu="rtx-3090", engine_version="0.99")
    llama = (LOGS / "llama.cpp-mistral7b-q4km-ngl20-rtx4060laptop.log").read_text()
    old, new = check_log(llama, engine_version="b7466"), check_log(llama, engine_version="b7467")
    assert old.settings["version"] == "b7466 (given)"
    gpu = {r.figure: r for r in old.rows}["model buffer (CUDA0)"]
    assert abs(gpu.error_pct) < 0.01  # -ngl 20: layers 12-31, the output in RAM, as the log's build placed them
    assert {r.figure: r for r in new.rows}["model buffer (CUDA0)"].error_pct < -1  # b7467 would hold the output
    with pytest.raises(PlannerError, match="engine_version must be a llama.cpp build"):
        check_log(llama, engine_version="b9")
    sglang = (LOGS / "sglang-qwen3-8b-clean-startup.log").read_text()
    with pytest.raises(PlannerError, match="SGLang rules"):
        check_log(sglang, engine_version="0.4.6")


def test_a_gguf_that_stores_the_output_its_config_ties_is_planned_as_it_is():
    """Qwen3-0.6B ties lm_head to the embeddings (596.05 M parameters); a GGUF converted with an output.weight of its
    own prints 'model params = 751.63 M', the untied count, and check-log plans that file (its weights to the digit)."""
    from planner.measure.logs.llamacpp import _untied

    spec = load_model("Qwen/Qwen3-0.6B")
    untied = _untied("print_info: model params     = 751.63 M", spec)
    assert untied is not None and not untied.tie_embeddings
    assert untied.param_count == spec.param_count + 151936 * 1024
    assert _untied("print_info: model params     = 596.05 M", spec) is None
    assert _untied("print_info: model params     = 751.63 M", load_model("meta-llama/Llama-3.1-8B")) is None


def test_an_untied_gguf_is_told_apart_at_the_billions_rounding():
    """llama.cpp prints 'model params = 1.50 B' to two decimals: half a hundredth of a billion is the rounding, so an
    untied Llama-3.2-1B (1.498 B against 1.236 B tied) is found; the tied count is not."""
    from planner.measure.logs.llamacpp import _untied, llamacpp_settings

    spec = load_model("meta-llama/Llama-3.2-1B")
    assert _untied("print_info: model params     = 1.50 B", spec) is not None
    assert _untied("print_info: model params     = 1.24 B", spec) is None
    s = llamacpp_settings('llama-server -m x.gguf -ot "blk\\.(1|2) .*=CPU" -ot exps=CPU,attn_q=CUDA0 --n-cpu-moe 99')
    assert s == {"n_cpu_moe": 99, "override_tensor": "blk\\.(1|2) .*=CPU,exps=CPU"}  # CUDA0 items left out
    assert llamacpp_settings("Qwen3-ot exps=CPU") == {}  # not an option


def test_no_op_offload_on_the_command_line_keeps_expert_copies_out_of_the_compute_buffer():
    """The A6000 log (Qwen3-235B-A22B Q8_0, layers 14–93's FFN on the CPU by -ot) as if run by a build with
    --no-op-offload (b5346 on; the log's b5274 has none) and with it on the command line: the experts then run on
    the CPU for a prompt too, and planner's CUDA0 compute buffer drops the 816 MiB copy it holds for the log as run."""
    from planner.measure.logs.llamacpp import llamacpp_settings

    assert llamacpp_settings("llama-server -m x.gguf --no-op-offload -ngl 99")["op_offload"] is False
    assert "op_offload" not in llamacpp_settings("llama-server -m x.gguf --no-op-offload-x")
    name = "llama.cpp-qwen3-235b-a22b-q8_0-b5274-ctk-q8_0-ot-ffn-cpu-a6000"
    text = (LOGS / f"{name}.log").read_text()
    given = json.loads((LOGS / f"{name}.json").read_text()).get("given", {})
    compute = {}
    text = text.replace("build: 5274 (d541533a)", "build: 5400 (d541533a)")
    for label, log in (("as run", text), ("off", text.replace("-ngl 99", "--no-op-offload -ngl 99", 1))):
        rows = {r.figure: r for r in check_log(log, **given).rows}
        compute[label] = rows["compute buffer (CUDA0)"].planner
    assert compute["as run"] - compute["off"] > 500  # MiB


def test_a_vllm_log_without_the_custom_all_reduce_kernel_keeps_no_buffers_for_it():
    # custom_all_reduce.py returns before allocating its buffers when it refuses to start (no P2P, more than two
    # PCIe-only GPUs), as when asked not to (disable_custom_all_reduce=True, --disable-custom-all-reduce)
    from planner.measure.logs.vllm import vllm_settings

    log = (LOGS / "vllm-qwen2-7b-tp2-0.10.1.1-a100-80gb-dennislee22.log").read_text()
    assert "Custom allreduce is disabled because your platform lacks GPU P2P capability" in log
    assert vllm_settings(log)["custom_all_reduce"] is False
    assert vllm_settings("vllm serve m -tp 4 --disable-custom-all-reduce\n")["custom_all_reduce"] is False
    assert vllm_settings("... tensor_parallel_size=2, disable_custom_all_reduce=True, ...\n")["custom_all_reduce"] \
        is False
    assert "custom_all_reduce" not in vllm_settings("... tensor_parallel_size=2, disable_custom_all_reduce=False\n")


def test_a_gpu_the_log_contradicts_is_refused():
    """--gpu is for a log that does not name its GPU: one the log names otherwise (an Ollama log on RTX 4090s), or
    one too small for the weights and KV cache a vLLM log holds (Llama-3.1-8B's 14.99 + 19.28 GiB on an A100-40GB),
    is refused rather than compared against a budget the run never had."""
    text = (LOGS / "ollama-llama3.1-70b-q4_0-6279.log").read_text()
    with pytest.raises(PlannerError, match=r"gpu 'h100-sxm' is not the GPU the log ran on \(rtx-4090: "):
        check_log(text, gpu="h100-sxm")
    assert check_log(text, gpu="rtx-4090").settings["gpu"].startswith("rtx-4090")
    text = (LOGS / "vllm-llama3.1-8b-0.15.1-a100-40gb-eager.log").read_text()
    with pytest.raises(PlannerError, match=r"take 34.27 GiB a GPU, more than rtx-4090's 23.99 GiB"):
        check_log(text, gpu="rtx-4090")
    rows = {row.figure: row for row in check_log(text, gpu="a100-sxm-40gb").rows}
    assert abs(rows["available KV cache memory"].error_pct) < 3


def test_a_llama_cpp_log_refuses_a_quant_or_model_it_contradicts():
    """--quant q8_0 beside a log whose file type is Q4_K - Medium, or a Mistral-7B (the same layers and width as
    Llama 3 8B, a 32,768-token vocabulary) beside a log that prints n_vocab = 128256, would compare another file's
    figures with this run's: both are refused, naming what the log says. The preset it names, given, is taken."""
    from planner.errors import PlannerError
    from planner.measure.logs import check_log

    text = (Path(__file__).parent / "fixtures" / "logs" / "llama.cpp-bllossom-llama3-8b-q4km-rtx3070.log").read_text()
    with pytest.raises(PlannerError, match=r"quant 'q8_0' is not the file the log loaded \(its file type is q4_k_m\)"):
        check_log(text, model="meta-llama/Meta-Llama-3-8B", quant="q8_0")
    with pytest.raises(PlannerError, match=r"n_vocab = 128,256 \(line 22\), where mistralai/Mistral-7B-v0.3 has 32 "
                                           r"layers and hidden size 4,096 and a 32,768-token vocabulary"):
        check_log(text, model="mistralai/Mistral-7B-v0.3")
    assert check_log(text, model="meta-llama/Meta-Llama-3-8B", quant="Q4_K_M").settings["quant"] == "Q4_K_M"
